"""The one table of goal kinds (``goal.kind``): how a kind of goal selects its subset.

Selection (budget, fill, the vds3 target, the floors, the explanation of a subset) asks a
goal's :class:`GoalKind` what applies instead of testing its name. gdo's two kinds are
registered below; a new kind is one :func:`register_goal_kind` call (a module named in
``plugins`` for one from outside the package) and a goal file with ``kind: <name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gdo.utils.errors import ConfigError


@dataclass(frozen=True)
class GoalKind:
    """What one kind of goal does (docs/METHOD.md#goals)."""

    name: str
    description: str
    # True: candidates are taken in goal-score order, with the stratum quotas, the vds3
    # positives, the source floors and the score floor. False: in a seeded random order,
    # none of those (a uniform sample); dedup, the per-video cap and the video shares apply
    # to both.
    ranked: bool
    # True: the budget is goal.multiplier x a reference count (goal.reference_count, or the
    # subset size of goal.reference_goal); select.budget does not change it. False: the
    # goal's own budget rule (or select.budget).
    sized_by_reference: bool


GOAL_KINDS: dict[str, GoalKind] = {}


def register_goal_kind(kind: GoalKind) -> GoalKind:
    """Add (or replace) a goal kind; returns it."""
    GOAL_KINDS[kind.name] = kind
    return kind


def goal_kind(name: str) -> GoalKind:
    """The registered kind ``name`` (:class:`ConfigError` naming the known ones otherwise)."""
    try:
        return GOAL_KINDS[str(name)]
    except KeyError:
        raise ConfigError(f"goal.kind={name!r}: expected one of {', '.join(GOAL_KINDS)}") from None


register_goal_kind(
    GoalKind(
        "gdo",
        "a GDO goal: ranked by the goal's score under its constraints",
        ranked=True,
        sized_by_reference=False,
    )
)
register_goal_kind(
    GoalKind(
        "uniform",
        "Uni-Nx: a uniform sample of N x a reference goal's subset size",
        ranked=False,
        sized_by_reference=True,
    )
)
