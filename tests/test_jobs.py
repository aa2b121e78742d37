"""`run.jobs`: a seed's steps as tasks, run on worker processes in dependency order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gdo.jobs import Task, resolve_jobs, run_tasks, split
from gdo.utils.errors import ConfigError, StepError


@dataclass(frozen=True)
class FakeStep:
    stage: str
    goal: str | None = None

    @property
    def label(self) -> str:
        return f"{self.stage} {self.goal}" if self.goal else self.stage


def seed_steps() -> list[tuple[FakeStep, None]]:
    steps = [FakeStep("score")]
    steps += [FakeStep("select", g) for g in ("temp", "uniform")]
    steps += [FakeStep("train", g) for g in ("temp", "uniform")]
    steps += [FakeStep("evaluate"), FakeStep("frontier")]
    return [(s, None) for s in steps]


def test_split_fans_out_the_independent_stage_and_joins_after_it() -> None:
    tasks = {t.name: t for t in split("seed 1: ", seed_steps(), {"train"})}
    assert list(tasks) == [
        "seed 1: score .. select uniform",
        "seed 1: train temp",
        "seed 1: train uniform",
        "seed 1: evaluate .. frontier",
    ]
    first = "seed 1: score .. select uniform"
    assert tasks[first].after == set() and len(tasks[first].steps) == 3
    assert tasks["seed 1: train temp"].after == {first}
    assert tasks["seed 1: train uniform"].after == {first}
    assert tasks["seed 1: evaluate .. frontier"].after == {
        "seed 1: train temp",
        "seed 1: train uniform",
    }
    # The steps that unlock the rest first, then the uniform baseline (the longest run).
    ranks = {n: t.rank for n, t in tasks.items()}
    assert ranks[first] < ranks["seed 1: train uniform"] < ranks["seed 1: train temp"]


def test_split_without_an_independent_stage_is_one_task() -> None:
    pairs = [p for p in seed_steps() if p[0].stage != "train"]
    tasks = split("", pairs, {"train"})
    assert [t.name for t in tasks] == ["score .. frontier"] and len(tasks[0].steps) == 5


def test_resolve_jobs() -> None:
    assert resolve_jobs(3, 1) == 3
    assert resolve_jobs(0, 1) >= 1  # one per usable core
    assert resolve_jobs(0, 8) == 1 and resolve_jobs(1, 8) == 1
    with pytest.raises(ConfigError, match="run.jobs=2 with run.nproc_per_node=8"):
        resolve_jobs(2, 8)
    with pytest.raises(ConfigError, match="run.jobs=-1"):
        resolve_jobs(-1, 1)


# What a worker runs: each "step" is (name, folder, wait_for, fail); it records its start
# and end, waits for another step's start file when told to (proof that two ran at once,
# with no timing), and fails when told to. "prep" lingers, so that a task started before
# it ended would show.
def record(steps: list[tuple[str, str, str | None, bool]]) -> list[dict]:
    out = []
    for name, folder, wait_for, fail in steps:
        root = Path(folder)
        (root / f"{name}.start").write_text(str(time.time_ns()))
        if name == "prep":
            time.sleep(0.5)
        if wait_for is not None:
            deadline = time.time() + 60
            while not (root / f"{wait_for}.start").exists():
                if time.time() > deadline:
                    raise TimeoutError(f"{name}: {wait_for} never started beside it")
                time.sleep(0.01)
        if fail:
            raise RuntimeError(f"{name} broke")
        (root / f"{name}.end").write_text(str(time.time_ns()))
        out.append({"step": name})
    return out


def stamp(folder: Path, name: str, end: str) -> int:
    return int((folder / f"{name}.{end}").read_text())


def test_run_tasks_runs_two_at_once_in_dependency_order(tmp_path) -> None:
    d = str(tmp_path)
    tasks = [
        Task("prep", [("prep", d, None, False)]),
        Task("a", [("a", d, "b", False)], {"prep"}, rank=1),
        Task("b", [("b", d, "a", False)], {"prep"}, rank=3),
        Task("join", [("join1", d, None, False), ("join2", d, None, False)], {"a", "b"}),
    ]
    timings = run_tasks(tasks, 2, record)
    assert [t["step"] for t in timings] == ["prep", "a", "b", "join1", "join2"]
    # a and b each waited for the other to start: they ran at once, after prep, before join.
    for name in ("a", "b"):
        assert stamp(tmp_path, "prep", "end") <= stamp(tmp_path, name, "start")
        assert stamp(tmp_path, name, "end") <= stamp(tmp_path, "join1", "start")


def test_a_failed_task_stops_what_waits_on_it_and_names_itself(tmp_path) -> None:
    d = str(tmp_path)
    tasks = [
        Task("bad", [("bad", d, None, True)]),
        Task("after bad", [("after", d, None, False)], {"bad"}),
        Task("other", [("other", d, None, False)]),
    ]
    with pytest.raises(StepError, match=r"bad failed \(RuntimeError: bad broke\).*rerun"):
        run_tasks(tasks, 2, record)
    assert not (tmp_path / "after.start").exists()
    assert (tmp_path / "other.end").exists()  # started beside it: finished, kept


def test_a_task_waiting_for_an_unknown_one_is_refused() -> None:
    with pytest.raises(ValueError, match="waits for unknown tasks"):
        run_tasks([Task("x", [], {"nope"})], 2, record)


def test_jobs_run_calls_every_step_with_the_config_of_a_sequential_run(
    cfg_factory, monkeypatch
) -> None:
    """`gdo run` with jobs=2 hands the workers every step of every seed once, with the
    config a sequential run uses (the tasks run here, in their order, to see the calls)."""
    import gdo.jobs
    from gdo import pipeline

    calls: list[tuple[str, str, str]] = []

    def fake_resolve(target: str):
        def fn(cfg):
            calls.append((target, cfg.goal.name, cfg.paths.work_dir.replace("/j2", "/j1")))
            return cfg.paths.work_dir

        return fn

    def in_order(tasks, jobs, fn, bar=None):
        assert jobs == 2
        done: set[str] = set()
        out = []
        while len(done) < len(tasks):
            t = next(t for t in tasks if t.name not in done and t.after <= done)
            out += fn(t.steps)
            done.add(t.name)
        return out

    monkeypatch.setattr(pipeline, "resolve", fake_resolve)
    monkeypatch.setattr(gdo.jobs, "run_tasks", in_order)
    runs = {}
    for jobs in (1, 2):
        calls.clear()
        cfg = cfg_factory(
            f"name=j{jobs}",
            "run.goals=[uniform,temp]",
            "run.seeds=[0,1]",
            "run.stages=[select,train]",
            f"run.jobs={jobs}",
        )
        pipeline.run(cfg)
        runs[jobs] = sorted(calls)
    assert runs[2] == runs[1] and len(runs[1]) == 8


def test_hydra_values_are_pinned_before_a_worker_sees_the_config(tmp_path: Path) -> None:
    """A sweep's ``paths.work_dir: ${hydra:runtime.output_dir}/work`` must reach a worker
    process (which has no Hydra job) as a plain value."""
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from gdo.pipeline import pin_hydra_values

    job = OmegaConf.create({"hydra": OmegaConf.structured(HydraConf)})
    job.hydra.runtime.output_dir = str(tmp_path / "3")
    cfg = OmegaConf.create(
        {"paths": {"work_dir": "${hydra:runtime.output_dir}/work", "other": "${paths.work_dir}"}}
    )
    HydraConfig.instance().set_config(job)
    try:
        pin_hydra_values(cfg)
    finally:
        HydraConfig.instance().cfg = None  # the worker's view: no Hydra job
    assert not HydraConfig.initialized()
    assert cfg.paths.work_dir == str(tmp_path / "3" / "work")
    assert cfg.paths.other == str(tmp_path / "3" / "work")  # other interpolations still follow
    assert OmegaConf.to_container(cfg)["paths"]["other"] == "${paths.work_dir}"
