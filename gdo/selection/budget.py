"""The subset budget: recommended from the pool, then clipped (docs/METHOD.md#selection).

recommended = max(exp(H(strata)) * tail_per_stratum * (1 + coverage_weight * mean(cluster_hard)),
                  vds3_positives / share(vds3 > 0))
budget = min(clip(recommended, min_count, max_count), floor(max_ratio * pool size))

The max_ratio clip is applied last, so it wins: the paper's counts are for pools of
millions; a 20k pool gets a few hundred samples. ``select.budget`` overrides it all
(a count, or a share of the pool when < 1) for GDO goals; a uniform goal always takes N x
a reference count (its reference goal's subset size, or ``goal.reference_count``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdo.selection.config import GoalConf
from gdo.selection.kinds import goal_kind
from gdo.utils.errors import ConfigError


@dataclass
class Budget:
    """The chosen budget, which bound decided it, and the numbers behind it."""

    value: int
    bound: str  # recommended | min_count | max_count | max_ratio | explicit | uniform
    rationale: dict[str, Any] = field(default_factory=dict)


def stratum_entropy(strata: np.ndarray) -> float:
    """Shannon entropy (nats) of the stratum distribution."""
    counts = np.bincount(np.asarray(strata, dtype=np.int64))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum()) if len(p) else 0.0


def recommend(
    strata: np.ndarray,
    vds3: np.ndarray,
    cluster_hard: np.ndarray | None,
    goal: GoalConf,
    use_vds3: bool = True,
) -> dict[str, Any]:
    """The pool-driven recommendation and its terms (before any clip)."""
    h = stratum_entropy(strata)
    eff = math.exp(h)
    hard = np.asarray(cluster_hard, dtype=np.float64) if cluster_hard is not None else None
    coverage_mass = float(np.nanmean(hard)) if hard is not None and len(hard) else 0.0
    rule = goal.budget_rule
    rec_cov = (
        eff * float(rule.tail_per_stratum) * (1.0 + float(rule.coverage_weight) * coverage_mass)
    )
    p_pos = float((np.asarray(vds3) > 0).mean()) if len(vds3) else 0.0
    rec_vds3 = float(goal.vds3_positives) / p_pos if use_vds3 and p_pos > 0 else 0.0
    return {
        "stratum_entropy": round(h, 4),
        "effective_strata": round(eff, 2),
        "tail_per_stratum": int(rule.tail_per_stratum),
        "coverage_mass": round(coverage_mass, 4),
        "share_vds3_positive": round(p_pos, 4),
        "from_coverage": round(rec_cov, 1),
        "from_vds3": round(rec_vds3, 1),
        "recommended": int(math.ceil(max(rec_cov, rec_vds3))),
    }


def explicit_budget(value: float, n_pool: int) -> int:
    """``select.budget``: a count (>= 1) or a share of the pool (0 < value < 1)."""
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ConfigError(f"select.budget: expected a count >= 1 or a share in (0, 1), got {value}")
    if v >= 1:
        return int(round(v))
    count = int(round(v * n_pool))
    if count < 1:
        raise ConfigError(
            f"select.budget={value}: a share of the {n_pool} eligible candidates that rounds "
            f"to {count}; give a larger share or a count >= 1"
        )
    return count


def resolve_budget(
    goal: GoalConf,
    n_pool: int,
    strata: np.ndarray,
    vds3: np.ndarray,
    cluster_hard: np.ndarray | None = None,
    explicit: float | None = None,
    reference_count: int | None = None,
    use_vds3: bool = True,
) -> Budget:
    """Pick the budget for ``goal`` on a pool of ``n_pool`` eligible candidates.

    ``explicit`` (``select.budget``) sets a GDO goal's budget; a uniform goal is always
    ``multiplier`` x its reference count, so ``select.budget=2000`` gives Temp+ 2,000 and
    Uni-10x 20,000 (size a uniform goal directly with ``goal.reference_count``). A count
    above the eligible pool is relaxed to the pool when the subset is built (the demo's
    Uni-10x: 30,000 asked, the 28,847 eligible candidates taken).
    """
    by_reference = goal_kind(goal.kind).sized_by_reference
    if explicit is not None and not by_reference:
        value = explicit_budget(explicit, n_pool)
        return Budget(value, "explicit", {"select.budget": explicit, "budget": value})
    if by_reference:
        if reference_count is None:
            raise ConfigError(
                f"goal.kind={goal.kind} needs goal.reference_count or goal.reference_goal"
            )
        value = int(round(float(goal.multiplier) * int(reference_count)))
        return Budget(
            value,
            str(goal.kind),
            {"reference_count": int(reference_count), "multiplier": float(goal.multiplier)},
        )
    lo, hi = int(goal.min_count), int(goal.max_count)
    if lo > hi:
        raise ConfigError(f"goal.min_count={lo} > goal.max_count={hi} (goal {goal.name})")
    rationale = recommend(strata, vds3, cluster_hard, goal, use_vds3)
    rec = rationale["recommended"]
    value, bound = rec, "recommended"
    if value < lo:
        value, bound = lo, "min_count"
    elif value > hi:
        value, bound = hi, "max_count"
    ratio_cap = int(math.floor(float(goal.max_ratio) * n_pool))
    rationale.update(
        {
            "min_count": lo,
            "max_count": hi,
            "max_ratio": float(goal.max_ratio),
            "max_ratio_cap": ratio_cap,
            "pool": int(n_pool),
        }
    )
    if value > ratio_cap:
        value, bound = ratio_cap, "max_ratio"
    if value < 1 and bound == "max_ratio":
        raise ConfigError(
            f"goal.max_ratio={goal.max_ratio} of the {n_pool} eligible candidates allows "
            f"{ratio_cap} (goal {goal.name}); raise goal.max_ratio or set select.budget"
        )
    if value < 1:
        raise ConfigError(
            f"goal {goal.name}: a budget of {value} (recommended {rec}, goal.min_count={lo}, "
            f"{n_pool} eligible candidates); raise goal.min_count or set select.budget"
        )
    rationale["budget"] = value
    rationale["bound"] = bound
    return Budget(value, bound, rationale)
