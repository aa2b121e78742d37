"""`gdo run` orchestration: the plan, per-goal configs, seeds, shared artifacts, force."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdo import pipeline
from gdo.utils.manifest import write_manifest


def test_plan_selects_and_trains_uniform_after_the_gdo_goals(cfg_factory) -> None:
    cfg = cfg_factory("run.goals=[uniform,temp,minloss]")
    steps = pipeline.plan(cfg)
    select = [s.goal for s in steps if s.stage == "select"]
    train = [s.goal for s in steps if s.stage == "train"]
    assert select == ["temp", "minloss", "uniform"]
    assert train == select
    stages = [s.stage for s in steps]
    assert stages.index("describe") < stages.index("score") < stages.index("select")
    assert stages[-2:] == ["evaluate", "frontier"]


def test_plan_rejects_an_unknown_stage(cfg_factory) -> None:
    with pytest.raises(ValueError, match="unknown stage 'trian'"):
        pipeline.plan(cfg_factory("run.stages=[pool,trian]"))


def test_goal_config_composes_the_goal_file(cfg_factory) -> None:
    cfg = cfg_factory("goal=temp_plus")
    other = pipeline.goal_config(cfg, "minloss")
    assert other.goal.name == "minloss"
    assert cfg.goal.name == "temp_plus"  # the original is untouched
    assert other.paths.work_dir == cfg.paths.work_dir


def test_run_calls_each_step_once_and_seeds_share_artifacts(cfg_factory, monkeypatch) -> None:
    calls: list[tuple[str, str | None, str]] = []

    def fake_resolve(target: str):
        def fn(cfg):
            calls.append((target, cfg.goal.name, str(Path(cfg.paths.work_dir).name)))
            return Path(cfg.paths.work_dir)

        return fn

    monkeypatch.setattr(pipeline, "resolve", fake_resolve)
    cfg = cfg_factory(
        "name=t", "run.goals=[uniform,temp]", "run.seeds=[0,1]", "run.stages=[pool,select,train]"
    )
    pipeline.run(cfg)
    pools = [c for c in calls if c[0].endswith("pool.stage:run")]
    assert len(pools) == 1  # shared stages run once, not once per seed
    selects = [(g, d) for t, g, d in calls if "selection" in t]
    assert selects == [
        ("temp", "t-seed0"),
        ("uniform", "t-seed0"),
        ("temp", "t-seed1"),
        ("uniform", "t-seed1"),
    ]
    seed1 = Path(cfg.paths.output_dir) / "t-seed1"
    assert (seed1 / "pool").is_symlink()
    assert (seed1 / "pool").resolve() == (Path(cfg.paths.output_dir) / "t" / "pool").resolve()


def test_force_drops_the_stage_manifest(cfg_factory, monkeypatch) -> None:
    cfg = cfg_factory("name=f", "run.stages=[score]", "run.force=[score]")
    scores = Path(cfg.paths.work_dir) / "scores"
    write_manifest(scores, stage="score", key="k")
    seen = []
    monkeypatch.setattr(
        pipeline, "resolve", lambda t: lambda c: seen.append((scores / "manifest.json").exists())
    )
    pipeline.run(cfg)
    assert seen == [False]


def test_distributed_steps_are_launched_with_torchrun(cfg_factory) -> None:
    cfg = cfg_factory("name=d", "run.nproc_per_node=2")
    parent = ["command=run", "experiment=demo", "goal=minloss", "run.nproc_per_node=2"]
    cmd = pipeline.torchrun_command("train", 2, "temp", cfg, overrides=parent)
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc_per_node=2" in cmd
    assert cmd[cmd.index("gdo") - 1 : cmd.index("gdo") + 2] == ["-m", "gdo", "train"]
    assert "goal=temp" in cmd and f"paths.work_dir={Path(cfg.paths.work_dir).resolve()}" in cmd
    # The child must run its one stage, not the pipeline again (no command=, no relaunch).
    assert not any(a.startswith("command=") for a in cmd)
    assert "experiment=demo" in cmd and "goal=minloss" not in cmd
    assert [a for a in cmd if a.startswith("run.nproc_per_node=")] == ["run.nproc_per_node=1"]
