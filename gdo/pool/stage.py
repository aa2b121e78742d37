"""``gdo pool``: read the pool files of ``cfg.pool`` into ``<work_dir>/pool/pool.parquet``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from omegaconf import DictConfig

from gdo.pool.build import build_pool, file_entry
from gdo.pool.config import PoolConf
from gdo.pool.sampling import read_mixture
from gdo.pool.schema import write_candidates
from gdo.utils.io import atomic_write_parquet, atomic_write_with
from gdo.utils.manifest import content_hash, is_fresh, to_plain, write_manifest
from gdo.utils.stage import stage_dir
from gdo.utils.typed import typed

log = logging.getLogger("gdo.pool")
POOL_FILE = "pool.parquet"
NEAR_DUP_FILE = "near_duplicates.parquet"


def run(cfg: DictConfig) -> Path:
    """Build the candidate table (skipped when the manifest key matches, unless forced)."""
    pool = typed(cfg.pool, PoolConf, "pool")
    out = stage_dir(cfg, "pool")
    target = out / POOL_FILE
    inputs = input_keys(pool)
    # `force` and `workers` change how the table is made, never what it holds.
    what = {k: v for k, v in to_plain(pool).items() if k not in ("force", "workers")}
    key = content_hash(what, inputs, cfg.seed)
    forced = pool.force or "pool" in list(cfg.get("run", {}).get("force", []))
    if not forced and target.exists() and is_fresh(out, key):
        log.info("pool: fresh (key %s), skipping; %s", key, target)
        return target

    t0 = time.perf_counter()
    df, report = build_pool(pool, seed=int(cfg.seed))
    atomic_write_with(target, lambda tmp: write_candidates(tmp, df))
    if report.near_duplicates is not None:  # what near-duplicate removal took, and why
        atomic_write_parquet(out / NEAR_DUP_FILE, report.near_duplicates)
    else:
        (out / NEAR_DUP_FILE).unlink(missing_ok=True)
    counts = {
        "candidates": len(df),
        "by_bucket": _value_counts(df, "bucket"),
        "by_source": _value_counts(df, "source"),
        "by_media_kind": _value_counts(df, "media_kind"),
        "mcq": int(df["is_mcq"].sum()),
        "videos": int(df.loc[df["video_id"] != "", "video_id"].nunique()),
        "dropped": dict(sorted(report.dropped.items())),
        "skipped_files": dict(sorted(report.skipped_files.items())),
    }
    write_manifest(
        out,
        stage="pool",
        key=key,
        config=to_plain(pool),
        inputs=inputs,
        counts=counts,
        seed=int(cfg.seed),
        extra={"report": report.as_dict(), "seconds": round(time.perf_counter() - t0, 3)},
    )
    log.info("pool: %d candidates -> %s (dropped %s)", len(df), target, counts["dropped"])
    return target


def input_keys(pool: PoolConf) -> dict[str, str]:
    """``path -> size:mtime_ns`` of every pool file, mixture YAMLs and their entries too.

    Cheap on purpose (no hashing of multi-GB files); media files are not included.
    """
    keys: dict[str, str] = {}
    for i, entry in enumerate(pool.files):
        e = file_entry(entry, i)
        paths = [e.path]
        is_mixture = e.format == "mixture" or Path(e.path).suffix in (".yaml", ".yml")
        if is_mixture and os.path.isfile(e.path):
            paths += [m["path"] for m in read_mixture(e.path)]  # the mixture file's entries
        for p in paths:
            keys[os.path.abspath(p)] = _stat_key(p)
    return keys


def _stat_key(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _value_counts(df, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in df[column].value_counts().sort_index().items()}
