"""Re-read a finished ``demo_seeds`` run with the suites restricted to some question types,
and show which count answers each goal's subset holds (section 10 of the README).

    python experiments/calibration/probe_suites.py ROOT [--keep appearance_order,state_change,colour]

ROOT is the folder ``gdo run experiment=demo_seeds`` ran in (``ROOT/outputs/demo-seed{0,1,2}``,
``ROOT/outputs/world/demo``). Nothing is re-evaluated: the per-question records of every
checkpoint are filtered, so the figures are those of the same models on a subset of the same
questions. Per suite: the base model, Uni-10x's final accuracy (mean of the seeds) with the
lower bound of the frontier's paired 95% bootstrap against the base
(gdo.frontier.bootstrap, micro average over the kept questions, as the report's pooled rows;
the report's per-suite rows macro-average MVBench and MLVU over their subtasks, so those CIs
differ slightly), Temp+'s final accuracy and where the 3-seed mean curve first reaches
Uni-10x's (gdo.frontier.peak).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from gdo.evaluation.aggregate import RULES
from gdo.frontier.bootstrap import paired_bootstrap_delta
from gdo.frontier.peak import peak_match, reduction
from gdo.frontier.pooled import KIND as POOLED
from gdo.frontier.table import load_predictions

SUITES = ("all", "lvbench", "mlvu", "mvbench", "videomme", "temporal")


def _records(folder: Path, truth: pd.DataFrame) -> pd.DataFrame:
    frames = [
        load_predictions(folder, b)[["qid", "correct"]].assign(benchmark=b)
        for b in truth["benchmark"].unique()
    ]
    df = pd.concat(frames, ignore_index=True).astype({"correct": bool})
    return df.merge(truth, on=["benchmark", "qid"]).sort_values(["benchmark", "qid"])


def _checkpoints(root: Path, seed: int, goal: str) -> dict[int, Path]:
    found = (root / f"outputs/demo-seed{seed}/eval/{goal}").glob("ckpt-*")
    return {int(p.name.split("-")[1]): p for p in found}


def _suite(df: pd.DataFrame, suite: str) -> pd.DataFrame:
    if suite == "temporal":
        return df[df["temporal"]]
    return df if suite == "all" else df[df["benchmark"] == suite]


def suites(root: Path, keep: set[str] | None, seeds: int) -> None:
    truth = pd.read_parquet(root / "outputs/world/demo/benchmarks/truth.parquet")
    if keep:
        truth = truth[truth["qtype"].isin(keep)]
    base = _records(next(iter(_checkpoints(root, 0, "base").values())), truth)
    uni, tp = [], []
    for s in range(seeds):
        ck = _checkpoints(root, s, "uniform")
        uni.append((max(ck), _records(ck[max(ck)], truth)))
        tp.append({n: _records(p, truth) for n, p in _checkpoints(root, s, "temp_plus").items()})
    print("| suite | n | base | Uni-10x | Uni-10x - base, CI low | Temp+ final | reduction |")
    print("|---|---|---|---|---|---|---|")
    for suite in SUITES:
        b = _suite(base, suite)["correct"].to_numpy(float)
        u = np.mean([_suite(r, suite)["correct"].to_numpy(float) for _, r in uni], axis=0)
        ones = np.ones_like(b)
        gain = paired_bootstrap_delta(u, ones, b, ones, None, RULES[POOLED])
        steps = sorted(set.intersection(*(set(t) for t in tp)))
        curve = [b.mean()] + [
            np.mean([_suite(t[n], suite)["correct"].mean() for t in tp]) for n in steps
        ]
        match = peak_match([0, *steps], curve, u.mean())
        red = reduction(np.mean([n for n, _ in uni]), match)
        print(
            f"| {suite} | {b.size} | {100 * b.mean():.1f} | {100 * u.mean():.1f} | "
            f"{gain.lo:+.1f} | {100 * curve[-1]:.1f} | "
            f"{f'{red:.1f}x' if red else 'not reached'} |"
        )


def count_answers(root: Path, goals: list[str]) -> None:
    """Answers of the clean count questions in each goal's seed-0 subset, by clip kind."""
    truth = pd.read_parquet(root / "outputs/world/demo/truth.parquet").drop_duplicates("uid")
    truth = truth[(truth["qtype"] == "count") & (truth["waste"] == "none")]
    pool = pd.read_parquet(root / "outputs/demo/pool/pool.parquet")["uid"]
    sets = {"pool": pool}
    for g in goals:
        sets[g] = pd.read_parquet(root / f"outputs/demo-seed0/subsets/{g}/subset.parquet")["uid"]
    print("\n| set | image: answered 1 / 2 | video: answered 1 / 2 |")
    print("|---|---|---|")
    for name, uids in sets.items():
        t = truth[truth["uid"].isin(uids)]
        video = t["bucket"] != "image"
        cells = [t[m]["true_answer"].value_counts() for m in (~video, video)]
        print(
            f"| {name} | " + " | ".join(f"{c.get('1', 0)} / {c.get('2', 0)}" for c in cells) + " |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("root", type=Path)
    p.add_argument("--keep", default="", help="question types to keep, comma-separated")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--goals", default="uniform,temp_plus,temp,diverse,minloss")
    a = p.parse_args()
    keep = {k for k in a.keep.split(",") if k} or None
    suites(a.root, keep, a.seeds)
    count_answers(a.root, [g for g in a.goals.split(",") if g])


if __name__ == "__main__":
    main()
