"""Schemas of ``conf/goal/*.yaml`` and ``conf/select/*.yaml``. Owned by gdo.selection.

A goal is pure config: budget bounds, constraints and a score mix. A new goal is a
new YAML file; a typo in it fails by key name (``Key 'wieght' not in 'GoalConf'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gdo.scoring.config import STRATUM_FIELDS, MixConf

GOAL_KINDS = ("gdo", "uniform")
RELAX_POLICIES = ("error", "warn")


@dataclass
class OversampleConf:
    """Stratum quota multipliers: a stratum's quota is pool share x these factors."""

    image: float = 1.0
    short_video: float = 1.0
    long_video: float = 1.0
    temporal: float = 1.0  # extra factor for temporal-video strata


@dataclass
class BudgetRuleConf:
    """How the budget is recommended from the pool (before the count/ratio clips)."""

    # Candidates wanted per effective stratum (exp of the stratum entropy): covers the tail.
    tail_per_stratum: int = 25
    # Scale by (1 + coverage_weight * mean(cluster_hard)): atypical pools need more samples.
    coverage_weight: float = 1.0


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
    # (relevance computed at selection time, gdo.selection.goal_file).
    benchmark: str | None = None
    # Several question files with weights (a weighted mixture target); overrides benchmark.
    files: list[TargetFileConf] = field(default_factory=list)


@dataclass
class GoalConf:
    name: str = "temp_plus"
    kind: str = "gdo"  # gdo | uniform (Uni-Nx)
    # Budget: recommended from the pool, clipped to [min_count, max_count], then to
    # max_ratio x pool size (that clip wins, so small pools get small subsets).
    min_count: int = 16000
    max_count: int = 110000
    max_ratio: float = 0.018
    budget_rule: BudgetRuleConf = field(default_factory=BudgetRuleConf)
    # Share of video (short + long) in the subset; null = unconstrained.
    video_share_min: float | None = 0.50
    video_share_max: float | None = 0.64
    min_temporal_share_of_video: float = 0.38
    # vds3 > 0 positives: the paper's target at its reported 1x size; scaled to our budget.
    vds3_positives: int = 9000
    paper_size: int = 53300
    oversample: OversampleConf = field(default_factory=OversampleConf)
    # Source-group floors: group -> count (>= 1) or share of the budget (< 1).
    source_floors: dict[str, float] = field(default_factory=dict)
    default_source_floor: float = 0.0  # floor for every group not listed (count or share)
    # Candidates below this score quantile are left to the random fallback.
    score_floor_quantile: float = 0.0
    mix: MixConf = field(default_factory=MixConf)
    target: TargetConf = field(default_factory=TargetConf)
    # Uni-Nx: N x a reference count (goal.reference_count, or the size of the subset of
    # goal.reference_goal read from subsets/<reference_goal>/manifest.json).
    multiplier: float = 10.0
    reference_count: int | None = None
    reference_goal: str | None = None


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
