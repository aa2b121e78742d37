"""Constrained, stratified subset construction over arrays (no per-row Python loop).

Filling order (docs/METHOD.md#selection): temporal-video minimum -> video minimum -> vds3
positives -> source-group floors -> stratum quotas by score -> global fill by score -> seeded
random fallback. (The vds3 positives step is ours: the paper only uses the
target to size the budget; we also guarantee it.) Every step walks the candidates
in priority order (score, or a seeded permutation for a uniform goal) and takes
what it needs, subject to two caps that hold at every step: the video maximum and
the minimum temporal share of video. Dedup (normalized text) and the per-video cap
are applied first, keeping the highest-priority candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdo.selection.config import GoalConf
from gdo.selection.kinds import goal_kind
from gdo.selection.plan import Plan, Supply, make_plan

STEPS = (
    "temporal_video_min",
    "video_min",
    "vds3_positives",
    "source_floors",
    "stratum_quotas",
    "global_fill",
    "random_fallback",
)


@dataclass
class Candidates:
    """The arrays selection needs, aligned by row (compact dtypes for 10M rows)."""

    score: np.ndarray  # float; NaN = not selectable
    is_video: np.ndarray  # bool
    temporal_video: np.ndarray  # bool
    vds3_positive: np.ndarray  # bool
    stratum: np.ndarray  # int codes 0..S-1
    source_group: np.ndarray  # int codes 0..G-1
    video: np.ndarray  # int code of the clip, -1 = no video
    quota_weight: np.ndarray  # oversample factor of the row's stratum
    text_key: np.ndarray | None = None  # uint64 dedup key
    group_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.score)


@dataclass
class Spec:
    """What one selection asks for (numbers only; built from the goal config)."""

    budget: int
    kind: str = "gdo"  # a registered goal kind (gdo.selection.kinds)
    seed: int = 0
    max_per_video: int = 8
    dedup_text: bool = True
    score_floor_quantile: float = 0.0
    relax: str = "warn"
    vds3_positives: int = 0
    floors: np.ndarray | None = None  # per source-group code


@dataclass
class Selection:
    """Selected rows (ascending), the step that took each one, the plan and counts."""

    index: np.ndarray
    step: np.ndarray  # index into STEPS, aligned with ``index``
    plan: Plan
    counts: dict


def group_rank(codes: np.ndarray) -> np.ndarray:
    """0-based rank of each element within its code, in array order (a vectorized cumcount)."""
    codes = np.asarray(codes)
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    srt = _stable_argsort(codes)
    cs = codes[srt]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    run = np.diff(np.r_[starts, len(cs)])
    ranks = np.empty(len(cs), dtype=np.int64)
    ranks[srt] = np.arange(len(cs)) - np.repeat(starts, run)
    return ranks


def _stable_argsort(codes: np.ndarray) -> np.ndarray:
    # numpy's stable sort is a radix sort for 16-bit ints; 32-bit codes (clip ids) take
    # two 16-bit passes (LSD radix), ~5x faster than the generic stable sort at 10M rows.
    lo_, hi_ = int(codes.min()), int(codes.max())
    if lo_ < 0 or hi_ >= 2**32:
        return np.argsort(codes, kind="stable")
    if hi_ < 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    u = codes.astype(np.uint32)
    first = np.argsort((u & 0xFFFF).astype(np.uint16), kind="stable")
    return first[np.argsort((u[first] >> 16).astype(np.uint16), kind="stable")]


def first_occurrence_duplicates(keys: np.ndarray) -> np.ndarray:
    """True for every element whose key already occurred earlier in the array."""
    keys = np.asarray(keys)
    srt = np.sort(keys)  # a value sort (SIMD) is ~7x faster than hashing 10M uint64 keys
    repeated = np.unique(srt[1:][srt[1:] == srt[:-1]])
    out = np.zeros(len(keys), dtype=bool)
    if len(repeated):
        # Only rows whose key repeats need the order-aware pass (usually few).
        at = np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)
        rows = np.flatnonzero(repeated[at] == keys)
        out[rows] = pd.Series(keys[rows]).duplicated().to_numpy()
    return out


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer quotas summing to ``total``, proportional to ``weights`` (Hamilton's method)."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    if rest > 0:
        frac = exact - base
        base[np.argsort(-frac, kind="stable")[:rest]] += 1
    return base


@dataclass
class _Ordered:
    """The eligible rows' arrays gathered once in priority order (contiguous, cache-friendly)."""

    is_video: np.ndarray
    temporal_video: np.ndarray
    vds3_positive: np.ndarray
    stratum: np.ndarray
    source_group: np.ndarray
    quota_weight: np.ndarray
    score: np.ndarray

    @classmethod
    def gather(cls, c: Candidates, order: np.ndarray) -> _Ordered:
        # One random-access gather of packed flags instead of three (memory-bound at 10M).
        flags = c.is_video.astype(np.uint8) | (c.temporal_video.astype(np.uint8) << 1)
        flags |= c.vds3_positive.astype(np.uint8) << 2
        f = flags[order]
        return cls(
            is_video=(f & 1).astype(bool),
            temporal_video=(f & 2).astype(bool),
            vds3_positive=(f & 4).astype(bool),
            stratum=c.stratum[order],
            source_group=c.source_group[order],
            quota_weight=c.quota_weight[order],
            score=c.score[order],
        )


