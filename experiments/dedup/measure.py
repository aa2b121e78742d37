"""Near-duplicate removal against the world's truth: what the pool step removed, what
every subset still holds.

    python experiments/dedup/measure.py outputs/acc [--world outputs/world/demo] [--base outputs/acc_nodd]

Reads ``<work_dir>/pool/near_duplicates.parquet`` (what ``pool.near_dup`` removed),
``<work_dir>/pool/pool.parquet`` and ``<work_dir>/subsets/*/subset.parquet``, joins them with
``<world>/truth.parquet`` (``waste == duplicate`` marks the later copies the world wrote)
and prints Markdown tables: precision of the removals (share that the truth calls
duplicates) by reason, the duplicate rate of the pool, and of each subset; ``--base``
adds the same rates of a run without near-duplicate removal.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def subset_rates(work: Path, truth: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """goal -> (duplicates, rows) of every subset of ``work``."""
    out = {}
    for path in sorted(work.glob("subsets/*/subset.parquet")):
        s = pd.read_parquet(path, columns=["uid"]).merge(truth, on="uid", how="left")
        out[path.parent.name] = (int((s["waste"] == "duplicate").sum()), len(s))
    return out


def pixel_diff(world: Path, clip_a: str, clip_b: str) -> float:
    """Mean absolute pixel difference (0-255) of two world clips' 4 sampled frames."""
    import numpy as np

    from gdo.media import load_media

    frames = []
    for clip in (clip_a, clip_b):
        path = next((world / "media").rglob(f"{clip}.*"))
        kind = "image" if path.suffix == ".png" else "video"
        frames.append(load_media(kind, [str(path)], n_frames=4).astype(np.int16))
    if frames[0].shape != frames[1].shape:
        return float("inf")
    return float(np.abs(frames[0] - frames[1]).mean())


def pct(k: int, n: int) -> str:
    return f"{k} / {n} ({100 * k / n:.2f}%)" if n else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work_dir")
    ap.add_argument("--world", default="outputs/world/demo")
    ap.add_argument("--base", help="the same run without near-duplicate removal")
    args = ap.parse_args()
    work = Path(args.work_dir)
    truth = pd.read_parquet(Path(args.world) / "truth.parquet")[["uid", "waste", "clip_id"]]
    removed = pd.read_parquet(work / "pool" / "near_duplicates.parquet").merge(
        truth, on="uid", how="left"
    )
    kept = truth.rename(columns={"uid": "kept_uid", "clip_id": "kept_clip"})[
        ["kept_uid", "kept_clip"]
    ]
    removed = removed.merge(kept, on="kept_uid", how="left")
    print("| removed by | rows | truth: duplicate | precision | same world clip as the kept row |")
    print("|---|---|---|---|---|")
    for reason, g in [*removed.groupby("reason"), ("all", removed)]:
        dup = int((g["waste"] == "duplicate").sum())
        same = int((g["clip_id"] == g["kept_clip"]).sum())
        print(f"| {reason} | {len(g)} | {dup} | {dup / len(g):.3f} | {same} |")
    media = removed[removed["reason"] == "near_duplicate_media"]
    if len(media):
        diffs = [
            pixel_diff(Path(args.world), a, b) for a, b in zip(media["clip_id"], media["kept_clip"])
        ]
        same = sum(d == 0 for d in diffs)
        print(
            f"\nnear_duplicate_media: {same} of {len(media)} removed rows sit on a clip whose "
            f"4 sampled frames are pixel-identical to the kept row's (mean abs differences: "
            f"{sorted(round(d, 2) for d in diffs)})"
        )
    conflicts = removed[removed["conflict"]]
    print(
        f"\nconflicting answers among the removed: {len(conflicts)} "
        f"(truth of the removed row: {conflicts['waste'].value_counts().to_dict()})\n"
    )
    pool = pd.read_parquet(work / "pool" / "pool.parquet", columns=["uid"]).merge(truth, on="uid")
    rates = subset_rates(work, truth)
    base_rates = subset_rates(Path(args.base), truth) if args.base else {}
    head = "| table | duplicates (truth) |" + (" without removal |" if args.base else "")
    print(head)
    print("|---|---|" + ("---|" if args.base else ""))
    base_pool = ""
    if args.base:
        bp = pd.read_parquet(Path(args.base) / "pool" / "pool.parquet", columns=["uid"])
        bp = bp.merge(truth, on="uid")
        base_pool = f" {pct(int((bp['waste'] == 'duplicate').sum()), len(bp))} |"
    print(f"| pool | {pct(int((pool['waste'] == 'duplicate').sum()), len(pool))} |{base_pool}")
    for goal, (k, n) in rates.items():
        extra = f" {pct(*base_rates[goal])} |" if goal in base_rates else ""
        print(f"| subset {goal} | {pct(k, n)} |{extra}")


if __name__ == "__main__":
    main()
