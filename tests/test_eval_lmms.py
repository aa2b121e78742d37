"""lmms-eval interop: exported jobs / script, and its results JSON back into the frontier."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_eval_stage import _cfg
from test_eval_support import make_training

from gdo.evaluation import export_lmms_eval, lmms_eval_command
from gdo.evaluation.lmms_eval import lmms_model_name
from gdo.frontier import import_lmms_eval
from gdo.frontier.stage import run as frontier
from gdo.utils.errors import ConfigError


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
    # gdo's protocol, not the harness defaults: the tiny model's 4 frames of 64-1024 pixels
    margs = "max_num_frames=4,max_pixels=1024,min_pixels=64"
    assert f"pretrained={ck.resolve()},{margs} " in text
    assert "--gen_kwargs max_new_tokens=16" in text
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


@pytest.mark.parametrize(
    ("overrides", "margs"),
    [
        # Qwen3-VL's harness default minimum (200704) is capped at gdo's budget
        ([], "max_num_frames=32,max_pixels=50176,min_pixels=50176"),
        (["eval.frames=16", "model.min_pixels=3136"], "max_num_frames=16,max_pixels=50176,min_pixels=3136"),
        (["model.max_pixels=200704"], "max_num_frames=32,max_pixels=200704,min_pixels=200704"),
    ],
)  # fmt: skip
def test_export_passes_gdos_pixels_and_frames(cfg_factory, overrides, margs) -> None:
    cfg = _cfg(cfg_factory, "model=qwen3vl_8b", "eval.max_new_tokens=24", *overrides)
    make_training(Path(cfg.paths.work_dir), {"uniform": [100]})
    script = export_lmms_eval(cfg)
    assert "--model qwen3_vl --model_args pretrained=" in script.read_text()
    assert f",{margs} " in script.read_text()
    assert "--gen_kwargs max_new_tokens=24" in script.read_text()
    meta = json.loads((script.parent / "jobs.json").read_text())
    assert meta["protocol"]["model_args"]["max_pixels"] == cfg.model.max_pixels
    assert meta["frames"] == int(margs.split(",")[0].split("=")[1])


def test_export_system_prompt(cfg_factory) -> None:
    cfg = _cfg(cfg_factory, "model.system_prompt=Answer briefly.")
    make_training(Path(cfg.paths.work_dir), {"uniform": [100]})
    assert "system_prompt=Answer briefly." in export_lmms_eval(cfg).read_text()
    cfg.model.system_prompt = "Be brief, be right."
    with pytest.raises(ConfigError, match="cannot carry ','"):
        export_lmms_eval(cfg)


def _sample_logs(folder: Path, date_id: str, right: set[str]) -> None:
    """Sample logs as lmms-eval writes them with --log_samples (one jsonl per task)."""

    def write(task: str, rows: list[dict]) -> None:
        path = folder / f"{date_id}_samples_{task}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def sample(i: int, answer: str, metric: str, value) -> dict:
        return {"doc_id": i, "target": "A", "filtered_resps": [answer], "doc_hash": "h",
                metric: value}  # fmt: skip

    for sub in ("action_sequence", "moving_count"):
        rows = []
        for i in range(4):
            ok = f"{sub}/{i}" in right
            # right, wrong, or (doc 2, when wrong) no answer at all
            pred = "(A)" if ok else ("" if i == 2 else "(B)")
            value = {"pred_answer": pred, "gt_answer": "A", "score": int(ok)}
            rows.append(sample(i, pred, "mvbench_accuracy", value))
        write(f"mvbench_{sub}", rows)
    rows = []
    for i in range(5):
        pred = "B" if f"vm{i}" in right else "C"
        value = {"question_id": f"vm{i}", "duration": "short", "category": "Knowledge",
                 "sub_category": "History", "task_category": "Counting",
                 "pred_answer": pred, "answer": "B"}  # fmt: skip
        rows.append(sample(i, pred, "videomme_perception_score", value))
    write("videomme", rows)
    rows = []
    for i in range(4):
        pred = "E" if f"ml{i}" in right else "A"
        value = {"question_id": "Which?", "task_type": ("count", "order")[i % 2],
                 "pred_answer": pred, "answer": "E"}  # fmt: skip
        rows.append(sample(i, pred, "mlvu_percetion_score", value))
    write("mlvu_test", rows)
    write("lvbench", [sample(i, "D", "lvbench_score", f"lv{i}" in right) for i in range(3)])


def test_import_reads_logged_samples_into_per_question_rows(cfg_factory) -> None:
    cfg = _cfg(cfg_factory, "eval.frontier.plots=false")
    make_training(Path(cfg.paths.work_dir), {"uniform": [1000], "temp_plus": [500]})
    script = export_lmms_eval(cfg)
    jobs = json.loads((script.parent / "jobs.json").read_text())["jobs"]
    right = {
        "base": {"action_sequence/0", "vm0", "ml0", "lv0"},
        "uniform": {"action_sequence/0", "moving_count/1", "vm0", "vm1", "ml0", "ml1", "lv0"},
        "temp_plus": {"action_sequence/0", "action_sequence/1", "moving_count/1", "vm0", "vm1",
                      "vm2", "ml0", "ml1", "ml2", "lv0", "lv1"},
    }  # fmt: skip
    for j in jobs:
        out = Path(j["output_path"]) / "qwen2_vl__ckpt"
        out.mkdir(parents=True)
        (out / "2026-11-28T12-00-00_results.json").write_text(json.dumps(_results(50, 50, 40, 0.4)))
        _sample_logs(out, "2026-11-28T12-00-00", right[j["goal"]])
        # an older run in the same folder must not be mixed in
        _sample_logs(out, "2026-11-01T09-00-00", set())
    rows = import_lmms_eval(script.parent, [dict(b) for b in cfg.eval.benchmarks])
    tp = rows[rows["goal"] == "temp_plus"].set_index("benchmark")
    assert tp.loc["videomme", "n"] == 5 and tp.loc["videomme", "n_answered"] == 5
    assert tp.loc["mvbench", "n"] == 8 and tp.loc["mvbench", "n_answered"] == 6
    assert tp.loc["lvbench", "acc_lo"] <= 66.7 <= tp.loc["lvbench", "acc_hi"]
    q = pd.read_json(Path(tp.loc["mvbench", "eval_dir"]) / "mvbench.jsonl", lines=True)
    assert set(q["qid"]) >= {"action_sequence/0", "moving_count/3"}
    assert q.set_index("qid").loc["action_sequence/1", "correct"]
    assert not q.set_index("qid").loc["action_sequence/2", "answered"]
    vm = pd.read_json(Path(tp.loc["videomme", "eval_dir"]) / "videomme.jsonl", lines=True)
    assert vm["qid"].tolist() == [f"vm{i}" for i in range(5)]
    assert vm["correct"].tolist() == [True, True, True, False, False]
    assert set(vm["task_type"]) == {"Counting"} and set(vm["domain"]) == {"Knowledge"}
    ml = pd.read_json(Path(tp.loc["mlvu", "eval_dir"]) / "mlvu.jsonl", lines=True)
    assert ml["task_type"].tolist() == ["count", "order", "count", "order"]

    # the frontier pairs the imported runs question by question now
    report = frontier(cfg)
    main = pd.read_parquet(report.parent / "main.parquet").set_index("benchmark")
    assert main.loc["videomme", "delta"] == pytest.approx(0.0)  # harness aggregates: equal
    assert main["delta_lo"].notna().all() and (main["n_unpaired"] == 0).all()
