"""Records -> candidate columns, bad records counted in the ingest report.

The one conversion loop of pool ingestion, shared by the in-process readers
(:mod:`gdo.pool.readers`) and the parallel JSONL workers (:mod:`gdo.pool.parallel`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from gdo.media.errors import MediaError
from gdo.pool.columns import CandidateColumns, frame_from_chunks
from gdo.pool.containers import gc_paused
from gdo.pool.records import RecordConverter
from gdo.pool.report import IngestReport
from gdo.utils.errors import InputError

# The record formats by their names in messages.
FORMAT_NAMES = {
    "llava": "LLaVA-OneVision/NeXT",
    "llava_video": "LLaVA-Video-178K",
    "messages": "chat messages",
}


def convert_records(
    records: Iterator[tuple[int, Any]],
    conv: RecordConverter,
    report: IngestReport,
    named: bool,
    container: str,
) -> pd.DataFrame:
    """The candidate table of ``records`` (bad ones go to ``report``), GC paused."""
    chunk = convert_chunk(records, conv, report, named, container)
    with gc_paused():
        return frame_from_chunks([chunk])


def convert_chunk(
    records: Iterator[tuple[int, Any]],
    conv: RecordConverter,
    report: IngestReport,
    named: bool,
    container: str,
    pack_lists: bool = False,
) -> dict[str, Any] | None:
    """The candidates of ``records`` as columns (see
    :meth:`gdo.pool.columns.CandidateColumns.chunk`), GC paused; None when none."""
    cols = CandidateColumns()
    with gc_paused():
        _convert_all(records, conv, cols, report, named, container)
        return cols.chunk(pack_lists)


def _convert_all(
    records: Iterator[tuple[int, Any]],
    conv: RecordConverter,
    cols: CandidateColumns,
    report: IngestReport,
    named: bool,
    container: str,
) -> None:
    """Append every record's candidates to ``cols``; bad records go to ``report``."""
    convert = conv.convert_into
    for index, rec in records:
        if not named and isinstance(rec, dict):
            conv.ctx.variant = f"{variant_of(rec)}, {container}"
            named = True
        try:
            convert(rec, index, cols)
        except MediaError as exc:
            report.problem(exc, _media_reason(exc), getattr(exc, "n_candidates", 1))
        except InputError as exc:
            report.problem(exc, "malformed_record")


def variant_of(rec: dict) -> str:
    """The record format a pool record is written in (for messages), from its keys."""
    if "conversations" in rec:
        return FORMAT_NAMES["llava_video" if "data_source" in rec else "llava"]
    if "messages" in rec:
        return FORMAT_NAMES["messages"]
    return "unknown record shape"


def _media_reason(exc: MediaError) -> str:
    reason = exc.reason or ""
    if "not found" in reason:
        return "missing_media"
    if "escapes" in reason or "absolute path" in reason:
        return "media_outside_root"
    return "unreadable_media"
