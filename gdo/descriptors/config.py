"""Schema of ``conf/descriptors/*.yaml``. Owned by gdo.descriptors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdo.columns import CLUSTER_ID


@dataclass
class ShardConf:
    """Which slice of the pool this process describes.

    ``None`` means: take ``RANK`` / ``WORLD_SIZE`` from the environment (torchrun,
    SLURM via the launcher), else rank 0 of 1.
    """

    rank: int | None = None
    world_size: int | None = None


@dataclass
class DescriptorsConf:
    # registered name (gdo.descriptors.base.register) -> {options}, in run order; adding a
    # descriptor never edits the others.
    # An item may carry `enabled: false` (its columns become NaN) or be set to null (dropped).
    # (Named `items` before; that name shadowed DictConfig.items().)
    specs: dict[str, Any] = field(default_factory=dict)
    # The old name of `specs`, kept only so that an override file that still sets it gets
    # an error naming `specs` (gdo.config.RENAMED) instead of a bare unknown key. Never read.
    items: dict[str, Any] = field(default_factory=dict)
    # Candidates per model pass; 1 reproduces the one-sample-at-a-time loop of the paper's
    # reference implementation (docs/METHOD.md#the-reference-implementation).
    batch_size: int = 32
    # DataLoader worker processes doing the media work (decode, optical flow, RGB
    # statistics, the model's frames), once per clip, while the model runs; 0 = in the main
    # process when a batch is due. Same rows either way.
    workers: int = 1
    # Batches each worker prepares ahead (at least 1 with workers); with prefetch_inputs,
    # also the batches whose model inputs a thread encodes ahead.
    prefetch: int = 1
    # A thread encodes the next batches' model inputs (chat template, tokens, pixel
    # patches, M-RoPE positions). null = auto: on when the model is on an accelerator, off
    # on CPU, where the encoding contends with the model's passes for the GIL.
    prefetch_inputs: bool | None = None
    # Memory (MiB) for a clip's model frames between two of its batches (its QA turns sort
    # apart); a clip whose next batch is too far off for it is decoded again. Its media
    # descriptor values are computed once whatever this is. 0: keep nothing across batches.
    clip_cache_mb: float = 1024
    # Start method of the worker processes: fork | spawn | forkserver; null = the platform's.
    worker_start: str | None = None
    # Sort by media kind / frame count / text length so a batch pads little.
    sort_by_length: bool = True
    shard: ShardConf = field(default_factory=ShardConf)
    # Overrides cfg.model.path (tests, benchmarks); else cfg.model.path, else <work_dir>/base_model.
    model_path: str | None = None
    # torch threads per rank; 1 is fastest on a shared CPU box
    # (experiments/calibration/README.md, "Earlier probes").
    num_threads: int = 1
    # Frames loaded once per candidate and shared by every media descriptor.
    max_frames: int = 8
    # flush + fsync the shard after every batch (durable resume); off only for benchmarks.
    fsync: bool = True
    # Columns that get no robust z-score (ids, raw colour statistics).
    no_zscore: list[str] = field(default_factory=lambda: [CLUSTER_ID])
