"""Pooled pseudo-benchmarks: the questions of every suite (``all``), or of a tagged subset
(``temporal``), as one benchmark with a micro average.

Each suite's headline follows its own rule (MVBench and MLVU are macro averages), but a
claim about "the four suites" is about their questions taken together: every question
weighs the same. For each evaluated checkpoint the pooled predictions are written as a
per-question file, ``<frontier>/pooled/<run>/ckpt-<samples>/<pool>.jsonl`` (question id
``<benchmark>/<qid>``), so the pooled rows go through the same paired bootstrap, peak
match and plots as any benchmark. A tagged pool keeps the questions whose tag is true in
``eval.frontier.question_tags`` (a table with ``benchmark``, ``qid`` and one boolean
column per tag; the embedded world writes ``benchmarks/truth.parquet``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.evaluation.aggregate import RULES
from gdo.frontier.bootstrap import bootstrap_accuracy
from gdo.frontier.table import load_predictions
from gdo.utils.errors import InputError
from gdo.utils.io import atomic_write_text

KIND = "pooled"  # RULES["pooled"]: a micro average over the pooled questions


def read_tags(
    path: str | Path | None, pools: dict[str, Any]
) -> tuple[pd.DataFrame | None, list[str]]:
    """The question tags the pools name, and the pools left out for want of them.

    A missing tag table leaves out the tagged pools (the caller logs them and records
    them in the manifest) rather than failing the frontier; a table without a named tag
    column is an error.
    """
    tags = sorted({str(p["tag"]) for p in pools.values() if p and p.get("tag")})
    if not tags:
        return None, []
    if not path or not Path(path).exists():
        return None, sorted(n for n, p in pools.items() if p and p.get("tag"))
    df = pd.read_parquet(path)
    missing = [c for c in ("benchmark", "qid", *tags) if c not in df.columns]
    if missing:
        raise InputError(
            path,
            field=missing[0],
            expected=f"eval.frontier.question_tags with columns benchmark, qid, {', '.join(tags)}",
        )
    out = df[["benchmark", "qid", *tags]].copy()
    out["qid"] = out["qid"].astype(str)
    return out, []


def add_pooled(
    table: pd.DataFrame,
    out_dir: Path,
    pools: dict[str, Any],
    tags: pd.DataFrame | None,
    *,
    n_boot: int,
    ci: float,
    seed: int,
) -> pd.DataFrame:
    """Rows of ``table``'s columns for every pool, one per evaluated (run, checkpoint).

    Only checkpoints evaluated on every benchmark of the table are pooled (a pool over a
    partial set of suites would not be the same pool along a curve).
    """
    if table.empty or not pools:
        return table.iloc[0:0]
    benches = sorted(table["benchmark"].unique())
    rows = []
    for eval_dir, g in table.groupby("eval_dir", sort=True):
        if sorted(g["benchmark"]) != benches:
            continue
        preds = []
        for bench in benches:
            q = load_predictions(eval_dir, bench)[["qid", "correct", "answered"]].copy()
            q["benchmark"], q["qid"] = bench, q["qid"].astype(str)
            preds.append(q)
        cat = pd.concat(preds, ignore_index=True)
        first = g.iloc[0]
        for name, spec in pools.items():
            tag = (spec or {}).get("tag")
            sel = cat
            if tag and tags is None:
                continue
            if tag:
                m = cat.merge(tags, on=["benchmark", "qid"], how="left")
                sel = cat[m[tag].fillna(False).astype(bool).to_numpy()]
            if sel.empty:
                continue
            folder = out_dir / str(first["run"]) / Path(str(eval_dir)).name
            _write(folder / f"{name}.jsonl", sel)
            correct = sel["correct"].to_numpy(dtype=float)
            answered = sel["answered"].to_numpy(dtype=float)
            iv = bootstrap_accuracy(
                correct, answered, None, RULES[KIND], n_boot=n_boot, ci=ci, seed=seed
            )
            rows.append(
                {
                    **{c: first[c] for c in table.columns},
                    "benchmark": name,
                    "kind": KIND,
                    "accuracy": float(100.0 * correct.mean()),
                    "acc_lo": iv.lo,
                    "acc_hi": iv.hi,
                    "n": len(sel),
                    "n_answered": int(answered.sum()),
                    "n_video_missing": int(g["n_video_missing"].sum()),
                    "eval_dir": str(folder),
                }
            )
    return pd.DataFrame(rows, columns=table.columns)


def _write(path: Path, rows: pd.DataFrame) -> None:
    lines = (
        json.dumps(
            {
                "qid": f"{r.benchmark}/{r.qid}",
                "benchmark": r.benchmark,
                "correct": bool(r.correct),
                "answered": bool(r.answered),
            }
        )
        for r in rows.itertuples(index=False)
    )
    atomic_write_text(path, "\n".join(lines) + "\n")
