"""``gdo run``: the main job, every stage end to end.

world -> pool -> (pretrain) -> describe (+ merge) -> score -> select (each goal, then
the uniform baseline) -> train (each subset) -> evaluate (every checkpoint) -> frontier.

Each stage checks its own manifest key and returns at once when its artifact is
fresh, so a rerun after a crash resumes where it stopped and a sweep over goal
weights reuses one descriptor pass. ``run.force`` names stages to redo anyway.
Several seeds (``run.seeds``) run the seed-dependent stages (select, train,
evaluate, frontier) in ``<work_dir>-seed<k>`` folders that link to the shared,
seed-independent artifacts (``run.share_from``, used by sweeps, works the same).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from gdo.cli import resolve
from gdo.stages import STAGES, is_baseline
from gdo.utils.conf import conf_dir
from gdo.utils.errors import ConfigError, InputError, StepError
from gdo.utils.io import atomic_write_json
from gdo.utils.manifest import MANIFEST
from gdo.utils.progress import progress
from gdo.utils.stage import work_dir

log = logging.getLogger(__name__)

# Artifacts that depend neither on the seed nor on goal/score weights: shared by link.
SHARED = ("pool", "base_model", "descriptors")
# The stages that write them (and the world): run once, in the folder that owns them.
SHARED_STAGES = frozenset(name for name, spec in STAGES.items() if spec.shared)


# Steps that torchrun launches on run.nproc_per_node ranks: target -> `gdo` command.
DISTRIBUTED = {spec.steps[0]: spec.command for spec in STAGES.values() if spec.distributed}


@dataclass(frozen=True)
class Step:
    stage: str  # the name used in run.stages / run.force
    target: str  # "module:function"
    goal: str | None = None  # per-goal steps run with cfg.goal replaced

    @property
    def label(self) -> str:
        return f"{self.stage} {self.goal}" if self.goal else self.stage


def plan(cfg: DictConfig) -> list[Step]:
    """The steps of one seed, in order, for the stages listed in ``run.stages``."""
    wanted = list(cfg.run.stages)
    shared = set(cfg.run.share_baseline)
    gdo_goals = [g for g in cfg.run.goals if not is_baseline(g) and g not in shared]
    # Uniform baselines are sized from a GDO goal's subset, so they are selected last.
    goals = gdo_goals + [g for g in cfg.run.goals if is_baseline(g) and g not in shared]
    steps: list[Step] = []
    for stage in wanted:
        spec = STAGES.get(stage)
        if spec is None:
            raise ConfigError(
                f"run.stages: unknown stage '{stage}'; expected one of {', '.join(STAGES)}"
            )
        for target in spec.steps:
            if spec.per_goal:
                steps += [Step(stage, target, g) for g in goals]
            else:
                steps.append(Step(stage, target))
    return steps


def user_overrides() -> list[str]:
    """The running job's command-line overrides (none outside a Hydra job)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def compose_root(overrides: list[str]) -> DictConfig:
    """The root config composed as ``gdo`` composes it, with ``overrides``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name="config", overrides=overrides)
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        return compose(config_name="config", overrides=overrides)


def goal_config(cfg: DictConfig, goal: str) -> DictConfig:
    """``cfg`` with its ``goal`` node composed from ``conf/goal/<goal>.yaml``.

    The user's ``goal.*`` command-line overrides are applied on top, exactly as
    ``gdo select goal=<goal> goal.x=...`` would.
    """
    user = [o for o in user_overrides() if o.lstrip("+~").startswith("goal.")]
    node = compose_root([f"goal={goal}", *user]).goal
    out = cfg.copy()
    with open_dict(out):
        out.goal = node
    return out


def control_overrides(name: str, seeds: list[int]) -> list[str]:
    """The overrides of control experiment ``name``: the user's (paths, sizes) with
    ``experiment=<name>`` and this run's seeds."""
    drop = ("experiment=", "name=", "run.seeds=", "run.controls=", "command=")
    keep = [o for o in user_overrides() if not o.lstrip("+~").startswith(drop)]
    seeds_text = ",".join(str(int(s)) for s in seeds)
    return [*keep, f"experiment={name}", f"run.seeds=[{seeds_text}]"]


def control_config(name: str, seeds: list[int]) -> DictConfig:
    """The composed config of control experiment ``name`` (:func:`control_overrides`)."""
    cfg = compose_root(control_overrides(name, seeds))
    if not cfg.run.control:
        raise ConfigError(
            f"run.controls: experiment '{name}' is not a control (it sets no run.control)"
        )
    if cfg.run.controls:
        raise ConfigError(f"run.controls: control experiment '{name}' lists controls itself")
    return cfg


