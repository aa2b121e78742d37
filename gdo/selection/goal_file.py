"""Goal from a file: relevance to your own question set, and what it pulled into the subset.

``gdo select goal=target goal.target.benchmark=PATH`` (a ``custom`` benchmark file, see
``gdo.benchmarks.custom``, or a ``.txt`` of questions) or ``goal.target.files=[{path,
weight}, ...]`` scores every pool candidate's goal relevance to those questions at
selection time: the DSIR hashed n-gram importance weight of
``gdo.descriptors.goal_relevance`` (``log p_target - log p_pool``, mean over a candidate's
n-grams) with the target a weight-mixture of the files' n-gram distributions. No model
pass is needed, so a new goal file never reruns ``gdo describe``.

:func:`relevance_attribution` then reselects with the relevance weight set to 0 (same
constraints, budget and seed): the candidates only the goal's subset holds were *pulled by
relevance*; the others the shared score would have picked anyway.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import goal_rel, z
from gdo.selection.config import GoalConf, SelectConf, TargetFileConf
from gdo.utils.errors import InputError
from gdo.utils.io import atomic_write_text
from gdo.utils.manifest import file_hash

FILE_SUFFIXES = (".jsonl", ".csv", ".parquet", ".json", ".txt")
_SAFE = re.compile(r"[^0-9A-Za-z_]+")


def is_file_target(value: Any) -> bool:
    """A ``goal.target.benchmark`` naming a question file rather than a benchmark column."""
    if not value:
        return False
    text = str(value)
    return "/" in text or "\\" in text or text.lower().endswith(FILE_SUFFIXES)


def target_files(goal: GoalConf) -> list[dict[str, Any]]:
    """``[{path, weight, kind}]`` of a goal: ``target.files``, else a path ``target.benchmark``."""
    target = goal.target
    raw = list(target.files or [])
    if not raw and is_file_target(target.benchmark):
        raw = [TargetFileConf(path=str(target.benchmark))]
    out = []
    for k, item in enumerate(raw):
        if not item.path:
            raise InputError(None, f"goal.target.files[{k}]", "path", "a question file path")
        weight = 1.0 if item.weight is None else float(item.weight)
        if not weight > 0:
            raise InputError(None, f"goal.target.files[{k}]", "weight", "a weight > 0", got=weight)
        kind = item.kind or ("questions" if str(item.path).endswith(".txt") else "custom")
        out.append({"path": str(Path(str(item.path)).expanduser()), "weight": weight, "kind": kind})
    return out


def column_for(files: list[dict[str, Any]]) -> str:
    """The benchmark name of the relevance column: ``file_<stem>`` (``files`` for several)."""
    if len(files) == 1:
        p = Path(files[0]["path"])
        stem = p.parent.name if p.stem in ("questions", "test", "data") else p.stem
        return "file_" + _SAFE.sub("_", stem).strip("_").lower()
    return "files"


def goal_file_inputs(goal: GoalConf) -> dict[str, str]:
    """Content hashes of the goal's question files (they belong in the selection key)."""
    out = {}
    for f in target_files(goal):
        p = Path(f["path"])
        if not p.exists():
            raise InputError(str(p), None, None, "a goal question file", got="nothing")
        files = sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else [p]
        out[f"goal_file:{f['path']}"] = "+".join(file_hash(x) for x in files)
    return out


