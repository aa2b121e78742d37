"""``gdo compare RUN_A RUN_B``: paired accuracy deltas of two runs' frontiers.

A run is a work dir (``outputs/<name>``), its ``frontier/`` folder or a
``frontier.parquet``, optionally ``:GOAL`` (``outputs/demo:temp_plus``). Without goals,
every goal the two frontiers share is compared with itself (two experiments, seeds,
configs); with a goal on each side, those two (``outputs/demo:target outputs/demo:temp_plus``).
Per benchmark it prints A's and B's accuracy at their final checkpoints (``--at N``: at N
samples; ``--at 0``: the base model), the delta A - B and its paired bootstrap interval
over the questions both answered (gdo.frontier's, each benchmark's own aggregation;
seeds averaged per question).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from gdo.utils.errors import GdoError, InputError

COLUMNS = (
    "benchmark",
    "goal_a",
    "goal_b",
    "samples_a",
    "samples_b",
    "acc_a",
    "acc_b",
    "delta",
    "delta_lo",
    "delta_hi",
    "n",
    "n_unpaired",
)


def read_frontier(spec: str) -> tuple[pd.DataFrame, str | None, str]:
    """(frontier rows gdo evaluated, goal or None, label) of ``PATH[:GOAL]``."""
    from gdo.frontier.stage import primary_rows

    path, goal = spec, None
    if not Path(spec).exists() and ":" in spec:
        path, goal = spec.rsplit(":", 1)
    p = Path(path)
    for cand in (p, p / "frontier.parquet", p / "frontier" / "frontier.parquet"):
        if cand.is_file():
            return primary_rows(pd.read_parquet(cand)), goal or None, spec
    raise InputError(
        path,
        expected="a work dir with frontier/frontier.parquet, a frontier folder or file "
        "(run `gdo frontier` first)",
        reason="not found" if not p.exists() else None,
    )


def at_checkpoint(rows: pd.DataFrame, at: str) -> pd.DataFrame:
    """The rows of one goal at its final checkpoint (every seed) or at ``at`` samples."""
    if at == "final":
        return rows[rows["is_final"]]
    return rows[rows["samples"] == int(at)]


def compare_runs(
    a: pd.DataFrame,
    b: pd.DataFrame,
    goal_a: str | None = None,
    goal_b: str | None = None,
    at: str = "final",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (benchmark, goal pair): accuracies, delta A - B and its paired interval."""
    from gdo.frontier.analysis import delta_ci  # gdo.frontier's paired bootstrap

    if (goal_a is None) != (goal_b is None):
        raise InputError(None, None, "RUN:GOAL", "a goal on both sides or on neither")
    pairs = (
        [(goal_a, goal_b)]
        if goal_a is not None
        else [(g, g) for g in sorted(set(a["goal"]) & set(b["goal"]))]
    )
    out = []
    for bench in sorted(set(a["benchmark"]) & set(b["benchmark"])):
        ra, rb = a[a["benchmark"] == bench], b[b["benchmark"] == bench]
        for ga, gb in pairs:
            fa = at_checkpoint(ra[ra["goal"] == ga], at)
            fb = at_checkpoint(rb[rb["goal"] == gb], at)
            if fa.empty or fb.empty:
                continue
            kind = str(fa["kind"].iloc[0])
            iv, unpaired = delta_ci(fa, fb, str(bench), kind, n_boot, ci, seed)
            acc_a, acc_b = float(fa["accuracy"].mean()), float(fb["accuracy"].mean())
            out.append(
                {
                    "benchmark": bench,
                    "goal_a": ga,
                    "goal_b": gb,
                    "samples_a": float(fa["samples"].mean()),
                    "samples_b": float(fb["samples"].mean()),
                    "acc_a": acc_a,
                    "acc_b": acc_b,
                    "delta": acc_a - acc_b,
                    "delta_lo": iv.lo if iv else math.nan,
                    "delta_hi": iv.hi if iv else math.nan,
                    "n": iv.n if iv else int(fa["n"].iloc[0]),
                    "n_unpaired": unpaired,
                }
            )
    if not out:
        raise InputError(
            None,
            None,
            "goal",
            f"a goal and benchmark both runs have at checkpoint {at}",
            got=f"goals {sorted(set(a['goal']))} vs {sorted(set(b['goal']))}",
        )
    return pd.DataFrame(out, columns=list(COLUMNS))


def markdown(df: pd.DataFrame, label_a: str, label_b: str, ci: float) -> str:
    """The comparison as a Markdown table (a delta whose interval excludes 0 is starred)."""
    pct = f"{100 * ci:g}%"
    lines = [
        f"A = {label_a}, B = {label_b}; delta = A - B in points, [{pct} paired bootstrap "
        "interval over the questions both answered]; * = the interval excludes 0",
        "",
        "| benchmark | goal A | goal B | samples A | samples B | A % | B % | delta [CI] | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in df.itertuples(index=False):
        ci_txt = (
            f"[{r.delta_lo:+.1f}, {r.delta_hi:+.1f}]" if math.isfinite(r.delta_lo) else "[no pairs]"
        )
        star = "*" if math.isfinite(r.delta_lo) and (r.delta_lo > 0 or r.delta_hi < 0) else ""
        lines.append(
            f"| {r.benchmark} | {r.goal_a} | {r.goal_b} | {r.samples_a:,.0f} | {r.samples_b:,.0f} "
            f"| {r.acc_a:.1f} | {r.acc_b:.1f} | {r.delta:+.1f} {ci_txt}{star} | {r.n} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gdo compare``; returns the exit code."""
    ap = argparse.ArgumentParser(prog="gdo compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a", help="PATH[:GOAL] (work dir, frontier folder or frontier.parquet)")
    ap.add_argument("run_b", help="PATH[:GOAL]")
    ap.add_argument("--at", default="final", help="final (default) or a sample count (0: base)")
    ap.add_argument("--n-bootstrap", type=int, default=2000)
    ap.add_argument("--ci", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the table here (.md, or .csv / .parquet)")
    args = ap.parse_args(argv)
    try:
        if args.at != "final" and not args.at.isdigit():
            raise InputError(None, None, "--at", "final or a sample count", got=args.at)
        a, goal_a, label_a = read_frontier(args.run_a)
        b, goal_b, label_b = read_frontier(args.run_b)
        df = compare_runs(a, b, goal_a, goal_b, args.at, args.n_bootstrap, args.ci, args.seed)
    except GdoError as exc:
        print(f"gdo compare: error: {exc}", file=sys.stderr)
        return 1
    text = markdown(df, label_a, label_b, args.ci)
    print(text, end="")
    if args.out:
        out = Path(args.out)
        if out.suffix == ".csv":
            df.to_csv(out, index=False)
        elif out.suffix == ".parquet":
            df.to_parquet(out)
        else:
            out.write_text(text)
    return 0
