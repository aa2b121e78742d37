"""Schemas of ``conf/goal/*.yaml`` and ``conf/select/*.yaml``. Owned by gdo.selection.

A goal is pure config: budget bounds, constraints and a score mix. A new goal is a
new YAML file; a typo in it fails by key name (``Key 'wieght' not in 'GoalConf'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING, OmegaConf

from gdo.scoring.config import STRATUM_FIELDS, MixConf
from gdo.selection.kinds import goal_kind
from gdo.utils.checks import check_all_set, check_choice, check_range
from gdo.utils.errors import ConfigError

RELAX_POLICIES = ("error", "warn")


@dataclass
class OversampleConf:
    """Stratum quota multipliers: a stratum's quota is pool share x these factors."""

    image: float = MISSING
    short_video: float = MISSING
    long_video: float = MISSING
    text: float = MISSING  # text-only candidates (no media)
    temporal: float = MISSING  # extra factor for temporal-video strata


@dataclass
class BudgetRuleConf:
    """How the budget is recommended from the pool (before the count/ratio clips)."""

    # Candidates wanted per effective stratum (exp of the stratum entropy): covers the tail.
    tail_per_stratum: int = MISSING
    # Scale by (1 + coverage_weight * mean(cluster_hard)): atypical pools need more samples.
    coverage_weight: float = MISSING


@dataclass
class TargetFileConf:
    """One question file of a goal from files (gdo.selection.goal_file)."""

    path: str = ""
    weight: float = 1.0
    kind: str | None = None  # custom (default) | questions (.txt) | any read_benchmark kind


@dataclass
class TargetConf:
    """Goal relevance toward a named benchmark (uses ``goal_rel_<benchmark>``)."""

    # A benchmark name (goal_rel_<name> from `gdo describe`) or a question file path
    # (relevance computed at selection time, gdo.selection.goal_file); null: none.
    benchmark: str | None = MISSING
    # Several question files with weights (a weighted mixture target); overrides benchmark.
    files: list[TargetFileConf] = MISSING


@dataclass
class GoalConf:
    """A goal (``conf/goal/<name>.yaml``). Every key is required (``???``): a goal file
    states all of its values, so one that omits a key fails with the key's name
    (:func:`check_goal`) instead of silently taking another goal's number."""

    name: str = MISSING
    kind: str = MISSING  # gdo | uniform (Uni-Nx)
    # Budget: recommended from the pool, clipped to [min_count, max_count], then to
    # max_ratio x pool size (that clip wins, so small pools get small subsets).
    min_count: int = MISSING
    max_count: int = MISSING
    max_ratio: float = MISSING
    budget_rule: BudgetRuleConf = field(default_factory=BudgetRuleConf)
    # Share of video (short + long) in the subset; null = unconstrained.
    video_share_min: float | None = MISSING
    video_share_max: float | None = MISSING
    min_temporal_share_of_video: float = MISSING
    # vds3 > 0 positives: the paper's target at its reported 1x size; scaled to our budget.
    vds3_positives: int = MISSING
    paper_size: int = MISSING
    oversample: OversampleConf = field(default_factory=OversampleConf)
    # Source-group floors: group -> count (>= 1) or share of the budget (< 1).
    source_floors: dict[str, float] = MISSING
    default_source_floor: float = MISSING  # floor for every group not listed (count or share)
    # Candidates below this score quantile are left to the random fallback.
    score_floor_quantile: float = MISSING
    mix: MixConf = field(default_factory=MixConf)
    target: TargetConf = field(default_factory=TargetConf)
    # Uni-Nx: N x a reference count (goal.reference_count, or the size of the subset of
    # goal.reference_goal read from subsets/<reference_goal>/manifest.json).
    multiplier: float = MISSING
    reference_count: int | None = MISSING
    reference_goal: str | None = MISSING


@dataclass
class SelectConf:
    # Explicit budget: a count (>= 1, e.g. 12000) or a share of the eligible pool (< 1).
    budget: float | None = None
    relax: str = "warn"  # infeasible constraints: error | warn (relax to what is feasible)
    stratum_fields: list[str] = field(default_factory=lambda: list(STRATUM_FIELDS))
    max_per_video: int = 8  # at most this many QA turns per video
    dedup_text: bool = True  # one candidate per normalized (media, question, answer)
    write_llava: bool = True  # train.json (LLaVA-Video records)
    write_messages: bool = True  # train.jsonl (ms-swift messages rows)
    plot: bool = True  # composition.png


def check_goal(goal: Any) -> None:
    """Refuse a goal with unset keys or values outside their range (:class:`ConfigError`
    naming the keys, or the key and value).

    Counts are >= 0 (``max_count`` and ``paper_size`` >= 1), ratios and shares within
    [0, 1] (``max_ratio`` above 0), factors and floors >= 0, ``multiplier`` above 0.
    """
    name = OmegaConf.select(goal, "name") if OmegaConf.is_config(goal) else None
    check_all_set(
        goal,
        "goal",
        f"goal '{name}'" if name else "the goal",
        "the goal's file, conf/goal/<name>.yaml, as every preset does",
    )
    goal_kind(goal.kind)  # a registered kind (gdo.selection.kinds)
    check_range("goal.min_count", goal.min_count, 0)
    check_range("goal.max_count", goal.max_count, 1)
    if int(goal.min_count) > int(goal.max_count):
        raise ConfigError(
            f"goal.min_count={goal.min_count} > goal.max_count={goal.max_count} (goal {goal.name})"
        )
    check_range("goal.max_ratio", goal.max_ratio, 0, 1, lo_open=True, hint="a share of the pool")
    check_range("goal.budget_rule.tail_per_stratum", goal.budget_rule.tail_per_stratum, 0)
    check_range("goal.budget_rule.coverage_weight", goal.budget_rule.coverage_weight, 0)
    for name in ("video_share_min", "video_share_max"):
        check_range(f"goal.{name}", getattr(goal, name), 0, 1, optional=True)
    vmin, vmax = goal.video_share_min, goal.video_share_max
    if vmin is not None and vmax is not None and vmin > vmax:
        raise ConfigError(f"goal {goal.name}: video_share_min={vmin} > video_share_max={vmax}")
    check_range("goal.min_temporal_share_of_video", goal.min_temporal_share_of_video, 0, 1)
    check_range("goal.vds3_positives", goal.vds3_positives, 0)
    check_range("goal.paper_size", goal.paper_size, 1)
    for name in ("image", "short_video", "long_video", "text", "temporal"):
        check_range(f"goal.oversample.{name}", getattr(goal.oversample, name), 0)
    for name, value in dict(goal.source_floors).items():
        check_range(f"goal.source_floors.{name}", value, 0)
    check_range("goal.default_source_floor", goal.default_source_floor, 0)
    check_range("goal.score_floor_quantile", goal.score_floor_quantile, 0, 1, hi_open=True)
    check_range("goal.multiplier", goal.multiplier, 0, lo_open=True)
    check_range("goal.reference_count", goal.reference_count, 1, optional=True)


def check_select(select: Any) -> None:
    """Refuse ``select.*`` values outside their range (:class:`ConfigError`)."""
    check_range(
        "select.budget",
        select.budget,
        0,
        lo_open=True,
        optional=True,
        hint="a count >= 1 or a share of the pool below 1",
    )
    budget = select.budget
    if budget is not None and float(budget) >= 1 and not float(budget).is_integer():
        raise ConfigError(f"select.budget={budget}: a count >= 1 must be a whole number")
    check_choice("select.relax", select.relax, RELAX_POLICIES)
    check_range("select.max_per_video", select.max_per_video, 0, hint="0: no cap")
