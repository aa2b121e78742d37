"""Per-question scoring and each benchmark's own aggregation rule.

| benchmark | headline (``overall``, %) | unparseable / empty answer |
|---|---|---|
| MVBench | mean over subtasks of answered-only accuracy | left out of the denominator |
| Video-MME | micro accuracy; breakdowns by duration, domain, sub_category, task_type | wrong |
| MLVU | macro over task types | wrong |
| LVBench | mean 0/1 (the harness prints a fraction; reported as %) | wrong |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gdo.benchmarks.kinds import GROUP_FIELDS, KINDS, Rule
from gdo.evaluation.prompts import EXTRACT_VERSION, PROMPT_VERSION, extract_letter


class _Rules(Mapping[str, Rule]):
    """Each benchmark kind's rule (its BenchmarkKind.rule), plus ``pooled``
    (gdo.frontier.pooled: several suites' questions as one, every question weighs the same)."""

    def __getitem__(self, kind: str) -> Rule:
        return POOLED if kind == "pooled" else KINDS[kind].rule

    def __iter__(self) -> Iterator[str]:
        return iter([*KINDS, "pooled"])

    def __len__(self) -> int:
        return len(KINDS) + 1


POOLED = Rule(unit=None)
RULES: Mapping[str, Rule] = _Rules()


def score_predictions(questions: pd.DataFrame, predictions: list[str | None]) -> pd.DataFrame:
    """Per-question ``pred``, extracted ``letter``, ``answered`` and ``correct``, row order kept."""
    if len(predictions) != len(questions):
        raise ValueError(
            f"{len(predictions)} predictions for {len(questions)} questions; expected one each"
        )
    letters = [extract_letter(p, list(opts)) for p, opts in zip(predictions, questions["options"])]
    out = pd.DataFrame(
        {
            "qid": questions["qid"].to_numpy(),
            "pred": ["" if p is None else str(p) for p in predictions],
            "letter": [ltr or "" for ltr in letters],
        }
    )
    out["answered"] = out["letter"] != ""
    out["correct"] = out["answered"] & (out["letter"].to_numpy() == questions["answer_letter"])
    return out


def overall_accuracy(
    correct: np.ndarray, answered: np.ndarray, units: np.ndarray | None, rule: Rule
) -> float:
    """The headline accuracy (%) of 0/1 arrays under ``rule`` (NaN when nothing counts)."""
    correct = np.asarray(correct, dtype=float)
    denom = np.asarray(answered, dtype=float) if rule.answered_only else np.ones_like(correct)
    if rule.unit is None or units is None:
        d = denom.sum()
        return float(100.0 * correct.sum() / d) if d > 0 else float("nan")
    codes, inverse = np.unique(np.asarray(units), return_inverse=True)
    num = np.bincount(inverse, weights=correct, minlength=len(codes))
    den = np.bincount(inverse, weights=denom, minlength=len(codes))
    # A unit with no answered question (e.g. all videos missing) has no accuracy.
    keep = den > 0
    return float(100.0 * np.mean(num[keep] / den[keep])) if keep.any() else float("nan")


def _breakdown(scored: pd.DataFrame, field: str, rule: Rule) -> dict[str, dict[str, Any]]:
    col = scored[field].astype(str)
    if col.str.contains("|", regex=False).any():
        scored = scored.assign(**{field: col.str.split("|")}).explode(field)
    out = {}
    for value, g in scored.groupby(field, sort=True):
        denom = int(g["answered"].sum()) if rule.answered_only else len(g)
        acc = 100.0 * g["correct"].sum() / denom if denom else float("nan")
        out[str(value)] = {
            "accuracy": float(acc),
            "n": len(g),
            "n_answered": int(g["answered"].sum()),
        }
    return out


def aggregate(questions: pd.DataFrame, predictions: list[str | None], kind: str) -> dict[str, Any]:
    """Score raw answer strings (row order of ``questions``) by the benchmark's rule.

    Returns ``overall`` (%), ``micro`` (%), ``n``, ``n_answered``, ``n_unparsed``,
    ``n_video_missing``, ``groups`` (per group field: value -> accuracy, n, n_answered),
    the rule, and the prompt / extraction versions.
    """
    rule = RULES[kind]
    scored = score_predictions(questions, predictions)
    fields = [f for f in GROUP_FIELDS[kind] if f in questions.columns]
    for f in fields:
        scored[f] = questions[f].astype(str).to_numpy()
    units = scored[rule.unit].to_numpy() if rule.unit else None
    overall = overall_accuracy(
        scored["correct"].to_numpy(), scored["answered"].to_numpy(), units, rule
    )
    n = len(scored)
    missing = int(questions["video_missing"].sum()) if "video_missing" in questions.columns else 0
    return {
        "benchmark_kind": kind,
        "overall": overall,
        "micro": float(100.0 * scored["correct"].mean()) if n else float("nan"),
        "n": n,
        "n_answered": int(scored["answered"].sum()),
        "n_unparsed": int((~scored["answered"]).sum()),
        "n_correct": int(scored["correct"].sum()),
        "n_video_missing": missing,
        "aggregation": rule.describe(),
        "groups": {f: _breakdown(scored, f, rule) for f in fields},
        "prompt_version": PROMPT_VERSION,
        "extract_version": EXTRACT_VERSION,
    }
