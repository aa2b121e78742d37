"""The frontier table: one row per (goal, seed, checkpoint, benchmark) with its accuracy.

Built from ``gdo evaluate``'s summaries (``eval/<run>/ckpt-<samples>/<bench>.summary.json``)
and, when present, imported lmms-eval results. The base model (``eval/base/ckpt-0``) is
copied into every goal's curve as samples = 0. Every accuracy carries its n and a
bootstrap interval computed from the per-question file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gdo.columns import FRONTIER
from gdo.evaluation.aggregate import RULES
from gdo.evaluation.checkpoints import BASE_RUN
from gdo.frontier.bootstrap import bootstrap_accuracy

COLUMNS = FRONTIER  # (gdo.columns)


def load_predictions(eval_dir: str | Path, benchmark: str) -> pd.DataFrame:
    """The per-question rows ``gdo evaluate`` wrote for one checkpoint and benchmark."""
    # json + DataFrame: several times faster than pandas.read_json and keeps qids as str
    with open(Path(eval_dir) / f"{benchmark}.jsonl", encoding="utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh if line.strip()])


def unit_field(kind: str) -> str | None:
    """The macro-average unit of a benchmark kind (None for a micro average)."""
    return RULES[kind].unit


def collect(
    work_dir: str | Path,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    extra: pd.DataFrame | None = None,
    pooled: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The frontier table of one experiment folder (columns :data:`COLUMNS`).

    ``extra`` adds rows from elsewhere (imported lmms-eval results) before the base
    model is copied into the curves; ``pooled`` makes pooled rows from gdo's own rows
    (:func:`gdo.frontier.pooled.add_pooled`).
    """
    rows = []
    for path in sorted(Path(work_dir, "eval").glob("*/ckpt-*/*.summary.json")):
        s = json.loads(path.read_text(encoding="utf-8"))
        kind = s["benchmark_kind"]
        lo = hi = float("nan")
        jsonl = path.parent / f"{s['benchmark']}.jsonl"
        if jsonl.exists() and n_boot > 0:
            q = load_predictions(path.parent, s["benchmark"])
            unit = unit_field(kind)
            units = q[unit].astype(str).to_numpy() if unit and unit in q.columns else None
            iv = bootstrap_accuracy(
                q["correct"].to_numpy(),
                q["answered"].to_numpy(),
                units,
                RULES[kind],
                n_boot=n_boot,
                ci=ci,
                seed=seed,
            )
            lo, hi = iv.lo, iv.hi
        rows.append(
            {
                "goal": s["goal"],
                "run": s["run"],
                "seed": int(s.get("seed", 0)),
                "budget": s.get("budget"),
                "samples": int(s["samples"]),
                "benchmark": s["benchmark"],
                "kind": kind,
                "accuracy": float(s["overall"]),
                "acc_lo": lo,
                "acc_hi": hi,
                "n": int(s["n"]),
                "n_answered": int(s["n_answered"]),
                "n_video_missing": int(s.get("n_video_missing", 0)),
                "mode": s.get("mode", ""),
                "prompt_version": s.get("prompt_version", ""),
                "extract_version": s.get("extract_version", ""),
                "source": "gdo",
                "eval_dir": str(path.parent),
            }
        )
    raw = [c for c in COLUMNS if c not in ("is_base", "is_final")]
    df = pd.DataFrame(rows, columns=raw)
    if pooled is not None and len(df):
        df = pd.concat([df, pooled(df)], ignore_index=True)
    if extra is not None and len(extra):
        df = pd.concat([df, extra[raw]], ignore_index=True) if len(df) else extra[raw].copy()
    return finish(df)


def finish(df: pd.DataFrame) -> pd.DataFrame:
    """Copy the base model into every goal's curve and flag each run's final checkpoint.

    The base rows of a source (gdo / lmms_eval) go to that source's goals, with
    ``is_base`` set so they never count as a final checkpoint.
    """
    df = df.copy()
    is_base = df["run"] == BASE_RUN
    runs = df[~is_base].assign(is_base=False)
    parts = [runs]
    for (source, goal, seed), g in runs.groupby(["source", "goal", "seed"]):
        b = df[is_base & (df["source"] == source)].copy()
        if b.empty:
            continue
        b["goal"], b["seed"], b["budget"], b["is_base"] = goal, seed, g["budget"].iloc[0], True
        parts.append(b)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["benchmark", "source", "goal", "seed", "samples"]).reset_index(drop=True)
    keys = ["benchmark", "source", "goal", "seed"]
    last = out[~out["is_base"]].groupby(keys)["samples"].max().rename("_last")
    out = out.join(last, on=keys)
    out["is_final"] = (out["samples"] == out["_last"]) & ~out["is_base"]
    return out[COLUMNS].reset_index(drop=True)