def file_relevance(
    pool_questions: pd.Series,
    files: list[dict[str, Any]],
    buckets: int = 10000,
    alpha: float = 1.0,
    n_max: int = 2,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Relevance of each pool question to the files' questions, and per-file info."""
    from gdo.descriptors.goal_relevance import importance, log_distribution, target_questions
    from gdo.descriptors.text import hashed_ngrams, question_stem

    def docs(texts) -> list[np.ndarray]:
        return [hashed_ngrams(question_stem(str(q)), buckets, n_max) for q in texts]

    pool_docs = docs(pool_questions.fillna("").astype(str))
    log_pool = log_distribution(pool_docs, buckets, alpha)
    mixture = np.zeros(buckets)
    total = sum(f["weight"] for f in files)
    info = []
    for f in files:
        questions = target_questions({"name": f["path"], "kind": f["kind"], "path": f["path"]})
        if not questions:
            raise InputError(f["path"], None, "question", "at least one question")
        mixture += f["weight"] / total * np.exp(log_distribution(docs(questions), buckets, alpha))
        info.append({**f, "questions": len(questions)})
    return importance(pool_docs, np.log(mixture) - log_pool), info


def with_file_relevance(
    scores: pd.DataFrame, pool_path: str | Path, goal: GoalConf
) -> tuple[pd.DataFrame, GoalConf, dict[str, Any]]:
    """``scores`` with a ``goal_rel_file_*`` column and the goal pointing at it.

    A goal without question files comes back unchanged (and an empty info dict).
    """
    files = target_files(goal)
    if not files:
        return scores, goal, {}
    pool = pd.read_parquet(pool_path, columns=["uid", "question"])
    rel, info = file_relevance(pool["question"], files)
    name = column_for(files)
    col = goal_rel(name)
    by_uid = pd.Series(rel, index=pool["uid"].to_numpy())
    scores = scores.copy()
    scores[col] = by_uid.reindex(scores["uid"].to_numpy()).to_numpy()
    scores = scores.drop(columns=[z(col)], errors="ignore")  # never a stale z column
    goal = copy.deepcopy(goal)
    goal.target.benchmark = name
    return scores, goal, {"column": col, "files": info}


def relevance_attribution(
    scores: pd.DataFrame,
    goal: GoalConf,
    select_conf: SelectConf,
    seed: int,
    dropped: list[str],
    reference_count: int | None,
    selected: np.ndarray,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """How much of the subset relevance pulled in vs what the shared score alone picks.

    ``selected``: row positions of the goal's subset in ``scores``. Empty dict when the
    goal weighs no relevance.
    """
    from gdo.selection.goal_selection import select_goal
    from gdo.selection.prepare import goal_benchmark

    bench = goal_benchmark(goal)
    if bench is None:
        return dict(info or {})
    plain = copy.deepcopy(goal)
    plain.mix.video.goal_relevance = 0.0
    plain.mix.image.goal_relevance = 0.0
    base = select_goal(scores, plain, select_conf, seed, dropped, reference_count)
    ours, theirs = set(np.asarray(selected).tolist()), set(base.selection.index.tolist())
    col = goal_rel(bench)
    rel = scores[col].to_numpy(dtype=np.float64)

    def mean(rows: set[int]) -> float:
        vals = rel[sorted(rows)] if rows else np.array([np.nan])
        return round(float(np.nanmean(vals)), 4) if rows else float("nan")

    pulled = ours - theirs
    out = dict(info or {})
    out.update(
        column=col,
        selected=len(ours),
        pulled_by_relevance=len(pulled),
        kept_from_shared_score=len(ours & theirs),
        share_pulled=round(len(pulled) / max(len(ours), 1), 4),
        shared_score_subset=len(theirs),
        mean_relevance_pool=round(float(np.nanmean(rel)), 4),
        mean_relevance_subset=mean(ours),
        mean_relevance_shared_score_subset=mean(theirs),
    )
    return out


def append_relevance_report(path: str | Path, info: dict[str, Any]) -> Path:
    """Add a "Goal relevance" section to the subset's ``report.md``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = ["", "## Goal relevance", ""]
    for f in info.get("files", []):
        lines.append(
            f"- target `{f['path']}` ({f['kind']}, {f['questions']} questions, "
            f"weight {f['weight']:g})"
        )
    if "selected" in info:
        n = info["selected"]
        lines += [
            f"- column `{info['column']}`: mean {info['mean_relevance_pool']} over the pool, "
            f"{info['mean_relevance_subset']} over this subset, "
            f"{info['mean_relevance_shared_score_subset']} over the shared-score subset",
            f"- **{info['pulled_by_relevance']} of {n}** ({100 * info['share_pulled']:.1f}%) "
            "selected candidates were pulled in by relevance (absent from the same selection "
            f"with the relevance weight at 0); {info['kept_from_shared_score']} the shared "
            "score picks anyway.",
        ]
    return atomic_write_text(path, text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
