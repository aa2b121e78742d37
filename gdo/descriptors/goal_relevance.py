"""Goal relevance: how much a candidate looks like a target (new, not in the paper:
docs/METHOD.md#goal-relevance-new-in-gdo).

DSIR-style importance weights (Xie et al. 2023, "Data Selection for Language Models
via Importance Resampling"): hashed unigram + bigram distributions are fitted on
the target benchmark's questions and on the pool; a candidate's
``goal_rel_<name>`` is the mean over its n-grams of ``log p_target - log p_pool``
(add-``alpha`` smoothing). Positive: phrased like the target; negative: unlike it.
Option lines are stripped on both sides so MCQ formatting does not dominate.

Targets: ``targets`` (a list of ``{name, kind, path}``), else every suite of the
benchmark ``index`` (``[{name, kind, path, ...}]``, the world's
``benchmarks/index.json``). ``kind: questions`` reads a plain JSON/JSONL/TXT list of
questions; any other kind goes through ``gdo.evaluation.read_benchmark``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import GOAL_REL, OK, STATUS
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.text import hashed_ngrams, question_stem
from gdo.utils.errors import InputError

SAFE_NAME = re.compile(r"[^0-9A-Za-z_]+")


def column_name(name: str) -> str:
    """``goal_rel_<name>`` with the name made a safe column identifier."""
    return GOAL_REL + SAFE_NAME.sub("_", str(name)).strip("_").lower()


def read_questions(path: str | Path) -> list[str]:
    """Questions from a .txt (one per line), .json (list of str or of {question}) or .jsonl."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), reason="target question file not found")
    if path.suffix == ".txt":
        return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if path.suffix == ".jsonl":
        items = [
            json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()
        ]
    else:
        items = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for k, it in enumerate(items):
        q = it if isinstance(it, str) else it.get("question") if isinstance(it, dict) else None
        if not isinstance(q, str):
            raise InputError(str(path), f"record {k}", "question", "a string", got=it)
        out.append(q)
    return out


def target_questions(target: dict[str, Any]) -> list[str]:
    """The question texts of one target benchmark."""
    kind, path = str(target.get("kind", "")), target.get("path")
    if not path:
        raise InputError(
            where=f"goal relevance target {target.get('name')!r}",
            field="path",
            expected="a benchmark path",
        )
    if kind == "questions":
        return read_questions(path)
    from gdo.benchmarks import read_benchmark

    bench = read_benchmark(path, kind)
    if isinstance(bench, pd.DataFrame):
        return bench["question"].astype(str).tolist()
    return [str(q["question"] if isinstance(q, dict) else q.question) for q in bench]


def resolve_targets(targets: list[dict[str, Any]], index: str | None) -> list[dict[str, Any]]:
    """Explicit targets, else every entry of the benchmark index (paths relative to it)."""
    if targets:
        return [dict(t) for t in targets]
    if not index or not Path(index).exists():
        return []
    idx = Path(index)
    entries = json.loads(idx.read_text(encoding="utf-8"))
    out = []
    for k, e in enumerate(entries):
        for key in ("name", "kind", "path"):
            if key not in e:
                raise InputError(str(idx), f"entry {k}", key, "name, kind and path")
        p = Path(e["path"])
        if not p.is_absolute():
            # The world writes paths relative to its root; accept relative-to-index too.
            p = next((c for c in (idx.parent / p, idx.parent.parent / p) if c.exists()), p)
        out.append({"name": e["name"], "kind": e["kind"], "path": str(p)})
    return out


def log_distribution(docs: list[np.ndarray], buckets: int, alpha: float) -> np.ndarray:
    """log of the add-alpha smoothed bucket distribution of the docs' n-grams."""
    counts = np.bincount(np.concatenate(docs) if docs else np.zeros(0, np.int64), minlength=buckets)
    p = (counts + alpha) / (counts.sum() + alpha * buckets)
    return np.log(p)


def importance(docs: list[np.ndarray], log_ratio: np.ndarray) -> np.ndarray:
    """Mean log importance weight per doc; 0 (neutral) for a doc without n-grams."""
    lengths = np.fromiter((len(d) for d in docs), np.int64, len(docs))
    flat = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(docs)), lengths)
    sums = np.bincount(owner, weights=log_ratio[flat], minlength=len(docs))
    return np.divide(sums, lengths, out=np.zeros(len(docs)), where=lengths > 0)


@register("goal_relevance")
class GoalRelevance(Descriptor):
    """DSIR hashed n-gram importance weight of each candidate for each target benchmark."""

    def __init__(
        self,
        targets: list[dict[str, Any]] | None = None,
        index: str | None = None,
        buckets: int = 10000,
        alpha: float = 1.0,
        n_max: int = 2,
    ) -> None:
        self.targets = [dict(t) for t in (targets or [])]
        self.index = index
        self.buckets = int(buckets)
        self.alpha = float(alpha)
        self.n_max = int(n_max)

    def resolved(self) -> list[dict[str, Any]]:
        """The targets this run scores against."""
        return resolve_targets(self.targets, self.index)

    def config_key(self) -> dict[str, Any]:
        """The setup plus the targets' files (size, mtime), so a changed benchmark re-merges."""
        files = []
        for t in self.resolved():
            p = Path(t["path"])
            paths = sorted(p.rglob("*")) if p.is_dir() else [p]
            files += [
                (str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in paths if f.is_file()
            ]
        return {**super().config_key(), "target_files": files}

    def columns(self, pool_table: pd.DataFrame | None = None) -> list[str]:
        """One ``goal_rel_<name>`` column per target."""
        return [column_name(t["name"]) for t in self.resolved()]

    def describe_pool(self, table: pd.DataFrame, cfg: Any) -> pd.DataFrame:
        """``goal_rel_<name>`` per candidate; NaN for failed rows, like every descriptor."""
        docs = [
            hashed_ngrams(question_stem(q), self.buckets, self.n_max)
            for q in table["question"].fillna("").astype(str)
        ]
        log_pool = log_distribution(docs, self.buckets, self.alpha)
        out = pd.DataFrame(index=table.index)
        for t in self.resolved():
            target_docs = [
                hashed_ngrams(question_stem(q), self.buckets, self.n_max)
                for q in target_questions(t)
            ]
            if not target_docs:
                raise InputError(t["path"], field="question", expected="at least one question")
            log_t = log_distribution(target_docs, self.buckets, self.alpha)
            out[column_name(t["name"])] = importance(docs, log_t - log_pool)
        if STATUS in table:
            out.loc[(table[STATUS] != OK).to_numpy()] = np.nan
        return out