def report_path(cfg: DictConfig, n_seeds: int) -> Path:
    """Where ``gdo run`` leaves the frontier report: the experiment folder for one seed,
    ``<work_dir>-seeds`` (the seeds' joint frontier) for several."""
    base = work_dir(cfg)
    folder = base if n_seeds == 1 else base.parent / f"{base.name}-seeds"
    return folder / "frontier" / "report.md"


def run_controls(cfg: DictConfig, report: Path, seeds: list[int]) -> list[dict]:
    """Run each of ``run.controls`` with these seeds and put their findings into ``report``."""
    import subprocess
    import sys

    from gdo.frontier.controls import attach, summarise

    found = []
    for name in cfg.run.controls:
        ccfg = control_config(name, seeds)
        # A process of its own: its own Hydra job, so its torchrun steps get its overrides.
        cmd = [sys.executable, "-m", "gdo", "run", *control_overrides(name, seeds)]
        log.info("control %s: %s", name, " ".join(cmd))
        if subprocess.run(cmd, check=False).returncode != 0:
            raise StepError(f"control '{name}' failed: {' '.join(cmd)}")
        control_report = report_path(ccfg, len(seeds))
        found.append(
            summarise(
                str(ccfg.run.control),
                name,
                report.parent,
                control_report.parent,
                str(ccfg.run.control_goal),
            )
        )
    attach(report, found, str(cfg.eval.frontier.baseline))
    return found


def seed_config(cfg: DictConfig, seed: int, n_seeds: int) -> DictConfig:
    """The config of one seed: its own work dir when there are several seeds.

    A seed folder links the shared artifacts of its experiment's folder; an experiment
    that shares another's (``run.share_from``: an ablation, a control) links each seed to
    that experiment's folder of the same seed when there is one, which holds that seed's
    baseline runs and links the shared artifacts in turn.
    """
    out = cfg.copy()
    with open_dict(out):
        out.seed = int(seed)
        if n_seeds > 1:
            base = work_dir(cfg)
            out.paths.work_dir = str(base.parent / f"{base.name}-seed{seed}")
            src = cfg.run.get("share_from")
            if src:
                seeded = Path(src).parent / f"{Path(src).name}-seed{seed}"
                out.run.share_from = str(seeded if seeded.is_dir() else Path(src))
            else:
                out.run.share_from = str(base)
    return out


def link_shared(cfg: DictConfig) -> None:
    """Link the seed-independent artifacts of ``run.share_from`` into this work dir."""
    src = cfg.run.get("share_from")
    if not src:
        return
    src, dst = Path(src).resolve(), work_dir(cfg)
    if src == dst:
        return
    dst.mkdir(parents=True, exist_ok=True)
    names = list(SHARED)
    if cfg.run.get("share_checkpoints"):
        for goal in cfg.run.goals:
            names += [f"subsets/{goal}", f"train/{goal}"]
            if not (src / "train" / goal).is_dir():
                raise FileNotFoundError(
                    f"run.share_checkpoints: {src / 'train' / goal} does not exist; run the "
                    f"experiment at {src} first (it trains '{goal}')"
                )
    for goal in cfg.run.share_baseline:
        names += [f"subsets/{goal}", f"train/{goal}", f"eval/{goal}"]
        if not (src / "eval" / goal).is_dir():
            raise ConfigError(
                f"run.share_baseline: {src / 'eval' / goal} does not exist; run the experiment "
                f"at {src} first (it evaluates the '{goal}' baseline)"
            )
    if cfg.run.share_baseline and (src / "eval" / "base").is_dir():
        names.append("eval/base")  # the base model's scores (samples = 0) as well
    for name in names:
        target, link = src / name, dst / name
        target.mkdir(parents=True, exist_ok=True)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.exists() or link.is_symlink():
            raise InputError(
                str(link),
                reason=f"exists and is not a link to {target}; remove it or unset run.share_from",
            )
        link.symlink_to(target, target_is_directory=True)


def forget(cfg: DictConfig, step: Step) -> None:
    """Drop a stage's manifest so that the stage runs again (``run.force``)."""
    for folder in STAGES[step.stage].outputs(cfg, step.goal):
        (Path(folder) / MANIFEST).unlink(missing_ok=True)


def pin_hydra_values(cfg: DictConfig) -> DictConfig:
    """Replace every ``${hydra:...}`` interpolation of ``cfg`` by its value, in place.

    A sweep's ``paths.work_dir: ${hydra:runtime.output_dir}/work`` resolves only in the
    process that runs the Hydra job; a ``run.jobs`` worker has no Hydra job to ask.
    """
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return cfg
    raw = OmegaConf.to_container(cfg, resolve=False)

    def walk(node: Any, raw_node: Any) -> None:
        items = raw_node.items() if isinstance(raw_node, dict) else enumerate(raw_node)
        for key, value in items:
            if isinstance(value, (dict, list)):
                walk(node[key], value)
            elif isinstance(value, str) and "${hydra:" in value:
                with open_dict(node):
                    node[key] = node[key]  # reading resolves; writing pins the value

    walk(cfg, raw)
    return cfg


