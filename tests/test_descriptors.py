"""Unit tests of the descriptor math (no model, no world)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_descriptors_helpers import FakeVLM, write_frames

from gdo.columns import (
    AMM,
    CLUSTER_HARD,
    CLUSTER_ID,
    CLUSTER_REP,
    FRAME_DIV,
    LOSS_BLIND,
    LOSS_VISUAL,
    PPL,
    SC,
    TNC,
    VDS,
)
from gdo.descriptors.context import BatchContext
from gdo.descriptors.coverage import Coverage, coverage_features, rgb_stats
from gdo.descriptors.difficulty import Difficulty, perplexity
from gdo.descriptors.goal_relevance import GoalRelevance, column_name
from gdo.descriptors.motion import Motion, motion_stats
from gdo.descriptors.self_consistency import SelfConsistency, mean_pairwise_jaccard, uid_seed
from gdo.descriptors.temporal_necessity import TemporalNecessity, parse_verdict, regex_tnc
from gdo.descriptors.visual_dependency import VisualDependency, visual_dependency
from gdo.media import load_media


def clip(moving: bool, tmp_path, n: int = 8) -> np.ndarray:
    paths = write_frames(tmp_path / ("m" if moving else "s"), moving=moving, n=n)
    return load_media("frames", paths, n)


def test_motion_separates_moving_from_static(tmp_path) -> None:
    amm_m, div_m = motion_stats(clip(True, tmp_path), size=64)
    amm_s, div_s = motion_stats(clip(False, tmp_path), size=64)
    assert amm_s < 0.05 and div_s == 0.0
    assert amm_m > 10 * max(amm_s, 0.01)
    assert 0.0 < div_m < 1.0
    assert motion_stats(None) == (0.0, 0.0)


def test_motion_is_zero_for_images_and_uses_at_most_n_frames(tmp_path) -> None:
    img = write_frames(tmp_path / "img", moving=False, n=1)
    rows = [
        {"uid": "a", "media_kind": "image", "media": img, "question": "q", "answer": "a"},
        {
            "uid": "b",
            "media_kind": "frames",
            "media": write_frames(tmp_path / "v", True, 16),
            "question": "q",
            "answer": "a",
            "n_frames": 16,
        },
    ]
    ctx = BatchContext(rows, max_frames=8)
    out = Motion(size=32).describe(ctx)
    assert out[AMM][0] == 0.0 and out[FRAME_DIV][0] == 0.0
    assert ctx.frames(1).shape[0] == 8
    # 8 of 16 frames: each kept step spans ~2 frames of 3 px motion.
    assert out[AMM][1] > 2.0


def test_unreadable_media_fails_the_row_not_the_batch(tmp_path) -> None:
    rows = [
        {
            "uid": "a",
            "media_kind": "frames",
            "media": [str(tmp_path / "nope.png")],
            "question": "q",
            "answer": "a",
        },
        {
            "uid": "b",
            "media_kind": "frames",
            "media": write_frames(tmp_path / "v", True),
            "question": "q",
            "answer": "a",
        },
    ]
    ctx = BatchContext(rows)
    out = Motion(size=32).describe(ctx)
    assert list(ctx.failed) == [0] and "MediaError" in ctx.failed[0]
    assert np.isnan(out[AMM][0]) and out[AMM][1] > 0


def test_vds_and_ppl_share_one_loss_pass() -> None:
    rows = [
        {
            "uid": str(i),
            "media_kind": k,
            "media": ["x"] if k != "none" else [],
            "question": "what colour?" + "x" * i,
            "answer": "red",
        }
        for i, k in enumerate(["frames", "none", "image"])
    ]
    model = FakeVLM()
    ctx = BatchContext(rows, model)
    vds = VisualDependency().describe(ctx)
    ppl = Difficulty().describe(ctx)
    assert model.calls == [("losses", 3)]
    np.testing.assert_allclose(vds[VDS], np.array(vds[LOSS_BLIND]) - vds[LOSS_VISUAL])
    np.testing.assert_allclose(vds[VDS], [0.8, 0.0, 0.8])
    np.testing.assert_allclose(ppl[PPL], np.exp(vds[LOSS_VISUAL]))


def test_vds_and_ppl_are_their_formulas_over_the_one_loss_entry_point() -> None:
    """The loss descriptors read the batch through ``answer_losses`` alone: the formula on
    two columns, a failed row (NaN) staying NaN."""

    class Losses:
        def answer_losses(self):
            return [1.0, 2.5, np.nan, 100.0], [1.5, 2.0, np.nan, 0.0]

    vds = VisualDependency().describe(Losses())
    np.testing.assert_array_equal(vds[LOSS_VISUAL], [1.0, 2.5, np.nan, 100.0])
    np.testing.assert_array_equal(vds[LOSS_BLIND], [1.5, 2.0, np.nan, 0.0])
    np.testing.assert_array_equal(vds[VDS], [0.5, -0.5, np.nan, -100.0])
    assert visual_dependency(loss_visual=1.0, loss_blind=1.5) == 0.5
    ppl = Difficulty(clip=30).describe(Losses())[PPL]
    np.testing.assert_allclose(ppl, [np.exp(1.0), np.exp(2.5), np.nan, np.exp(30)])
    assert np.isnan(perplexity(np.nan)) and perplexity(-1000.0, clip=30) == np.exp(-30)


def test_model_passes_get_frames_decoded_once_as_the_model_would(tmp_path) -> None:
    class Framed(FakeVLM):
        frames, max_pixels = 4, 16 * 16

        def losses(self, samples):
            self.seen = [s.get("frames") for s in samples]
            return super().losses(samples)

    clip_paths = write_frames(tmp_path / "v", True, 8)
    rows = [
        {"uid": "a", "media_kind": "frames", "media": clip_paths, "question": "q", "answer": "a"},
        {"uid": "b", "media_kind": "none", "media": [], "question": "q", "answer": "a"},
    ]
    model = Framed()
    VisualDependency().describe(BatchContext(rows, model))
    np.testing.assert_array_equal(model.seen[0], load_media("frames", clip_paths, 4, 16 * 16))
    assert model.seen[0].shape[0] == 4 and model.seen[1] is None


def test_motion_upscale_is_opt_in(tmp_path) -> None:
    frames = clip(True, tmp_path)
    native = motion_stats(frames, size=224)
    assert native == motion_stats(frames, size=None)
    upscaled = motion_stats(frames, size=224, upscale=True)
    assert upscaled[0] > 0 and upscaled != native


def test_ppl_is_clipped() -> None:
    class Huge(FakeVLM):
        def losses(self, samples):
            return np.array([1000.0, -1000.0]), np.array([0.0, 0.0])

    ctx = BatchContext([{"uid": "a"}, {"uid": "b"}], Huge())
    np.testing.assert_allclose(Difficulty(clip=30).describe(ctx)[PPL], [np.exp(30), np.exp(-30)])


def test_a_sample_too_long_fails_alone_and_the_rest_stays_batched() -> None:
    rows = [
        {"uid": str(i), "media_kind": "none", "media": [], "question": q, "answer": "a"}
        for i, q in enumerate(["ok one", "TOOLONG x", "ok two"])
    ]
    model = FakeVLM()
    ctx = BatchContext(rows, model)
    out = VisualDependency().describe(ctx)
    assert list(ctx.failed) == [1] and "TooLong" in ctx.failed[1]
    assert np.isnan(out[VDS][1]) and not np.isnan(out[VDS][0])
    assert model.calls == [("losses", 3), ("losses", 2)]


@pytest.mark.parametrize(
    ("question", TNC),
    [
        ("What happens after the red square stops?", 1.0),
        ("Which colour appears first?", 1.0),
        ("What colour is the shape at the end?", 1.0),
        ("What colour is the square?", 0.0),
        ("How many shapes are there?\nA. ending\nB. two", 0.0),  # option lines do not count
        ("Is the friend happy?", 0.0),  # 'then' inside a word does not count
        ("What happened in the sequence of events?", 1.0),
    ],
)
def test_regex_tnc(question: str, tnc: float) -> None:
    assert regex_tnc(question) == tnc


def test_tnc_extra_words_extend_the_reference_list() -> None:
    rows = [
        {"uid": "a", "question": "What colour appears last?"},
        {"uid": "b", "question": "What colour is the lasting shape?"},
    ]
    assert TemporalNecessity().describe(BatchContext(rows))[TNC] == [0.0, 0.0]
    tnc = TemporalNecessity(extra_words=["last"]).describe(BatchContext(rows))[TNC]
    assert tnc == [1.0, 0.0]


def test_llm_verdict_parsing() -> None:
    assert parse_verdict("Temporal") == 1.0
    assert parse_verdict(" static.") == 0.0
    assert parse_verdict("maybe") == 0.5
    assert parse_verdict("temporal or static") == 0.5


def test_jaccard() -> None:
    assert mean_pairwise_jaccard(["red", "red", "Red!"]) == 1.0
    assert mean_pairwise_jaccard(["red", "blue"]) == 0.0
    # pairs: (a b, a c) 1/3, (a b, a b) 1, (a c, a b) 1/3 -> mean 5/9
    assert mean_pairwise_jaccard(["a b", "a c", "a b"]) == pytest.approx(5 / 9)
    assert np.isnan(mean_pairwise_jaccard(["only one"]))


def test_sc_does_not_depend_on_batch_composition() -> None:
    rows = [
        {
            "uid": f"u{i}",
            "media_kind": "none",
            "media": [],
            "answer": "a",
            "question": "a long question that is hard " + str(i),
        }
        for i in range(5)
    ]
    sc = SelfConsistency(n=4)
    together = sc.describe(BatchContext(rows, FakeVLM(), seed=7))[SC]
    alone = [sc.describe(BatchContext([r], FakeVLM(), seed=7))[SC][0] for r in reversed(rows)]
    assert together == alone[::-1]
    other_seed = sc.describe(BatchContext(rows, FakeVLM(), seed=8))[SC]
    assert other_seed != together
    assert uid_seed(7, "u1") == uid_seed(7, "u1") != uid_seed(7, "u2")


def test_rgb_stats_and_coverage_feature_is_27d(tmp_path) -> None:
    frames = clip(False, tmp_path)
    stats = rgb_stats(frames)
    assert len(stats) == 6 and all(0 <= s <= 1 for s in stats)
    assert stats[0] == pytest.approx(64 / 1024)  # an 8x8 white square on 32x32
    assert stats[3] == pytest.approx(np.sqrt(64 / 1024 * (1 - 64 / 1024)))
    table = pd.DataFrame({"question": ["a b", "c"], "answer": ["x", ""], TNC: [1.0, np.nan]})
    feats = coverage_features(table)
    assert feats.shape == (2, 27) and np.isfinite(feats).all()
    assert feats[1, 16 + 6] == 1.0  # tnc NaN imputed with the median


def test_coverage_marks_rare_rows_harder() -> None:
    rng = np.random.default_rng(0)
    n = 200
    table = pd.DataFrame(
        {
            "question": ["what colour is it"] * n,
            "answer": ["red"] * n,
            "status": ["ok"] * (n - 1) + ["failed"],
            VDS: np.r_[rng.normal(0, 0.01, n - 2), 50.0, np.nan],
        }
    )
    out = Coverage(k=8, seed=0).describe_pool(table, None)
    assert out[CLUSTER_ID].iloc[-1] == -1 and np.isnan(out[CLUSTER_REP].iloc[-1])
    rep = out[CLUSTER_REP].to_numpy()[:-1]
    assert np.all((rep > 0) & (rep <= 1))
    np.testing.assert_allclose(out[CLUSTER_HARD].to_numpy()[:-1], 1 - rep)
    assert out[CLUSTER_ID].nunique() <= 8 + 1


def test_coverage_does_not_depend_on_padding_noise() -> None:
    # Losses computed with other batch mates (1 rank vs 2) differ by ~1e-7.
    rng = np.random.default_rng(1)
    n = 400
    table = pd.DataFrame(
        {
            "question": [f"what colour is shape {i % 7}" for i in range(n)],
            "answer": [("red", "blue", "green")[i % 3] for i in range(n)],
            "status": ["ok"] * n,
            VDS: rng.normal(0, 1, n),
            PPL: rng.lognormal(2, 1, n),
            AMM: np.where(rng.random(n) < 0.5, 0.0, rng.gamma(2, 1, n)),
        }
    )
    noisy = table.assign(vds=table.vds + rng.normal(0, 1e-7, n), ppl=table.ppl * (1 + 1e-7))
    a = Coverage(k=100, seed=0).describe_pool(table, None)
    b = Coverage(k=100, seed=0).describe_pool(noisy, None)
    assert a[CLUSTER_ID].equals(b[CLUSTER_ID])
    np.testing.assert_allclose(a[CLUSTER_REP], b[CLUSTER_REP], atol=1e-4)


def test_goal_relevance_prefers_target_like_questions(tmp_path) -> None:
    target = tmp_path / "target.json"
    target.write_text(
        json.dumps(
            [
                {"question": f"in which order do the {c} shapes appear?"}
                for c in ("red", "blue", "green")
            ]
        )
    )
    table = pd.DataFrame(
        {
            "question": [
                "in which order do the shapes appear?\nA. red\nB. blue",
                "what colour is the big square?",
                "how many circles move?",
                "",
            ],
            "status": ["ok", "ok", "ok", "ok"],
        }
    )
    gr = GoalRelevance(
        targets=[{"name": "My-Bench", "kind": "questions", "path": str(target)}], buckets=1024
    )
    assert gr.columns() == ["goal_rel_my_bench"] == [column_name("My-Bench")]
    rel = gr.describe_pool(table, None)["goal_rel_my_bench"].to_numpy()
    assert rel[0] > 0 > rel[1] and rel[0] > rel[2]
    assert rel[3] == 0.0  # no n-grams: neutral


def test_goal_relevance_reads_the_benchmark_index(tmp_path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "q.txt").write_text("what colour\nwhich colour first\n")
    index = tmp_path / "bench" / "index.json"
    index.write_text(json.dumps([{"name": "a", "kind": "questions", "path": "q.txt"}]))
    assert GoalRelevance(index=str(index)).columns() == ["goal_rel_a"]
    assert GoalRelevance(index=str(tmp_path / "absent.json")).columns() == []


def test_sc_with_a_real_tiny_vlm_is_seeded_per_uid_not_per_batch(tmp_path, cfg_factory) -> None:
    import torch

    from gdo.models import build_tiny, load_model, vocabulary_from_texts

    torch.set_num_threads(1)
    cfg = cfg_factory()
    questions = [f"what colour is shape {i}?" for i in range(6)]
    folder = build_tiny(cfg.model, tmp_path / "tiny", vocabulary_from_texts([*questions, "red"]))
    vlm = load_model(cfg.model, str(folder))
    rows = [{"uid": f"u{i}", "question": q, "answer": "red", "media_kind": "none", "media": []}
            for i, q in enumerate(questions)]  # fmt: skip
    sc = SelfConsistency(n=3, max_new_tokens=6)
    together = sc._sample(BatchContext(rows, vlm, seed=3), rows)
    alone = [sc._sample(BatchContext([r], vlm, seed=3), [r])[0] for r in rows[::-1]][::-1]
    assert together == alone
    assert len({tuple(a) for a in together}) > 1  # an untrained model samples varied text
    assert sc._sample(BatchContext(rows, vlm, seed=4), rows) != together


def test_a_video_is_decoded_once_for_motion_and_the_model(tmp_path, monkeypatch) -> None:
    import cv2

    import gdo.media.video as video

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 4.0, (32, 32))
    for t in range(13):
        img = np.zeros((32, 32, 3), np.uint8)
        img[8:20, 1 + t : 13 + t] = (255, 64, 0)
        writer.write(img)
    writer.release()
    opened = []
    real_open = video._open
    monkeypatch.setattr(video, "_open", lambda p: opened.append(p) or real_open(p))

    class Framed(FakeVLM):
        frames, max_pixels = 4, 16 * 16

    row = {"uid": "a", "media_kind": "video", "media": [str(path)], "question": "q", "answer": "a"}
    ctx = BatchContext([row], Framed(), max_frames=8)
    native, model = ctx.frames(0), ctx.model_rows([0])[0]["frames"]
    assert len(opened) == 1
    np.testing.assert_array_equal(native, load_media("video", [str(path)], 8))
    np.testing.assert_array_equal(model, load_media("video", [str(path)], 4, 16 * 16))
    assert model.shape[0] == 4 and model.shape[1] * model.shape[2] <= 16 * 16
    # The model's rows first (no media descriptor asked yet): the same single decode.
    ctx = BatchContext([row], Framed(), max_frames=8)
    np.testing.assert_array_equal(ctx.model_rows([0])[0]["frames"], model)
    np.testing.assert_array_equal(ctx.frames(0), native)
