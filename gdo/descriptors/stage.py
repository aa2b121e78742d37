"""``gdo describe``: per-sample descriptors, batched, sharded by clip, resumable.

Each rank reads its rows of ``pool.parquet`` (only the columns describe uses; rows whose
clip, :func:`~gdo.descriptors.clips.shard_key`, hashes to the rank, so a clip's QA turns
stay together), sorts them by media kind and length (batches pad little), and appends one
JSONL row per candidate to its own shard in ``descriptors/shards/<key>/`` (a changed
config writes a new folder), flushed and fsynced per batch; a restart skips the uids
already written. A candidate that fails (unreadable media, SampleTooLong, ...) gets a
``status: failed`` row with the reason and NaN descriptors; the run never stops for it.
Media work (decode, optical flow, RGB statistics, the model's frames) is done once per
clip by ``descriptors.workers`` DataLoader processes while the model runs
(:mod:`gdo.descriptors.runner`). ``gdo describe merge`` (:mod:`gdo.descriptors.merge`)
joins the shards.

    gdo describe                                   # one process
    torchrun --nproc_per_node 2 -m gdo describe    # ranks from RANK / WORLD_SIZE
    gdo describe descriptors.shard.rank=3 descriptors.shard.world_size=8   # SLURM array
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import FAILED, STATUS
from gdo.descriptors.clips import frames_window, media_keys
from gdo.descriptors.keys import model_dir, pool_path, sample_key
from gdo.descriptors.reader import read_rank
from gdo.descriptors.registry import build

# The loop lives in runner.py; tests and benchmarks import it from here too.
from gdo.descriptors.runner import describe_batch, describe_batches  # noqa: F401
from gdo.descriptors.shards import open_shard, shard_dir, shard_path
from gdo.utils.errors import ConfigError
from gdo.utils.io import append_jsonl
from gdo.utils.progress import progress
from gdo.utils.stage import stage_dir

log = logging.getLogger(__name__)

POOL_FIELDS = (
    "uid",
    "question",
    "answer",
    "media_kind",
    "media",
    "n_frames",
    "options",
    "answer_letter",
)


def shard_spec(cfg: Any) -> tuple[int, int]:
    """(rank, world_size): explicit ``descriptors.shard`` first, else torchrun's env."""
    sh = cfg.descriptors.shard
    world = sh.world_size if sh.world_size is not None else int(os.environ.get("WORLD_SIZE", "1"))
    rank = sh.rank if sh.rank is not None else int(os.environ.get("RANK", "0"))
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(
            f"descriptors.shard: rank {rank} of world_size {world}: expected 0 <= rank < world_size"
        )
    return int(rank), int(world)


def sort_for_padding(pool: pd.DataFrame) -> pd.DataFrame:
    """Order rows so a batch holds one media kind and similar lengths (little padding).

    The uid breaks ties, so the order and hence the batches are reproducible.
    """
    length = pool["question"].str.len().fillna(0) + pool["answer"].str.len().fillna(0)
    keyed = pool.assign(_n=pool.get("n_frames", 0), _len=length)
    return keyed.sort_values(["media_kind", "_n", "_len", "uid"], kind="stable").drop(
        columns=["_n", "_len"]
    )


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A candidate row with parquet's list columns (numpy arrays) as plain lists."""
    return {k: v.tolist() if isinstance(v, np.ndarray | np.generic) else v for k, v in row.items()}


def prefetch_inputs(cfg: Any, model: Any) -> bool:
    """``descriptors.prefetch_inputs``; null (auto): on for a model on an accelerator, off
    on CPU, where the encoding contends with the model's passes for the GIL (slower at
    batch 32; experiments/benchmarks/describe.md)."""
    chosen = cfg.descriptors.get("prefetch_inputs")
    if chosen is not None:
        return bool(chosen)
    device = getattr(model, "device", None)
    return getattr(device, "type", "cpu") != "cpu"


