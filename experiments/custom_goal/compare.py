"""Pairwise paired-bootstrap deltas between the goals' final checkpoints, every benchmark.

The frontier report compares each goal with one baseline; this experiment also wants
target vs Temp+. Reads ``<work_dir>/eval/<goal>/ckpt-<samples>/<benchmark>.jsonl`` (the
largest checkpoint of each goal) and prints a markdown table.

    python experiments/custom_goal/compare.py WORK_DIR [--goals target_custom temp_plus uniform]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import pandas as pd

from gdo.evaluation.aggregate import RULES
from gdo.frontier.bootstrap import bootstrap_accuracy, paired_bootstrap_delta

KINDS = {"mvbench": "mvbench", "videomme": "videomme", "mlvu": "mlvu", "lvbench": "lvbench"}
UNITS = {"mvbench": "subtask", "mlvu": "task_type"}


def final_dir(work: Path, goal: str) -> Path:
    """The goal's largest evaluated checkpoint folder."""
    dirs = [d for d in (work / "eval" / goal).glob("ckpt-*") if d.is_dir()]
    if not dirs:
        raise FileNotFoundError(f"no evaluated checkpoint under {work / 'eval' / goal}")
    return max(dirs, key=lambda d: int(d.name.split("-")[1]))


def main(argv: list[str] | None = None) -> int:
    """Print accuracy [CI] per goal and paired deltas per goal pair, per benchmark."""
    p = argparse.ArgumentParser()
    p.add_argument("work_dir", type=Path)
    p.add_argument("--goals", nargs="+", default=["target_custom", "temp_plus", "uniform"])
    p.add_argument("--n-boot", type=int, default=2000)
    args = p.parse_args(argv)
    finals = {g: final_dir(args.work_dir, g) for g in args.goals}
    benches = sorted(f.stem for f in finals[args.goals[0]].glob("*.jsonl"))
    pairs = list(itertools.combinations(args.goals, 2))
    head = ["benchmark (n)"] + [f"{g} @ {finals[g].name}" for g in args.goals]
    head += [f"{a} - {b}" for a, b in pairs]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for bench in benches:
        kind = KINDS.get(bench, "custom")
        unit = UNITS.get(kind)
        rows = {g: pd.read_json(finals[g] / f"{bench}.jsonl", lines=True) for g in args.goals}
        cells = []
        for g in args.goals:
            r = rows[g]
            units = r[unit].astype(str).to_numpy() if unit and unit in r else None
            iv = bootstrap_accuracy(
                r["correct"].to_numpy(float), r["answered"].to_numpy(float), units,
                RULES[kind], n_boot=args.n_boot,
            )  # fmt: skip
            cells.append(f"{iv.estimate:.1f} [{iv.lo:.1f}, {iv.hi:.1f}]")
        for a, b in pairs:
            m = rows[a].merge(rows[b], on="qid", suffixes=("_a", "_b"))
            units = m[f"{unit}_a"].astype(str).to_numpy() if unit and f"{unit}_a" in m else None
            iv = paired_bootstrap_delta(
                m["correct_a"].to_numpy(float), m["answered_a"].to_numpy(float),
                m["correct_b"].to_numpy(float), m["answered_b"].to_numpy(float),
                units, RULES[kind], n_boot=args.n_boot,
            )  # fmt: skip
            cells.append(f"{iv.estimate:+.1f} [{iv.lo:+.1f}, {iv.hi:+.1f}]")
        print(f"| {bench} ({len(rows[args.goals[0]])}) | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
