"""``read_candidates``: one pool file (JSON list, JSONL, parquet, mixture YAML) -> candidates.

Formats (``format=``): ``auto`` (by extension, then by the first record's keys),
``llava`` (OneVision/NeXT), ``llava_video`` (LLaVA-Video-178K), ``messages`` (chat
rows), ``candidates`` (a parquet already in our columns) and ``mixture`` (an
upstream YAML list of ``{json_path, sampling_strategy}``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.pool.config import BucketConf
from gdo.pool.containers import (
    candidates_parquet,
    container_of,
    file_problem,
    json_records,
    jsonl_keep,
    jsonl_span_records,
    parquet_records,
    read_parquet_file,
)
from gdo.pool.convert import FORMAT_NAMES, convert_records
from gdo.pool.parallel import PARALLEL_MIN_BYTES, read_jsonl_parallel, resolve_workers
from gdo.pool.records import FileContext, MediaPolicy, RecordConverter
from gdo.pool.report import IngestReport
from gdo.pool.sampling import read_mixture
from gdo.pool.schema import COLUMNS, empty_candidates
from gdo.utils.errors import InputError

FORMATS = ("auto", "llava", "llava_video", "messages", "candidates", "mixture")
_SHAPE = {"llava": "conversations", "llava_video": "conversations", "messages": "messages"}


def read_candidates(
    path: str | os.PathLike,
    format: str = "auto",
    media_root: str | os.PathLike | None = None,
    on_error: str = "raise",
    source: str | None = None,
    *,
    sampling_strategy: str = "all",
    seed: int = 0,
    check_media: bool = False,
    probe_media: bool = False,
    buckets: BucketConf | None = None,
    report: IngestReport | None = None,
    caches: tuple[dict, dict] | None = None,
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> pd.DataFrame:
    """Read one pool file into the candidate table (:data:`gdo.pool.schema.COLUMNS`).

    Multi-turn records give one candidate per QA pair; ``source`` is the record's
    ``data_source``, else ``source``, else the file stem. ``on_error="skip"`` counts
    bad records in ``report`` (and logs them) instead of raising; ``check_media`` /
    ``probe_media`` stat / open every media file. A file that cannot be read at all
    (no parquet, UTF-16 text, malformed JSON, no records) raises, or with ``on_error="skip"``
    is left out and counted in ``report.skipped_files``. Sampling (``first:50%``,
    ``end:N``, ``random:N``) is applied to records before they are converted.
    A JSONL file of at least ``parallel_min_bytes`` is parsed by ``workers`` processes,
    this one included (None: ``min(4, usable CPUs)``; 1: in-process), with the same
    output (rows, order, dtypes, errors, counts).
    """
    report = report if report is not None else IngestReport(on_error=on_error)
    path = os.fspath(path)
    if format not in FORMATS:
        raise InputError(path, None, "format", " | ".join(FORMATS), got=format)
    if not os.path.isfile(path):
        raise InputError(path, None, None, "an existing pool file", reason="file not found")
    ext = Path(path).suffix.lower()
    root = None if media_root is None else os.fspath(media_root)
    if format == "mixture" or (format == "auto" and ext in (".yaml", ".yml")):
        return _read_mixture(
            path, root, report, seed, check_media, probe_media, buckets, caches, workers
        )

    policy = MediaPolicy(check_media, probe_media, buckets or BucketConf())
    container = container_of(path, ext)
    name = FORMAT_NAMES.get(format, "")
    ctx = FileContext(
        file=os.path.abspath(path),
        variant=f"{name or 'pool record'}, {container}",
        unit="line" if container == "JSONL" else "record",
        source=source,
        media_root=root,
        shape=_SHAPE.get(format),
    )
    media_cache, probe_cache = caches if caches is not None else ({}, {})
    conv = RecordConverter(ctx, policy, media_cache, probe_cache)
    info: dict[str, Any] = {"path": ctx.file, "records": 0}

    if container == "parquet":
        frame = read_parquet_file(ctx, report, info)
        if frame is None:
            return _finish(empty_candidates(), ctx, info, report, conv)
        if format == "candidates" or (format == "auto" and set(COLUMNS) <= set(frame.columns)):
            ctx.variant = "candidates, parquet"
            try:
                table = candidates_parquet(frame, ctx, sampling_strategy, seed, report, info)
            except InputError as exc:
                report.file_problem(exc, "malformed_file", info)
                table = empty_candidates()
            return _finish(table, ctx, info, report, conv)
        records: Iterator[tuple[int, Any]] = parquet_records(
            frame, sampling_strategy, seed, ctx, report, info
        )
    elif (problem := file_problem(ctx, container)) is not None:
        report.file_problem(*problem, info)
        return _finish(empty_candidates(), ctx, info, report, conv)
    elif container == "JSONL":
        keep = jsonl_keep(ctx, sampling_strategy, seed, report)
        n_workers = resolve_workers(workers)
        # Media checks share caches across the files of a pool: they stay in-process.
        if (
            n_workers > 1
            and not policy.check_media
            and not policy.probe_media
            and os.path.getsize(path) >= parallel_min_bytes
        ):
            done = read_jsonl_parallel(ctx, policy, keep, report, info, bool(name), n_workers)
            if done is not None:
                frame, conv.missing_ids, conv.unknown_durations = done
                return _finish(frame, ctx, info, report, conv)
        records = jsonl_span_records(ctx, keep, report, info)
    else:
        records = json_records(ctx, sampling_strategy, seed, report, info)

    frame = convert_records(records, conv, report, bool(name), container)
    return _finish(frame, ctx, info, report, conv)


def _finish(
    frame: pd.DataFrame,
    ctx: FileContext,
    info: dict[str, Any],
    report: IngestReport,
    conv: RecordConverter,
) -> pd.DataFrame:
    info.update(variant=ctx.variant, candidates=len(frame))
    report.files.append(info)
    report.notes["missing_id"] += conv.missing_ids
    report.notes["unknown_duration"] += conv.unknown_durations
    return frame


def _read_mixture(
    path: str,
    media_root: str | None,
    report: IngestReport,
    seed: int,
    check_media: bool,
    probe_media: bool,
    buckets: BucketConf | None,
    caches: tuple[dict, dict] | None,
    workers: int | None = None,
) -> pd.DataFrame:
    caches = caches if caches is not None else ({}, {})
    frames = []
    for entry in read_mixture(path):
        frames.append(
            read_candidates(
                entry["path"],
                media_root=entry["media_root"] or media_root,
                on_error=report.on_error,
                source=entry["source"],
                sampling_strategy=entry["sampling_strategy"],
                seed=seed,
                check_media=check_media,
                probe_media=probe_media,
                buckets=buckets,
                report=report,
                caches=caches,
                workers=workers,
            )
        )
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()
