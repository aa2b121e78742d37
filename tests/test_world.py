"""``gdo world`` (preset small): real schemas, decodable media, truth 1:1, held-out suites."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import compose

from gdo.pool.schema import make_uid
from gdo.utils.manifest import read_manifest
from gdo.world.media_io import count_frames, read_video
from gdo.world.stage import run
from gdo.world.vocab import vocabulary, words

LLAVA_MC_LINE = r"^[A-F]\. \S"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world")
    return run(compose([f"paths.root_dir={root}", "world=small"]))


def pool_records(world: Path):
    """(source, file, record index, record) for every pool record, via mixture.yaml."""
    mixture = yaml.safe_load((world / "pool" / "mixture.yaml").read_text())
    assert mixture and all(e["sampling_strategy"] == "all" for e in mixture)
    for entry in mixture:
        path = world / "pool" / entry["json_path"]
        for i, rec in enumerate(json.loads(path.read_text())):
            # The pool reader's rule: data_source, else the entry's source, else the stem.
            source = rec.get("data_source") or entry.get("source") or path.stem
            yield source, path, i, rec


def test_layout_and_manifest(world: Path) -> None:
    for rel in (
        "pool/mixture.yaml",
        "pretrain/perception.json",
        "truth.parquet",
        "benchmarks/index.json",
        "manifest.json",
    ):
        assert (world / rel).is_file(), rel
    m = read_manifest(world)
    counts = m["counts"]
    truth = pd.read_parquet(world / "truth.parquet")
    assert counts["candidates"] == len(truth)
    for group, col in (
        ("by_bucket", "bucket"),
        ("by_source", "source"),
        ("by_qtype", "qtype"),
        ("by_waste", "waste"),
    ):
        assert counts[group] == truth[col].value_counts().to_dict()
    assert 300 <= len(truth) <= 900
    assert set(truth.bucket) == {"image", "short_video", "long_video"}


def test_pool_records_are_llava_video_178k(world: Path) -> None:
    folders = {p.name for p in (world / "pool").iterdir() if p.is_dir()}
    assert {"0_30_s_shapes", "30_60_s_noisy", "1_2_m_shapes", "2_3_m_rerun"} <= folders
    for folder in folders:
        for kind in ("oe", "mc"):
            assert (world / "pool" / folder / f"{folder}_{kind}_qa_processed.json").is_file()
    n_mc = 0
    for source, path, i, rec in pool_records(world):
        assert set(rec) >= {"id", "conversations"}, (path, i)
        conv = rec["conversations"]
        assert [t["from"] for t in conv] == ["human", "gpt"] * (len(conv) // 2)
        assert conv[0]["value"].startswith("<image>\n")
        if "video" in rec:
            assert rec["data_source"] == path.parent.name == source
            assert (world / "media" / rec["video"]).is_file()
        else:
            assert "image" in rec and (world / "media" / rec["image"]).is_file()
        if path.name.endswith("_mc_qa_processed.json"):
            n_mc += 1
            human = conv[0]["value"].split("\n")
            assert "Options:" in human
            opts = human[human.index("Options:") + 1 : -1]
            assert [o[0] for o in opts] == list("ABCDEF"[: len(opts)])
            assert conv[1]["value"][0] in "ABCDEF"[: len(opts)]
    assert n_mc > 0


def test_multiple_choice_always_offers_every_letter(world: Path) -> None:
    # A yes/no question as two-option multiple choice answers A or B only; enough of them
    # taught a fine-tune to prefer A and B everywhere. They stay open-ended (pool and
    # pre-training), so every multiple-choice question offers A to D (world=small: 4).
    perception = json.loads((world / "pretrain" / "perception.json").read_text())
    records = [rec for *_, rec in pool_records(world)] + perception
    sizes = Counter()
    for rec in records:
        for turn in rec["conversations"][::2]:
            lines = turn["value"].split("\n")
            if "Options:" in lines:
                sizes[sum(bool(re.match(LLAVA_MC_LINE, ln)) for ln in lines)] += 1
    assert set(sizes) == {4}, sizes


def test_truth_matches_pool_records_one_to_one(world: Path) -> None:
    truth = pd.read_parquet(world / "truth.parquet").set_index("uid")
    uids = []
    for source, _, _, rec in pool_records(world):
        conv = rec["conversations"]
        for turn in range(len(conv) // 2):
            uid = make_uid(source, rec["id"], turn)
            uids.append(uid)
            row = truth.loc[uid]
            assert row.sample_id == rec["id"] and row.turn == turn and row.source == source
            answer = conv[2 * turn + 1]["value"]
            if row.is_mcq:
                # "B. red": the letter picks the given answer among the options.
                lines = conv[2 * turn]["value"].split("\n")
                opts = {ln[0]: ln[3:] for ln in lines if len(ln) > 3 and ln[1:3] == ". "}
                assert opts[answer[0]] == row.given_answer
                assert opts[row.true_letter] == row.true_answer
            else:
                assert answer == row.given_answer
    assert len(uids) == len(set(uids)) == len(truth)
    assert set(truth.waste) <= {"none", "duplicate", "leaked", "static", "wrong"}
    assert truth.temporal.dtype == bool
    assert truth.groupby("qtype").temporal.nunique().max() == 1


def test_every_video_decodes_with_its_frame_count(world: Path) -> None:
    truth = pd.read_parquet(world / "truth.parquet")
    frames = dict(zip(truth.clip_id, truth.n_frames))
    videos = {}
    for _, _, _, rec in pool_records(world):
        if "video" in rec:
            clip_id = rec["id"].split("-mc")[0]
            videos[rec["video"]] = frames[clip_id]
    assert videos
    for rel, n in videos.items():
        assert count_frames(world / "media" / rel) == n, rel
    bench = pd.read_parquet(world / "benchmarks" / "truth.parquet")
    for rel, n in dict(zip(bench.video, bench.n_frames)).items():
        assert count_frames(world / rel) == n, rel
    short = truth[truth.bucket == "short_video"].n_frames
    long = truth[truth.bucket == "long_video"].n_frames
    assert short.between(8, 16).all() and long.between(32, 64).all()
    m = read_manifest(world)["counts"]
    assert m["videos_verified"] == m["videos"] + m["pretrain_videos"] + m["benchmark_videos"]


def test_benchmarks_in_real_schemas(world: Path) -> None:
    index = json.loads((world / "benchmarks" / "index.json").read_text())
    assert [e["name"] for e in index] == ["mvbench", "videomme", "mlvu", "lvbench"]
    assert all(e["kind"] == e["name"] and (world / e["path"]).exists() for e in index)
    by = {e["name"]: e for e in index}
    for f in (world / by["mvbench"]["path"]).glob("*.json"):
        for rec in json.loads(f.read_text()):
            assert set(rec) == {"video", "question", "candidates", "answer"}
            assert rec["answer"] in rec["candidates"]
            assert (world / by["mvbench"]["media_root"] / f.stem / rec["video"]).is_file()
    vm = pd.read_parquet(world / by["videomme"]["path"])
    assert list(vm.columns) == [
        "video_id",
        "duration",
        "domain",
        "sub_category",
        "url",
        "videoID",
        "question_id",
        "task_type",
        "question",
        "options",
        "answer",
    ]
    assert set(vm.duration) == {"short", "medium", "long"}
    assert all(
        list(o) == [f"{ltr}. {o[i][3:]}" for i, ltr in enumerate("ABCD")] for o in vm.options
    )
    mlvu = json.loads((world / by["mlvu"]["path"]).read_text())
    assert max(len(r["candidates"]) for r in mlvu) >= 5
    for r in mlvu:
        lines = r["question"].split("\n")[1:]
        assert lines == [f"({'ABCDEF'[i]}) {c}" for i, c in enumerate(r["candidates"])]
        assert r["answer"] in "ABCDEF"[: len(r["candidates"])]
    lv = [json.loads(x) for x in (world / by["lvbench"]["path"]).read_text().splitlines()]
    for r in lv:
        assert {
            "video_path",
            "question",
            "answer",
            "type",
            "question_type",
            "time_reference",
            "uid",
            "key",
        } <= set(r)
        assert "\n(A) " in r["question"] and r["answer"] in "ABCD"
    bench = pd.read_parquet(world / "benchmarks" / "truth.parquet")
    assert bench.groupby("benchmark").size().between(20, 40).all()
    # Balanced answers: no letter holds more than half of a suite's questions.
    assert (
        bench.groupby("benchmark")
        .answer_letter.agg(lambda s: s.value_counts(normalize=True).max())
        .max()
        < 0.5
    )
    assert bench.temporal.mean() > 0.5


def test_answer_letters_are_balanced_within_each_question_type(world: Path) -> None:
    # Suites cycle their question types; one letter counter per suite aliased with that
    # cycle (every LVBench colour question answered "C"), so a letter prior read as skill.
    bench = pd.read_parquet(world / "benchmarks" / "truth.parquet")
    for (suite, qtype, n), g in bench.groupby(["benchmark", "qtype", "n_options"]):
        per_letter = [int((g.answer_letter == ltr).sum()) for ltr in "ABCDEF"[:n]]
        assert max(per_letter) - min(per_letter) <= 1, (suite, qtype, per_letter)


def test_benchmarks_use_the_evaluation_readers(world: Path) -> None:
    readers = pytest.importorskip("gdo.benchmarks.readers")
    bench = pd.read_parquet(world / "benchmarks" / "truth.parquet")
    for e in json.loads((world / "benchmarks" / "index.json").read_text()):
        df = readers.read_benchmark(world / e["path"], e["kind"], world / e["media_root"])
        assert len(df) == (bench.benchmark == e["name"]).sum()
        assert not df.video_missing.any(), e["name"]


def _frame_hashes(paths) -> set[str]:
    return {hashlib.sha1(read_video(p).tobytes()).hexdigest() for p in paths}


def test_benchmark_clips_are_never_pool_clips(world: Path) -> None:
    pool = _frame_hashes(sorted((world / "media" / "videos").rglob("*.mp4")))
    pretrain = _frame_hashes(sorted((world / "media" / "pretrain").rglob("*.mp4")))
    bench_paths = sorted((world / "benchmarks").rglob("*.mp4"))
    bench = _frame_hashes(bench_paths)
    assert len(bench) == len(bench_paths)  # no clip shared between suites either
    assert not bench & pool and not bench & pretrain


def test_texts_use_only_vocabulary_words(world: Path) -> None:
    vocab = set(vocabulary())
    texts = []
    for _, _, _, rec in pool_records(world):
        texts += [t["value"].replace("<image>", "") for t in rec["conversations"]]
    for rec in json.loads((world / "pretrain" / "perception.json").read_text()):
        texts += [t["value"].replace("<image>", "") for t in rec["conversations"]]
    vm = pd.read_parquet(world / "benchmarks" / "videomme" / "videomme.parquet")
    texts += list(vm.question) + [o for opts in vm.options for o in opts]
    try:  # the evaluation harness prompts must tokenize too
        from gdo.evaluation.prompts import build_prompt

        for kind in ("mvbench", "videomme", "mlvu", "lvbench"):
            texts.append(build_prompt(vm.question[0], [o[3:] for o in vm.options[0]], kind))
    except ImportError:
        pass
    for text in texts:
        assert set(words(text)) <= vocab, text
    try:  # the tiny model's own pre-tokenizer must find no unknown word either
        from gdo.models.tiny import vocabulary_from_texts

        assert set(vocabulary_from_texts(texts)) <= vocab
    except ImportError:
        pass
    assert json.loads((world / "vocabulary.json").read_text()) == sorted(vocab)


def test_pretrain_split_has_images_videos_and_temporal(world: Path) -> None:
    recs = json.loads((world / "pretrain" / "perception.json").read_text())
    assert any("image" in r for r in recs) and any("video" in r for r in recs)
    qtypes = read_manifest(world)["counts"]["by_pretrain_qtype"]
    assert qtypes.get("appearance_order", 0) > 0 and qtypes.get("colour", 0) > 0


def test_reversed_pool_clip_changes_the_order_answer(world: Path) -> None:
    """On the written mp4 itself: pixels give the label forward and another one reversed."""
    from test_world_scene import first_colour

    truth = pd.read_parquet(world / "truth.parquet").set_index("uid")
    checked = 0
    for source, _, _, rec in pool_records(world):
        conv = rec.get("conversations", [])
        for turn in range(len(conv) // 2):
            row = truth.loc[make_uid(source, rec["id"], turn)]
            question = conv[2 * turn]["value"].split("\n")
            if "video" not in rec or row.qtype != "appearance_order":
                continue
            if not any("first" in q for q in question):
                continue
            frames = read_video(world / "media" / rec["video"])
            assert first_colour(frames) == row.true_answer
            assert first_colour(frames[::-1]) not in (None, row.true_answer)
            checked += 1
    assert checked >= 3


def test_rerun_is_skipped_and_seed_is_deterministic(world: Path, tmp_path: Path) -> None:
    cfg = compose([f"paths.root_dir={world.parent.parent.parent}", "world=small"])
    before = (world / "manifest.json").stat().st_mtime_ns
    assert run(cfg) == world and (world / "manifest.json").stat().st_mtime_ns == before
    again = run(compose([f"paths.root_dir={tmp_path}", "world=small"]))
    a, b = read_manifest(world), read_manifest(again)
    assert a["key"] == b["key"]
    a["counts"].pop("seconds"), b["counts"].pop("seconds")
    assert a["counts"] == b["counts"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(world / "truth.parquet"), pd.read_parquet(again / "truth.parquet")
    )


def _style_of(question: str) -> str:
    lines = question.split("\n")
    if lines[0].startswith("Question: "):
        return "question_option"
    if "Options:" in lines:
        return "llava"
    return "paren_letter" if lines[-1].startswith("Answer the question") else "paren"


def test_multiple_choice_styles_are_read_back_by_the_pool_reader(tmp_path: Path) -> None:
    from gdo.pool import read_candidates

    styles = ["llava", "question_option", "paren", "paren_letter"]
    overrides = [
        f"paths.root_dir={tmp_path}",
        "world=small",
        f"world.mc_styles=[{','.join(styles)}]",
    ]
    world = run(compose(overrides))
    truth = pd.read_parquet(world / "truth.parquet").set_index("uid")
    seen = Counter()
    for path in sorted((world / "pool").rglob("*_mc_qa_processed.json")):
        for row in read_candidates(path, media_root=world / "media").itertuples():
            # Every layout's options and answer letter come back as the world wrote them.
            assert truth.loc[row.uid, "is_mcq"]
            assert (
                list(row.options)[ord(row.answer_letter) - 65] == truth.loc[row.uid, "given_answer"]
            )
            seen[_style_of(row.question)] += 1
    assert set(seen) == set(styles), seen


def test_demo_suites_ask_only_the_measured_types_with_300_or_more_each() -> None:
    """The demo's suites ask appearance order, state change and colour only: existence was
    at chance for every model, and a two-valued count let selection pick one answer
    (experiments/calibration, section 10). Each suite keeps >= 300 questions."""
    from gdo.world.benchmarks import MLVU_QTYPE, MVBENCH_QTYPE

    b = compose(["world=demo"]).world.benchmarks
    asked = {
        "mvbench": {MVBENCH_QTYPE[s] for s in b.mvbench_subtasks},
        "videomme": set(b.videomme_qtypes),
        "mlvu": {MLVU_QTYPE[t] for t in b.mlvu_tasks},
        "lvbench": set(b.lvbench_qtypes),
    }
    assert all(q == {"appearance_order", "state_change", "colour"} for q in asked.values()), asked
    sizes = {
        "mvbench": b.mvbench_per_subtask * len(b.mvbench_subtasks),
        "videomme": b.videomme_videos * b.videomme_questions_per_video,
        "mlvu": b.mlvu,
        "lvbench": b.lvbench_videos * b.lvbench_questions_per_video,
    }
    assert min(sizes.values()) >= 300, sizes


def test_clean_counts_script_draws_the_truth_of_a_real_world(world: Path) -> None:
    """experiments/calibration/clean_counts.py stubs rendering and the media writers to count a
    world's questions in seconds; that is only sound while they draw nothing from the world's
    rng, so its truth table must equal the real world's, question by question."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "experiments/calibration/clean_counts.py"
    spec = importlib.util.spec_from_file_location("clean_counts", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seed = int(compose(["world=small"]).world.seed)
    drawn = module.truth_without_media("small", seed)[module.KEY].reset_index(drop=True)
    real = pd.read_parquet(world / "truth.parquet").drop_duplicates("uid")[module.KEY]
    pd.testing.assert_frame_equal(drawn, real.reset_index(drop=True))
    assert drawn["temporal"].any() and (drawn["waste"] != "none").any()
