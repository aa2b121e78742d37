"""``gdo describe``: per-sample descriptors, batched, sharded by rank, resumable.

Each rank takes the candidates with ``shard_of(uid, world_size) == rank``, sorts them
by media kind and length (batches pad little), and appends one JSONL row per
candidate to its own shard, flushed and fsynced per batch; a restart skips the uids
already written. A candidate that fails (unreadable media, SampleTooLong, ...) gets
a ``status: failed`` row with the reason and NaN descriptors; the run never stops
for it. ``gdo describe merge`` (:mod:`gdo.descriptors.merge`) joins the shards. With
``descriptors.prefetch`` (default 1) a background thread prepares the next batch's media
(decode, optical flow; with ``descriptors.prefetch_inputs`` the model inputs too) while
the model runs on the current one; the rows are the same.

    gdo describe                                   # one process
    torchrun --nproc_per_node 2 -m gdo describe    # ranks from RANK / WORLD_SIZE
    gdo describe descriptors.shard.rank=3 descriptors.shard.world_size=8   # SLURM array
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.descriptors.base import BatchContext
from gdo.descriptors.merge import merge  # noqa: F401  (`gdo describe merge` resolves it here)
from gdo.descriptors.registry import Item, build
from gdo.descriptors.shards import open_shard, shard_of, shard_path
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.io import append_jsonl
from gdo.utils.manifest import content_hash, read_manifest, to_plain
from gdo.utils.progress import progress
from gdo.utils.stage import stage_dir, work_dir

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


def pool_path(cfg: Any) -> Path:
    """``<work_dir>/pool/pool.parquet``, or a clear error naming the command to run."""
    path = work_dir(cfg) / "pool" / "pool.parquet"
    if not path.exists():
        raise InputError(str(path), reason="no candidate table; run `gdo pool` first")
    return path


def model_dir(cfg: Any) -> str:
    """The model to describe with: descriptors.model_path, model.path, else the world base."""
    path = cfg.descriptors.model_path or cfg.model.path
    if path:
        return str(path)
    base = work_dir(cfg) / "base_model"
    if not base.exists():
        raise InputError(
            str(base),
            reason="no base model: run `gdo pretrain` first (or set model.path to a model "
            "folder or hub id)",
        )
    return str(base)


def model_identity(path: str) -> Any:
    """What identifies the model's weights without hashing gigabytes."""
    p = Path(path)
    if not p.exists():
        return path  # a hub id: the name is the identity
    m = read_manifest(p)
    if m and m.get("key"):
        return {"path": str(p.resolve()), "key": m["key"]}
    files = sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin"))
    return {
        "path": str(p.resolve()),
        "files": [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files],
    }


def sample_key(cfg: Any, items: list[Item], needs_model: bool) -> str:
    """Hash of what changes per-sample values: descriptors, model, pool, seed."""
    pool_manifest = read_manifest(work_dir(cfg) / "pool") or {}
    return content_hash(
        {
            "descriptors": [
                (it.name, it.enabled, it.descriptor.sample_config_key())
                for it in items
                if it.descriptor.sample_columns
            ],
            "max_frames": cfg.descriptors.max_frames,
            "model": model_identity(model_dir(cfg)) if needs_model else None,
            "model_cfg": to_plain(cfg.model) if needs_model else None,
            "pool": pool_manifest.get("key") or str(pool_path(cfg)),
            "seed": cfg.seed,
        }
    )


def sort_for_padding(pool: pd.DataFrame) -> pd.DataFrame:
    """Order rows so a batch holds one media kind and similar lengths (little padding).

    The uid breaks ties, so the order and hence the batches are reproducible.
    """
    length = pool["question"].str.len().fillna(0) + pool["answer"].str.len().fillna(0)
    keyed = pool.assign(_n=pool.get("n_frames", 0), _len=length)
    return keyed.sort_values(["media_kind", "_n", "_len", "uid"], kind="stable").drop(
        columns=["_n", "_len"]
    )


