"""How many clean temporal questions a world's pool holds, over many world seeds, in seconds.

    python experiments/calibration/clean_counts.py 100-159 [--world demo] [--truth PATH]

How much the uniform draw (Uni-10x) learns follows this count steeply (experiments/demo,
"Off this seed and off this machine"), so its spread over world seeds says how far a seed
nobody has run can move the baseline. The pool writer is run as ``gdo world`` runs it, with
rendering and the media writers replaced by stubs: they draw nothing from the world's random
generator, so the truth table (every question, its type and its waste) is the one a real
run writes. ``--truth`` checks that on a world already generated (its ``truth.parquet``,
with the same world and a single seed): the script exits 1 if any question differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd

import gdo.config  # noqa: F401  (registers the root config schema with Hydra)
import gdo.world.pool_writer as writer
from gdo.pipeline import compose_root
from gdo.world.stage import to_world_conf

KEY = ["uid", "qtype", "waste", "temporal"]


def _seeds(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def truth_without_media(world: str, seed: int) -> pd.DataFrame:
    """The pool's truth table of ``world=<world> world.seed=<seed>``, nothing rendered."""
    hashes = iter(range(1 << 62))
    cfg = compose_root([f"world={world}", f"world.seed={seed}"])
    with patch.multiple(
        writer,
        render=lambda clip, scene: np.zeros((1, 1, 1, 3), np.uint8),
        write_png=lambda path, image: path,
        write_video=lambda path, frames, duration, codec="mp4v": path,
        frames_hash=lambda frames: str(next(hashes)),
    ):
        out = writer.build_pool(to_world_conf(cfg.world), Path("/nonexistent"))
    return pd.DataFrame(out.truth).drop_duplicates("uid")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("seeds", help="world seeds: 100-159, or 0,11,23")
    p.add_argument("--world", default="demo")
    p.add_argument("--truth", type=Path, help="a generated world's truth.parquet to check against")
    a = p.parse_args()
    seeds = _seeds(a.seeds)
    if a.truth is not None and len(seeds) != 1:
        p.error("--truth checks one world seed")
    counts = []
    print("| world seed | questions | clean temporal | appearance order | state change |")
    print("|---|---|---|---|---|")
    for seed in seeds:
        t = truth_without_media(a.world, seed)
        clean = t[t["temporal"] & (t["waste"] == "none")]["qtype"].value_counts()
        counts.append(int(clean.sum()))
        print(
            f"| {seed} | {len(t):,} | {counts[-1]} | "
            f"{clean.get('appearance_order', 0)} | {clean.get('state_change', 0)} |",
            flush=True,
        )
    c = np.array(counts)
    if c.size > 1:
        print(
            f"\n{c.size} seeds: mean {c.mean():.1f}, sd {c.std(ddof=1):.1f}, min {c.min()}, "
            f"5th-95th percentile {np.percentile(c, 5):.0f}-{np.percentile(c, 95):.0f}, max {c.max()}"
        )
    if a.truth is not None:
        real = pd.read_parquet(a.truth).drop_duplicates("uid")[KEY]
        same = t[KEY].reset_index(drop=True).equals(real.reset_index(drop=True))
        print(f"\n{a.truth}: {'identical' if same else 'DIFFERENT'} ({len(real):,} questions)")
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
