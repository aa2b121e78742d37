"""Constraint targets of one selection, checked against the pool's supply.

A target the eligible pool cannot supply is *infeasible*: with ``select.relax=error``
it raises InfeasibleError naming the constraint and the numbers; with ``warn`` it is
relaxed to what is feasible and recorded (requested, target, reason).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from gdo.selection.config import GoalConf
from gdo.utils.errors import ConfigError, InfeasibleError

log = logging.getLogger(__name__)
# Shares below this are treated as 0 (no constraint): 1/s would overflow the caps' counts.
MIN_SHARE = 1e-9


@dataclass
class Constraint:
    """One constraint: what was asked, what the selection aimed for, what it got."""

    name: str
    kind: str  # min | max | equal
    requested: float
    target: float
    supply: float | None = None
    achieved: float | None = None
    status: str = "pending"  # met | relaxed | unmet
    reason: str = ""

    def as_dict(self) -> dict:
        """JSON-able form for the manifest."""
        return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in asdict(self).items()}


@dataclass
class Supply:
    """What the eligible pool (after dedup and the per-video cap) holds."""

    n: int
    video: int
    temporal_video: int
    vds3_positive: int
    vds3_positive_video: int
    groups: np.ndarray  # eligible count per source-group code


@dataclass
class Plan:
    """Count targets of every constraint of one goal on one pool."""

    budget: int
    video_min: int = 0
    video_max: int | None = None
    temporal_share: float = 0.0
    temporal_min: int = 0
    vds3_min: int = 0
    floors: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    constraints: list[Constraint] = field(default_factory=list)

    def get(self, name: str) -> Constraint | None:
        """The constraint named ``name`` (None when the goal does not have it)."""
        return next((c for c in self.constraints if c.name == name), None)


class _Relaxer:
    def __init__(self, goal_name: str, policy: str) -> None:
        if policy not in ("error", "warn", "quiet"):
            raise ConfigError(f"select.relax: expected 'error' or 'warn', got {policy!r}")
        self.goal, self.policy = goal_name, policy

    def __call__(self, c: Constraint, feasible: float, why: str) -> float:
        msg = f"goal {self.goal}: constraint {c.name} {why}"
        if self.policy == "error":
            raise InfeasibleError(msg + " (set select.relax=warn to relax it to what is feasible)")
        if self.policy == "warn":
            log.warning("%s; relaxed to %s", msg, feasible)
        c.target, c.reason = feasible, why
        return feasible


def _check_share(name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"goal.{name}: expected a share in [0, 1], got {value}")


def videos_allowed(plan: Plan, supply: Supply) -> int:
    """The most videos the caps allow: supply, video maximum and temporal share."""
    allowed = supply.video
    if plan.video_max is not None:
        allowed = min(allowed, plan.video_max)
    s = plan.temporal_share
    if s > MIN_SHARE:
        t = supply.temporal_video
        allowed = min(allowed, t + int(math.floor(t * (1.0 - s) / s + 1e-9)))
    return allowed


def make_plan(
    goal: GoalConf,
    budget: int,
    supply: Supply,
    floors_requested: np.ndarray,
    vds3_requested: int,
    relax: str,
) -> Plan:
    """Turn the goal's shares into count targets, relaxing what the supply cannot meet.

    A first, quiet pass finds the largest budget the caps allow (the video maximum and
    the temporal share limit how many videos can be taken); the second pass plans for
    that budget and records every relaxation.
    """
    for name in ("video_share_min", "video_share_max", "min_temporal_share_of_video"):
        _check_share(name, getattr(goal, name))
    vmin_share, vmax_share = goal.video_share_min, goal.video_share_max
    if vmin_share is not None and vmax_share is not None and vmin_share > vmax_share:
        raise ConfigError(
            f"goal {goal.name}: video_share_min={vmin_share} > video_share_max={vmax_share}"
        )
    relaxer = _Relaxer(goal.name, relax)
    requested, target, why = budget, budget, ""
    if budget > supply.n:
        target, why = supply.n, f"asks for {budget} candidates, the eligible pool has {supply.n}"
    for _ in range(4):
        trial = _plan(
            goal, target, supply, floors_requested, vds3_requested, _Relaxer(goal.name, "quiet")
        )
        most = supply.n - supply.video + videos_allowed(trial, supply)
        if most >= target:
            break
        why = (
            f"asks for {requested} candidates; the eligible pool has {supply.n}, but the video "
            f"caps (maximum share, temporal share) leave at most {most}"
        )
        target = most
    b = Constraint("budget", "equal", requested, requested, supply.n)
    if target != requested:
        relaxer(b, target, why)
    plan = _plan(goal, target, supply, floors_requested, vds3_requested, relaxer)
    plan.constraints.insert(0, b)
    return plan


def _plan(goal: GoalConf, budget, supply, floors_requested, vds3_requested, relaxer) -> Plan:
    vmin_share, vmax_share = goal.video_share_min, goal.video_share_max
    cons: list[Constraint] = []
    plan = Plan(budget=budget, constraints=cons)
    n_image = supply.n - supply.video

    if vmin_share is not None:
        need = int(math.ceil(float(vmin_share) * budget - 1e-9))
        c = Constraint("video_share_min", "min", need, need, supply.video)
        cons.append(c)
        if need > supply.video:
            why = (
                f"needs {need} videos ({vmin_share} x {budget}), "
                f"the eligible pool has {supply.video}"
            )
            need = int(relaxer(c, supply.video, why))
        plan.video_min = need
    if vmax_share is not None:
        cap = int(math.floor(float(vmax_share) * budget + 1e-9))
        c = Constraint("video_share_max", "max", cap, cap, n_image)
        cons.append(c)
        if budget - cap > n_image:
            why = (
                f"allows {cap} videos ({vmax_share} x {budget}) but only {n_image} non-video "
                f"candidates fill the rest of {budget}"
            )
            cap = int(relaxer(c, budget - n_image, why))
        if cap < plan.video_min:
            why = f"allows {cap} videos, below the video minimum {plan.video_min} (rounding)"
            cap = int(relaxer(c, plan.video_min, why))
        plan.video_max = cap

    s = float(goal.min_temporal_share_of_video or 0.0)
    if s > MIN_SHARE and (vmin_share is not None or vmax_share is not None):
        c = Constraint("min_temporal_share_of_video", "min", s, s, supply.temporal_video)
        cons.append(c)
        # The subset holds at least this many videos; temporal ones must be share s of them.
        v_floor = max(plan.video_min, budget - n_image, 0)
        if supply.temporal_video < s * v_floor - 1e-9:
            feasible = supply.temporal_video / v_floor if v_floor else 0.0
            why = (
                f"needs {math.ceil(s * v_floor)} temporal videos ({s} x {v_floor} videos), "
                f"the eligible pool has {supply.temporal_video}"
            )
            s = relaxer(c, round(feasible - 5e-7, 6), why)
        plan.temporal_share = s
        plan.temporal_min = int(math.ceil(s * plan.video_min - 1e-9))

    if vds3_requested > 0:
        c = Constraint(
            "vds3_positives", "min", vds3_requested, vds3_requested, supply.vds3_positive
        )
        cons.append(c)
        p_video = supply.vds3_positive_video
        most = min(
            supply.vds3_positive - p_video + min(p_video, videos_allowed(plan, supply)), budget
        )
        need = vds3_requested
        if need > most:
            why = (
                f"needs {need} candidates with vds3 > 0; the eligible pool has "
                f"{supply.vds3_positive} ({p_video} videos) and the budget and video caps "
                f"allow {most}"
            )
            need = int(relaxer(c, most, why))
        plan.vds3_min = need

    floors = np.asarray(floors_requested, dtype=np.int64).copy()
    if floors.any():
        total = int(floors.sum())
        c = Constraint("source_floors", "min", total, total, int(supply.groups.sum()))
        cons.append(c)
        short = floors > supply.groups
        if short.any():
            fixed = np.minimum(floors, supply.groups)
            why = (
                f"asks floors above the supply of {int(short.sum())} source group(s) "
                f"({total} in all)"
            )
            relaxer(c, int(fixed.sum()), why)
            floors = fixed
        if floors.sum() > budget:
            scaled = np.floor(floors * (budget / floors.sum())).astype(np.int64)
            relaxer(
                c,
                int(scaled.sum()),
                f"floors sum to {int(floors.sum())}, above the budget {budget}",
            )
            floors = scaled
    plan.floors = floors
    return plan
