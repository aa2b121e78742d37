"""W&B logging: one group per sweep, artifacts of subsets and frontiers, curves against samples."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose

from gdo.logging import artifact_name, get_logger, run_group


class FakeRun:
    def __init__(self, **init) -> None:
        self.init, self.logged, self.defined, self.artifacts = init, [], [], []

    def log(self, metrics, step=None) -> None:
        self.logged.append(dict(metrics))

    def define_metric(self, name, step_metric=None) -> None:
        self.defined.append((name, step_metric))

    def log_artifact(self, art) -> None:
        self.artifacts.append(art)

    def finish(self) -> None:
        pass


class FakeArtifact:
    def __init__(self, name, type, metadata=None) -> None:  # noqa: A002 - W&B's signature
        self.name, self.type, self.metadata, self.files = name, type, metadata, []

    def add_file(self, path, name=None) -> None:
        self.files.append(name or Path(path).name)


@pytest.fixture
def fake_wandb(monkeypatch):
    """A stand-in ``wandb`` module that records runs; WANDB_MODE=offline so loggers start."""
    runs: list[FakeRun] = []
    mod = types.ModuleType("wandb")

    def init(**kw):
        runs.append(FakeRun(**kw))
        return runs[-1]

    mod.init, mod.Artifact = init, FakeArtifact
    mod.Table = lambda dataframe=None, **kw: ("table", len(dataframe))
    mod.Image = lambda path: ("image", path)
    mod.plot = types.SimpleNamespace(line=lambda *a, **k: ("line",))
    monkeypatch.setitem(sys.modules, "wandb", mod)
    monkeypatch.setenv("WANDB_MODE", "offline")
    return runs


def test_group_is_the_configured_one_else_one_per_sweep_else_the_name(cfg_factory) -> None:
    cfg = cfg_factory("name=exp")
    assert run_group(cfg) == "exp"
    assert run_group(cfg, "/x/multirun/exp/2026-01-02_03-04-05") == "exp-sweep-2026-01-02_03-04-05"
    cfg.logger.group = "mine"
    assert run_group(cfg, "/x/multirun/exp/2026") == "mine"
    assert artifact_name("subset-demo/temp plus:1") == "subset-demo-temp-plus-1"


def test_torchrun_children_of_a_sweep_point_keep_the_sweep_group(cfg_factory, monkeypatch) -> None:
    import gdo.logging
    from gdo.pipeline import torchrun_command

    cfg = cfg_factory("name=exp")
    assert not any(
        a.startswith("logger.group=") for a in torchrun_command("train", 2, "temp", cfg, [])
    )
    monkeypatch.setattr(gdo.logging, "multirun_dir", lambda: "/x/multirun/exp/2026-01-02")
    cmd = torchrun_command("train", 2, "temp", cfg, [])
    assert "logger.group='exp-sweep-2026-01-02'" in cmd


def test_curves_use_samples_as_their_x_axis(fake_wandb, cfg_factory, tmp_path) -> None:
    cfg = cfg_factory("name=exp")
    logger = get_logger(cfg, job_type="t", dir=tmp_path)
    df = pd.DataFrame(
        {
            "benchmark": ["mvbench"] * 4 + ["mlvu"] * 2,
            "goal": ["temp", "temp", "uniform", "uniform", "temp", "temp"],
            "samples": [0, 100, 0, 1000, 0, 100],
            "accuracy": [40.0, 45.0, 40.0, 42.0, 30.0, 33.0],
        }
    )
    logger.log_curves("accuracy", df, "samples", "accuracy", ["benchmark", "goal"])
    run = fake_wandb[-1]
    assert run.init["group"] == "exp"
    assert ("samples", None) in run.defined and ("accuracy/*", "samples") in run.defined
    assert [r["samples"] for r in run.logged] == [0, 100, 1000]
    assert run.logged[1] == {
        "samples": 100,
        "accuracy/mvbench/temp": 45.0,
        "accuracy/mlvu/temp": 33.0,
    }
    assert run.logged[2] == {"samples": 1000, "accuracy/mvbench/uniform": 42.0}


def test_select_logs_its_subset_as_an_artifact(fake_wandb, tmp_path) -> None:
    from synthetic import make_pool

    from gdo.scoring.stage import run as score_run
    from gdo.selection.stage import run as select_run

    pool, desc, _ = make_pool(400, seed=2)
    wd = tmp_path / "outputs" / "s"
    for sub, df, name in (
        ("pool", pool, "pool.parquet"),
        ("descriptors", desc, "descriptors.parquet"),
    ):
        (wd / sub).mkdir(parents=True)
        df.to_parquet(wd / sub / name)
    over = [f"paths.root_dir={tmp_path}", "name=s", "logger=wandb"]
    score_run(compose(over))
    select_run(compose([*over, "goal=temp_plus"]))
    arts = [a for r in fake_wandb for a in r.artifacts]
    assert [(a.name, a.type) for a in arts] == [("subset-s-temp_plus", "subset")]
    assert {"subset.parquet", "manifest.json", "report.md"} <= set(arts[0].files)
    assert arts[0].metadata["selected"] == len(
        pd.read_parquet(wd / "subsets/temp_plus/subset.parquet")
    )
