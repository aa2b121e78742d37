"""Why each candidate was or was not picked by a goal's selection (for ``gdo inspect``).

Replays the fill's eligibility rules on a :class:`GoalSelection` and names, per scores
row, the step that took it or the first rule that kept it out: no goal score, the same
normalized text as a higher-ranked row (``select.dedup_text``), the per-video cap, or
its rank in its stratum against the stratum's quota (a uniform goal: its position in
the seeded draw).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdo.selection.fill import STEPS, eligible_order, group_rank, largest_remainder
from gdo.selection.kinds import goal_kind

# Columns of :func:`explain`'s table, one row per scores row (in scores order).
COLUMNS = ("picked", "step", "stratum", "stratum_rank", "stratum_size", "stratum_quota", "why")


def explain(gs, labels: dict[int, str]) -> pd.DataFrame:
    """One row per scores row: picked, step, stratum label, rank / size / quota, why."""
    c, spec = gs.candidates, gs.spec
    n = len(c)
    dropped: dict[str, np.ndarray] = {}
    order, _ = eligible_order(c, spec, np.random.default_rng(spec.seed), dropped)
    strata = np.asarray(c.stratum)
    rank = np.full(n, -1, dtype=np.int64)
    rank[order] = group_rank(strata[order])
    n_strata = int(strata.max()) + 1 if n else 0
    size = np.bincount(strata[order], minlength=n_strata)
    weight = np.bincount(strata[order], weights=c.quota_weight[order], minlength=n_strata)
    quota = largest_remainder(gs.budget.value, weight)
    picked = gs.mask
    step = np.full(n, "", dtype=object)
    step[gs.selection.index] = np.asarray(STEPS, dtype=object)[gs.selection.step]
    position = np.full(n, -1, dtype=np.int64)
    position[order] = np.arange(len(order))

    why = np.empty(n, dtype=object)
    ranked = goal_kind(spec.kind).ranked
    for i in range(n):
        s = int(strata[i])
        where = f"rank {rank[i] + 1} of {size[s]} in its stratum (quota {quota[s]})"
        if picked[i]:
            why[i] = f"picked by {step[i]}; {where}"
        elif not np.isfinite(gs.score[i]):
            why[i] = "no goal score (not finite): never eligible"
        elif not ranked and rank[i] >= 0:
            why[i] = f"not drawn: {position[i] + 1} in the seeded order, budget {gs.budget.value}"
        elif rank[i] >= 0:
            why[i] = f"not reached: {where}, budget {gs.budget.value} filled"
        else:
            why[i] = ""
    for rule, text in (
        ("duplicate_text", "same normalized media + question + answer as a higher-ranked row"),
        ("over_video_cap", f"per-video cap: {spec.max_per_video} higher-ranked turns of its clip"),
    ):
        why[dropped.get(rule, np.zeros(0, dtype=np.int64))] = text
    return pd.DataFrame(
        {
            "picked": picked,
            "step": step,
            "stratum": [labels.get(int(s), str(s)) for s in strata],
            "stratum_rank": rank + 1,
            "stratum_size": size[strata] if n else size,
            "stratum_quota": quota[strata] if n else quota,
            "why": why,
        }
    )
