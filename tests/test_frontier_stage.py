"""``gdo frontier`` end to end on a fake evaluation, and plots from a synthetic table."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from test_eval_stage import Loader, _cfg
from test_eval_support import make_training

from gdo.evaluation.stage import run as evaluate
from gdo.frontier import COLUMNS, compare, peak_match, plot_dumbbell, plot_frontier
from gdo.frontier.plots import plot_subtask_heatmap, use_log_x
from gdo.frontier.stage import run as frontier


def _frontier_run(cfg_factory, plots: bool):
    cfg = _cfg(cfg_factory, "eval.frontier.n_bootstrap=100", f"eval.frontier.plots={plots}")
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [200, 400, 600], "temp_plus": [100, 200, 300]})
    evaluate(cfg, load=Loader())
    report = frontier(cfg)
    out = report.parent
    table = pd.read_parquet(out / "frontier.parquet")
    assert list(table.columns) == COLUMNS
    # 2 goals x (3 checkpoints + the base copied in) x (4 benchmarks + the pooled "all")
    assert len(table) == 2 * 4 * 5
    assert set(table[table["samples"] == 0]["is_base"]) == {True}
    finals = table[table["is_final"]]
    assert sorted(finals.groupby("goal")["samples"].first().items()) == [
        ("temp_plus", 300),
        ("uniform", 600),
    ]
    # every accuracy carries its n and a bootstrap interval
    assert (table["acc_lo"] <= table["acc_hi"]).all() and (table["n"] > 0).all()

    main = pd.read_parquet(out / "main.parquet")
    assert sorted(main["benchmark"]) == ["all", "lvbench", "mlvu", "mvbench", "videomme"]
    assert set(main["goal"]) == {"temp_plus"}
    for _, r in main.iterrows():
        rows = table[(table["benchmark"] == r["benchmark"])]
        base_final = rows[(rows["goal"] == "uniform") & rows["is_final"]]["accuracy"].iloc[0]
        goal_final = rows[(rows["goal"] == "temp_plus") & rows["is_final"]]["accuracy"].iloc[0]
        assert r["delta"] == pytest.approx(goal_final - base_final)
        assert r["delta_lo"] <= r["delta_hi"]
        curve = rows[rows["goal"] == "temp_plus"].sort_values("samples")
        pm = peak_match(curve["samples"], curve["accuracy"], base_final)
        assert r["peak_reached"] == pm.reached
        if pm.reached:
            assert r["peak_match"] == pytest.approx(pm.samples)
            if pm.samples > 0:
                assert r["reduction"] == pytest.approx(600 / pm.samples)
            else:  # the base model already matched the baseline: no finite reduction
                assert r["reduction"] is None or np.isnan(r["reduction"])

    subs = pd.read_parquet(out / "subtasks.parquet")
    assert set(subs[subs["benchmark"] == "mvbench"]["group"]) == {
        "action_sequence",
        "episodic_reasoning",
        "moving_count",
    }
    if plots:
        for name in ("frontier", "dumbbell", "subtasks"):
            img = mpimg.imread(out / "plots" / f"{name}.png")
            assert img.shape[0] > 200 and img.shape[1] > 300
    else:
        assert not (out / "plots").exists()

    text = report.read_text()
    assert "| benchmark | uniform | goal | delta pp [95% CI] | peak match | reduction |" in text
    assert "gdo-mcq-prompt-1" in text and "gdo-extract-1" in text and "likelihood" in text
    assert "(n=9)" in text  # mvbench has 9 questions
    assert "lvbench 1, mlvu 0, mvbench 1, videomme 1" in text  # missing videos reported
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["rows"] == len(table)
    # fresh: a second call returns without rebuilding
    mtime = (out / "frontier.parquet").stat().st_mtime_ns
    assert frontier(cfg) == report
    assert (out / "frontier.parquet").stat().st_mtime_ns == mtime


def test_frontier_stage_tables_and_report(cfg_factory) -> None:
    _frontier_run(cfg_factory, plots=False)


def test_pooled_rows_are_micro_averages_over_every_suite(cfg_factory, tmp_path) -> None:
    """The "all" row pools every question of the four suites (each weighs the same); a tagged
    pool keeps the questions its tag marks, and both go through the paired comparison."""
    tags_path = tmp_path / "tags.parquet"
    cfg = _cfg(
        cfg_factory,
        "eval.frontier.n_bootstrap=100",
        "eval.frontier.plots=false",
        "eval.frontier.pools={all: {}, temporal: {tag: temporal}}",
        f"eval.frontier.question_tags={tags_path}",
    )
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [200, 400], "temp_plus": [100, 200]})
    evaluate(cfg, load=Loader())
    per_q = []
    for f in sorted((work / "eval").glob("*/ckpt-*/*.jsonl")):
        q = pd.read_json(f, lines=True, dtype={"qid": str})
        per_q.append(q.assign(benchmark=f.stem, eval_dir=str(f.parent)))
    per_q = pd.concat(per_q, ignore_index=True)
    tags = per_q.drop_duplicates(["benchmark", "qid"])[["benchmark", "qid"]].copy()
    tags["temporal"] = np.arange(len(tags)) % 3 == 0  # a third of the questions
    tags.to_parquet(tags_path)
    table = pd.read_parquet(frontier(cfg).parent / "frontier.parquet")
    tagged = per_q.merge(tags, on=["benchmark", "qid"])
    for (run, samples), rows in table[~table["is_base"]].groupby(["run", "samples"]):
        ckpt = f"ckpt-{samples}"
        mine = tagged[tagged["eval_dir"].str.endswith(f"{run}/{ckpt}")]
        pooled = rows.set_index("benchmark")
        assert pooled.loc["all", "n"] == len(mine)
        assert pooled.loc["all", "accuracy"] == pytest.approx(100 * mine["correct"].mean())
        temporal = mine[mine["temporal"]]
        assert pooled.loc["temporal", "n"] == len(temporal)
        assert pooled.loc["temporal", "accuracy"] == pytest.approx(100 * temporal["correct"].mean())
        assert pooled.loc["all", "kind"] == "pooled"
    main = pd.read_parquet(work / "frontier" / "main.parquet").set_index("benchmark")
    assert {"all", "temporal"} <= set(main.index)
    assert main.loc["all", "delta_lo"] <= main.loc["all", "delta_hi"]


def test_a_tagged_pool_without_its_tag_table_is_left_out_and_recorded(
    cfg_factory, tmp_path
) -> None:
    cfg = _cfg(
        cfg_factory,
        "eval.frontier.n_bootstrap=50",
        "eval.frontier.plots=false",
        "eval.frontier.pools={all: {}, temporal: {tag: temporal}}",
        f"eval.frontier.question_tags={tmp_path / 'missing.parquet'}",
    )
    make_training(Path(cfg.paths.work_dir), {"uniform": [200]})
    evaluate(cfg, load=Loader())
    out = frontier(cfg).parent
    assert "temporal" not in set(pd.read_parquet(out / "frontier.parquet")["benchmark"])
    assert "all" in set(pd.read_parquet(out / "frontier.parquet")["benchmark"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["pools_without_tags"] == ["temporal"]


@pytest.mark.slow
def test_frontier_stage_with_plots(cfg_factory) -> None:
    _frontier_run(cfg_factory, plots=True)


def synthetic_table(seeds=(0,)) -> pd.DataFrame:
    """A frontier table without per-question files (e.g. imported), two goals, log-spaced."""
    rows = []
    for bench, kind in (("mvbench", "mvbench"), ("videomme", "videomme")):
        for goal, speed in (("uniform", 1.0), ("temp_plus", 40.0), ("minloss", 0.5)):
            samples = (
                [0, 5_000, 20_000, 80_000, 320_000]
                if goal == "uniform"
                else [0, 2_000, 8_000, 16_000, 32_000]
            )
            for seed in seeds:
                for s in samples:
                    acc = 30 + 30 * (1 - np.exp(-speed * s / 100_000)) + seed * 0.3
                    rows.append({
                        "goal": goal, "run": goal if s else "base", "seed": seed,
                        "budget": samples[-1], "samples": s, "benchmark": bench, "kind": kind,
                        "accuracy": acc, "acc_lo": acc - 2, "acc_hi": acc + 2, "n": 400,
                        "n_answered": 400, "n_video_missing": 0, "mode": "likelihood",
                        "prompt_version": "p", "extract_version": "e", "source": "gdo",
                        "is_base": s == 0, "is_final": s == samples[-1], "eval_dir": None,
                    })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def test_plots_from_a_synthetic_frontier_table(tmp_path: Path) -> None:
    table = synthetic_table(seeds=(0, 1))
    assert use_log_x(table["samples"].to_numpy(float))
    comp = compare(table, "uniform", n_boot=50)
    main = comp.main.set_index(["benchmark", "goal"])
    # temp_plus (much faster) reaches uniform's final accuracy; minloss (slower) does not
    assert main.loc[("mvbench", "temp_plus"), "peak_reached"]
    assert not main.loc[("mvbench", "minloss"), "peak_reached"]
    assert main.loc[("mvbench", "temp_plus"), "n_seeds"] == 2
    # no per-question files: no bootstrap interval, but a seed interval
    assert np.isnan(main.loc[("mvbench", "temp_plus"), "delta_lo"])
    assert np.isfinite(main.loc[("mvbench", "temp_plus"), "seed_lo"])
    p1 = plot_frontier(table, tmp_path / "f.png", "uniform", comp.main)
    p2 = plot_dumbbell(comp.main, tmp_path / "d.png", "uniform")
    subs = pd.DataFrame({
        "benchmark": "mvbench", "field": "subtask", "group": ["a", "b", "c"] * 2,
        "goal": ["temp_plus"] * 3 + ["minloss"] * 3, "baseline_acc": 50.0,
        "goal_acc": [52, 47, 50, 49, 55, 51.0], "delta": [2, -3, 0, -1, 5, 1.0], "n": 10,
    })  # fmt: skip
    p3 = plot_subtask_heatmap(subs, tmp_path / "h.png")
    for p in (p1, p2, p3):
        assert mpimg.imread(p).shape[0] > 200


def test_no_baseline_run_is_reported_not_fatal() -> None:
    from gdo.frontier.report import render

    table = synthetic_table()
    table = table[table["goal"] != "uniform"]
    comp = compare(table, "uniform", n_boot=20)
    assert comp.main["baseline_acc"].isna().all() and not comp.main["peak_reached"].any()
    text = render(comp.main, comp.subtasks, table, title="t", baseline="uniform", ci=0.95,
                  n_boot=20)  # fmt: skip
    assert "| - | no baseline | - |" in text
    with pytest.raises(ValueError, match="no benchmark has a final 'uniform' accuracy"):
        plot_dumbbell(comp.main, "/nonexistent/d.png", "uniform")


def test_claim_section_counts_reductions_only_where_the_baseline_learned() -> None:
    from gdo.frontier.report import _claim

    def row(bench, kind, goal, red, beats, hi):
        return {"benchmark": bench, "kind": kind, "goal": goal, "baseline_acc": 60.0,
                "reduction": red, "baseline_beats_base": beats, "delta_hi": hi}  # fmt: skip

    main = pd.DataFrame(
        [
            row("all", "pooled", "temp_plus", 14.0, True, 5.0),
            row("mvbench", "mvbench", "temp_plus", 12.0, True, 4.0),
            row("mlvu", "mlvu", "temp_plus", 25.0, False, 3.0),  # baseline learned nothing
            row("lvbench", "lvbench", "temp_plus", 9.0, True, 2.0),
            row("all", "pooled", "minloss", None, True, -1.0),
            row("mvbench", "mvbench", "minloss", None, True, -2.0),
        ]
    )
    text = "\n".join(_claim(main, "uniform", 95))
    # mlvu is reached within 1/10 but counts only in the plain column: uniform learned nothing
    assert "| temp_plus | all: yes | 2 of 3 (mvbench, mlvu) | 1 of 3 (mvbench) | none |" in text
    assert "| minloss | all: no | 0 of 1 | 0 of 1 | all, mvbench |" in text
