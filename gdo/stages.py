"""The one table of pipeline stages: each stage's command, steps, outputs and how it runs.

``gdo <stage>`` (gdo.cli), ``gdo run``'s plan, its torchrun launches, the seed-shared
stages and ``run.force`` (gdo.pipeline) all read :data:`STAGES`. A stage is a function
``run(cfg) -> Path`` in ``gdo/<package>/stage.py``; a new one is a :func:`register_stage`
call here (plus its name in ``run.stages``, ``conf/`` and docs/ARCHITECTURE.md).
Targets are ``"module:function"`` strings, imported only when the stage runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdo.utils.stage import work_dir, world_dir


@dataclass(frozen=True)
class StageSpec:
    """One stage of the pipeline (``run.stages`` names it)."""

    name: str
    help: str  # one line for `gdo --help`
    steps: tuple[str, ...]  # "module:function" targets, run in this order by `gdo run`
    # The folders whose manifests `run.force=[<name>]` deletes: (cfg, goal) -> folders.
    outputs: Callable[[Any, str | None], list[Path]]
    per_goal: bool = False  # one run per goal of run.goals, with cfg.goal replaced
    # The first step is launched with `torchrun --nproc_per_node N -m gdo <name>` when
    # run.nproc_per_node > 1.
    distributed: bool = False
    # Seed- and goal-independent: run once in the folder that owns its artifacts (seeds
    # and sweep points link them, gdo.pipeline).
    shared: bool = False
    # Per-goal runs that read nothing of each other (train): `gdo run` with run.jobs > 1
    # may run them at once (gdo.jobs).
    independent: bool = False

    @property
    def command(self) -> str:
        """The `gdo` command: the stage's name."""
        return self.name


STAGES: dict[str, StageSpec] = {}


def is_baseline(goal: str | None) -> bool:
    """A uniform Uni-Nx baseline (``uniform``, ``uniform_5x``, ...): selected after the GDO
    goals (it is sized from one's subset); its training is the longest of a seed's."""
    return str(goal or "").startswith("uniform")


def register_stage(spec: StageSpec) -> StageSpec:
    """Add (or replace) a stage; returns it. Stages run in ``run.stages`` order."""
    STAGES[spec.name] = spec
    return spec


def _under(*parts: str) -> Callable[[Any, str | None], list[Path]]:
    return lambda cfg, goal: [work_dir(cfg).joinpath(*parts)]


def _per_goal(folder: str) -> Callable[[Any, str | None], list[Path]]:
    return lambda cfg, goal: [work_dir(cfg) / folder / str(goal)]


def _evaluations(cfg: Any, goal: str | None) -> list[Path]:
    base = work_dir(cfg) / "eval"
    return list(base.glob("*/*")) if base.exists() else []


for _spec in (
    StageSpec(
        "world",
        "generate the embedded synthetic world (pool + benchmarks)",
        ("gdo.world.stage:run",),
        lambda cfg, goal: [world_dir(cfg)],
        shared=True,
    ),
    StageSpec(
        "pool",
        "read pool files into pool.parquet (single-turn candidates)",
        ("gdo.pool.stage:run",),
        _under("pool"),
        shared=True,
    ),
    StageSpec(
        "pretrain",
        "pre-train the tiny base model on the world",
        ("gdo.training.pretrain:run",),
        _under("base_model"),
        shared=True,
    ),
    StageSpec(
        "describe",
        "compute descriptors for every candidate (sharded)",
        ("gdo.descriptors.stage:run", "gdo.descriptors.merge:merge"),
        _under("descriptors"),
        distributed=True,
        shared=True,
    ),
    StageSpec(
        "score",
        "shared quality score and candidate score",
        ("gdo.scoring.stage:run",),
        _under("scores"),
    ),
    StageSpec(
        "select",
        "build the subset of one goal",
        ("gdo.selection.stage:run",),
        _per_goal("subsets"),
        per_goal=True,
    ),
    StageSpec(
        "train",
        "fine-tune on a subset (Trainer + DeepSpeed)",
        ("gdo.training.stage:run",),
        _per_goal("train"),
        per_goal=True,
        distributed=True,
        independent=True,
    ),
    StageSpec(
        "evaluate",
        "evaluate every checkpoint on every benchmark",
        ("gdo.evaluation.stage:run",),
        _evaluations,
        distributed=True,
    ),
    StageSpec(
        "frontier",
        "frontier table, peak match, CIs, plots, report",
        ("gdo.frontier.stage:run",),
        _under("frontier"),
    ),
):
    register_stage(_spec)
