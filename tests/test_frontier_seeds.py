"""Several seeds: one frontier over the seeds' folders, mean and CI across seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from test_eval_stage import Loader, _cfg
from test_eval_support import make_training

from gdo.evaluation.stage import run as evaluate
from gdo.frontier.seeds import aggregate_seeds
from gdo.frontier.stage import run as frontier


def test_aggregate_seeds_means_and_intervals(cfg_factory, tmp_path: Path) -> None:
    base = _cfg(cfg_factory, "eval.frontier.plots=false", "eval.frontier.n_bootstrap=50")
    base.eval.benchmarks = [base.eval.benchmarks[0], base.eval.benchmarks[3]]  # keep it quick
    configs = []
    for seed in (0, 1):
        work = tmp_path / f"outputs/default-seed{seed}"
        # one composition, copied: composing the config tree is the slow part here
        c = base.copy()
        c.seed, c.paths.work_dir = seed, str(work)
        # different checkpoints per seed, so the seeds' answers differ
        make_training(
            work, {"uniform": [200, 400 + 100 * seed], "temp_plus": [100, 300]}, seed=seed
        )
        evaluate(c, load=Loader())
        frontier(c)
        configs.append(c)
    report = aggregate_seeds(base, configs)
    assert report == Path(base.paths.work_dir).resolve() / "frontier" / "report.md"
    table = pd.read_parquet(report.parent / "frontier.parquet")
    assert sorted(table["seed"].unique()) == [0, 1]
    # each seed's curve starts at the shared base model
    # goals x seeds x (benchmarks + the pooled "all")
    assert len(table[table["is_base"]]) == 2 * 2 * 3
    assert "all" in set(table["benchmark"])
    main = pd.read_parquet(report.parent / "main.parquet")
    assert (main["n_seeds"] == 2).all()
    for _, r in main.iterrows():
        finals = table[(table["benchmark"] == r["benchmark"]) & table["is_final"]]
        g = finals[finals["goal"] == "temp_plus"].set_index("seed")["accuracy"]
        b = finals[finals["goal"] == "uniform"].set_index("seed")["accuracy"]
        assert np.isclose(r["delta"], (g - b).mean())
        assert np.isclose(r["goal_acc"], g.mean()) and np.isclose(r["baseline_acc"], b.mean())
    assert "2 seeds" in report.read_text()
