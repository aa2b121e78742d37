"""The root config schema, registered in Hydra's ConfigStore as ``base_config``.

Each stage owns the dataclass of its own config group (``gdo/<stage>/config.py``);
this module only assembles them. Because the root is a structured config, a
typo in any group file or override fails with the key's name, e.g.
``Key 'wieght' not in 'GoalConf'``, and a wrong type fails with the value.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from gdo.descriptors.config import DescriptorsConf
from gdo.evaluation.config import EvalConf
from gdo.logging.config import LoggerConf
from gdo.media.config import MediaConf, check_media
from gdo.models.config import ModelConf
from gdo.pool.config import PoolConf, check_pool
from gdo.scoring.config import ScoreConf
from gdo.selection.config import GoalConf, SelectConf, check_goal, check_select
from gdo.training.config import TrainingConf
from gdo.utils.checks import check_all_set
from gdo.utils.errors import ConfigError
from gdo.world.config import WorldConf


@dataclass
class PathsConf:
    """Where artifacts live. Relative paths resolve against the working directory."""

    root_dir: str = "."
    output_dir: str = "${paths.root_dir}/outputs"
    # One folder per experiment name: every stage writes a subfolder here.
    work_dir: str = "${paths.output_dir}/${name}"
    # The generated world is shared by every experiment that uses the same preset.
    world_dir: str = "${paths.output_dir}/world/${world.name}"
    # Real benchmark downloads (MVBench, Video-MME, MLVU, LVBench) for conf/eval/paper.yaml.
    bench_dir: str = "${paths.root_dir}/benchmarks"


@dataclass
class RunConf:
    """What ``gdo run`` chains (the main job)."""

    # Goals to select and train; `uniform` is the Uni-Nx baseline.
    goals: list[str] = field(
        default_factory=lambda: ["uniform", "minloss", "diverse", "temp", "temp_plus"]
    )
    # Stages to run, in order; a stage whose manifest matches is skipped.
    stages: list[str] = field(
        default_factory=lambda: [
            "world",
            "pool",
            "pretrain",
            "describe",
            "score",
            "select",
            "train",
            "evaluate",
            "frontier",
        ]
    )
    seeds: list[int] = field(default_factory=lambda: [0])
    force: list[str] = field(default_factory=list)  # stages to rerun even when fresh
    # Link pool / base model / descriptors from this experiment folder instead of
    # recomputing them (sweeps and extra seeds reuse one descriptor pass).
    share_from: str | None = None
    # Goals whose subsets / checkpoints / evaluations are linked from share_from rather
    # than recomputed (e.g. [uniform]: ablations and sweep points reuse one baseline).
    share_baseline: list[str] = field(default_factory=list)
    # Link every goal's subset and checkpoints (not its evaluations) from share_from, to
    # evaluate another experiment's models differently (e.g. on time-reversed clips).
    share_checkpoints: bool = False
    # Control experiments run after this one, each with the same seeds, whose findings
    # join this run's report (e.g. [demo_control_no_waste, demo_control_shuffled]).
    controls: list[str] = field(default_factory=list)
    # What this experiment controls for, when it is a control (gdo.frontier.controls.KINDS:
    # no_waste | shuffled | time_reversed), and the goal whose effect it checks.
    control: str | None = None
    control_goal: str = "temp_plus"
    # Sweep objective returned to the sweeper: final:<benchmark> or auc:<benchmark>.
    objective: str | None = None
    # Processes per node for the describe and train steps: > 1 launches each of them with
    # `torchrun --nproc_per_node N -m gdo <stage> ...` (the other stages run in-process).
    nproc_per_node: int = 1
    # Steps run at once after the shared stages, in worker processes (gdo.jobs): each goal's
    # training, and each seed's steps, as soon as what they read is done. 1 = one after the
    # other in this process; 0 = one per CPU core. The artifacts do not depend on it (each
    # step runs on one torch thread either way); under run.nproc_per_node > 1 it is 1.
    jobs: int = 1
    objective_goal: str | None = None  # goal whose curve the objective reads (default: goal)


@dataclass
class GdoConfig:
    name: str = "default"
    command: str = "run"
    seed: int = 0
    paths: PathsConf = field(default_factory=PathsConf)
    world: WorldConf = field(default_factory=WorldConf)
    pool: PoolConf = field(default_factory=PoolConf)
    model: ModelConf = field(default_factory=ModelConf)
    descriptors: DescriptorsConf = field(default_factory=DescriptorsConf)
    score: ScoreConf = field(default_factory=ScoreConf)
    goal: GoalConf = field(default_factory=GoalConf)
    select: SelectConf = field(default_factory=SelectConf)
    training: TrainingConf = field(default_factory=TrainingConf)
    eval: EvalConf = field(default_factory=EvalConf)
    logger: LoggerConf = field(default_factory=LoggerConf)
    media: MediaConf = field(default_factory=MediaConf)
    run: RunConf = field(default_factory=RunConf)
    # Free-form notes an experiment may carry into manifests and reports.
    notes: dict[str, Any] = field(default_factory=dict)
    # Modules imported before the stage runs (gdo.utils.plugins): their registrations add
    # descriptors, benchmark kinds, ... from outside the package.
    plugins: list[str] = field(default_factory=list)


def unknown_keys(node: Any, path: str = "") -> list[str]:
    """Dotted names of keys no schema declares (``goal.wieght`` from ``+goal.wieght=1``).

    Hydra's ``+key=value`` adds a key even to a structured node, so a typo written that
    way passes composition; this walks the composed config against the dataclasses.
    Free-form dict fields (``notes``, ``goal.source_floors``) take any key.
    """
    import dataclasses

    from omegaconf import DictConfig, ListConfig, OmegaConf

    out: list[str] = []
    if isinstance(node, DictConfig):
        kind = OmegaConf.get_type(node)
        declared = (
            {f.name for f in dataclasses.fields(kind)} if dataclasses.is_dataclass(kind) else None
        )
        for key, _ in node.items_ex(resolve=False):
            name = f"{path}{key}"
            if declared is not None and key not in declared:
                close = difflib.get_close_matches(str(key), sorted(declared), n=1)
                out.append(name + (f" (did you mean '{close[0]}'?)" if close else ""))
            else:
                out += unknown_keys(node._get_node(key), name + ".")
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            out += unknown_keys(node._get_node(i), f"{path.rstrip('.')}[{i}].")
    return out


# Keys that moved: old dotted name -> new one. A config that still sets the old name (an
# override file written before the rename) is refused with the new name, not run without it.
RENAMED: dict[str, str] = {
    "descriptors.items": "descriptors.specs",
    "notes.custom_set": "world.custom_set",
    "training.pretrain.lr": "training.pretrain.recipe.lr",
    "training.pretrain.warmup_ratio": "training.pretrain.recipe.warmup_ratio",
    "training.pretrain.per_device_batch_size": "training.pretrain.recipe.per_device_batch_size",
}


def renamed_keys(cfg: Any) -> list[str]:
    """``old -> new`` for each renamed key that ``cfg`` still sets (to a non-empty value)."""
    from omegaconf import OmegaConf

    out = []
    for old, new in RENAMED.items():
        value = OmegaConf.select(cfg, old, default=None)
        if value is None or (hasattr(value, "__len__") and not len(value)):
            continue  # not set, or the empty placeholder the schema keeps for the old name
        out.append(f"'{old}' is now '{new}' (write {new}.<x> where it says {old}.<x>)")
    return out


def renamed_overrides(args: list[str]) -> list[str]:
    """``old -> new`` for each command-line override that names a renamed key.

    Hydra refuses ``descriptors.items.motion.size=32`` itself (the placeholder has no
    ``motion``) with a message that does not say the key moved, so ``gdo`` checks the
    overrides before composing.
    """
    out = []
    for arg in args:
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        key = arg.lstrip("+~").split("=", 1)[0]
        for old, new in RENAMED.items():
            if key == old or key.startswith(old + "."):
                out.append(f"'{arg}': '{old}' is now '{new}' ({new}{key[len(old) :]})")
    return out


def check_config(cfg: Any) -> None:
    """Refuse a composed config with keys no schema declares or values out of range.

    Run by every ``gdo <command>`` before its stage, so that ``gdo run`` does not spend
    hours before ``select`` finds a negative budget.
    """
    renamed = renamed_keys(cfg)
    if renamed:
        raise ConfigError(f"renamed config key(s): {'; '.join(renamed)}")
    unknown = unknown_keys(cfg)
    if unknown:
        raise ConfigError(
            f"unknown config key(s): {', '.join(unknown)} (a typo? no stage reads it; "
            "`+key=value` adds keys the schema does not declare)"
        )
    check_media(cfg.media)
    check_pool(cfg.pool)
    check_all_set(
        cfg.score.mix, "score.mix", f"score '{cfg.score.name}'", "its conf/score/<name>.yaml"
    )
    check_goal(cfg.goal)
    check_all_set(
        cfg.training.pretrain,
        "training.pretrain",
        "the pretrain recipe",
        "conf/training/pretrain/<name>.yaml",
    )
    check_select(cfg.select)


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=GdoConfig)


register_configs()
