"""Each goal against the baseline, per benchmark: delta with a paired CI, peak match,
reduction, and per-subtask deltas."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.evaluation.aggregate import RULES
from gdo.frontier.bootstrap import Interval, paired_bootstrap_delta, seed_interval
from gdo.frontier.peak import peak_match, reduction
from gdo.frontier.table import load_predictions, unit_field


@dataclass
class Comparison:
    """``main``: one row per (benchmark, goal); ``subtasks``: one per (benchmark, goal, group)."""

    main: pd.DataFrame
    subtasks: pd.DataFrame


def _finals(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["is_final"]].sort_values("seed")


def _pooled(finals: pd.DataFrame, benchmark: str) -> pd.DataFrame | None:
    """Per-question correct / answered averaged over the seeds' final checkpoints."""
    frames = []
    for d in finals["eval_dir"]:
        if not isinstance(d, str) or not (Path(d) / f"{benchmark}.jsonl").exists():
            return None
        frames.append(load_predictions(d, benchmark))
    if not frames:
        return None
    cat = pd.concat(frames, ignore_index=True)
    cat["correct"] = cat["correct"].astype(float)
    cat["answered"] = cat["answered"].astype(float)
    first = frames[0].drop(columns=["correct", "answered"], errors="ignore")
    mean = cat.groupby("qid", sort=False)[["correct", "answered"]].mean()
    return first.set_index("qid").join(mean, how="inner").reset_index()


def delta_ci(goal_f, base_f, benchmark, kind, n_boot, ci, seed) -> tuple[Interval | None, int]:
    """Paired bootstrap interval of a goal's accuracy minus the baseline's on one benchmark
    (over the questions both have) and the number of questions only one side has; (None, 0)
    when either side has no predictions."""
    g, b = _pooled(goal_f, benchmark), _pooled(base_f, benchmark)
    if g is None or b is None:
        return None, 0
    m = g.merge(b, on="qid", suffixes=("_g", "_b"))
    unit = unit_field(kind)
    units = m[f"{unit}_g"].astype(str).to_numpy() if unit and f"{unit}_g" in m else None
    iv = paired_bootstrap_delta(
        m["correct_g"].to_numpy(),
        m["answered_g"].to_numpy(),
        m["correct_b"].to_numpy(),
        m["answered_b"].to_numpy(),
        units,
        RULES[kind],
        n_boot=n_boot,
        ci=ci,
        seed=seed,
    )
    # Questions on one side only (should be none) are reported, not hidden.
    return iv, len(g) + len(b) - 2 * len(m)


def _groups(finals: pd.DataFrame, benchmark: str, field: str) -> dict[str, tuple[float, int]]:
    """group -> (accuracy mean over seeds, n) from the summaries of the final checkpoints."""
    acc: dict[str, list[float]] = {}
    n: dict[str, int] = {}
    for d in finals["eval_dir"]:
        p = Path(str(d)) / f"{benchmark}.summary.json"
        if not p.exists():
            continue
        for group, v in json.loads(p.read_text())["groups"].get(field, {}).items():
            acc.setdefault(group, []).append(v["accuracy"])
            n[group] = v["n"]
    return {k: (float(np.nanmean(v)), n[k]) for k, v in acc.items()}


def _baseline_gain(rows, base_f, benchmark, kind, n_boot, ci, seed) -> dict[str, Any]:
    """The baseline's final accuracy minus the base model's, with a paired CI.

    Peak match only means something when the baseline learned anything: if this CI
    covers 0, every goal "reaches" the baseline at once, and the report says so.
    """
    out = {
        "base_model_acc": float("nan"),
        "baseline_gain_lo": float("nan"),
        "baseline_gain_hi": float("nan"),
        "baseline_beats_base": None,
    }
    base_model = rows[rows["is_base"]].drop_duplicates("eval_dir") if "is_base" in rows else None
    if base_model is None or base_model.empty or base_f.empty:
        return out
    out["base_model_acc"] = float(base_model["accuracy"].iloc[0])
    iv, _ = delta_ci(base_f, base_model.iloc[:1], benchmark, kind, n_boot, ci, seed)
    if iv is not None:
        out.update(baseline_gain_lo=iv.lo, baseline_gain_hi=iv.hi, baseline_beats_base=iv.lo > 0)
    return out