def load_describe_model(cfg: Any) -> Any:
    """Load the VLM named by :func:`model_dir` through ``gdo.models.load_model``, on
    ``model.device`` (``gdo.models.device``: cuda:$LOCAL_RANK when CUDA is available)."""
    from gdo.models import load_model
    from gdo.models.device import resolve_device

    return load_model(cfg.model, model_dir(cfg), device=resolve_device(cfg.model.device))


def run(cfg: Any, model: Any = None) -> Path:
    """Describe this rank's shard of the pool; returns the shard file.

    ``model`` lets tests and benchmarks pass a loaded VLM; otherwise it is loaded
    only if a model descriptor has work left to do.
    """
    import torch

    torch.set_num_threads(int(cfg.descriptors.num_threads))
    rank, world = shard_spec(cfg)
    items = build(cfg.descriptors.specs)
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    pool = pool_path(cfg)  # first: a missing pool is the first thing to say
    key = sample_key(cfg, items, needs_model)
    mine = read_rank(pool, rank, world, POOL_FIELDS)
    if cfg.descriptors.sort_by_length:
        mine = sort_for_padding(mine)
    path = shard_path(shard_dir(stage_dir(cfg, "descriptors"), key), rank, world)
    header = {"key": key, "rank": rank, "world_size": world}
    fh, done = open_shard(path, header)
    # One membership test for all rows: `isin` on a set converts the set each call, so a
    # test per batch costs O(batches x done) (~100 s to skip a finished 29k-row shard).
    pending = ~mine["uid"].isin(done).to_numpy()
    todo = int(pending.sum())
    log.info(
        "describe rank %d/%d: %d candidates, %d already done",
        rank,
        world,
        len(mine),
        len(mine) - todo,
    )
    fields = [c for c in POOL_FIELDS if c in mine.columns]
    # Batches with something left to do; a batch is recomputed whole even if a kill left
    # it half written, so its composition (and padding) is that of an uninterrupted run.
    size = int(cfg.descriptors.batch_size)
    starts = [i for i in range(0, len(mine), size) if pending[i : i + size].any()]
    work = [mine.iloc[i : i + size] for i in starts]
    n_failed, t0 = 0, time.perf_counter()
    stats: dict[str, float] = {}
    described = None
    try:
        if work and model is None and needs_model:
            model = load_describe_model(cfg)
        bar = progress(total=todo, desc=f"describe {rank}/{world}", unit="sample")
        dc = cfg.descriptors
        described = describe_batches(
            ([plain_row(r) for r in c[fields].to_dict("records")] for c in work),
            items,
            model,
            int(cfg.seed),
            int(dc.max_frames),
            prefetch=int(dc.prefetch),
            num_threads=int(dc.num_threads),
            prefetch_inputs=prefetch_inputs(cfg, model),
            workers=int(dc.workers),
            keys=[media_keys(c) for c in work],
            window=frames_window(
                float(dc.clip_cache_mb),
                size,
                getattr(model, "frames", None),
                getattr(model, "max_pixels", None),
            ),
            start=dc.worker_start,
            stats=stats,
        )
        for start, out in zip(starts, described, strict=True):
            new = [r for r, m in zip(out, pending[start : start + size]) if m]
            append_jsonl(fh, new, fsync=bool(cfg.descriptors.fsync))
            n_failed += sum(r[STATUS] == FAILED for r in new)
            bar.update(len(new))
        bar.close()
    finally:
        if described is not None:
            described.close()  # stops the media workers and the encoding thread
        fh.close()
    dt = time.perf_counter() - t0
    log.info(
        "describe rank %d/%d: %d new rows (%d failed) in %.1fs (%.1f samples/s) -> %s; "
        "media work for %d clips (%d model-frame loads, %.1f s in %d workers)",
        rank,
        world,
        todo,
        n_failed,
        dt,
        todo / dt if dt > 0 else 0.0,
        path,
        stats.get("clips", 0),
        stats.get("frame_loads", 0),
        stats.get("media_s", 0.0),
        int(cfg.descriptors.workers),
    )
    return path
