"""The world's clips and labels: drawing, time reversal, question truth, waste rates."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from gdo.utils.errors import ConfigError
from gdo.world.config import SceneConf, SourceConf, WasteConf, WorldConf
from gdo.world.questions import make_options, questions_for
from gdo.world.scene import make_clip, render, reverse, shape_mask
from gdo.world.vocab import vocabulary, words

SCENE = SceneConf()


def colours_in(frame: np.ndarray, tol: int = 40) -> set[str]:
    """Palette colours visible in a frame (pixel-level oracle, independent of the labels)."""
    found = set()
    for name, rgb in SCENE.colours.items():
        d = np.abs(frame.astype(int) - np.asarray(rgb)).max(axis=-1)
        if (d <= tol).sum() >= 4:
            found.add(name)
    return found


def first_colour(frames: np.ndarray) -> str | None:
    """Colour of the first shape to appear, read from pixels alone."""
    for f in frames:
        seen = colours_in(f)
        if seen:
            return next(iter(seen)) if len(seen) == 1 else None
    return None


def test_reverse_renders_the_frames_backwards() -> None:
    rng = np.random.default_rng(3)
    for scenario in ("sequence", "change", "motion"):
        clip = make_clip(rng, scenario, 12, SCENE)
        assert np.array_equal(render(reverse(clip), SCENE), render(clip, SCENE)[::-1]), scenario


def test_appearance_order_label_is_temporal() -> None:
    """The label matches the pixels, and the same clip reversed in time has another answer."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        clip = make_clip(rng, "sequence", int(rng.integers(8, 17)), SCENE)
        first = {q.variant: q for q in questions_for(clip, rng, SCENE)}["first"]
        frames = render(clip, SCENE)
        assert first_colour(frames) == first.answer
        back = {q.variant: q for q in questions_for(reverse(clip), rng, SCENE)}["first"]
        assert first_colour(frames[::-1]) == back.answer
        assert back.answer != first.answer


def test_state_change_and_motion_labels_match_pixels() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        clip = make_clip(rng, "change", 10, SCENE, distractors=(0, 0))
        qs = {
            q.variant: q.answer
            for q in questions_for(clip, rng, SCENE)
            if q.qtype == "state_change"
        }
        frames = render(clip, SCENE)
        assert colours_in(frames[0]) == {qs["start"]}
        assert colours_in(frames[-1]) == {qs["end"]}
        assert qs["start"] != qs["end"]
    for _ in range(20):
        clip = make_clip(rng, "motion", 8, SCENE)
        frames = render(clip, SCENE)
        moved = sum(
            not np.array_equal(
                *(
                    np.all(np.abs(f.astype(int) - SCENE.colours[o.colour]) <= 40, axis=-1)
                    for f in (frames[0], frames[-1])
                )
            )
            for o in clip.objects
        )
        count = next(q for q in questions_for(clip, rng, SCENE) if q.qtype == "moving_count")
        assert int(count.answer) == moved >= 1


def test_shapes_are_distinct_masks() -> None:
    masks = [shape_mask(s, 9) for s in SCENE.shapes]
    assert len({m.tobytes() for m in masks}) == len(masks)
    with pytest.raises(ValueError, match="hexagon"):
        shape_mask("hexagon", 9)


def test_options_hold_the_answer_once_at_the_asked_letter() -> None:
    rng = np.random.default_rng(2)
    clip = make_clip(rng, "sequence", 10, SCENE)
    qa = questions_for(clip, rng, SCENE)[0]
    for i in range(6):
        opts = make_options(rng, qa, 6, answer_index=i)
        assert opts[i] == qa.answer and len(set(opts)) == 6


def _pool_truth(cfg: WorldConf, tmp_path) -> pd.DataFrame:
    from gdo.world.pool_writer import build_pool

    return pd.DataFrame(build_pool(cfg, tmp_path).truth)


def test_waste_rates_near_config(tmp_path) -> None:
    waste = WasteConf(duplicate=0.12, leaked=0.15, static=0.2, wrong=0.15)
    cfg = WorldConf(sources=[SourceConf(name="mix", duration="0_30_s", clips=300, waste=waste)])
    truth = _pool_truth(cfg, tmp_path)
    still = truth.groupby("clip_id").waste.agg(lambda w: (w == "static").all())
    assert abs(still.mean() - waste.static) < 0.07  # 3 sigma for 300 clips
    moving = truth[truth.waste != "static"]
    assert not set(moving.clip_id) & set(still[still].index)
    share = moving.waste.value_counts(normalize=True)
    for kind in ("duplicate", "leaked", "wrong"):
        assert abs(share.get(kind, 0.0) - getattr(waste, kind)) < 0.04, (kind, share.to_dict())
    # Static waste is a still clip asked a static question; wrong answers really are wrong.
    assert not truth.loc[truth.waste == "static", "temporal"].any()
    assert (truth.loc[truth.waste == "static", "scenario"] == "static").all()
    wrong = truth[truth.waste == "wrong"]
    assert (wrong.given_answer != wrong.true_answer).all()
    rest = truth[truth.waste != "wrong"]
    assert (rest.given_answer == rest.true_answer).all()