def compare(
    table: pd.DataFrame,
    baseline: str = "uniform",
    *,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    subtask_fields: dict[str, str] | None = None,
) -> Comparison:
    """Every goal vs ``baseline`` on every benchmark of the frontier table."""
    subtask_fields = subtask_fields or {}
    main, subs = [], []
    for bench, rows in table.groupby("benchmark", sort=True):
        kind = str(rows["kind"].iloc[0])
        base_f = _finals(rows[rows["goal"] == baseline])
        base_acc = float(base_f["accuracy"].mean()) if len(base_f) else float("nan")
        base_samples = float(base_f["samples"].mean()) if len(base_f) else float("nan")
        by_seed = dict(zip(base_f["seed"], base_f["accuracy"]))
        field = subtask_fields.get(kind)
        base_groups = _groups(base_f, str(bench), field) if field else {}
        gain = _baseline_gain(rows, base_f, str(bench), kind, n_boot, ci, seed)
        for goal, grows in rows[rows["goal"] != baseline].groupby("goal", sort=True):
            finals = _finals(grows)
            if finals.empty:
                continue
            accs = finals["accuracy"].to_numpy(float)
            deltas = [a - by_seed.get(s, base_acc) for a, s in zip(accs, finals["seed"])]
            seeds_iv = seed_interval(deltas, ci)
            iv, unpaired = (None, 0)
            if len(base_f):
                iv, unpaired = delta_ci(finals, base_f, str(bench), kind, n_boot, ci, seed)
            curve = grows.groupby("samples")["accuracy"].mean()
            pm = peak_match(curve.index.to_numpy(float), curve.to_numpy(float), base_acc)
            main.append(
                {
                    "benchmark": bench,
                    "kind": kind,
                    "goal": goal,
                    "baseline": baseline,
                    "baseline_acc": base_acc,
                    "baseline_samples": base_samples,
                    "baseline_n_seeds": len(base_f),
                    "goal_acc": float(accs.mean()),
                    "goal_samples": float(finals["samples"].mean()),
                    "n_seeds": len(finals),
                    "n": int(finals["n"].iloc[0]),
                    "delta": float(np.mean(deltas)),
                    "delta_lo": iv.lo if iv else float("nan"),
                    "delta_hi": iv.hi if iv else float("nan"),
                    "seed_lo": seeds_iv.lo,
                    "seed_hi": seeds_iv.hi,
                    "n_unpaired": unpaired,
                    **gain,
                    "peak_match": pm.samples,
                    "peak_interpolated": pm.interpolated,
                    "peak_reached": pm.reached,
                    "reduction": reduction(base_samples, pm),
                    "mode": str(finals["mode"].iloc[0]),
                    "prompt_version": str(finals["prompt_version"].iloc[0]),
                    "extract_version": str(finals["extract_version"].iloc[0]),
                }
            )
            if field:
                for group, (acc, n) in sorted(_groups(finals, str(bench), field).items()):
                    b_acc = base_groups.get(group, (float("nan"), 0))[0]
                    subs.append(
                        {
                            "benchmark": bench,
                            "field": field,
                            "group": group,
                            "goal": goal,
                            "baseline_acc": b_acc,
                            "goal_acc": acc,
                            "delta": acc - b_acc,
                            "n": n,
                        }
                    )
    return Comparison(pd.DataFrame(main), pd.DataFrame(subs))


def as_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-friendly rows (NaN -> None)."""
    return json.loads(df.to_json(orient="records"))
