"""The sweep aggregate: Pareto front math and the aggregate over sweep points."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gdo.sweep import POINTER, aggregate, pareto_front


def test_pareto_front_keeps_only_undominated_points() -> None:
    samples = np.array([100, 200, 200, 300, 400, 50])
    acc = np.array([40.0, 38.0, 45.0, 44.0, 50.0, 30.0])
    front = pareto_front(samples, acc)
    assert [(int(samples[i]), float(acc[i])) for i in front] == [
        (50, 30.0),
        (100, 40.0),
        (200, 45.0),
        (400, 50.0),
    ]


def test_aggregate_reads_every_point_and_draws_one_plot_per_benchmark(tmp_path) -> None:
    sweep = tmp_path / "multirun"
    for k, gain in enumerate([0.0, 5.0]):
        work = tmp_path / f"point{k}"
        (work / "frontier").mkdir(parents=True)
        rows = []
        for s in (100, 200, 300):
            for bench in ("mvbench", "mlvu"):
                rows.append(
                    {
                        "goal": "temp",
                        "seed": 0,
                        "samples": s,
                        "benchmark": bench,
                        "accuracy": 30 + gain + s / 20,
                    }
                )
                rows.append(
                    {
                        "goal": "uniform",
                        "seed": 0,
                        "samples": 10 * s,
                        "benchmark": bench,
                        "accuracy": 40.0,
                    }
                )
        pd.DataFrame(rows).to_parquet(work / "frontier" / "frontier.parquet")
        (sweep / str(k)).mkdir(parents=True)
        (sweep / str(k) / POINTER).write_text(
            json.dumps({"work_dir": str(work), "overrides": [f"score.w={k}"], "objective": None})
        )
    out = aggregate(sweep)
    assert (out / "pareto_mvbench.png").stat().st_size > 0
    assert (out / "pareto_mlvu.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mvbench"]["best_overrides"] == "score.w=1"
    points = pd.read_parquet(out / "frontier_points.parquet")
    assert set(points["point"]) == {"0", "1"}