def test_duplicates_repeat_an_earlier_question_of_the_same_clip(tmp_path) -> None:
    from gdo.world.pool_writer import build_pool

    cfg = WorldConf(
        sources=[
            SourceConf(name="dup", duration="0_30_s", clips=60, waste=WasteConf(duplicate=0.3))
        ]
    )
    out = build_pool(cfg, tmp_path)
    texts = {}
    for rel, records in out.files.items():
        for i, rec in enumerate(records):
            for t in range(len(rec["conversations"]) // 2):
                texts[(rel, i, t)] = rec["conversations"][2 * t]["value"]
    truth = pd.DataFrame(out.truth)
    seen: Counter = Counter()
    for row in truth.itertuples():
        q = texts[(row.file, row.record, row.turn)].removeprefix("<image>\n").split("\n")[0]
        if row.waste == "duplicate":
            assert seen[(row.clip_id, row.qtype, row.true_answer)] > 0
        seen[(row.clip_id, row.qtype, row.true_answer)] += 1
        assert q
    assert (truth.waste == "duplicate").mean() > 0.15


def test_sources_differ_in_quality(tmp_path) -> None:
    cfg = WorldConf(
        sources=[
            SourceConf(name="clean", duration="0_30_s", clips=60),
            SourceConf(name="noisy", duration="0_30_s", clips=60, waste=WasteConf(wrong=0.5)),
        ]
    )
    truth = _pool_truth(cfg, tmp_path)
    wrong = truth.groupby("source")["waste"].apply(lambda w: (w == "wrong").mean())
    assert wrong["0_30_s_clean"] == 0.0 and wrong["0_30_s_noisy"] > 0.3


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        (SourceConf(duration="0_45_s"), "duration"),
        (SourceConf(qa_max=9), "qa_max"),
        (SourceConf(duration="image", waste=WasteConf(static=0.1)), "static"),
        (SourceConf(question_mix={"shape_name": 1.0}), "shape_name"),
    ],
)
def test_bad_source_config_names_the_key(tmp_path, source: SourceConf, needle: str) -> None:
    from gdo.world.pool_writer import build_pool

    with pytest.raises(ConfigError, match=needle):
        build_pool(WorldConf(sources=[source]), tmp_path)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"n_options": 7}, "n_options"),
        ({"mc_answer": "word"}, "mc_answer"),
        ({"mc_styles": ["llava", "bold"]}, "mc_styles"),
        ({"mc_styles": []}, "mc_styles"),
        ({"scene": SceneConf(shapes=["hexagon"])}, "shapes"),
        ({"scene": SceneConf(canvas=8)}, "canvas"),
        ({"scene": SceneConf(short_frames=[2, 4])}, "short_frames"),
        ({"question_mix": {"colour": 0.0}}, "no positive weight"),
    ],
)
def test_bad_world_config_names_the_key(tmp_path, override: dict, needle: str) -> None:
    from gdo.world.pool_writer import build_pool

    src = [SourceConf(duration="0_30_s", clips=2)]
    mix = override.pop("question_mix", None)
    cfg = WorldConf(sources=src, **override)
    if mix is not None:
        cfg.question_mix = mix
    with pytest.raises(ConfigError, match=needle):
        build_pool(cfg, tmp_path)


def test_vocabulary_covers_generated_texts() -> None:
    vocab = set(vocabulary())
    rng = np.random.default_rng(5)
    for scenario in ("sequence", "change", "motion", "static"):
        for _ in range(10):
            for q in questions_for(make_clip(rng, scenario, 10, SCENE), rng, SCENE):
                for text in (*q.paraphrases, q.leak, q.answer, *q.space):
                    assert set(words(text)) <= vocab, text
    assert {"Question", "Option", "Only", "give", "the", "best", "A", "F", "7", "("} <= vocab
    assert {"question", "option", "only", "a", "f"} <= vocab  # lowercased forms too
    assert words("Options:\nB. red option's") == [
        "Options",
        ":",
        "B",
        ".",
        "red",
        "option",
        "'",
        "s",
    ]


