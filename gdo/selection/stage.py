"""``gdo select``: build the subset of one goal (``cfg.goal``).

Reads ``scores/scores.parquet`` (+ its manifest) and ``pool/pool.parquet``; writes
``subsets/<goal.name>/``: ``subset.parquet`` (selected candidate rows + score
columns; the train stage reads it), ``train.json`` (LLaVA), ``train.jsonl``
(ms-swift messages), ``report.md``, ``composition.png`` and ``manifest.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from gdo.columns import GOAL_SCORE, SELECT_STEP
from gdo.scoring.stage import input_key
from gdo.selection.config import GoalConf, SelectConf
from gdo.selection.export import write_llava, write_messages
from gdo.selection.goal_file import (
    append_relevance_report,
    goal_file_inputs,
    relevance_attribution,
    with_file_relevance,
)
from gdo.selection.goal_selection import GoalSelection, select_goal
from gdo.selection.kinds import goal_kind
from gdo.selection.prepare import (
    stratum_labels,
)
from gdo.selection.report import composition, composition_counts, plot_composition, write_report
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.io import atomic_write_parquet
from gdo.utils.manifest import content_hash, is_fresh, read_manifest, to_plain, write_manifest
from gdo.utils.stage import stage_dir, work_dir
from gdo.utils.typed import typed

log = logging.getLogger(__name__)


def reference_count_for(goal: GoalConf, work: Path) -> int | None:
    """Uni-Nx reference: ``goal.reference_count`` or the size of another goal's subset
    (``<work>/subsets/<goal.reference_goal>/manifest.json``)."""
    if not goal_kind(goal.kind).sized_by_reference:
        return None
    if goal.reference_count is not None:
        return int(goal.reference_count)
    if not goal.reference_goal:
        raise ConfigError(
            f"goal.kind={goal.kind} needs goal.reference_count or goal.reference_goal"
        )
    mdir = work / "subsets" / goal.reference_goal
    m = read_manifest(mdir)
    if m is None:
        raise InputError(
            str(mdir / "manifest.json"),
            reason=f"missing; run `gdo select goal={goal.reference_goal}` before the uniform goal "
            "or set goal.reference_count",
        )
    try:
        return int(m["counts"]["selected"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            str(mdir / "manifest.json"), None, "counts.selected", "an integer"
        ) from err


def _subset_frame(pool: pd.DataFrame, scores: pd.DataFrame, gs: GoalSelection) -> pd.DataFrame:
    idx = gs.selection.index
    sc = scores.iloc[idx].reset_index(drop=True)
    sc[GOAL_SCORE] = gs.score[idx].astype(np.float32)
    sc[SELECT_STEP] = _step_names(gs.selection.step).astype(str)
    extra = [c for c in sc.columns if c not in pool.columns or c == "uid"]
    out = pool[pool["uid"].isin(sc["uid"])].merge(sc[extra], on="uid", how="inner")
    return out.sort_values("uid", kind="stable").reset_index(drop=True)


def _step_names(steps: np.ndarray) -> np.ndarray:
    from gdo.selection.fill import STEPS

    return np.asarray(STEPS, dtype=object)[steps]


def run(cfg: DictConfig) -> Path:
    """Select ``cfg.goal``'s subset and write ``subsets/<goal.name>/``; return that folder."""
    goal = typed(cfg.goal, GoalConf, "goal")
    select = typed(cfg.select, SelectConf, "select")
    seed = int(cfg.seed)
    wd = work_dir(cfg)
    scores_path, pool_path = wd / "scores" / "scores.parquet", wd / "pool" / "pool.parquet"
    for path, stage in ((scores_path, "score"), (pool_path, "pool")):
        if not path.exists():
            raise InputError(str(path), reason=f"missing; run `gdo {stage}` first")
    smeta = read_manifest(scores_path.parent) or {}
    dropped = list(smeta.get("dropped", list(cfg.score.drop)))
    ref = reference_count_for(goal, wd)
    inputs = {"scores": input_key(scores_path), "pool": input_key(pool_path)}
    inputs.update(goal_file_inputs(goal))  # goal from a question file: its content
    if ref is not None:
        inputs["reference_count"] = str(ref)
    key = content_hash(goal, select, seed, inputs)
    out = wd / "subsets" / goal.name
    if (out / "subset.parquet").exists() and is_fresh(out, key):
        log.info("select %s: fresh (key %s), skipping; %s", goal.name, key, out)
        return out
    scores = pd.read_parquet(scores_path)
    # The goal as selection runs it: a goal from question files points at their column.
    scores, run_goal, relevance = with_file_relevance(scores, pool_path, goal)
    gs = select_goal(scores, run_goal, select, seed, dropped, ref, str(scores_path))
    relevance = relevance_attribution(
        scores, run_goal, select, seed, dropped, ref, gs.selection.index, relevance
    )
    pool = pd.read_parquet(pool_path)
    subset = _subset_frame(pool, scores, gs)
    if len(subset) != len(gs.selection.index):
        raise InputError(
            str(pool_path),
            None,
            "uid",
            f"every selected uid of scores.parquet ({len(gs.selection.index)})",
            got=f"{len(subset)} found",
        )

    out = stage_dir(cfg, "subsets", goal.name)
    atomic_write_parquet(out / "subset.parquet", subset)
    if select.write_llava:
        write_llava(subset, out / "train.json")
    if select.write_messages:
        write_messages(subset, out / "train.jsonl")
    tables = composition(scores, gs.mask)
    constraints = [c.as_dict() for c in gs.selection.plan.constraints]
    budget = {**gs.budget.rationale, "budget": gs.budget.value, "bound": gs.budget.bound}
    counts: dict[str, Any] = {**gs.selection.counts, "excluded": gs.excluded}
    write_report(out / "report.md", goal.name, budget, constraints, tables, counts)
    if relevance:
        counts["relevance"] = relevance
        append_relevance_report(out / "report.md", relevance)
    if select.plot:
        plot_composition(out / "composition.png", goal.name, tables)
    labels = stratum_labels(scores, list(select.stratum_fields), gs.strata)
    pool_s = pd.Series(gs.strata).value_counts()
    sub_s = pd.Series(gs.strata[gs.selection.index]).value_counts()
    counts["per_stratum"] = {
        labels[int(k)]: {"pool": int(v), "subset": int(sub_s.get(k, 0))} for k, v in pool_s.items()
    }
    counts.update(composition_counts(tables))
    not_met = [c for c in constraints if c["status"] != "met"]
    for c in not_met:
        log.warning("select %s: %s %s (%s)", goal.name, c["name"], c["status"], c["reason"])
    write_manifest(
        out,
        stage="select",
        key=key,
        config={"goal": to_plain(goal), "select": to_plain(select)},
        inputs=inputs,
        counts=counts,
        seed=seed,
        extra={
            "goal": goal.name,
            "budget": budget,
            "constraints": constraints,
            "bound_constraints": _binding(gs, constraints),
            "infeasible": [
                {"name": c["name"], "status": c["status"], "reason": c["reason"]} for c in not_met
            ],
            "notes": gs.notes,
        },
    )
    _log_run(cfg, goal.name, out, budget, counts, constraints, tables)
    return out


