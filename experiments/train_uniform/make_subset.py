"""A uniform random subset of the pool (the Uni baseline without the select stage).

    python experiments/train_uniform/make_subset.py outputs/train_uniform 2000 [seed]

Reads ``<work_dir>/pool/pool.parquet`` (already deduplicated and capped by ``gdo pool``)
and writes ``<work_dir>/subsets/uniform_2k/subset.parquet`` (``uniform_2k_s<seed>`` for a
seed other than 0): ``n`` rows drawn uniformly without replacement. ``gdo select
goal=uniform`` does the same with the select stage's bookkeeping, but needs the describe
and score stages first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(work_dir: str, n: str = "2000", seed: str = "0") -> int:
    """Write the subset and print its bucket counts."""
    pool = pd.read_parquet(Path(work_dir) / "pool" / "pool.parquet")
    subset = pool.sample(n=int(n), random_state=int(seed)).reset_index(drop=True)
    out = Path(work_dir) / "subsets" / ("uniform_2k" if seed == "0" else f"uniform_2k_s{seed}")
    out.mkdir(parents=True, exist_ok=True)
    subset.to_parquet(out / "subset.parquet", index=False)
    print(f"{len(subset)} of {len(pool)} rows -> {out / 'subset.parquet'}")
    print(subset["bucket"].value_counts().to_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
