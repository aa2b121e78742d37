"""From scores.parquet + a goal to the arrays selection runs on.

The goal re-mixes the shared score columns (``goal.mix``, goal relevance toward
``goal.target.benchmark``), builds the stratum key from ``select.stratum_fields``
and turns shares (oversample factors, source floors, vds3 positives) into numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gdo.columns import IS_VIDEO, SCORE, SOURCE_GROUP, TEMPORAL_VIDEO, TEXT_KEY, VDS, VDS3
from gdo.scoring.mix import candidate_scores, goal_relevance_column
from gdo.selection.config import GoalConf, OversampleConf
from gdo.selection.fill import Candidates
from gdo.selection.kinds import goal_kind
from gdo.utils.errors import ConfigError, InputError

_FLAGS = (IS_VIDEO, TEMPORAL_VIDEO, VDS3)


def _categorical(s: pd.Series) -> pd.Series:
    return s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("category")


def goal_benchmark(goal: GoalConf) -> str | None:
    """The benchmark whose relevance the goal weighs (None when it weighs none)."""
    mix = goal.mix
    uses = float(mix.video.goal_relevance) or float(mix.image.goal_relevance)
    bench = goal.target.benchmark
    if uses and not bench:
        raise ConfigError(
            f"goal {goal.name}: goal_relevance weight set but goal.target.benchmark is null"
        )
    return bench if uses else None


def goal_scores(
    scores: pd.DataFrame, goal: GoalConf, dropped: list[str], file: str = "scores.parquet"
) -> tuple[np.ndarray, dict[str, int]]:
    """The goal's candidate score per row; rows it cannot score get NaN (and are counted)."""
    bench = goal_benchmark(goal)
    mixed = candidate_scores(scores, goal.mix, bench, dropped, file)[SCORE].to_numpy()
    excluded: dict[str, int] = {}
    col = goal_relevance_column(bench)
    if col is not None:
        bad = ~np.isfinite(scores[col].to_numpy(dtype=np.float64))
        if bad.any():
            excluded[f"nonfinite_{col}"] = int(bad.sum())
            mixed = np.where(bad, np.nan, mixed)
    # float32: sorting 10M scores is ~1.5x faster than float64; ties keep the uid order.
    return mixed.astype(np.float32), excluded


def stratum_codes(
    scores: pd.DataFrame, fields: list[str], file: str = "scores.parquet"
) -> np.ndarray:
    """Integer stratum code per row from the configured stratum fields."""
    missing = [f for f in fields if f not in scores.columns]
    if missing:
        raise InputError(
            file,
            None,
            ", ".join(missing),
            "stratum fields written by `gdo score`",
            got=f"select.stratum_fields={list(fields)}",
        )
    if not fields:
        return np.zeros(len(scores), dtype=np.int64)
    # Mixed-radix code over the fields' category codes, then dense codes in sorted order:
    # O(n) and deterministic (a pandas multi-key groupby is ~5x slower at 10M rows).
    combined = np.zeros(len(scores), dtype=np.int64)
    radix = 1
    for f in fields:
        codes, card = _field_codes(scores[f])
        radix *= card
        if radix >= 2**62:
            return scores.groupby(list(fields), observed=True).ngroup().to_numpy(dtype=np.int64)
        combined = combined * card + codes
    return pd.factorize(combined, sort=True)[0].astype(np.int32)


def _field_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """(codes >= 0, cardinality) of one stratum field."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64) + 1, len(s.cat.categories) + 1
    if s.dtype == bool:
        return s.to_numpy().astype(np.int64), 2
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=False)
    return codes.astype(np.int64), max(len(uniques), 1)


def stratum_labels(scores: pd.DataFrame, fields: list[str], codes: np.ndarray) -> dict[int, str]:
    """code -> ``field=value|...`` label (one row per code, not per candidate)."""
    first = pd.Series(np.arange(len(codes))).groupby(codes).first()
    sub = scores.iloc[first.to_numpy()][list(fields)].astype(str)
    joined = sub.apply(lambda r: "|".join(f"{k}={v}" for k, v in r.items()), axis=1)
    return dict(zip(first.index.tolist(), joined.tolist()))


def quota_weights(scores: pd.DataFrame, oversample: OversampleConf) -> np.ndarray:
    """Per-row oversample factor: the bucket's factor, times ``temporal`` for temporal video."""
    bucket = _categorical(scores["bucket"])
    # One factor per category, then a gather: no per-row string work at 10M rows.
    per_cat = np.array(
        [float(getattr(oversample, str(b), 1.0)) for b in bucket.cat.categories] + [1.0]
    )
    factor = per_cat[bucket.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    tv = scores[TEMPORAL_VIDEO].to_numpy(dtype=bool)
    return np.where(tv, factor * float(oversample.temporal), factor).astype(np.float32)


def floors_for(
    goal: GoalConf, group_names: list[str], budget: int
) -> tuple[np.ndarray, dict[str, str]]:
    """Per-group floor counts (a value >= 1 is a count, < 1 a share of the budget)."""

    def to_count(value: float) -> int:
        v = float(value)
        return int(math.ceil(v * budget - 1e-9)) if 0 < v < 1 else int(round(v))

    floors = np.full(len(group_names), to_count(goal.default_source_floor), dtype=np.int64)
    notes: dict[str, str] = {}
    index = {g: i for i, g in enumerate(group_names)}
    for name, value in dict(goal.source_floors).items():
        if name in index:
            floors[index[name]] = to_count(value)
        else:
            notes[str(name)] = f"source group not in the eligible pool (have {group_names[:20]})"
    return floors, notes


def vds3_target(goal: GoalConf, budget: int, dropped: list[str]) -> int:
    """The paper's vds3-positives target scaled to this budget (0 without VDS)."""
    if VDS in dropped or not goal_kind(goal.kind).ranked or int(goal.paper_size) <= 0:
        return 0
    share = min(1.0, int(goal.vds3_positives) / int(goal.paper_size))
    return int(math.ceil(share * budget - 1e-9))


def build_candidates(
    scores: pd.DataFrame,
    score: np.ndarray,
    fields: list[str],
    goal: GoalConf,
    file: str = "scores.parquet",
) -> tuple[Candidates, np.ndarray]:
    """Candidates for selection, plus the stratum codes (for labels)."""
    missing = [c for c in (*_FLAGS, "bucket", SOURCE_GROUP, "video_id") if c not in scores.columns]
    if missing:
        raise InputError(file, None, ", ".join(missing), "columns written by `gdo score`")
    codes = stratum_codes(scores, fields, file)
    groups = _categorical(scores[SOURCE_GROUP])
    video = _categorical(scores["video_id"])
    vcodes = video.cat.codes.to_numpy()
    empty = video.cat.categories.get_indexer([""])[0]
    if empty >= 0:  # "" = not a video
        vcodes = np.where(vcodes == empty, -1, vcodes)
    cands = Candidates(
        score=score,
        is_video=scores[IS_VIDEO].to_numpy(dtype=bool),
        temporal_video=scores[TEMPORAL_VIDEO].to_numpy(dtype=bool),
        vds3_positive=scores[VDS3].to_numpy(dtype=np.float64) > 0,
        stratum=codes,
        source_group=groups.cat.codes.to_numpy(),
        video=vcodes,
        quota_weight=quota_weights(scores, goal.oversample),
        text_key=scores[TEXT_KEY].to_numpy() if TEXT_KEY in scores.columns else None,
        group_names=[str(g) for g in groups.cat.categories],
    )
    return cands, codes