def prepare_steps(cfg: DictConfig, steps: list[Step]) -> list[tuple[Step, DictConfig]]:
    """Each step with the config it runs with (its goal composed in; the user's ``goal.*``
    overrides and ``${hydra:...}`` values are read here, in the process that runs the
    Hydra job, so a worker process can run the step)."""
    pairs = [(step, goal_config(cfg, step.goal) if step.goal else cfg) for step in steps]
    pairs = [(step, pin_hydra_values(scfg)) for step, scfg in pairs]
    from gdo.logging import multirun_dir, run_group

    if multirun_dir() and not cfg.logger.group:
        # A worker process is no multirun: give it the sweep's W&B group explicitly.
        group = run_group(cfg)
        for _, scfg in pairs:
            with open_dict(scfg):
                scfg.logger.group = group
    return pairs


def run_prepared(pairs: list[tuple[Step, DictConfig]], bar=None) -> list[dict]:
    """Run (step, config) pairs in order in this process; returns their timings."""
    timings = []
    for step, scfg in pairs:
        if step.stage in scfg.run.force:
            forget(scfg, step)
        if bar is not None:
            bar.set_description(f"gdo run [{step.label}]")
        os.environ["GDO_STAGE"] = step.label
        log.info("stage %s", step.label)
        start = time.perf_counter()
        nproc = int(scfg.run.get("nproc_per_node", 1))
        if nproc > 1 and step.target in DISTRIBUTED:
            out = launch_torchrun(DISTRIBUTED[step.target], nproc, step.goal, scfg)
        else:
            fn: Callable = resolve(step.target)
            out = fn(scfg)
        timings.append(
            {"step": step.label, "seconds": round(time.perf_counter() - start, 2), "out": str(out)}
        )
        if bar is not None:
            bar.update(1)
    os.environ.pop("GDO_STAGE", None)
    return timings


def run_steps(cfg: DictConfig, steps: list[Step], bar=None) -> list[dict]:
    """Run ``steps`` of ``cfg`` in order in this process; returns their timings."""
    return run_prepared(prepare_steps(cfg, steps), bar)


def run_seeds(
    configs: list[DictConfig], plans: list[list[Step]], jobs: int, bar=None
) -> list[dict]:
    """The seeds' steps after the shared stages: in order in this process (``jobs`` = 1),
    or as tasks on ``jobs`` worker processes (:mod:`gdo.jobs`; same artifacts)."""
    if jobs <= 1:
        timings: list[dict] = []
        for c, p in zip(configs, plans):
            link_shared(c)
            timings += run_steps(c, p, bar)
        return timings
    from gdo.jobs import run_tasks, split

    independent = {name for name, spec in STAGES.items() if spec.independent}
    tasks = []
    for c, p in zip(configs, plans):
        link_shared(c)
        tag = f"seed {c.seed}: " if len(configs) > 1 else ""
        tasks += split(tag, prepare_steps(c, p), independent)
    log.info("running %d tasks on %d worker processes", len(tasks), jobs)
    return run_tasks(tasks, jobs, run_prepared, bar)


def torchrun_command(
    command: str, nproc: int, goal: str | None, cfg: DictConfig, overrides: list[str] | None = None
) -> list[str]:
    """``torchrun ... -m gdo <command>`` with this run's overrides (and the step's goal).

    ``overrides`` defaults to the running Hydra job's command-line overrides.
    """
    import sys

    from hydra.core.hydra_config import HydraConfig

    from gdo.logging import multirun_dir, run_group

    if overrides is None:
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    # The step's own goal and work dir win over the sweep's / experiment's; the child runs
    # one stage on its rank, so it must not see the parent's command or launch again.
    drop = ("goal=", "paths.work_dir=", "seed=", "command=", "run.nproc_per_node=")
    overrides = [o for o in overrides if not o.lstrip("+~").startswith(drop)]
    overrides += [f"paths.work_dir={work_dir(cfg)}", f"seed={cfg.seed}", "run.nproc_per_node=1"]
    if multirun_dir() and not cfg.logger.group:  # the child is no multirun: keep the group
        overrides.append(f"logger.group='{run_group(cfg)}'")
    if goal:
        overrides.append(f"goal={goal}")
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={nproc}", "-m", "gdo", command, *overrides,
    ]  # fmt: skip


