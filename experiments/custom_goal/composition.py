"""How many of each subset's candidates ask the custom set's skill (world ground truth).

python experiments/custom_goal/composition.py WORK_DIR WORLD_DIR [--qtype appearance_order]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    """Print the skill's share and the waste share of the pool and of each goal's subset."""
    p = argparse.ArgumentParser()
    p.add_argument("work_dir", type=Path)
    p.add_argument("world_dir", type=Path)
    p.add_argument("--qtype", default="appearance_order")
    p.add_argument("--goals", nargs="+", default=["target_custom", "temp_plus", "uniform"])
    args = p.parse_args(argv)
    truth = pd.read_parquet(args.world_dir / "truth.parquet", columns=["uid", "qtype", "waste"])
    print(f"| set | candidates | {args.qtype} | share | waste share |\n|---|---|---|---|---|")
    sets = {"pool": args.work_dir / "pool" / "pool.parquet"}
    sets.update({g: args.work_dir / "subsets" / g / "subset.parquet" for g in args.goals})
    for name, path in sets.items():
        df = pd.read_parquet(path, columns=["uid"]).merge(truth, on="uid")
        hit = df["qtype"] == args.qtype
        print(
            f"| {name} | {len(df)} | {int(hit.sum())} | {hit.mean():.3f} | "
            f"{(df['waste'] != 'none').mean():.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
