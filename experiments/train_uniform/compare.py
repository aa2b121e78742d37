"""Base model vs fine-tuned checkpoints on the world benchmarks (paired, with CIs).

    python experiments/train_uniform/compare.py outputs/train_uniform uniform

Reads ``<work_dir>/eval/base/ckpt-0/`` and ``<work_dir>/eval/<run>/ckpt-*/`` (written by
``gdo evaluate``) and prints a Markdown table: each benchmark's headline accuracy (its own
aggregation rule, from ``<benchmark>.summary.json``) per checkpoint, and the paired
difference of per-question correctness (final checkpoint - base, micro) with a 95%
bootstrap interval over questions (2000 resamples, seed 0); a last row pools every
question of the four suites (micro accuracy).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = ("mvbench", "videomme", "mlvu", "lvbench")


def correct(path: Path) -> dict[str, bool]:
    """qid -> correct for one ``<benchmark>.jsonl``."""
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return {r["qid"]: bool(r["correct"]) for r in rows}


def paired_delta(base: dict[str, bool], other: dict[str, bool], seed: int = 0) -> tuple:
    """(delta pp, lo, hi): mean(other - base) over shared questions, bootstrap 95% CI."""
    qids = sorted(set(base) & set(other))
    d = np.array([float(other[q]) - float(base[q]) for q in qids])
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), size=(2000, len(d)))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return 100 * d.mean(), 100 * lo, 100 * hi, len(d)


def main(work_dir: str, run: str = "uniform") -> int:
    """Print the table for ``run`` against the base model."""
    ev = Path(work_dir) / "eval"
    ckpts = sorted((ev / run).glob("ckpt-*"), key=lambda p: int(p.name.split("-")[1]))
    cols = [ev / "base" / "ckpt-0", *ckpts]
    head = " | ".join(f"{c.name} ({'base' if c.parent.name == 'base' else run})" for c in cols)
    print(f"| benchmark (n) | {head} | final - base, micro pp [95% CI] |")
    print("|---" * (len(cols) + 2) + "|")
    pooled: list[dict[str, bool]] = [{} for _ in cols]
    for b in BENCHMARKS:
        accs = [json.loads((c / f"{b}.summary.json").read_text())["overall"] for c in cols]
        per = [correct(c / f"{b}.jsonl") for c in cols]
        delta, lo, hi, n = paired_delta(per[0], per[-1])
        cells = " | ".join(f"{a:.1f}" for a in accs)
        print(f"| {b} ({n}) | {cells} | {delta:+.1f} [{lo:+.1f}, {hi:+.1f}] |")
        for into, got in zip(pooled, per, strict=True):
            into.update({f"{b}/{q}": ok for q, ok in got.items()})
    # Every question of the four suites together (micro), the paired test with most power.
    accs = [100 * float(np.mean(list(p.values()))) for p in pooled]
    delta, lo, hi, n = paired_delta(pooled[0], pooled[-1])
    cells = " | ".join(f"{a:.1f}" for a in accs)
    print(f"| all four, micro ({n}) | {cells} | {delta:+.1f} [{lo:+.1f}, {hi:+.1f}] |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
