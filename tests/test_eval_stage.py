"""``gdo evaluate`` end to end with a fake VLM: files, resumability, missing videos."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_eval_support import FakeVLM, fixture_benchmarks, make_training, skill_of

from gdo.evaluation import aggregate, read_benchmark
from gdo.evaluation.checkpoints import find_checkpoints
from gdo.evaluation.config import BenchmarkConf
from gdo.evaluation.stage import run


def _cfg(cfg_factory, *overrides):
    cfg = cfg_factory("logger=none", *overrides)
    cfg.eval.benchmarks = [BenchmarkConf(**b) for b in fixture_benchmarks()]
    return cfg


def _gold() -> dict[str, str]:
    gold = {}
    for b in fixture_benchmarks():
        df = read_benchmark(
            b["path"],
            b["kind"],
            b["media_root"],
            media_map=b.get("media_map"),
            frame_subtasks=b.get("frame_subtasks"),
        )
        gold.update(dict(zip(df["qid"], df["answer_letter"])))
    return gold


class Loader:
    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.gold = _gold()

    def __call__(self, model_cfg, path: str) -> FakeVLM:
        self.loaded.append(path)
        self.frames = model_cfg.frames
        return FakeVLM(path, self.gold, skill_of(path))


def test_evaluate_writes_every_checkpoint_and_resumes(cfg_factory) -> None:
    cfg = _cfg(cfg_factory)
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [100, 200], "temp_plus": [100]})
    # a checkpoint the trainer has not finished (no gdo_state.json) is reported, not evaluated
    (work / "train/uniform/checkpoints/ckpt-300").mkdir(parents=True)
    load = Loader()
    out = run(cfg, load=load)
    assert len(load.loaded) == 4  # base + 3 checkpoints
    for rel in ("base/ckpt-0", "uniform/ckpt-100", "uniform/ckpt-200", "temp_plus/ckpt-100"):
        for bench in ("mvbench", "videomme", "mlvu", "lvbench"):
            assert (out / rel / f"{bench}.jsonl").exists()
            assert (out / rel / f"{bench}.summary.json").exists()
        assert (out / rel / "manifest.json").exists()
    summary = json.loads((out / "eval_summary.json").read_text())
    assert summary["counts"]["unfinished_checkpoints"] == 1
    assert summary["counts"]["video_missing/mvbench"] == 1
    assert summary["counts"]["video_missing/videomme"] == 1

    # the summary is the aggregate of the per-question file
    s = json.loads((out / "uniform/ckpt-200/mlvu.summary.json").read_text())
    rows = pd.read_json(out / "uniform/ckpt-200/mlvu.jsonl", lines=True)
    questions = read_benchmark(
        fixture_benchmarks()[2]["path"], "mlvu", fixture_benchmarks()[2]["media_root"]
    )
    assert s["overall"] == pytest.approx(
        aggregate(questions, rows["pred"].tolist(), "mlvu")["overall"]
    )
    assert {"qid", "pred", "letter", "correct", "task_type", "skipped"} <= set(rows.columns)
    assert (s["goal"], s["samples"], s["mode"], s["n"]) == ("uniform", 200, "likelihood", 6)

    # missing videos: never sent to the model, empty prediction, counted
    lv = pd.read_json(out / "uniform/ckpt-100/lvbench.jsonl", lines=True)
    miss = lv[lv["qid"] == "lv-0004"].iloc[0]
    assert miss["skipped"] == "video_missing" and miss["pred"] == "" and not miss["correct"]
    mv = json.loads((out / "uniform/ckpt-100/mvbench.summary.json").read_text())
    assert mv["n_video_missing"] == 1 and mv["counts"]["n_video_missing"] == 1

    # a rerun finds every file fresh and loads no model
    again = Loader()
    run(cfg, load=again)
    assert again.loaded == []
    # a new checkpoint is the only work left
    make_training(work, {"uniform": [300]})
    third = Loader()
    run(cfg, load=third)
    assert [Path(p).name for p in third.loaded] == ["ckpt-300"]


def test_generate_mode_extracts_letters(cfg_factory) -> None:
    cfg = _cfg(cfg_factory, "eval.mode=generate", "eval.include_base=false", "eval.frames=7")
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [900]})
    load = Loader()
    out = run(cfg, load=load)
    assert load.frames == 7  # eval.frames overrides model.frames
    rows = pd.read_json(out / "uniform/ckpt-900/videomme.jsonl", lines=True)
    answered = rows[rows["skipped"] == ""]
    assert answered["pred"].str.startswith("The answer is (").all()
    assert (answered["letter"] != "").all()
    # skill 0.95: most are right, and `correct` agrees with the letters
    assert (rows["correct"] == (rows["letter"] == rows["answer_letter"])).all()


def test_find_checkpoints_reads_state_and_defaults(tmp_path: Path) -> None:
    make_training(tmp_path, {"diverse": [10, 40]}, seed=3)
    (tmp_path / "train/diverse/checkpoints/ckpt-40/gdo_state.json").write_text(
        json.dumps({"samples": 40, "goal": "diverse", "budget": 50})
    )
    found, unfinished = find_checkpoints(tmp_path)
    assert [(c.goal, c.samples, c.seed) for c in found] == [("diverse", 10, 3), ("diverse", 40, 0)]
    assert found[0].budget == 40 and found[1].budget == 50 and unfinished == []


def test_too_long_and_bad_media_are_counted_not_fatal() -> None:
    from gdo.evaluation import predict
    from gdo.media import MediaError
    from gdo.models import SampleTooLong

    questions = read_benchmark(
        fixture_benchmarks()[3]["path"], "lvbench", fixture_benchmarks()[3]["media_root"]
    )

    class Picky:
        def score_options(self, samples, target="text"):
            for i, s in enumerate(samples):
                if s["uid"] == "lv-0002":
                    raise SampleTooLong(2000, 1024, index=i)
                if s["uid"] == "lv-0003":
                    raise MediaError(s["media"][0], "cannot decode")  # no index: one by one
            return [[0.0, -1.0, -2.0, -3.0] for _ in samples]

    preds = predict(Picky(), questions, "lvbench", "likelihood", batch_size=4)
    assert preds.skipped == ["", "too_long", "media_error", "video_missing"]
    assert preds.answers == ["(A)", "", "", ""]
    assert preds.counts["n_too_long"] == 1 and preds.counts["n_media_error"] == 1
    res = aggregate(questions, preds.answers, "lvbench")
    assert res["overall"] == 25.0  # lv-0001's answer is A; the skipped three count wrong


def test_unknown_mode_and_kind_fail_clearly() -> None:
    from gdo.evaluation import predict
    from gdo.utils.errors import InputError

    questions = read_benchmark(
        fixture_benchmarks()[3]["path"], "lvbench", fixture_benchmarks()[3]["media_root"]
    )
    with pytest.raises(ValueError, match="eval.mode"):
        predict(None, questions, "lvbench", "beam")
    with pytest.raises(InputError, match="kind"):
        read_benchmark(fixture_benchmarks()[3]["path"], "lvbench2")
