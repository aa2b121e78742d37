"""A 4-point grid and a 6-trial Optuna sweep on the small world, with the aggregate plot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TINY = [
    "world=small",
    "logger=none",
    "training.pretrain.max_samples=256",
    "descriptors.specs.self_consistency.n=2",
    "eval.frontier.plots=false",
]


def gdo(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GDO_PROGRESS": "0", "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "gdo", *args, f"paths.root_dir={root}", *TINY]
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    gdo(root, "run", "experiment=demo", "run.goals=[uniform,temp_plus]")
    return root


def _aggregate(root: Path) -> Path:
    found = sorted(root.glob("outputs/multirun/demo/*/aggregate"))
    assert found, "no aggregate folder"
    return found[-1]


def test_grid_sweep_reuses_descriptors_and_draws_the_pareto_front(base: Path) -> None:
    gdo(base, "run", "-m", "experiment=demo", "sweep=grid")
    agg = _aggregate(base)
    points = json.loads((agg / "summary.json").read_text())
    assert {"mvbench", "videomme", "mlvu", "lvbench"} <= set(points)
    assert (agg / "pareto_mvbench.png").stat().st_size > 0
    sweeps = sorted(agg.parent.glob("*/work"))
    assert len(sweeps) == 4
    for point in sweeps:  # one descriptor pass: every point links the base's
        assert (point / "descriptors").is_symlink()
        assert (point / "eval" / "uniform").is_symlink()


def test_optuna_sweep_runs_six_trials(base: Path) -> None:
    out = gdo(base, "run", "-m", "experiment=demo", "sweep=optuna", "hydra.sweeper.n_trials=6")
    pointers = list(base.glob("outputs/multirun/demo/*/*/gdo_run.json"))
    objectives = [json.loads(p.read_text())["objective"] for p in pointers]
    assert sum(o is not None for o in objectives) >= 6
    assert "Best parameters" in out.stdout + out.stderr or "best" in (out.stdout + out.stderr)
    assert (_aggregate(base) / "summary.json").exists()