class _Filler:
    """State of one fill over positions in priority order: what is taken, running counts."""

    def __init__(self, o: _Ordered, plan: Plan) -> None:
        self.o, self.plan = o, plan
        n = len(o.score)
        self.taken = np.zeros(n, dtype=bool)
        self.step_of = np.full(n, -1, dtype=np.int8)
        self.n = self.v = self.t = self.nt = self.p = 0

    def _caps(self, cand: np.ndarray) -> np.ndarray:
        """Drop the candidates the video maximum or the temporal share would exceed."""
        plan, s = self.plan, self.plan.temporal_share
        if plan.video_max is None and s <= 0:
            return cand
        keep = np.ones(len(cand), dtype=bool)
        is_v, tv = self.o.is_video[cand], self.o.temporal_video[cand]
        # Blocking only removes items, so this converges in a few rounds. The temporal cap
        # goes first: non-temporal videos it blocks must not use up the video room.
        for _ in range(8):
            changed = False
            if s > 0:
                t = tv & keep
                nt = is_v & ~tv & keep
                allow = np.floor((self.t + np.cumsum(t)) * (1.0 - s) / s + 1e-9) - self.nt
                over = nt & (np.cumsum(nt) > allow)
                changed |= bool(over.any())
                keep &= ~over
            if plan.video_max is not None:
                v = is_v & keep
                over = v & (np.cumsum(v) > plan.video_max - self.v)
                changed |= bool(over.any())
                keep &= ~over
            if not changed:
                break
        return cand[keep]

    def _capped_prefix(self, cand: np.ndarray, limit: int) -> np.ndarray:
        # The caps depend only on what precedes an item, so a prefix gives exact answers:
        # grow it until it yields `limit` items instead of scanning 10M candidates.
        m = min(len(cand), 2 * limit + 4096)
        while True:
            kept = self._caps(cand[:m])
            if len(kept) >= limit or m >= len(cand):
                return kept[:limit]
            m = min(len(cand), 4 * m)

    def take(self, step: str, mask=None, k=None, group=None, need=None, sequence=None) -> int:
        """Take up to ``k`` (or ``need`` per group) untaken positions; return how many.

        Positions are walked in priority order, or in ``sequence`` when given.
        """
        room = self.plan.budget - self.n
        limit = room if k is None else min(int(k), room)
        if limit <= 0:
            return 0
        free = ~self.taken if mask is None else ~self.taken & mask
        cand = np.flatnonzero(free) if sequence is None else sequence[free[sequence]]
        if group is not None:
            g = group[cand]
            cand = cand[group_rank(g) < need[g]]
        cand = self._capped_prefix(cand, limit)
        self.taken[cand] = True
        self.step_of[cand] = STEPS.index(step)
        o = self.o
        self.n += len(cand)
        self.v += int(o.is_video[cand].sum())
        self.t += int(o.temporal_video[cand].sum())
        self.nt = self.v - self.t
        self.p += int(o.vds3_positive[cand].sum())
        return len(cand)


def eligible_order(
    c: Candidates, spec: Spec, rng: np.random.Generator, dropped: dict | None = None
) -> tuple[np.ndarray, dict]:
    """Priority order of the eligible rows after dedup and the per-video cap.

    ``dropped``, when given, receives the rows each rule left out (``duplicate_text``,
    ``over_video_cap``), for explaining a selection (gdo.selection.explain).
    """
    n = len(c)
    finite = np.isfinite(c.score)
    if not goal_kind(spec.kind).ranked:
        order = rng.permutation(n)
    else:
        order = np.argsort(-c.score, kind="stable")  # ties keep the canonical (uid) order
    counts = {"input": n, "nonfinite_score": int(n - finite.sum())}
    order = order[finite[order]]
    if spec.dedup_text and c.text_key is not None:
        dup = first_occurrence_duplicates(c.text_key[order])
        counts["duplicate_text"] = int(dup.sum())
        if dropped is not None:
            dropped["duplicate_text"] = order[dup]
        order = order[~dup]
    if spec.max_per_video > 0:
        v = c.video[order]
        has = np.flatnonzero(v >= 0)
        over = np.zeros(len(order), dtype=bool)
        over[has] = group_rank(v[has]) >= spec.max_per_video
        counts["over_video_cap"] = int(over.sum())
        if dropped is not None:
            dropped["over_video_cap"] = order[over]
        order = order[~over]
    counts["eligible"] = len(order)
    return order, counts


def supply_of(o: _Ordered, n_groups: int) -> Supply:
    """Counts of the eligible rows by the categories constraints use."""
    return Supply(
        n=len(o.score),
        video=int(o.is_video.sum()),
        temporal_video=int(o.temporal_video.sum()),
        vds3_positive=int(o.vds3_positive.sum()),
        vds3_positive_video=int((o.vds3_positive & o.is_video).sum()),
        groups=np.bincount(o.source_group, minlength=n_groups),
    )