def test_pool_depends_on_the_seed_only(tmp_path) -> None:
    src = [SourceConf(name="s", duration="0_30_s", clips=12, waste=WasteConf(wrong=0.2))]
    a = _pool_truth(WorldConf(seed=4, sources=src), tmp_path / "a")
    b = _pool_truth(WorldConf(seed=4, sources=src), tmp_path / "b")
    c = _pool_truth(WorldConf(seed=5, sources=src), tmp_path / "c")
    pd.testing.assert_frame_equal(a.drop(columns="file"), b.drop(columns="file"))
    assert not a[["qtype", "true_answer", "waste"]].equals(c[["qtype", "true_answer", "waste"]])


def test_pretrain_leaked_share_states_the_answer(tmp_path) -> None:
    """``world.pretrain.leaked``: that share of perception questions state their answer."""
    from gdo.world.config import PretrainSplitConf
    from gdo.world.pretrain import build_pretrain

    def build(leaked: float):
        cfg = WorldConf(pretrain=PretrainSplitConf(images=60, videos=60, leaked=leaked))
        counts: Counter = Counter()
        recs, _, _ = build_pretrain(cfg, tmp_path / str(leaked), counts)
        turns = [c for r in recs for c in r["conversations"]]
        pairs = list(zip(turns[::2], turns[1::2]))
        return counts, pairs

    counts, pairs = build(0.5)
    n = len(pairs)

    def main_line(q: dict) -> str:
        return next(x for x in q["value"].split("\n") if x not in ("<image>", "<video>"))

    leaked = [(q, a) for q, a in pairs if "." in main_line(q)]
    assert counts["pretrain_leaked"] == len(leaked) and 0.3 * n < len(leaked) < 0.7 * n
    for q, a in leaked:
        # The statement carries the answer text (the MC answer's text after "B. ").
        answer = a["value"].split(". ", 1)[-1]
        statement = main_line(q).split(". ")[0]
        assert answer in statement or (answer, "there is no" in statement) in (
            ("yes", False),
            ("no", True),
        )
    counts0, pairs0 = build(0.0)
    assert counts0["pretrain_leaked"] == 0
    with pytest.raises(ConfigError, match="world.pretrain.leaked"):
        build(1.0)


def test_pretrain_text_only_records_repeat_leaked_questions_without_media(tmp_path) -> None:
    """``world.pretrain.text_only``: that share of leaked questions also come as text-only
    records (no media, no media token), so the base sees blind prompts that state answers."""
    from gdo.world.config import PretrainSplitConf
    from gdo.world.pretrain import build_pretrain

    def build(text_only: float, tag: str):
        pre = PretrainSplitConf(images=40, videos=40, leaked=0.5, text_only=text_only)
        counts: Counter = Counter()
        recs, _, _ = build_pretrain(WorldConf(pretrain=pre), tmp_path / tag, counts)
        return counts, recs

    counts, recs = build(1.0, "all")
    with_media = [r for r in recs if "image" in r or "video" in r]
    text = [r for r in recs if "image" not in r and "video" not in r]
    assert len(text) == counts["pretrain_text_only"] == counts["pretrain_leaked"] > 0
    media_turns = {
        (c["value"].split("\n", 1)[1] if c["value"].startswith("<") else c["value"])
        for r in with_media
        for c in r["conversations"][::2]
    }
    for r in text:
        human, gpt = r["conversations"]
        assert "<image>" not in human["value"] and "<video>" not in human["value"]
        assert human["value"] in media_turns  # the same leaked question, with its media
        assert r["id"].rsplit("-", 1)[0] in {m["id"] for m in with_media}
    counts0, recs0 = build(0.0, "none")
    assert counts0["pretrain_text_only"] == 0 and len(recs0) == len(with_media)
    assert recs0 == with_media  # off: the split is the one without the option
    with pytest.raises(ConfigError, match="world.pretrain.text_only"):
        build(1.5, "bad")


def test_benchmark_count_answers_are_balanced(tmp_path) -> None:
    """A suite's count questions spread over their answers: a constant "1" scores chance."""
    from gdo.world.bench_clips import ClipMaker

    scene = SceneConf(objects=[1, 2], distractors=[0, 0])
    maker = ClipMaker(np.random.default_rng(0), scene, set(), "mp4v", Counter())
    answers = Counter(maker.draw("moving_count", (8, 8), 4)[2][0].qa.answer for _ in range(40))
    assert set(answers) == {"1", "2"} and answers["1"] == answers["2"] == 20
    assert maker.counts["benchmark_redraws_answer_balance"] > 0