def batches(df: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """Consecutive chunks of ``size`` rows."""
    for start in range(0, len(df), size):
        yield df.iloc[start : start + size]


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A candidate row with parquet's list columns (numpy arrays) as plain lists."""
    return {k: v.tolist() if isinstance(v, np.ndarray | np.generic) else v for k, v in row.items()}


def describe_batch(
    rows: list[dict[str, Any]],
    items: list[Item],
    model: Any,
    seed: int,
    max_frames: int,
    ctx: BatchContext | None = None,
) -> list[dict[str, Any]]:
    """Every enabled sample-level descriptor on one batch -> one output row per input row.

    The model's passes over the batch share each sample's encoding (``reuse_encodings``):
    the visual loss and the SC generation prompt are processed once. ``ctx`` is the
    batch's context when its media work was done ahead (:func:`describe_batches`).
    """
    if ctx is None:
        ctx = BatchContext(rows, model, seed=seed, max_frames=max_frames)
    values: dict[str, list[float]] = {}
    reuse = getattr(model, "reuse_encodings", None)
    made = {"made": ctx.encodings} if ctx.encodings else {}
    with reuse(**made) if callable(reuse) else contextlib.nullcontext():
        for it in items:
            cols = it.descriptor.sample_columns
            if not cols:
                continue
            if not it.enabled:
                values.update({c: [math.nan] * len(rows) for c in cols})
                continue
            got = it.descriptor.describe(ctx)
            for c in cols:
                values[c] = list(got.get(c, [math.nan] * len(rows)))
    out = []
    for i, row in enumerate(rows):
        failed = i in ctx.failed
        rec: dict[str, Any] = {"uid": row["uid"], "status": "failed" if failed else "ok"}
        rec["error"] = ctx.failed.get(i, "")
        for c, col in values.items():
            rec[c] = math.nan if failed else float(col[i])
        out.append(rec)
    return out


def describe_batches(
    batches: Iterable[list[dict[str, Any]]],
    items: list[Item],
    model: Any,
    seed: int,
    max_frames: int,
    prefetch: int = 0,
    num_threads: int = 1,
    prefetch_inputs: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """:func:`describe_batch` over consecutive batches, yielded in order.

    With ``prefetch > 0`` a background thread does the media work of the next
    ``prefetch`` batches (decode, optical flow, the model's frames:
    ``BatchContext.prepare``) while the model runs on the current one, as a DataLoader's
    workers would on a GPU run. With ``prefetch_inputs`` it then encodes their model
    inputs too (``prepare_encodings``: prompts, pixel patches, M-RoPE positions); inputs it
    has not started when their batch is due are made by the model's calls instead. decord
    and OpenCV release the GIL while they decode and compute flow, so the two overlap
    where a core is free (on tiny clips the Python-level parts still contend
    for the GIL; experiments/benchmarks/describe.md has the measurements). The rows are
    the same as with ``prefetch = 0`` (prepared values and per-sample errors
    are handed out when the descriptors ask, in their order). A batch is only prepared,
    never written, ahead: the caller's append / fsync / resume are unchanged.
    """
    if prefetch <= 0:
        for rows in batches:
            yield describe_batch(rows, items, model, seed, max_frames)
        return

    def prepare(rows: list[dict[str, Any]]) -> BatchContext:
        ctx = BatchContext(rows, model, seed=seed, max_frames=max_frames)
        return ctx.prepare(items, encode=False)

    def encode(ready: Future[BatchContext]) -> None:
        ready.result().prepare_encodings()

    import torch

    pending: deque[tuple[list[dict[str, Any]], Future[BatchContext], Future[None] | None]]
    pending = deque()
    source = iter(batches)
    # torch's thread count is per thread: the worker gets the runner's too.
    pool = ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="describe-prefetch",
        initializer=torch.set_num_threads,
        initargs=(int(num_threads),),
    )
    try:
        while True:
            while len(pending) <= prefetch:
                rows = next(source, None)
                if rows is None:
                    break
                ready = pool.submit(prepare, rows)
                encoded = pool.submit(encode, ready) if prefetch_inputs else None
                pending.append((rows, ready, encoded))
            if not pending:
                return
            rows, ready, encoded = pending.popleft()
            # The model inputs are the thread's second task of a batch. Where it has not
            # started them (it is behind), the model's own calls encode the batch rather
            # than wait: the work goes to whichever thread is free.
            if encoded is not None and not encoded.cancel():
                encoded.result()
            yield describe_batch(rows, items, model, seed, max_frames, ctx=ready.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
    items = build(cfg.descriptors["items"])
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    pool = pd.read_parquet(pool_path(cfg))
    key = sample_key(cfg, items, needs_model)
    mine = pool[[shard_of(u, world) == rank for u in pool["uid"]]]
    if cfg.descriptors.sort_by_length:
        mine = sort_for_padding(mine)
    out_dir = stage_dir(cfg, "descriptors")
    path = shard_path(out_dir, rank, world)
    header = {"key": key, "rank": rank, "world_size": world}
    fh, done = open_shard(path, header)
    todo = int((~mine["uid"].isin(done)).sum())
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
    work = [c for c in batches(mine, size) if (~c["uid"].isin(done)).any()]
    n_failed, t0 = 0, time.perf_counter()
    described = None
    try:
        if work and model is None and needs_model:
            model = load_describe_model(cfg)
        bar = progress(total=todo, desc=f"describe {rank}/{world}", unit="sample")
        described = describe_batches(
            ([plain_row(r) for r in c[fields].to_dict("records")] for c in work),
            items,
            model,
            int(cfg.seed),
            int(cfg.descriptors.max_frames),
            prefetch=int(cfg.descriptors.prefetch),
            num_threads=int(cfg.descriptors.num_threads),
            prefetch_inputs=prefetch_inputs(cfg, model),
        )
        for chunk, out in zip(work, described, strict=True):
            missing = ~chunk["uid"].isin(done)
            new = [r for r, m in zip(out, missing.to_numpy()) if m]
            append_jsonl(fh, new, fsync=bool(cfg.descriptors.fsync))
            n_failed += sum(r["status"] == "failed" for r in new)
            done.update(r["uid"] for r in new)
            bar.update(len(new))
        bar.close()
    finally:
        if described is not None:
            described.close()  # stops the prefetch thread (after its current batch)
        fh.close()
    dt = time.perf_counter() - t0
    log.info(
        "describe rank %d/%d: %d new rows (%d failed) in %.1fs (%.1f samples/s) -> %s",
        rank,
        world,
        todo,
        n_failed,
        dt,
        todo / dt if dt > 0 else 0.0,
        path,
    )
    return path