def launch_torchrun(command: str, nproc: int, goal: str | None, cfg: DictConfig) -> Path:
    """Run one step on ``nproc`` local ranks; fail loudly with the command if it fails."""
    import subprocess

    cmd = torchrun_command(command, nproc, goal, cfg)
    log.info("launching: %s", " ".join(cmd))
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise StepError(f"step '{command}' failed (exit {result.returncode}): {' '.join(cmd)}")
    return work_dir(cfg)


def run(cfg: DictConfig) -> Path | float:
    """Run the main job; returns the frontier report path (or the sweep objective)."""
    seeds = list(cfg.run.seeds) or [int(cfg.seed)]
    configs = [seed_config(cfg, s, len(seeds)) for s in seeds]
    from gdo.jobs import resolve_jobs

    jobs = resolve_jobs(int(cfg.run.get("jobs", 1)), int(cfg.run.get("nproc_per_node", 1)))
    # Seed-independent stages run once, in the folder that owns them (run.share_from
    # when set); the seed folders link to their artifacts.
    shared = cfg.copy()
    if cfg.run.get("share_from"):
        with open_dict(shared):
            shared.paths.work_dir = str(Path(cfg.run.share_from).resolve())
    first = [s for s in plan(shared) if s.stage in SHARED_STAGES]
    plans = [[s for s in plan(c) if s.stage not in SHARED_STAGES] for c in configs]
    total = len(first) + sum(len(p) for p in plans)
    timings: list[dict] = []
    with progress(total=total, desc="gdo run", unit="step", position=0) as bar:
        timings += run_steps(shared, first, bar)
        timings += run_seeds(configs, plans, jobs, bar)
    report = report_path(cfg, len(seeds))
    if len(seeds) > 1 and "frontier" in cfg.run.stages:
        from gdo.frontier.seeds import aggregate_seeds

        # The seeds' joint frontier goes to <work_dir>-seeds, next to the seed folders, so
        # it never overwrites a single-seed run of the same experiment.
        joint = cfg.copy()
        with open_dict(joint):
            joint.paths.work_dir = str(report.parent.parent)
        report = Path(aggregate_seeds(joint, configs))
        timings.append({"step": "frontier seeds", "out": str(report)})
    if cfg.run.controls and report.exists():
        start = time.perf_counter()
        found = run_controls(cfg, report, seeds)
        timings.append(
            {
                "step": "controls",
                "seconds": round(time.perf_counter() - start, 2),
                "out": ", ".join(f"{c['name']}: {c['holds']}/{c['checks']}" for c in found),
            }
        )
    summary = work_dir(cfg) / "run_summary.json"
    atomic_write_json(
        summary, {"name": cfg.name, "seeds": seeds, "steps": timings, "config": _plain(cfg)}
    )
    print(f"\ngdo run '{cfg.name}' done: {len(timings)} steps")
    for t in timings:
        print(f"  {t['step']:<24} {t.get('seconds', ''):>8}  {t['out']}")
    if report.exists():
        print(f"\nreport: {report}\nplots:  {report.parent / 'plots'}")
    objective = cfg.run.get("objective")
    value = objective_value(configs[0], objective) if objective else None
    from gdo.sweep import write_pointer

    write_pointer(cfg, work_dir(configs[0]), value)
    return value if objective else report


def objective_value(cfg: DictConfig, objective: str) -> float:
    """A sweep objective read from the frontier table.

    ``final:<benchmark>`` = the goal's final accuracy; ``auc:<benchmark>`` = the
    area under its accuracy-vs-samples curve (normalised by the sample range).
    """
    import numpy as np
    import pandas as pd

    kind, _, bench = objective.partition(":")
    df = pd.read_parquet(work_dir(cfg) / "frontier" / "frontier.parquet")
    goal = cfg.run.get("objective_goal") or cfg.goal.name
    rows = df[(df["benchmark"] == bench) & (df["goal"] == goal)].sort_values("samples")
    if rows.empty:
        raise ConfigError(f"run.objective: no frontier rows for goal '{goal}', benchmark '{bench}'")
    if kind == "final":
        return float(rows["accuracy"].iloc[-1])
    if kind == "auc":
        x, y = rows["samples"].to_numpy(float), rows["accuracy"].to_numpy(float)
        if len(x) < 2 or x[-1] == x[0]:
            return float(y[-1])
        # np.trapezoid is numpy >= 2; np.trapz (the same rule) is all numpy 1.x has.
        trapezoid = getattr(np, "trapezoid", None) or np.trapz
        return float(trapezoid(y, x) / (x[-1] - x[0]))
    raise ConfigError(
        f"run.objective: '{objective}'; expected final:<benchmark> or auc:<benchmark>"
    )


def _plain(cfg: DictConfig) -> dict:
    return json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True), default=str))
