"""Evaluation speed-ups change no answer: suite inputs made once for every checkpoint,
batches ordered by length, a batch that runs out of memory retried at half the size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_video

from gdo.evaluation import read_benchmark
from gdo.evaluation.config import BenchmarkConf
from gdo.evaluation.predict import predict
from gdo.evaluation.stage import run

torch.set_num_threads(1)


def _benchmark(root: Path) -> Path:
    """Five questions on two clips (three share one), one with its video missing."""
    (root / "video").mkdir(parents=True)
    write_video(root / "video" / "red.mp4", (0, 0, 255))
    write_video(root / "video" / "blue.mp4", (255, 0, 0))
    ask = "what colour is the shape?"
    records = [
        {"qid": "q0", "video": "red.mp4", "question": ask, "options": ["red", "blue", "green"],
         "answer": "A"},
        {"qid": "q1", "video": "blue.mp4", "question": ask, "options": ["red", "blue"],
         "answer": "B"},
        {"qid": "q2", "video": "red.mp4", "question": "what colour appears first?",
         "options": ["green", "red"], "answer": "B"},
        {"qid": "q3", "video": "gone.mp4", "question": ask, "options": ["red", "blue"],
         "answer": "A"},
        {"qid": "q4", "video": "red.mp4", "question": "is there a shape?",
         "options": ["yes", "no", "maybe", "never"], "answer": "A"},
    ]  # fmt: skip
    path = root / "custom.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def _results(out: Path) -> dict[str, tuple[str, list[float]]]:
    got = {}
    for path in sorted(out.glob("*/ckpt-*/colours.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            got[f"{path.parent.parent.name}/{path.parent.name}/{row['qid']}"] = (
                row["letter"], row["option_scores"],
            )  # fmt: skip
    return got


def test_suite_inputs_made_once_change_no_answer(cfg_factory, tmp_path: Path, monkeypatch) -> None:
    import gdo.media
    from gdo.models import build_tiny, vocabulary_from_texts

    path = _benchmark(tmp_path / "bench")
    spec = BenchmarkConf(name="colours", kind="custom", path=str(path),
                         media_root=str(tmp_path / "bench" / "video"))  # fmt: skip
    questions = read_benchmark(path, "custom", tmp_path / "bench" / "video")
    words = vocabulary_from_texts([*questions["question"], "A B C D ( ) ."])
    results, decodes = {}, {}
    real = gdo.media.load_media
    for cache_mb in (2048, 0):
        cfg = cfg_factory("logger=none", f"eval.cache_mb={cache_mb}", f"name=cache{cache_mb}")
        cfg.eval.benchmarks = [spec]
        work = Path(cfg.paths.work_dir)
        base = build_tiny(cfg.model, work / "base_model", words)
        for samples in (100, 200):
            ck = work / "train" / "goal" / "checkpoints" / f"ckpt-{samples}"
            shutil.copytree(base, ck)
            (ck / "gdo_state.json").write_text(json.dumps({"samples": samples}))
        decodes[cache_mb] = 0

        def counted(*args, _mb=cache_mb, **kwargs):
            decodes[_mb] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(gdo.media, "load_media", counted)
        results[cache_mb] = _results(run(cfg))
        summary = json.loads((work / "eval" / "eval_summary.json").read_text())["counts"]
        assert summary["cache/suites_cached"] == (1 if cache_mb else 0)
    # Cached: each video once for all three models; else each answered question per model.
    assert decodes == {2048: 2, 0: 4 * 3}
    cached, plain = results[2048], results[0]
    assert cached.keys() == plain.keys() and len(cached) == 15
    for key, (letter, scores) in plain.items():
        assert cached[key][0] == letter
        np.testing.assert_allclose(cached[key][1], scores, atol=1e-5)


class OutOfMemoryAbove:
    """Scores options, but runs out of memory on batches larger than ``limit``."""

    def __init__(self, limit: int, error: type[Exception] = torch.OutOfMemoryError) -> None:
        self.limit, self.error, self.sizes = limit, error, []

    def score_options(self, samples, target="text"):
        self.sizes.append(len(samples))
        if len(samples) > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [np.arange(len(s["options"]), dtype=float) for s in samples]


def test_a_batch_out_of_memory_is_retried_at_half_the_size() -> None:
    from test_eval_support import fixture_benchmarks

    bench = fixture_benchmarks()[1]
    questions = read_benchmark(bench["path"], bench["kind"], bench["media_root"])
    n = int((~questions["video_missing"]).sum())
    vlm = OutOfMemoryAbove(limit=2)
    preds = predict(vlm, questions, bench["kind"], "likelihood", batch_size=8)
    assert preds.counts["oom_backoffs"] == 2 and preds.counts["batch_size"] == 2
    assert vlm.sizes[:3] == [min(8, n), min(4, n), 2] and sum(vlm.sizes[2:]) == n
    letters = [a for a, m in zip(preds.answers, questions["video_missing"]) if not m]
    assert all(a == f"({'ABCDEF'[len(o) - 1]})" for a, o in
               zip(letters, questions["options"][~questions["video_missing"]]))  # fmt: skip
    # Out of memory with one question, or any other error, is raised.
    with pytest.raises(torch.OutOfMemoryError):
        predict(OutOfMemoryAbove(limit=0), questions, bench["kind"], batch_size=4)
    with pytest.raises(ValueError):
        predict(OutOfMemoryAbove(limit=0, error=ValueError), questions, bench["kind"])


def test_batches_go_shortest_prompt_first_and_answers_stay_in_row_order() -> None:
    from test_eval_support import fixture_benchmarks

    bench = fixture_benchmarks()[0]
    questions = read_benchmark(bench["path"], bench["kind"], bench["media_root"])
    seen = []

    class Recorder:
        def score_options(self, samples, target="text"):
            seen.extend(len(s["question"]) for s in samples)
            return [np.eye(len(s["options"]))[int(s["uid"][-1]) % len(s["options"])]
                    for s in samples]  # fmt: skip

    preds = predict(Recorder(), questions, bench["kind"], batch_size=2)
    assert seen == sorted(seen)
    for qid, options, answer, missing in zip(
        questions["qid"], questions["options"], preds.answers, questions["video_missing"]
    ):
        if not missing:
            assert answer == f"({'ABCDEF'[int(qid[-1]) % len(options)]})"


def test_questions_of_one_video_are_batched_together_shortest_first() -> None:
    from gdo.evaluation.predict import _length_order

    def q(text: str, video: str) -> dict:
        return {"question": text, "media_kind": "video", "media": [video]}

    samples = {0: q("x" * 30, "a"), 1: q("x" * 10, "b"), 2: q("x" * 12, "a"), 3: q("x" * 50, "b"),
               4: q("x" * 20, "c")}  # fmt: skip
    # b (shortest 10) then a (12) then c (20); each video's questions shortest first.
    assert _length_order(samples) == [1, 3, 2, 0, 4]
