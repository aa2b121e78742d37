"""lmms-eval results into the frontier: ``import_lmms_eval(root, benchmarks)``.

Reads the ``*results*.json`` files lmms-eval writes under each job's ``--output_path``
(the jobs ``gdo.evaluation.lmms_eval.export_lmms_eval`` wrote) back into frontier-table
rows (``source = lmms_eval``), and, where the harness logged samples, per-question rows
(:mod:`gdo.evaluation.lmms_samples`) with bootstrap intervals. See docs/LMMS_EVAL.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.evaluation.aggregate import RULES
from gdo.evaluation.lmms_eval import DEFAULT_TASKS, METRICS
from gdo.evaluation.lmms_samples import question_rows, sample_logs
from gdo.frontier.bootstrap import bootstrap_accuracy
from gdo.frontier.table import COLUMNS
from gdo.utils.errors import InputError
from gdo.utils.io import atomic_write_with


def _metric(results: dict[str, Any], task: str) -> tuple[float | None, int | None]:
    """(accuracy %, n) of one task; MVBench falls back to the mean of its subtasks."""
    metric, fraction = METRICS.get(task, (None, False))
    if metric is None:
        return None, None
    sections = [results.get("results", {}), results.get("groups", {})]
    n_samples = results.get("n-samples", {})
    for sec in sections:
        entry = sec.get(task)
        if isinstance(entry, dict):
            for key, value in entry.items():
                if key.split(",")[0] == metric and isinstance(value, int | float):
                    n = n_samples.get(task, {}).get("effective")
                    if n is None:  # a group: the sum over its subtasks
                        n = (
                            sum(
                                v.get("effective", 0)
                                for k, v in n_samples.items()
                                if k.startswith(f"{task}_")
                            )
                            or None
                        )
                    return float(value) * (100.0 if fraction else 1.0), n
    subs = [
        (v, n_samples.get(k, {}).get("effective"))
        for k, entry in results.get("results", {}).items()
        if k.startswith(f"{task}_")
        for key, v in entry.items()
        if key.split(",")[0] == metric and isinstance(v, int | float)
    ]
    if subs:
        vals = [float(v) * (100.0 if fraction else 1.0) for v, _ in subs]
        ns = [n for _, n in subs if n is not None]
        return sum(vals) / len(vals), (sum(ns) if ns else None)
    return None, None


def import_lmms_eval(
    root: str | Path,
    benchmarks: list[dict[str, Any]],
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Frontier-table rows from lmms-eval results under ``root`` (the export folder).

    Reads ``jobs.json`` to know each output folder's goal / seed / samples, then the
    newest ``*results*.json`` in it. Tasks map back to benchmark names through each
    benchmark's ``lmms_eval_task``. Where the run logged samples, its per-question rows
    go to ``<output_path>/gdo/<benchmark>.jsonl`` (``eval_dir``), as ``gdo evaluate``
    writes them, with a bootstrap interval of ``n_boot`` resamples (``acc_lo`` /
    ``acc_hi``). Returns an empty table when nothing was run yet.
    """
    root = Path(root)
    index = root / "jobs.json"
    if not index.exists():
        return pd.DataFrame(columns=COLUMNS)
    meta = json.loads(index.read_text(encoding="utf-8"))
    by_task = {(b.get("lmms_eval_task") or DEFAULT_TASKS.get(b["kind"])): b for b in benchmarks}
    rows = []
    for job in meta.get("jobs", []):
        files = sorted(
            Path(job["output_path"]).rglob("*results*.json"), key=lambda p: p.stat().st_mtime
        )
        if not files:
            continue
        try:
            results = json.loads(files[-1].read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(
                str(files[-1]), None, None, "lmms-eval results JSON", reason=str(err)
            ) from None
        version = results.get("lmms_eval_version") or results.get("git_hash") or "unknown"
        for task in job["tasks"]:
            acc, n = _metric(results, task)
            bench = by_task.get(task)
            if acc is None or bench is None:
                continue
            row = {
                "goal": job["goal"], "run": job["run"], "seed": int(job["seed"]),
                "budget": job.get("budget"), "samples": int(job["samples"]),
                "benchmark": bench["name"], "kind": bench["kind"], "accuracy": acc,
                "acc_lo": float("nan"), "acc_hi": float("nan"), "n": n if n is not None else -1,
                "n_answered": -1, "n_video_missing": -1, "mode": "generate",
                "prompt_version": f"lmms-eval:{task}", "extract_version": f"lmms-eval:{version}",
                "source": "lmms_eval", "is_base": False, "is_final": False, "eval_dir": str(files[-1]),
            }  # fmt: skip
            logs = sample_logs(files[-1], task)
            if logs:
                out = Path(job["output_path"]) / "gdo"
                row.update(_per_question(bench, task, logs, out, n_boot, ci, seed))
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _per_question(
    bench: dict[str, Any], task: str, logs: dict[str, Path], out: Path, n_boot, ci, seed
) -> dict[str, Any]:
    """Write one benchmark's per-question rows into ``out``; the frontier fields they give."""
    kind = bench["kind"]
    metric = METRICS.get(task, METRICS.get(DEFAULT_TASKS.get(kind, ""), ("", False)))[0]
    q = question_rows(kind, task, metric, logs)
    path = out / f"{bench['name']}.jsonl"
    atomic_write_with(
        path, lambda tmp: q.to_json(tmp, orient="records", lines=True, force_ascii=False)
    )
    rule = RULES[kind]
    units = q[rule.unit].astype(str).to_numpy() if rule.unit and rule.unit in q else None
    iv = bootstrap_accuracy(
        q["correct"].to_numpy(), q["answered"].to_numpy(), units, rule, n_boot, ci, seed
    )
    return {
        "acc_lo": iv.lo,
        "acc_hi": iv.hi,
        "n": len(q),
        "n_answered": int(q["answered"].sum()),
        "eval_dir": str(out),
    }
