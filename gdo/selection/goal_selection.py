"""One goal's selection over a scores table (pure: no files): the goal's score, the
stratum key, the budget, the floors and the constrained fill (``gdo.selection.fill``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdo.columns import CLUSTER_HARD, VDS, VDS3
from gdo.selection.budget import Budget, resolve_budget
from gdo.selection.config import GoalConf, SelectConf, check_goal, check_select
from gdo.selection.fill import Candidates, Selection, Spec, select
from gdo.selection.kinds import goal_kind
from gdo.selection.prepare import build_candidates, floors_for, goal_scores, vds3_target


@dataclass
class GoalSelection:
    """A goal's selection over the scores table (rows are positions in it)."""

    selection: Selection
    budget: Budget
    score: np.ndarray  # the goal's candidate score per scores row
    strata: np.ndarray  # stratum code per scores row
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    # What the fill ran on (gdo.selection.explain reads them to say why a row was or was not picked).
    candidates: Candidates | None = None
    spec: Spec | None = None

    @property
    def mask(self) -> np.ndarray:
        """Boolean mask over the scores rows: selected or not."""
        m = np.zeros(len(self.score), dtype=bool)
        m[self.selection.index] = True
        return m


def select_goal(
    scores: pd.DataFrame,
    goal: GoalConf,
    select_conf: SelectConf,
    seed: int,
    dropped: list[str] | None = None,
    reference_count: int | None = None,
    file: str = "scores.parquet",
) -> GoalSelection:
    """Select ``goal``'s subset from a scores table (pure: no files)."""
    check_goal(goal)
    check_select(select_conf)
    dropped = list(dropped or [])
    fields = list(select_conf.stratum_fields)
    score, excluded = goal_scores(scores, goal, dropped, file)
    cands, strata = build_candidates(scores, score, fields, goal, file)
    n_ok = int(np.isfinite(score).sum())
    budget = resolve_budget(
        goal,
        n_ok,
        strata[np.isfinite(score)],
        scores[VDS3].to_numpy()[np.isfinite(score)],
        scores[CLUSTER_HARD].to_numpy() if CLUSTER_HARD in scores.columns else None,
        explicit=select_conf.budget,
        reference_count=reference_count,
        use_vds3=VDS not in dropped,
    )
    floors, notes = floors_for(goal, cands.group_names, budget.value)
    kind = goal_kind(goal.kind)
    if not kind.ranked:  # a random draw has no source floors
        floors[:] = 0
    spec = Spec(
        budget=budget.value,
        kind=goal.kind,
        seed=int(seed),
        max_per_video=int(select_conf.max_per_video),
        dedup_text=bool(select_conf.dedup_text),
        score_floor_quantile=float(goal.score_floor_quantile),
        relax=str(select_conf.relax),
        vds3_positives=vds3_target(goal, budget.value, dropped),
        floors=floors,
    )
    if VDS in dropped and kind.ranked:
        notes["vds3_positives"] = "skipped: the score ablation dropped VDS (no vds3)"
    sel = select(cands, spec, goal)
    return GoalSelection(sel, budget, score, strata, excluded, notes, cands, spec)
