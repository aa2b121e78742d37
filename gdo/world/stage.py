"""``gdo world``: generate the embedded synthetic world into ``paths.world_dir``.

The world is built in a sibling temp folder and moved into place at the end, so a
crash never leaves half a world and a regenerated world has no stale files; the temp
folder of a run killed with SIGKILL is removed by the next run. The stage
is skipped when the manifest key (``content_hash(cfg.world)``) matches.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gdo.utils.errors import ConfigError
from gdo.utils.io import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    remove_stale_temp_dirs,
    temp_dir_for,
)
from gdo.utils.manifest import MANIFEST, content_hash, is_fresh, to_plain, write_manifest
from gdo.utils.stage import world_dir
from gdo.utils.typed import typed
from gdo.world.benchmarks import build_benchmarks
from gdo.world.config import WorldConf
from gdo.world.media_io import verify_videos
from gdo.world.pool_writer import build_pool
from gdo.world.pretrain import build_pretrain
from gdo.world.vocab import vocabulary

log = logging.getLogger(__name__)
TRUTH_COLUMNS = [
    "uid",
    "sample_id",
    "turn",
    "qtype",
    "temporal",
    "waste",
    "true_answer",
    "bucket",
    "source",
]


def to_world_conf(node: Any) -> WorldConf:
    """A ``WorldConf`` from the composed ``cfg.world`` node (or a WorldConf as is)."""
    return typed(node, WorldConf, "world")


def world_key(cfg: Any) -> str:
    """The manifest key of the world: a content hash of the world config, less the custom
    set's (``gdo world custom`` writes that set under its own key; changing it must not
    make the world stale)."""
    plain = dict(to_plain(cfg.world))
    plain.pop("custom_set", None)
    return content_hash(plain)


def run(cfg: Any) -> Path:
    """Generate the world (pool, pretrain split, benchmarks, truth) unless it is fresh."""
    out = world_dir(cfg)
    key = world_key(cfg)
    remove_stale_temp_dirs(out)  # left by a run killed with SIGKILL
    if is_fresh(out, key):
        log.info("world %s is fresh (key %s): skipped", out, key)
        return out
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise ConfigError(
            f"paths.world_dir={out} exists and is not a gdo world (no "
            f"{MANIFEST}); refusing to replace it"
        )
    wcfg = to_world_conf(cfg.world)
    tmp = temp_dir_for(out)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        counts = generate(wcfg, tmp)
        write_manifest(tmp, stage="world", key=key, config=cfg.world, counts=counts, seed=wcfg.seed)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("world written to %s: %s candidates", out, counts["candidates"])
    return out


def generate(cfg: WorldConf, out: Path) -> dict[str, Any]:
    """Write every world artifact under ``out`` (no manifest); return the counts."""
    t0 = time.time()
    media = out / "media"
    pool = build_pool(cfg, media)
    for rel, records in pool.files.items():
        atomic_write_json(out / rel, records, indent=None)
    atomic_write_text(out / "pool" / "mixture.yaml", yaml.safe_dump(pool.mixture, sort_keys=False))
    counts: Counter = pool.counts
    records, pre_hashes, pre_videos = build_pretrain(cfg, media, counts)
    atomic_write_json(out / "pretrain" / "perception.json", records, indent=None)
    forbidden = set(pool.clip_hashes) | pre_hashes
    _, bench_truth, bench_videos = build_benchmarks(cfg, out, forbidden, counts)
    truth = pd.DataFrame(pool.truth)
    extra = [c for c in truth.columns if c not in TRUTH_COLUMNS]
    atomic_write_parquet(out / "truth.parquet", truth[TRUTH_COLUMNS + extra])
    atomic_write_parquet(out / "benchmarks" / "truth.parquet", pd.DataFrame(bench_truth))
    atomic_write_json(out / "vocabulary.json", vocabulary(cfg))
    videos = pool.videos + pre_videos + bench_videos
    counts["videos_verified"] = verify_videos(_sample(videos, cfg.verify_videos, cfg.seed))
    counts["seconds"] = round(time.time() - t0, 1)
    return _nest(counts, truth)


def _sample(videos: list[tuple[Path, int]], n: int, seed: int) -> list[tuple[Path, int]]:
    """``n`` videos to decode again (all when ``n < 0``)."""
    if n < 0 or n >= len(videos):
        return list(videos)
    idx = np.random.default_rng([seed, 99]).choice(len(videos), size=n, replace=False)
    return [videos[i] for i in sorted(idx)]


def _nest(counts: Counter, truth: pd.DataFrame) -> dict[str, Any]:
    """Flat ``group:value`` counters -> ``{group: {value: n}}`` for the manifest."""
    out: dict[str, Any] = {}
    for k, v in sorted(counts.items()):
        if ":" in k:
            group, val = k.split(":", 1)
            out.setdefault(f"by_{group}", {})[val] = int(v)
        else:
            out[k] = v if isinstance(v, float) else int(v)
    out["candidates"] = len(truth)
    out["temporal_share"] = round(float(truth["temporal"].mean()), 4) if len(truth) else 0.0
    return out