def select(c: Candidates, spec: Spec, goal: GoalConf) -> Selection:
    """Select ``spec.budget`` rows of ``c`` for ``goal`` (a GoalConf); deterministic for a seed."""
    rng = np.random.default_rng(spec.seed)
    order, counts = eligible_order(c, spec, rng)
    o = _Ordered.gather(c, order)
    n_groups = max(len(c.group_names), int(c.source_group.max()) + 1 if len(c) else 0)
    supply = supply_of(o, n_groups)
    floors = spec.floors if spec.floors is not None else np.zeros(n_groups, np.int64)
    uniform = not goal_kind(spec.kind).ranked  # a random draw: no vds3, quotas, score floor
    vds3 = 0 if uniform else spec.vds3_positives
    plan = make_plan(goal, spec.budget, supply, floors, vds3, spec.relax)
    f = _Filler(o, plan)

    f.take("temporal_video_min", o.temporal_video, k=plan.temporal_min - f.t)
    f.take("video_min", o.is_video, k=plan.video_min - f.v)
    f.take("vds3_positives", o.vds3_positive, k=plan.vds3_min - f.p)
    if plan.floors.any():
        have = np.bincount(o.source_group[f.taken], minlength=len(plan.floors))
        f.take("source_floors", group=o.source_group, need=plan.floors - have)
    above = None
    if not uniform and spec.score_floor_quantile > 0 and len(order):
        above = o.score >= np.quantile(o.score, spec.score_floor_quantile)
    if not uniform:
        n_strata = int(c.stratum.max()) + 1 if len(c) else 0
        weight = np.bincount(o.stratum, weights=o.quota_weight, minlength=n_strata)
        quota = largest_remainder(plan.budget, weight)
        have = np.bincount(o.stratum[f.taken], minlength=n_strata)
        counts["strata"] = int((weight > 0).sum())
        f.take("stratum_quotas", above, group=o.stratum, need=quota - have)
    # Caps computed from the running counts can block a video that a later temporal pick
    # would have allowed: repeat the fill while it makes progress.
    while f.n < plan.budget and f.take("global_fill", above):
        pass
    if f.n < plan.budget:
        shuffled = rng.permutation(len(order))
        while f.n < plan.budget and f.take("random_fallback", sequence=shuffled):
            pass

    taken = np.flatnonzero(f.taken)
    index = order[taken]
    srt = np.argsort(index, kind="stable")
    index, step = index[srt], f.step_of[taken][srt]
    counts["by_step"] = {s: int((step == i).sum()) for i, s in enumerate(STEPS)}
    counts["selected"] = len(index)
    check(c, index, plan, counts, spec)
    return Selection(index=index, step=step, plan=plan, counts=counts)


def _settle(con, ok: bool, achieved: float, unmet_reason: str) -> None:
    con.achieved = achieved
    if not ok:
        con.status, con.reason = "unmet", unmet_reason
    elif con.target != con.requested:
        con.status = "relaxed"
    else:
        con.status = "met"


def check(c: Candidates, index: np.ndarray, plan: Plan, counts: dict, spec: Spec) -> None:
    """Measure every constraint on the output and set its status (met | relaxed | unmet)."""
    n = len(index)
    why = (
        "earlier steps of the filling order used up the budget first"
        if n >= plan.budget
        else "the video caps blocked the remaining candidates"
    )
    v = int(c.is_video[index].sum())
    t = int(c.temporal_video[index].sum())
    for con in plan.constraints:
        if con.name == "budget":
            _settle(
                con,
                n == con.target,
                n,
                f"selected {n} of {con.target}: caps left too few candidates",
            )
        elif con.name == "video_share_min":
            _settle(con, v >= plan.video_min, v, f"{v} videos < {plan.video_min}: {why}")
        elif con.name == "video_share_max":
            _settle(con, v <= plan.video_max, v, f"{v} videos > {plan.video_max}")
        elif con.name == "min_temporal_share_of_video":
            share = t / v if v else 1.0
            _settle(
                con,
                t >= plan.temporal_share * v - 1e-9,
                round(share, 6),
                f"{t} of {v} videos temporal",
            )
        elif con.name == "vds3_positives":
            p = int(c.vds3_positive[index].sum())
            _settle(con, p >= plan.vds3_min, p, f"{p} vds3 positives < {plan.vds3_min}: {why}")
        elif con.name == "source_floors":
            got = np.bincount(c.source_group[index], minlength=len(plan.floors))
            short = np.flatnonzero(got < plan.floors)
            names = [c.group_names[i] if i < len(c.group_names) else str(i) for i in short]
            _settle(
                con,
                not len(short),
                int(np.minimum(got, plan.floors).sum()),
                f"short groups {names}: {why}",
            )
    if spec.max_per_video > 0:
        vid = c.video[index]
        per = np.bincount(vid[vid >= 0]) if (vid >= 0).any() else np.zeros(1, np.int64)
        counts["max_per_video_selected"] = int(per.max())
    if c.text_key is not None:
        counts["duplicate_text_selected"] = int(pd.Series(c.text_key[index]).duplicated().sum())
