"""Run groups of pipeline steps at once, in worker processes, in dependency order.

``gdo run`` with ``run.jobs`` > 1 splits each seed's steps after the shared stages into
tasks (:func:`split`): score + select, then every goal's training on its own (the goals'
runs do not depend on each other), then evaluate + frontier once all of that seed's
trainings are done. :func:`run_tasks` keeps ``jobs`` worker processes busy with the tasks
whose dependencies are done, longest first (the Uni-Nx baselines), across seeds.

Each worker runs one task at a time with one torch thread (as the stages do in one
process), so every artifact is the one a sequential run writes; only the order in which
they appear changes. A failed task stops new ones from starting; the running ones finish
(their artifacts stay valid) and the failure is raised with the task's name, so a rerun
resumes from the manifests.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from gdo.stages import is_baseline
from gdo.utils.errors import ConfigError, StepError

log = logging.getLogger(__name__)

# Hydra's console format, for the workers' log lines.
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


@dataclass
class Task:
    """Steps that run one after the other in one worker, once ``after`` are done."""

    name: str
    steps: list[Any]  # (Step, config) pairs, as ``gdo.pipeline.run_prepared`` takes them
    after: set[str] = field(default_factory=set)
    # Lower starts first among the ready tasks (see :func:`split`).
    rank: int = 0


def resolve_jobs(jobs: int, nproc_per_node: int) -> int:
    """``run.jobs``: 0 = one per usable CPU core; 1 under torchrun launches (each step
    then has every device to itself)."""
    if jobs < 0:
        raise ConfigError(f"run.jobs={jobs}: expected 0 (one per CPU core) or a positive count")
    if nproc_per_node > 1:
        if jobs > 1:
            raise ConfigError(
                f"run.jobs={jobs} with run.nproc_per_node={nproc_per_node}: each launched step "
                "uses every device of the node; set run.jobs=1"
            )
        return 1
    if jobs == 0:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    return jobs


def split(tag: str, pairs: Sequence[tuple[Any, Any]], independent: set[str]) -> list[Task]:
    """One seed's (step, config) pairs as tasks.

    Consecutive steps of a stage in ``independent`` (per-goal steps that read nothing of
    each other, e.g. train) become one task each; every other run of steps becomes one task.
    A task waits for the task(s) before it. Ranks: the steps before the first independent
    stage first (they unlock the rest), then uniform-baseline trainings (the longest),
    then the steps after them, then the other goals' trainings.
    """
    tasks: list[Task] = []
    before: set[str] = set()
    group: list[tuple[Any, Any]] = []
    seen_independent = False

    def close_group() -> None:
        nonlocal before, group
        if group:
            name = f"{tag}{group[0][0].label}" + (
                f" .. {group[-1][0].label}" if len(group) > 1 else ""
            )
            tasks.append(Task(name, group, set(before), 2 if seen_independent else 0))
            before = {name}
            group = []

    i = 0
    while i < len(pairs):
        step = pairs[i][0]
        if step.stage not in independent:
            group.append(pairs[i])
            i += 1
            continue
        close_group()
        seen_independent = True
        fan = []
        while i < len(pairs) and pairs[i][0].stage == step.stage:
            s = pairs[i][0]
            name = f"{tag}{s.label}"
            tasks.append(Task(name, [pairs[i]], set(before), 1 if is_baseline(s.goal) else 3))
            fan.append(name)
            i += 1
        before = set(fan)
    close_group()
    return tasks


def _init_worker(log_files: list[str], level: int) -> None:
    """A worker logs as the parent does (console + the run's log files), shows no bars of
    its own (two processes' bars would garble each other) and uses one torch thread."""
    os.environ["GDO_PROGRESS"] = "0"
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]  # as Hydra's
    handlers += [logging.FileHandler(f) for f in log_files]
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=handlers, force=True)


def _log_files() -> list[str]:
    return [
        h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)
    ]


def run_tasks(
    tasks: list[Task], jobs: int, fn: Callable[[list[Any]], list[dict]], bar: Any = None
) -> list[dict]:
    """Run ``fn(task.steps)`` for every task on ``jobs`` worker processes, each task once
    the tasks it waits for are done; returns the concatenated results of ``fn`` (step
    timings) in task order. ``bar`` (tqdm) advances by a task's step count when it ends
    and names the running tasks.
    """
    names = {t.name for t in tasks}
    for t in tasks:
        missing = t.after - names
        if missing:
            raise ValueError(f"task {t.name!r} waits for unknown tasks {sorted(missing)}")
    order = {t.name: i for i, t in enumerate(tasks)}
    pending = {t.name: t for t in tasks}
    done: dict[str, list[dict]] = {}
    running: dict[Future, Task] = {}
    failed: list[tuple[Task, BaseException]] = []
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(_log_files(), logging.getLogger().getEffectiveLevel()),
    ) as pool:
        while pending or running:
            ready = sorted(
                (t for t in pending.values() if t.after <= done.keys()),
                key=lambda t: (t.rank, order[t.name]),
            )
            while not failed and ready and len(running) < jobs:
                t = ready.pop(0)
                del pending[t.name]
                log.info("start %s", t.name)
                running[pool.submit(fn, t.steps)] = t
            if bar is not None:
                bar.set_description(f"gdo run [{', '.join(t.name for t in running.values())}]")
            if not running:
                break  # a failure stopped the rest, or what is left waits on it
            finished, _ = wait(running, timeout=2.0, return_when=FIRST_COMPLETED)
            if bar is not None:
                bar.refresh()  # the elapsed time moves while long tasks run
            for fut in finished:
                t = running.pop(fut)
                try:
                    done[t.name] = fut.result()
                except BaseException as e:  # noqa: BLE001 - reported below with the task
                    log.error("%s failed: %s", t.name, e)
                    failed.append((t, e))
                    continue
                log.info("done %s", t.name)
                if bar is not None:
                    bar.update(len(t.steps))
    if failed:
        t, e = failed[0]
        raise StepError(
            f"{t.name} failed ({type(e).__name__}: {e}); the steps that finished are kept, "
            "rerun the same command to resume"
        ) from e
    return [row for t in tasks for row in done[t.name]]
