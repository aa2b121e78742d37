"""lmms-eval interop: exported jobs / script, and its results JSON back into the frontier."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_eval_stage import _cfg
from test_eval_support import make_training

from gdo.evaluation import export_lmms_eval, import_lmms_eval, lmms_eval_command
from gdo.evaluation.lmms_eval import lmms_model_name
from gdo.frontier.stage import run as frontier


def _results(mv: float, vm: float, ml: float, lv_fraction: float) -> dict:
    """A results file as lmms-eval writes it (metric keys carry the ",none" filter)."""
    return {
        "results": {
            "mvbench": {"alias": "mvbench", "mvbench_accuracy,none": mv,
                        "mvbench_accuracy_stderr,none": "N/A"},
            "videomme": {"alias": "videomme", "videomme_perception_score,none": vm,
                         "videomme_perception_score_stderr,none": "N/A"},
            "mlvu_test": {"alias": "mlvu_test", "mlvu_percetion_score,none": ml},
            "lvbench": {"alias": "lvbench", "lvbench_score,none": lv_fraction,
                        "lvbench_score_stderr,none": 0.01},
        },
        "n-samples": {"videomme": {"original": 2700, "effective": 2700},
                      "mlvu_test": {"original": 502, "effective": 502},
                      "lvbench": {"original": 1549, "effective": 1549},
                      "mvbench_action_sequence": {"original": 200, "effective": 200},
                      "mvbench_moving_count": {"original": 200, "effective": 200}},
        "config": {"model": "qwen2_vl", "model_args": "pretrained=x,max_num_frames=32"},
        "lmms_eval_version": "0.3.0",
    }  # fmt: skip


def test_command_shape() -> None:
    cmd = lmms_eval_command("/ck/ckpt-100", ["mvbench", "lvbench"], "/out", model="qwen3_vl")
    assert cmd.startswith("accelerate launch --num_processes=8 -m lmms_eval --model qwen3_vl")
    assert "--model_args pretrained=/ck/ckpt-100,max_num_frames=32" in cmd
    assert "--tasks mvbench,lvbench" in cmd and "--output_path /out" in cmd
    assert lmms_model_name("qwen3vl_8b") == "qwen3_vl"
    assert lmms_model_name("tiny_qwen2vl") == "qwen2_vl"


def test_export_then_import_into_the_frontier(cfg_factory) -> None:
    cfg = _cfg(cfg_factory, "eval.frontier.plots=false")
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [1000, 2000], "temp_plus": [500, 1000]})
    script = export_lmms_eval(cfg)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert text.count("-m lmms_eval") == 5  # base + 4 checkpoints
    assert "--tasks mvbench,videomme,mlvu_test,lvbench" in text
    ck = work / "train/temp_plus/checkpoints/ckpt-500"
    assert f"pretrained={ck.resolve()},max_num_frames=32" in text
    jobs = json.loads((script.parent / "jobs.json").read_text())["jobs"]
    assert [(j["goal"], j["samples"]) for j in jobs][:2] == [("base", 0), ("temp_plus", 500)]

    # nothing run yet: an empty table
    assert import_lmms_eval(script.parent, [dict(b) for b in cfg.eval.benchmarks]).empty

    scores = {("base", 0): (40, 40, 30, 0.30), ("uniform", 1000): (50, 50, 40, 0.35),
              ("uniform", 2000): (60, 60, 44, 0.40), ("temp_plus", 500): (58, 62, 45, 0.41),
              ("temp_plus", 1000): (62, 63, 47, 0.42)}  # fmt: skip
    for j in jobs:
        out = Path(j["output_path"]) / "qwen2_vl__ckpt"
        out.mkdir(parents=True)
        body = _results(*scores[(j["goal"], j["samples"])])
        (out / "20261128_120000_results.json").write_text(json.dumps(body))
    rows = import_lmms_eval(script.parent, [dict(b) for b in cfg.eval.benchmarks])
    lv = rows[(rows["benchmark"] == "lvbench") & (rows["goal"] == "uniform")]
    assert sorted(lv["accuracy"]) == pytest.approx([35.0, 40.0])  # fraction -> percent
    vm = rows[(rows["benchmark"] == "videomme") & (rows["samples"] == 500)].iloc[0]
    assert (vm["accuracy"], vm["n"], vm["source"]) == (62.0, 2700, "lmms_eval")
    assert rows[rows["benchmark"] == "mvbench"]["n"].iloc[0] == 400  # sum over subtasks

    # with no gdo evaluation, the frontier compares the imported runs
    report = frontier(cfg)
    main = pd.read_parquet(report.parent / "main.parquet").set_index("benchmark")
    assert main.loc["videomme", "delta"] == pytest.approx(3.0)
    # videomme: temp_plus reaches uniform's final 60 between 0 (40) and 500 (62)
    assert main.loc["videomme", "peak_match"] == pytest.approx(500 * 20 / 22)
    assert main.loc["videomme", "peak_interpolated"]
    assert main.loc["lvbench", "delta"] == pytest.approx(2.0)
    assert "lmms-eval:0.3.0" in report.read_text()


def test_mvbench_group_missing_falls_back_to_subtask_mean(tmp_path: Path) -> None:
    job_out = tmp_path / "uniform" / "ckpt-10"
    job_out.mkdir(parents=True)
    body = {"results": {"mvbench_action_sequence": {"mvbench_accuracy,none": 60.0},
                        "mvbench_moving_count": {"mvbench_accuracy,none": 40.0}},
            "n-samples": {}}  # fmt: skip
    (job_out / "results.json").write_text(json.dumps(body))
    (tmp_path / "jobs.json").write_text(json.dumps({"jobs": [
        {"run": "uniform", "goal": "uniform", "seed": 0, "samples": 10, "budget": 10,
         "tasks": ["mvbench"], "output_path": str(job_out)}]}))  # fmt: skip
    rows = import_lmms_eval(tmp_path, [{"name": "mvbench", "kind": "mvbench"}])
    assert rows["accuracy"].tolist() == [50.0]
