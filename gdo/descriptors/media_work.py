"""Describe's media work in DataLoader worker processes, once per clip.

Decoding, optical flow and RGB statistics hold the GIL for part of their time and are
the same for every QA turn of a clip. The runner (:mod:`gdo.descriptors.runner`) turns
each batch into a :class:`MediaJob` (one row per clip whose work falls to that batch,
:class:`~gdo.descriptors.clips.ClipPlan`); a ``torch.utils.data.DataLoader`` hands the
jobs to ``descriptors.workers`` processes (0: the main process) and gives back, in batch
order, a :class:`MediaDone` per job: each clip's ``per_clip`` descriptor values and its
model frames, failures as :class:`~gdo.descriptors.failures.Failed`. The worker runs the
same :class:`~gdo.descriptors.context.BatchContext` code as the main process would, so the
values are identical.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gdo.descriptors.clips import media_key
from gdo.descriptors.context import BatchContext
from gdo.descriptors.failures import outcome
from gdo.descriptors.registry import Item


@dataclass(frozen=True)
class MediaSpec:
    """How the model loads media (its frame count and pixel budget), all a worker needs
    of the model; ``frames`` None: no model frames to load."""

    frames: int | None = None
    max_pixels: int | None = None

    @classmethod
    def of(cls, model: Any) -> MediaSpec:
        """The spec of a loaded VLM (a model without ``frames`` loads its own media)."""
        frames = getattr(model, "frames", None)
        if frames is None:
            return cls()
        pixels = getattr(model, "max_pixels", None)
        return cls(int(frames), None if pixels is None else int(pixels))


@dataclass
class MediaJob:
    """One batch's media work: a row per clip, and for each whether to compute its
    ``per_clip`` values and whether to load its model frames here."""

    batch: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    values: list[bool] = field(default_factory=list)
    frames: list[bool] = field(default_factory=list)


@dataclass
class MediaDone:
    """What a job gave: per clip (media key), values by descriptor name and the model
    frames (each the value itself or a ``Failed``); ``seconds`` of work in the worker."""

    batch: int
    values: dict[Hashable, dict[str, Any]] = field(default_factory=dict)
    frames: dict[Hashable, Any] = field(default_factory=dict)
    seconds: float = 0.0


def run_job(job: MediaJob, items: list[Item], spec: MediaSpec, max_frames: int) -> MediaDone:
    """Do ``job``: the ``per_clip`` descriptors' values and the model frames it asks for.

    A clip that needs both is decoded once for both (``BatchContext``'s joint decode).
    """
    t0 = time.perf_counter()
    ctx = BatchContext(job.rows, spec if spec.frames is not None else None, max_frames=max_frames)
    done = MediaDone(job.batch)
    for i, row in enumerate(job.rows):
        key = media_key(row)
        if job.values[i]:
            done.values[key] = {
                it.name: outcome(
                    partial(ctx.once, it.descriptor, i, partial(it.descriptor.clip_value, ctx))
                )
                for it in items
            }
        if job.frames[i]:
            done.frames[key] = outcome(partial(ctx.model_frames, i))
    done.seconds = time.perf_counter() - t0
    return done


class MediaWork:
    """A map-style dataset whose "indices" are jobs: ``work[job]`` runs it. The runner's
    job generator is the DataLoader's sampler, so jobs are made lazily, in order."""

    def __init__(self, items: list[Item], spec: MediaSpec, max_frames: int) -> None:
        self.items, self.spec, self.max_frames = items, spec, int(max_frames)

    def __getitem__(self, job: MediaJob) -> MediaDone:
        return run_job(job, self.items, self.spec, self.max_frames)


def _as_is(done: MediaDone) -> MediaDone:
    # The DataLoader's default conversion would turn numpy frames into tensors.
    return done


def _init_worker(_: int) -> None:
    import torch

    # A worker decodes and computes flow; torch's own threads would only contend.
    torch.set_num_threads(1)


def media_loader(
    jobs: Iterable[MediaJob],
    items: list[Item],
    spec: MediaSpec,
    max_frames: int,
    workers: int = 0,
    prefetch: int = 1,
    start: str | None = None,
) -> Any:
    """A DataLoader that runs ``jobs`` in ``workers`` processes (0: in the caller, when
    each batch is asked for) and yields their :class:`MediaDone` in job order. Each
    worker holds up to ``prefetch`` jobs (at least 1); ``start`` is the multiprocessing
    start method (None: the platform's default)."""
    from torch.utils.data import DataLoader

    workers = max(0, int(workers))
    return DataLoader(
        MediaWork(items, spec, max_frames),  # type: ignore[arg-type]
        sampler=jobs,  # type: ignore[arg-type]
        batch_size=None,
        collate_fn=_as_is,
        num_workers=workers,
        prefetch_factor=max(1, int(prefetch)) if workers else None,
        worker_init_fn=_init_worker if workers else None,
        multiprocessing_context=start if workers else None,
    )
