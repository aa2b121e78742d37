"""Probes 2 and 3: fine-tune the base on pool subsets; MVBench accuracy along training.

    python experiments/calibration/probe_h2h.py WORLD POOL_PARQUET BASE OUT RUN [RUN ...] \
        [--batch 32] [--lr 1e-3] [--seed 0] [--reverse]

RUN names a subset of the pool (drawn with ``--seed``):

- ``uniN``: N candidates drawn uniformly (Uni-10x's proxy when N = 10 x the GDO budget)
- ``uniall``: the whole pool in a seeded order; ``uniall-noKIND[-noKIND]``: less every
  candidate of those waste kinds (``uniall-nowrong``, ``uniall-noleaked``)
- ``tempN``: N clean temporal video questions (waste ``none``): what a perfect Temp+ picks
- ``QTYPE-WASTE-N``: N questions of one type with one waste kind (none | wrong | leaked),
  e.g. ``appearance_order-wrong-600``; ``QTYPE-mix35-N``: 35% wrong, 65% clean

Each run starts from BASE, trains one epoch (cosine schedule over its own length) and is
evaluated on MVBench at 1/5 .. 5/5 of its samples. ``--reverse`` adds the accuracy on the
time-reversed benchmark clips at the end (a model that uses time fails there on order and
change questions). Writes OUT/h2h_<RUN>_s<seed>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402

TEMPORAL = ["appearance_order", "state_change", "moving_count", "motion_direction"]


def subset(pool: pd.DataFrame, run: str, seed: int) -> pd.DataFrame:
    """The pool rows a run trains on (see the module docstring)."""
    rng = np.random.default_rng([seed, 7])
    parts = run.split("-")
    if run.startswith("uniall"):  # the whole pool, less any waste kind named: uniall-nowrong
        cand = pool
        for part in parts[1:]:
            cand = cand[cand.waste != part.removeprefix("no")]
        return cand.iloc[rng.permutation(len(cand))]
    if run.startswith("uni"):
        cand, n = pool, int(run[3:])
    elif run.startswith("temp"):
        cand = pool[pool.qtype.isin(TEMPORAL) & (pool.waste == "none")]
        n = int(run[4:])
    else:
        qtype, waste, n = parts[0], parts[1], int(parts[2])
        of_type = pool[pool.qtype == qtype]
        if waste == "mix35":
            wrong = of_type[of_type.waste == "wrong"]
            clean = of_type[of_type.waste == "none"]
            k = int(round(0.35 * n))
            a = wrong.iloc[rng.choice(len(wrong), size=min(k, len(wrong)), replace=False)]
            b = clean.iloc[rng.choice(len(clean), size=n - len(a), replace=False)]
            return pd.concat([a, b])
        cand = of_type[of_type.waste == waste]
    if len(cand) < n:
        raise SystemExit(f"run {run}: only {len(cand)} candidates for {n}")
    return cand.iloc[rng.choice(len(cand), size=n, replace=False)]


def main() -> None:
    """Run the probe (arguments: see the module docstring)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("world", type=Path)
    ap.add_argument("pool", type=Path)
    ap.add_argument("base", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reverse", action="store_true")
    ap.add_argument("--extra", nargs="*", default=[], help="extra eval marks (samples)")
    args = ap.parse_args()
    from gdo.models import load_model

    cfg = L.compose(["model=tiny_qwen2vl"])
    pool = L.pool_rows(args.world, args.pool)
    mv = None
    args.out.mkdir(parents=True, exist_ok=True)
    for run in args.runs:
        vlm = load_model(cfg.model, args.base)
        if mv is None:
            mv = L.bench_samples(L.bench_rows(args.world, "mvbench"))
            L.attach_frames(vlm, mv, "bench-mvbench")
            base_acc = L.accuracy(vlm, mv)
            print("base", base_acc, flush=True)
        rows = subset(pool, run, args.seed)
        samples = L.to_samples(rows)
        L.attach_frames(vlm, samples, "pool-" + args.world.name)
        n = len(samples)
        marks = sorted({max(1, n * k // 5) for k in range(1, 6)} | {int(x) for x in args.extra})
        log = L.train(
            vlm,
            samples,
            n,
            lr=args.lr,
            batch=args.batch,
            seed=args.seed,
            eval_at=marks,
            eval_fn=lambda _s, v=vlm, q=mv: L.accuracy(v, q),
        )
        result = {
            "run": run,
            "seed": args.seed,
            "batch": args.batch,
            "lr": args.lr,
            "base": base_acc,
            "curve": log,
            "mix": rows.qtype.value_counts().to_dict(),
            "waste": rows.waste.value_counts().to_dict(),
        }
        if args.reverse:
            rev = [dict(s, frames=s["frames"][::-1].copy()) for s in mv]
            result["reversed"] = L.accuracy(vlm, rev)
            print("reversed", result["reversed"], flush=True)
        path = args.out / f"h2h_{run}_s{args.seed}_b{args.batch}.json"
        path.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
