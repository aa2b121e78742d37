"""An interrupted Optuna study resumes: only the missing trials run, in new job folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

APP = """
import os
import hydra
from hydra.core.hydra_config import HydraConfig
from gdo.sweep_resume import register_plugins  # what `gdo` does before Hydra starts

register_plugins()

@hydra.main(version_base="1.3", config_path=".", config_name="app")
def main(cfg):
    if str(HydraConfig.get().job.num) == os.environ.get("CRASH_AT"):
        os._exit(3)  # the machine goes away mid-sweep
    return float(cfg.x) ** 2

main()
"""

CONFIG = """
defaults:
  - override hydra/sweeper: optuna
  - _self_
x: 0.0
hydra:
  mode: MULTIRUN
  sweep:
    dir: {sweep}
    subdir: ${{hydra.job.num}}
  sweeper:
    _target_: hydra_plugins.gdo_sweepers.resumable_optuna.ResumableOptunaSweeper
    storage: sqlite:///${{hydra.sweep.dir}}/optuna.db
    study_name: resume-test
    n_trials: 4
    direction: minimize
    sampler:
      seed: 0
    params:
      x: interval(-1, 1)
"""


def _run(app: Path, crash_at: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CRASH_AT"}
    if crash_at is not None:
        env["CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, str(app)],
        cwd=app.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_rerun_in_the_same_sweep_dir_finishes_the_study(tmp_path) -> None:
    import optuna

    sweep = tmp_path / "sweep"
    (tmp_path / "app.yaml").write_text(CONFIG.format(sweep=sweep))
    app = tmp_path / "app.py"
    app.write_text(APP)
    first = _run(app, crash_at="2")
    assert first.returncode == 3, first.stderr[-2000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2"]

    second = _run(app, crash_at=None)
    assert second.returncode == 0, second.stderr[-2000:]
    # Two trials were complete and two asked (jobs 2 and 3 of a batch of n_jobs=2; job 2
    # died, job 3 never started): two more run, as jobs 4 and 5, with new parameters.
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2", "4", "5"]
    study = optuna.load_study(study_name="resume-test", storage=f"sqlite:///{sweep}/optuna.db")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4
    assert len({round(t.params["x"], 9) for t in done}) == 4  # no trial drawn twice
    assert "2 of 4 trials complete (4 held)" in second.stdout + second.stderr

    third = _run(app, crash_at=None)  # the study is complete: nothing runs
    assert third.returncode == 0, third.stderr[-2000:]
    assert len([p for p in sweep.iterdir() if p.is_dir()]) == 5
