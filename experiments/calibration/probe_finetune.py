"""Probe: fine-tune the base on a pool subset; all four suites, base vs fine-tuned, paired.

    PROBE_TARGET=both python experiments/calibration/probe_finetune.py WORLD POOL_PARQUET \
        BASE RUN [--batch 32] [--lr 1e-3] [--epochs 1] [--seed 0]

RUN names a subset as in ``probe_h2h.py`` (``uni2000``, ``temp300``, ...). Prints, per
suite, the base and fine-tuned accuracy (micro) and the paired difference with a 95%
bootstrap interval over questions (2,000 resamples), then the per-type accuracies.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402
from probe_h2h import subset  # noqa: E402

SUITES = ("mvbench", "videomme", "mlvu", "lvbench")


def main() -> None:
    """Run the probe (arguments: see the module docstring)."""
    from gdo.models import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("world", type=Path)
    ap.add_argument("pool", type=Path)
    ap.add_argument("base", type=Path)
    ap.add_argument("run")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = L.compose(["model=tiny_qwen2vl"])
    vlm = load_model(cfg.model, a.base)
    suites = {}
    for kind in SUITES:
        b = L.bench_samples(L.bench_rows(a.world, kind), kind)
        L.attach_frames(vlm, b, f"bench-{kind}")
        suites[kind] = b
    before = {k: L.hits(vlm, v) for k, v in suites.items()}
    pool = L.pool_rows(a.world, a.pool)
    rows = subset(pool, a.run, a.seed)
    train = L.to_samples(rows)
    L.attach_frames(vlm, train, "pool-" + a.world.name)
    print("subset waste:", rows.waste.value_counts().to_dict(), flush=True)
    n = int(round(a.epochs * len(train)))
    L.train(vlm, train, n, lr=a.lr, batch=a.batch, seed=a.seed, eval_at=[n])
    rng = np.random.default_rng(0)
    out = {}
    for kind, b in suites.items():
        after = L.hits(vlm, b)
        d = after.astype(float) - before[kind]
        boots = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(2000)]
        lo, hi = np.percentile(boots, [2.5, 97.5])
        types = sorted({s["qtype"] for s in b})
        per = {
            t: (
                round(float(before[kind][[s["qtype"] == t for s in b]].mean()), 3),
                round(float(after[[s["qtype"] == t for s in b]].mean()), 3),
            )
            for t in types
        }
        out[kind] = {
            "n": len(b),
            "base": round(float(before[kind].mean()), 3),
            "tuned": round(float(after.mean()), 3),
            "delta_pp": round(100 * float(d.mean()), 1),
            "ci95_pp": [round(100 * lo, 1), round(100 * hi, 1)],
            "per_type": per,
        }
        print(kind, json.dumps(out[kind]), flush=True)


if __name__ == "__main__":
    main()
