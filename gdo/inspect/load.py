"""What ``gdo inspect`` shows: candidate rows, their scores and descriptors, and the goal's
selection replayed with the reason for every pick and non-pick."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import (
    CLUSTER_ID,
    ERROR,
    GOAL_REL,
    GOAL_SCORE,
    RGB_STATS,
    SCORE,
    STATUS,
    TEXT_KEY,
    Z,
    z,
)
from gdo.selection.config import GoalConf, SelectConf
from gdo.utils.errors import InputError

log = logging.getLogger("gdo.inspect")
# Pool columns shown as text (the rest of the candidate table stays out of the page).
TEXT_COLUMNS = ("uid", "source", "bucket", "media_kind", "question", "answer")
# descriptors.parquet columns left out of the page: z-scores (the raw values are shown)
# and bookkeeping.
_HIDDEN = (Z, *RGB_STATS, CLUSTER_ID, STATUS, ERROR)


@dataclass
class Inputs:
    """Where a pool / subset lives: the work dir, the pool table and the subset folder."""

    work_dir: Path
    pool: Path
    subset: Path | None = None


@dataclass
class View:
    """Everything the page shows."""

    title: str
    rows: pd.DataFrame  # one row per shown candidate
    numeric: list[str]  # numeric columns of ``rows`` (descriptors, scores)
    goal: str | None = None
    constraints: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    total: int = 0


def resolve(path: str | Path) -> Inputs:
    """A subset folder (or its subset.parquet), a pool folder / pool.parquet, or a work dir."""
    p = Path(path)
    if p.is_file() and p.name == "subset.parquet":
        p = p.parent
    if p.is_dir() and (p / "subset.parquet").is_file():
        wd = p.parent.parent
        return Inputs(wd, wd / "pool" / "pool.parquet", p)
    if p.is_file() and p.suffix == ".parquet":
        return Inputs(p.parent.parent, p)
    if p.is_dir() and (p / "pool.parquet").is_file():
        return Inputs(p.parent, p / "pool.parquet")
    if p.is_dir() and (p / "pool" / "pool.parquet").is_file():
        return Inputs(p, p / "pool" / "pool.parquet")
    raise InputError(
        str(p),
        expected="a subset folder (subsets/<goal>/), a subset.parquet, a pool.parquet, "
        "a pool folder or a work dir with pool/pool.parquet",
        reason="not found" if not p.exists() else None,
    )


def goal_from_manifest(subset: Path) -> tuple[GoalConf, SelectConf, int, int | None]:
    """(goal, select, seed, reference_count) of a subset, from its manifest."""
    from gdo.utils.errors import ConfigError
    from gdo.utils.typed import typed

    path = subset / "manifest.json"
    try:
        m = json.loads(path.read_text())
        cfg = m["config"]
        goal = typed(cfg["goal"], GoalConf, "config.goal")
        select = typed(cfg["select"], SelectConf, "config.select")
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as err:
        raise InputError(
            str(path), None, "config.goal / config.select", "a select manifest"
        ) from err
    ref = m.get("inputs", {}).get("reference_count")
    return goal, select, int(m.get("seed", 0)), int(ref) if ref else None


def build_view(inputs: Inputs, goal_cfg=None, limit: int = 3000) -> View:
    """The rows and explanations for ``inputs``; ``goal_cfg`` = (goal, select, seed, ref) or None."""
    pool = pd.read_parquet(inputs.pool)
    wd = inputs.work_dir
    scores_path = wd / "scores" / "scores.parquet"
    rows = pool[[*TEXT_COLUMNS, "media"]].copy()
    notes: list[str] = []
    numeric: list[str] = []
    desc_path = wd / "descriptors" / "descriptors.parquet"
    if desc_path.is_file():
        desc = pd.read_parquet(desc_path)
        cols = [
            c
            for c in desc.columns
            if c != "uid" and not c.startswith(_HIDDEN) and pd.api.types.is_numeric_dtype(desc[c])
        ]
        rows = rows.merge(desc[["uid", *cols]], on="uid", how="left")
        numeric += cols
    view = View(title=f"pool {inputs.pool}", rows=rows, numeric=numeric, notes=notes)
    if inputs.subset is not None and goal_cfg is None:
        goal_cfg = goal_from_manifest(inputs.subset)
    if scores_path.is_file():
        scores = pd.read_parquet(scores_path)
        score_cols = [
            c
            for c in scores.columns
            if c not in rows.columns
            and pd.api.types.is_numeric_dtype(scores[c])
            and not c.startswith(z(GOAL_REL))
            and c != TEXT_KEY
        ]
        if goal_cfg is not None:
            scores, extra = _selection(inputs, scores, goal_cfg, view)
            score_cols += extra
        rows = rows.merge(scores[["uid", *score_cols, *_explained(scores)]], on="uid", how="left")
        numeric += [c for c in score_cols if c not in numeric]
        missing = rows["why"].isna() if "why" in rows else None
        if missing is not None and missing.any():
            rows.loc[missing, "why"] = "not scored: see scores/manifest.json counts.excluded"
            rows.loc[missing, "picked"] = False
    elif goal_cfg is not None:
        notes.append(f"{scores_path} is missing: run `gdo score` to see why rows are picked")
    view.total = len(rows)
    view.rows = _limit(rows, limit, notes)
    view.numeric = numeric
    return view


def _explained(scores: pd.DataFrame) -> list[str]:
    from gdo.selection.explain import COLUMNS

    return [c for c in COLUMNS if c in scores.columns]


def _selection(inputs: Inputs, scores: pd.DataFrame, goal_cfg, view: View):
    """Replay the goal's selection on the scores; add the explanation columns."""
    from gdo.selection.explain import explain
    from gdo.selection.goal_file import with_file_relevance
    from gdo.selection.goal_selection import select_goal
    from gdo.selection.prepare import stratum_labels

    goal, select, seed, ref = goal_cfg
    smeta = _json(inputs.work_dir / "scores" / "manifest.json")
    dropped = list(smeta.get("dropped", []))
    scores, goal, _ = with_file_relevance(scores, inputs.pool, goal)
    gs = select_goal(scores, goal, select, seed, dropped, ref)
    labels = stratum_labels(scores, list(select.stratum_fields), gs.strata)
    ex = explain(gs, labels)
    scores = scores.reset_index(drop=True)
    for col in ex.columns:
        scores[col] = ex[col].to_numpy()
    scores[GOAL_SCORE] = gs.score
    view.goal = str(goal.name)
    view.title = f"goal {goal.name}: {int(gs.mask.sum())} picked of {len(scores)} scored"
    view.constraints = [c.as_dict() for c in gs.selection.plan.constraints]
    view.budget = {**gs.budget.rationale, "budget": gs.budget.value, "bound": gs.budget.bound}
    if inputs.subset is not None:
        kept = set(pd.read_parquet(inputs.subset / "subset.parquet", columns=["uid"])["uid"])
        replay = set(scores.loc[scores["picked"], "uid"])
        if kept != replay:
            view.notes.append(
                f"the replayed selection differs from {inputs.subset / 'subset.parquet'} in "
                f"{len(kept ^ replay)} rows (inputs changed since it was written?)"
            )
    return scores, [GOAL_SCORE]


def _limit(rows: pd.DataFrame, limit: int, notes: list[str]) -> pd.DataFrame:
    """At most ``limit`` rows: picked ones first, then by goal score (or score) high to low."""
    if len(rows) <= limit:
        return rows.reset_index(drop=True)
    key = next((c for c in (GOAL_SCORE, SCORE) if c in rows), None)
    picked = rows["picked"].fillna(False).astype(bool) if "picked" in rows else None
    order = rows.assign(
        _p=~picked if picked is not None else False,
        _s=-rows[key].fillna(-np.inf) if key else 0,
    ).sort_values(["_p", "_s"], kind="stable")
    notes.append(
        f"showing {limit} of {len(rows)} candidates (picked first, then by "
        f"{key or 'pool order'}); raise --limit to see more"
    )
    return order.drop(columns=["_p", "_s"]).head(limit).reset_index(drop=True)


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
