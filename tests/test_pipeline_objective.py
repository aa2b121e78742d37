"""The sweep objective ``auc:<benchmark>`` on every numpy the floors admit (1.x has no
``np.trapezoid``)."""

from __future__ import annotations

import pandas as pd
import pytest

from gdo.pipeline import objective_value
from gdo.utils.stage import work_dir


def test_auc_objective_is_the_mean_accuracy_under_the_curve(cfg_factory) -> None:
    cfg = cfg_factory("goal=temp_plus")
    frontier = work_dir(cfg) / "frontier"
    frontier.mkdir(parents=True)
    pd.DataFrame(
        {
            "benchmark": ["mvbench"] * 3 + ["mlvu"],
            "goal": ["temp_plus"] * 4,
            "samples": [0, 100, 300, 100],
            "accuracy": [30.0, 40.0, 40.0, 99.0],
        }
    ).to_parquet(frontier / "frontier.parquet")
    # Trapezoids: 100 x 35 + 200 x 40 = 11500 over 300 samples.
    assert objective_value(cfg, "auc:mvbench") == pytest.approx(11500 / 300)
    assert objective_value(cfg, "final:mvbench") == 40.0
