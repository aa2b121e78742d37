"""``gdo describe merge``: join the shards, pool-level descriptors, robust z-scores.

Reads every ``shard-*.jsonl`` of the current config's folder
(``descriptors/shards/<key>/``; a file whose header key differs is stale and ignored,
counted; other configs' folders are counted and left alone), keeps one row per uid (an ``ok`` row wins over a
``failed`` one), checks that every pool uid is present, runs the pool-level
descriptors (coverage, goal relevance) and adds ``z_<col> = (x - median) /
(IQR / 1.349)`` for every descriptor column. Writes ``descriptors.parquet`` and a
manifest with the counts (ok, failed by reason, duplicates, stale shards).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import ERROR, FAILED, OK, STATUS, z
from gdo.descriptors.failures import reason_kind
from gdo.descriptors.keys import pool_path, sample_key
from gdo.descriptors.registry import Item, build
from gdo.descriptors.shards import read_shard, shard_dir
from gdo.utils.errors import GdoError
from gdo.utils.io import atomic_write_parquet
from gdo.utils.manifest import content_hash, is_fresh, to_plain, write_manifest
from gdo.utils.progress import progress
from gdo.utils.stage import stage_dir
from gdo.utils.stats import robust_z

log = logging.getLogger(__name__)

ARTIFACT = "descriptors.parquet"


class MergeError(GdoError):
    """The shards do not cover the pool (names how many and which uids are missing)."""


def read_shards(out_dir: Path, key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All rows of the shards written with ``key``, and counts about the files."""
    frames, counts = [], {"shard_files": 0, "stale_shard_files": 0, "truncated_lines": 0}
    for path in sorted(out_dir.glob("shard-*.jsonl")):
        content = read_shard(path)
        if (content.header or {}).get("key") != key:
            counts["stale_shard_files"] += 1
            log.warning("%s: written with another config/model (key mismatch), ignored", path)
            continue
        counts["shard_files"] += 1
        counts["truncated_lines"] += int(content.truncated)
        frames.append(pd.DataFrame(content.rows))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["uid"])
    return rows, counts


def dedup(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per uid, an ``ok`` row preferred; returns the rows and how many were dropped."""
    if rows.empty:
        return rows, 0
    order = (rows[STATUS] != OK).astype(int) if STATUS in rows else 0
    ranked = rows.assign(_bad=order).sort_values(["uid", "_bad"], kind="stable")
    kept = ranked.drop_duplicates("uid", keep="first").drop(columns="_bad")
    return kept, len(rows) - len(kept)


def merge_key(cfg: Any, sample_key: str, items: list[Item]) -> str:
    """The merged artifact's key: the shards' key plus the pool-level config."""
    return content_hash(
        sample_key,
        [(it.name, it.enabled, it.descriptor.config_key()) for it in items],
        to_plain(cfg.descriptors.no_zscore),
    )


def merge(cfg: Any) -> Path:
    """Join the shards into ``descriptors/descriptors.parquet`` (+ manifest); returns it."""
    items = build(cfg.descriptors.specs)
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    skey = sample_key(cfg, items, needs_model)
    out_dir = stage_dir(cfg, "descriptors")
    key = merge_key(cfg, skey, items)
    if (out_dir / ARTIFACT).exists() and is_fresh(out_dir, key):
        # Same shards (merge refuses partial ones) and same pool-level config.
        log.info("describe merge: %s is fresh (key %s)", out_dir / ARTIFACT, key)
        return out_dir / ARTIFACT
    pool = pd.read_parquet(pool_path(cfg))
    rows, counts = read_shards(shard_dir(out_dir, skey), skey)
    others = [p for p in (out_dir / "shards").glob("*") if p.is_dir() and p.name != skey]
    counts["other_config_folders"] = len(others)
    rows, n_dup = dedup(rows)
    in_pool = rows["uid"].isin(pool["uid"]) if len(rows) else pd.Series([], dtype=bool)
    n_extra = int((~in_pool).sum())
    rows = rows[in_pool]
    missing = pool.loc[~pool["uid"].isin(rows["uid"]), "uid"]
    if len(missing):
        raise MergeError(
            f"{shard_dir(out_dir, skey)}: {len(missing)} of {len(pool)} pool candidates have "
            f"no descriptor row (e.g. {', '.join(missing.head(5))}); run `gdo describe` again "
            "with the same config on every rank (it resumes where it stopped), then merge"
        )

    table = pool.merge(rows, on="uid", how="left", validate="one_to_one")
    sample_cols = [c for it in items for c in it.descriptor.sample_columns]
    for c in sample_cols:
        if c not in table:
            table[c] = np.nan
    pool_cols: list[str] = []
    for it in progress(items, desc="pool-level descriptors", unit="descriptor"):
        cols = it.descriptor.columns(table)[len(it.descriptor.sample_columns) :]
        if not cols:
            continue
        new = (
            it.descriptor.describe_pool(table, cfg)
            if it.enabled
            else pd.DataFrame(index=table.index)
        )
        for c in cols:
            table[c] = new[c].to_numpy() if c in new else np.nan
        pool_cols += cols

    skip = set(cfg.descriptors.no_zscore) | {c for it in items for c in it.descriptor.no_zscore}
    desc_cols = [c for c in dict.fromkeys(sample_cols + pool_cols)]
    zscores = {z(c): robust_z(table[c]) for c in desc_cols if c not in skip}
    out = pd.concat([table[["uid", *desc_cols]], pd.DataFrame(zscores, index=table.index)], axis=1)
    out[STATUS] = table[STATUS].fillna(FAILED).to_numpy()
    out[ERROR] = table[ERROR].fillna("").to_numpy()

    path = atomic_write_parquet(out_dir / ARTIFACT, out)
    failed = out[STATUS] != OK
    counts.update(
        {
            "n_pool": len(pool),
            "n_ok": int((~failed).sum()),
            "n_failed": int(failed.sum()),
            "failed_by_reason": dict(Counter(reason_kind(e) for e in out.loc[failed, ERROR])),
            "duplicates_dropped": n_dup,
            "rows_not_in_pool_dropped": n_extra,
        }
    )
    write_manifest(
        out_dir,
        stage="describe",
        key=key,
        config=cfg.descriptors,
        inputs={"pool": str(pool_path(cfg)), "shards_key": skey},
        counts=counts,
        seed=int(cfg.seed),
        extra={"columns": desc_cols, "zscored": sorted(zscores)},
    )
    log.info("describe merge: %s (%s)", path, counts)
    return path
