"""Schema of ``conf/pool/*.yaml`` (pool ingestion). Owned by gdo.pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdo.dedup.config import NearDupConf, check_near_dup
from gdo.utils.checks import check_choice, check_range


@dataclass
class PoolFileConf:
    """One pool file (or an upstream mixture YAML listing several)."""

    path: str = "???"
    # auto | llava | llava_video | messages | candidates | mixture (auto: by extension + keys)
    format: str = "auto"
    # Folder that relative media paths resolve against (and must stay inside); None:
    # relative to the pool file's folder, no containment.
    media_root: str | None = None
    # all | first:N | first:P% | end:N | end:P% | random:N | random:P% (seeded by `seed`)
    sampling_strategy: str = "all"
    # The candidates' `source` when a record has no `data_source`; None: the file stem.
    source: str | None = None


@dataclass
class BucketConf:
    """How a candidate's duration is found and which bucket it lands in."""

    # A video longer than this (seconds) is `long_video`, otherwise `short_video`.
    long_video_min_s: float = 60.0
    # Where the duration comes from, first that answers wins: metadata (record fields
    # duration / duration_s / video_duration), data_source (`0_30_s_*` -> 15 s), probe
    # (open the file with the video backend, media.video_backend: slow at scale, so last).
    duration_order: list[str] = field(default_factory=lambda: ["metadata", "data_source", "probe"])
    # Bucket of a video whose duration nothing could tell.
    unknown_duration_bucket: str = "short_video"


@dataclass
class PoolConf:
    """The pool stage: which files, how strict, and the dedup / cap rules."""

    name: str = "world"
    files: list[PoolFileConf] = field(default_factory=list)
    # raise: the first bad record stops ingestion with its file/record/field; skip: it
    # is logged and counted in the manifest (dropped.malformed_record, ...).
    on_error: str = "raise"
    # Check that every media file exists and is non-empty (one stat per distinct path).
    check_media: bool = False
    # Also open every media file (media.video_backend for videos, PIL for images) to catch
    # corrupt ones.
    probe_media: bool = False
    # At most this many QA turns per video (per clip id), in file order; 0: no cap.
    max_turns_per_video: int = 8
    # Drop candidates whose normalized question + answer repeat on the same media.
    dedup_text: bool = True
    # Then near-duplicate QA pairs and media (gdo.dedup): MinHash LSH + perceptual hashes.
    near_dup: NearDupConf = field(default_factory=NearDupConf)
    buckets: BucketConf = field(default_factory=BucketConf)
    # Processes (this one included) that parse one large JSONL file (>= 32 MB) in byte
    # ranges; the output is identical to one process. None: min(4, usable CPUs);
    # 1: in-process only. Workers send columns back as Arrow / numpy buffers, so the
    # parallel read costs ~the same CPU as one process (experiments/benchmarks/ingest.md).
    workers: int | None = None
    # Recompute even when the manifest key matches.
    force: bool = False


def check_pool(pool: Any) -> None:
    """Refuse ``pool.*`` values outside their range (:class:`ConfigError`)."""
    check_choice("pool.on_error", pool.on_error, ("raise", "skip"))
    check_range("pool.max_turns_per_video", pool.max_turns_per_video, 0, hint="0: no cap")
    check_range("pool.workers", pool.workers, 1, optional=True)
    check_near_dup(pool.near_dup)
    check_range("pool.buckets.long_video_min_s", pool.buckets.long_video_min_s, 0)
    for i, how in enumerate(pool.buckets.duration_order):
        check_choice(f"pool.buckets.duration_order[{i}]", how, ("metadata", "data_source", "probe"))
    check_choice(
        "pool.buckets.unknown_duration_bucket",
        pool.buckets.unknown_duration_bucket,
        ("short_video", "long_video"),
    )
