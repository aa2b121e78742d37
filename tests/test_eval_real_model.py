"""``gdo evaluate`` with the real tiny Qwen2-VL (built, saved, loaded back): slow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_video

from gdo.evaluation import build_prompt, read_benchmark
from gdo.evaluation.config import BenchmarkConf
from gdo.evaluation.stage import run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["likelihood", "generate"])
def test_real_tiny_model_end_to_end(cfg_factory, tmp_path: Path, mode: str) -> None:
    import torch

    from gdo.models import build_tiny, vocabulary_from_texts

    torch.set_num_threads(1)
    bench = tmp_path / "bench"
    (bench / "video").mkdir(parents=True)
    write_video(bench / "video" / "red.mp4", (0, 0, 255))
    write_video(bench / "video" / "blue.mp4", (255, 0, 0))
    records = [
        {"qid": "q0", "video": "red.mp4", "question": "what colour is the shape?",
         "options": ["red", "blue", "green"], "answer": "A", "subtask": "colour"},
        {"qid": "q1", "video": "blue.mp4", "question": "what colour is the shape?",
         "options": ["red", "blue", "green"], "answer": "blue", "subtask": "colour"},
        {"qid": "q2", "video": "gone.mp4", "question": "what colour is the shape?",
         "options": ["red", "blue"], "answer": "B", "subtask": "colour"},
    ]  # fmt: skip
    (bench / "custom.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    cfg = cfg_factory("logger=none", f"eval.mode={mode}", "eval.max_new_tokens=4")
    cfg.eval.benchmarks = [
        BenchmarkConf(name="colours", kind="custom", path=str(bench / "custom.jsonl"),
                      media_root=str(bench / "video"))
    ]  # fmt: skip
    questions = read_benchmark(bench / "custom.jsonl", "custom", bench / "video")
    prompts = [
        build_prompt(q, list(o), "custom") for q, o in zip(questions.question, questions.options)
    ]
    build_tiny(cfg.model, Path(cfg.paths.work_dir) / "base_model", vocabulary_from_texts(prompts))
    out = run(cfg)
    summary = json.loads((out / "base/ckpt-0/colours.summary.json").read_text())
    assert summary["n"] == 3 and summary["counts"]["n_video_missing"] == 1
    rows = [json.loads(x) for x in (out / "base/ckpt-0/colours.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in rows] == ["", "", "video_missing"]
    if mode == "likelihood":
        # the model scored every option of the answered questions; its pick is a letter
        assert [len(r["option_scores"]) for r in rows] == [3, 3, 0]
        assert all(r["letter"] in "ABC" and r["answered"] for r in rows[:2])
    else:
        assert all(isinstance(r["pred"], str) for r in rows)
    assert summary["mode"] == mode
