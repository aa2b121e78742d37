"""The describe loop: one batch after another, media work per clip in worker processes.

:func:`describe_batches` runs a rank's batches in order. The media work (decode, optical
flow, RGB statistics, the model's frames) is planned per clip
(:class:`~gdo.descriptors.clips.ClipPlan`: a clip's first batch computes its values and
decodes its frames, later batches reuse them) and done by ``descriptors.workers``
DataLoader processes (:mod:`gdo.descriptors.media_work`) while this process runs the
model's passes; :func:`describe_batch` turns one batch into its output rows. The rows are
the same whatever the number of workers, prefetch or window.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from gdo.columns import ERROR, FAILED, OK, STATUS
from gdo.descriptors.clips import ClipPlan, MediaKey, media_key
from gdo.descriptors.context import BatchContext
from gdo.descriptors.media_work import MediaDone, MediaJob, MediaSpec, media_loader
from gdo.descriptors.registry import Item


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
        rec: dict[str, Any] = {"uid": row["uid"], STATUS: FAILED if failed else OK}
        rec[ERROR] = ctx.failed.get(i, "")
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
    workers: int = 0,
    keys: Sequence[Sequence[MediaKey | None]] | None = None,
    window: int = 0,
    start: str | None = None,
    stats: dict[str, float] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """:func:`describe_batch` over consecutive batches, yielded in order.

    Media work is done once per clip (rows with one :func:`media_key`) for the whole run:
    the ``per_clip`` descriptors' values in the clip's first batch, kept until its last;
    its model frames in its first batch, kept for a later batch within ``window``
    batches (:func:`~gdo.descriptors.clips.frames_window`), else loaded again.
    ``workers`` DataLoader processes do it (0: this process, when the batch is taken),
    each up to ``prefetch`` batches ahead; ``start`` is their multiprocessing start
    method. ``keys`` are the rows' media keys per batch (computed
    from the rows when None, which holds every batch in memory).

    With ``prefetch_inputs`` a thread encodes the model inputs of the next ``prefetch``
    batches (``prepare_encodings``: prompts, pixel patches, M-RoPE positions) while the
    model runs; a batch whose inputs it has not started when due is encoded by the
    model's own calls. ``stats`` (if given) receives counts: ``rows``, ``clips`` (media
    values computed), ``frame_loads`` and ``media_s`` (seconds of media work, summed
    over workers). The rows are the same for every setting.
    """
    if keys is None:
        batches = [list(rows) for rows in batches]
        keys = [[media_key(r) for r in rows] for rows in batches]
    plan = ClipPlan.build(keys, window)
    clip_items = [
        it for it in items if it.enabled and it.descriptor.per_clip and it.descriptor.sample_columns
    ]
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    spec = MediaSpec.of(model) if needs_model else MediaSpec()
    counts = stats if stats is not None else {}
    for name in ("rows", "clips", "frame_loads", "media_s"):
        counts.setdefault(name, 0)
    rows_of: dict[int, list[dict[str, Any]]] = {}

    def job(b: int, rows: list[dict[str, Any]]) -> MediaJob:
        out, seen = MediaJob(b), set()
        for row, key in zip(rows, keys[b], strict=True):
            if key is None or key in seen:
                continue
            seen.add(key)
            values = bool(clip_items) and key in plan.values_at[b]
            frames = spec.frames is not None and key in plan.decode_at[b]
            if values or frames:
                out.rows.append(row)
                out.values.append(values)
                out.frames.append(frames)
        return out

    def jobs() -> Iterator[MediaJob]:
        for b, rows in enumerate(batches):
            rows_of[b] = rows
            yield job(b, rows)

    by_name = {it.name: it.descriptor for it in clip_items}
    values: dict[Hashable, dict[Any, Any]] = {}
    frames: dict[Hashable, Any] = {}

    def context(done: MediaDone) -> BatchContext:
        """The batch's context with its clips' media work given; drops what later
        batches do not need."""
        b = done.batch
        for key, by_item in done.values.items():
            values[key] = {by_name[name]: v for name, v in by_item.items()}
        frames.update(done.frames)
        counts["clips"] += len(done.values)
        counts["frame_loads"] += len(done.frames)
        counts["media_s"] += done.seconds
        rows = rows_of.pop(b)
        counts["rows"] += len(rows)
        ctx = BatchContext(rows, model, seed=seed, max_frames=max_frames).give(values, frames)
        for key in plan.drop_values_after[b]:
            values.pop(key, None)
        for key in plan.drop_frames_after[b]:
            frames.pop(key, None)
        return ctx

    import torch

    source = iter(media_loader(jobs(), clip_items, spec, max_frames, workers, prefetch, start))
    # Started after the workers: a process forked while our threads run could inherit a
    # held lock. torch's thread count is per thread: the encoder gets the runner's.
    encoder = (
        ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="describe-prefetch",
            initializer=torch.set_num_threads,
            initargs=(int(num_threads),),
        )
        if prefetch_inputs and needs_model
        else None
    )
    pending: deque[tuple[BatchContext, Future[BatchContext] | None]] = deque()
    try:
        while True:
            while len(pending) <= max(0, prefetch):
                done = next(source, None)
                if done is None:
                    break
                ctx = context(done)
                # The first batch is due at once: the model's calls encode it.
                ahead = encoder is not None and bool(pending)
                pending.append((ctx, encoder.submit(ctx.prepare_encodings) if ahead else None))
            if not pending:
                return
            ctx, encoded = pending.popleft()
            # Inputs the thread has not started (it is behind) are made by the model's
            # own calls rather than waited for: the work goes to whichever thread is free.
            if encoded is not None and not encoded.cancel():
                encoded.result()
            yield describe_batch(ctx.rows, items, model, seed, max_frames, ctx=ctx)
    finally:
        if encoder is not None:
            encoder.shutdown(wait=True, cancel_futures=True)
        del source  # stops the worker processes
