"""Every experiment config composes and runs one tiny step; the demo runs end to end."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose

from gdo import pipeline
from gdo.cli import conf_dir

EXPERIMENTS = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))
# Shrinks any experiment to the small world and the tiny model (seconds, not hours).
TINY = [
    "world=small",
    "pool=world",
    "model=tiny_qwen2vl",
    "training=cpu",
    "eval=world",
    "logger=none",
    "training.pretrain.max_samples=256",
    "descriptors.specs.self_consistency.n=2",
]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shared")
    cfg = compose([f"paths.root_dir={root}", "world=small", "logger=none"])
    return pipeline.resolve("gdo.world.stage:run")(cfg)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_runs_one_tiny_step(experiment, small_world, tmp_path) -> None:
    full = compose([f"experiment={experiment}"])
    assert full.name and full.run.goals, experiment
    assert pipeline.plan(full), experiment  # every stage name is known
    cfg = compose(
        [
            f"experiment={experiment}",
            *TINY,
            f"paths.root_dir={tmp_path}",
            f"paths.world_dir={small_world}",
            "run.stages=[pool]",
            "run.share_from=null",
            "run.share_baseline=[]",
            "run.seeds=[0]",
        ]
    )
    pipeline.run(cfg)
    pool = pd.read_parquet(Path(cfg.paths.work_dir) / "pool" / "pool.parquet")
    assert len(pool) > 100


def _mtimes(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("manifest.json")}


@pytest.mark.slow
def test_demo_runs_end_to_end_and_a_rerun_skips_every_stage(small_world, tmp_path) -> None:
    cfg = compose(
        ["experiment=demo", *TINY, f"paths.root_dir={tmp_path}", f"paths.world_dir={small_world}"]
    )
    report = pipeline.run(cfg)
    work = Path(cfg.paths.work_dir)
    assert Path(report) == work / "frontier" / "report.md" and Path(report).exists()
    frontier = pd.read_parquet(work / "frontier" / "frontier.parquet")
    assert set(cfg.run.goals) <= set(frontier["goal"])
    assert {"mvbench", "videomme", "mlvu", "lvbench"} <= set(frontier["benchmark"])
    for png in ("frontier.png", "dumbbell.png", "subtasks.png"):
        assert (work / "frontier" / "plots" / png).stat().st_size > 0
    for goal in cfg.run.goals:
        assert (work / "subsets" / goal / "train.json").exists()
        assert list((work / "train" / goal / "checkpoints").glob("ckpt-*"))
    before = _mtimes(work)
    os.environ["GDO_PROGRESS"] = "0"
    pipeline.run(cfg)
    assert _mtimes(work) == before, "a fresh stage was recomputed"


@pytest.mark.slow
def test_run_launches_describe_and_train_on_two_ranks(small_world, tmp_path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "GDO_PROGRESS": "0", "WANDB_MODE": "disabled"}
    args = [*TINY, f"paths.root_dir={tmp_path}", f"paths.world_dir={small_world}"]
    args += ["run.nproc_per_node=2", "run.goals=[uniform,temp_plus]", "eval.frontier.plots=false"]
    out = subprocess.run(
        [sys.executable, "-m", "gdo", "run", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    work = tmp_path / "outputs" / "default"
    assert sorted(p.name for p in (work / "descriptors" / "shards").glob("*/shard-*")) == [
        "shard-0-of-2.jsonl",
        "shard-1-of-2.jsonl",
    ]
    state = (work / "train" / "uniform" / "checkpoints").glob("ckpt-*/gdo_state.json")
    assert any('"world_size": 2' in p.read_text() for p in state)
    assert (work / "frontier" / "report.md").exists()