def _log_run(cfg: DictConfig, goal: str, out: Path, budget, counts, constraints, tables) -> None:
    """Log the subset's budget, constraints and composition to W&B (rank 0, if enabled)."""
    from gdo.logging import get_logger

    logger = get_logger(cfg, job_type="select", name=f"select-{goal}")
    try:
        logger.log(
            {
                "select/budget": budget["budget"],
                "select/selected": counts["selected"],
                "select/eligible": counts["eligible"],
            }
        )
        logger.log_table("select/constraints", pd.DataFrame(constraints))
        for facet, df in tables.items():
            logger.log_table(f"select/composition_{facet}", df.reset_index(names=facet))
        if (out / "composition.png").exists():
            logger.log_image("select/composition", out / "composition.png")
        logger.log_artifact(
            f"subset-{cfg.name}-{goal}",
            "subset",
            [out / f for f in ("subset.parquet", "manifest.json", "report.md", "composition.png")],
            {"goal": goal, "selected": counts["selected"], "budget": budget},
        )
    finally:
        logger.finish()


def _binding(gs: GoalSelection, constraints: list[dict[str, Any]]) -> list[str]:
    """Constraints at their bound: a minimum met exactly, or a maximum reached."""
    names = [f"budget:{gs.budget.bound}"]
    for c in constraints:
        if c["name"] == "budget" or c["achieved"] is None:
            continue
        if c["kind"] in ("min", "max") and float(c["achieved"]) == float(c["target"]):
            names.append(c["name"])
    return names
