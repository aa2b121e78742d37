"""Parallel parsing of one large JSONL pool file: byte ranges aligned to line starts.

The file is cut into spans that start at line starts; each span is parsed and converted
with the same code as the in-process path (``jsonl_span_records`` + ``convert_chunk``),
with its line indices and record ordinals offset: by worker processes from the front and
by this process from the back (spans no worker has started yet). Workers send their
candidates back as columns (Arrow / numpy buffers, lists of strings packed), not as row
objects, so the transfer costs little CPU; the table is built once, in file order. So
row order, uids, ``record`` numbers, dtypes, the line named in an error, ``on_error``
counts and the sampling mask are those of one process. The first error in file order
is the one raised (later chunks are cancelled).
"""

from __future__ import annotations

import gc
import logging
import math
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from gdo.pool.columns import frame_from_chunks
from gdo.pool.containers import (
    JSON_ERRORS,
    gc_paused,
    is_blank,
    json_loads,
    jsonl_span_records,
)
from gdo.pool.convert import convert_chunk, variant_of
from gdo.pool.records import FileContext, MediaPolicy, RecordConverter
from gdo.pool.report import MAX_MESSAGES, IngestReport, log
from gdo.utils.errors import InputError
from gdo.utils.progress import progress

# Below this size a file is read in-process: starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 32 * 2**20
# Aim for spans of about this size, at most SPANS_PER_WORKER per process (several, so
# a slow or busy core evens out: spans go to whichever process is free).
SPAN_BYTES = 16 * 2**20
SPANS_PER_WORKER = 8
# Processes used when `workers` is None (past ~4, reading the file and building the
# table in this process start to dominate).
MAX_DEFAULT_WORKERS = 4
_BLOCK = 8 * 2**20

Span = tuple[int, int | None, int, int]  # start byte, n lines (None: to EOF), line0, ordinal0


def default_workers() -> int:
    """``min(4, usable CPUs)``: ``pool.workers`` when unset (files >= 32 MB only)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cpus))


def resolve_workers(workers: int | None) -> int:
    """``None`` -> :func:`default_workers`; anything below 1 counts as 1 (in-process)."""
    return default_workers() if workers is None else max(1, int(workers))


def plan_spans(path: str, n_spans: int, count_ordinals: bool) -> list[Span]:
    """Cut ``path`` into at most ``n_spans`` spans that each start at a line start.

    ``count_ordinals`` also counts non-blank lines before each span (needed when a
    sampling mask indexes records); otherwise only newlines are counted (fast).
    """
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as fh:
        for i in range(1, n_spans):
            fh.seek(max(size * i // n_spans - 1, 0))
            fh.readline()  # from one byte before the target: a line start stays put
            pos = fh.tell()
            if starts[-1] < pos < size:
                starts.append(pos)
        spans: list[Span] = []
        line0 = ordinal0 = 0
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else size
            last = k + 1 == len(starts)
            spans.append((start, None if last else 0, line0, ordinal0))
            if last:
                break
            fh.seek(start)
            n_lines = n_records = 0
            if count_ordinals:
                for line in _lines(fh, end - start):
                    n_lines += 1
                    n_records += not is_blank(line)
            else:
                left = end - start
                while left > 0:
                    block = fh.read(min(_BLOCK, left))
                    left -= len(block)
                    n_lines += block.count(b"\n")
            spans[-1] = (start, n_lines, line0, ordinal0)
            line0 += n_lines
            ordinal0 += n_records
    return spans


def _lines(fh, n_bytes: int):
    for line in fh:
        yield line
        n_bytes -= len(line)
        if n_bytes <= 0:
            return


def first_record_variant(
    ctx: FileContext, keep: np.ndarray | None, container: str
) -> tuple[str, int] | None:
    """(variant, line index) of the first kept record that parses to a dict: where the
    in-process reader names the file's variant. None when no record does."""
    ordinal = -1
    with open(ctx.file, "rb") as fh:
        for lineno, line in enumerate(fh):
            if is_blank(line):
                continue
            ordinal += 1
            if keep is not None and not keep[ordinal]:
                continue
            try:
                rec = json_loads(line)
            except JSON_ERRORS:
                continue
            if isinstance(rec, dict):
                return f"{variant_of(rec)}, {container}", lineno
    return None


def read_jsonl_parallel(
    ctx: FileContext,
    policy: MediaPolicy,
    keep: np.ndarray | None,
    report: IngestReport,
    info: dict,
    named: bool,
    workers: int,
) -> tuple[pd.DataFrame, int, int] | None:
    """Candidates of a JSONL file read by ``workers`` processes, in file order.

    ``workers`` counts this process: ``workers - 1`` worker processes take spans from
    the front while this one takes still-unstarted spans from the back (so no process
    idles and a slow core evens out). Workers send their spans back as Arrow / numpy
    columns (:meth:`gdo.pool.columns.CandidateColumns.chunk`); this process builds the
    table once. Returns (frame, missing ids, unknown durations), or None when the file
    is too short to split (the caller then reads it in-process).
    """
    size = os.path.getsize(ctx.file)
    n_spans = max(workers, min(SPANS_PER_WORKER * workers, math.ceil(size / SPAN_BYTES)))
    spans = plan_spans(ctx.file, n_spans, count_ordinals=keep is not None)
    if len(spans) < 2:
        return None
    # In one process the first dict record names the variant of every later error;
    # each worker starts from what the in-process reader knows at its first line.
    first = None if named else first_record_variant(ctx, keep, "JSONL")
    contexts, named_at = [], []
    for span in spans:
        after = first is not None and span[2] > first[1]
        contexts.append(FileContext(**_ctx_args(ctx, first[0] if after else ctx.variant)))
        named_at.append(named or after)
    method = "fork" if _can_fork() else "spawn"
    chunks: list[dict[str, Any]] = []
    missing_ids = unknown = 0
    with (
        gc_paused(),  # unpickling millions of result objects otherwise triggers full GCs
        ProcessPoolExecutor(
            max_workers=workers - 1, mp_context=mp.get_context(method), initializer=_init_worker
        ) as pool,
    ):
        args = [
            (c, policy, keep, span, report.on_error, n)
            for c, n, span in zip(contexts, named_at, spans)
        ]
        futures = [pool.submit(_read_span, *a, pack_lists=True) for a in args]
        bar = progress(total=len(spans), desc=f"pool {ctx.stem} (x{workers})", unit="span")
        with bar:
            # Spans no worker has started yet, from the back: read them here.
            local: dict[int, dict[str, Any]] = {}
            for k in range(len(futures) - 1, -1, -1):
                if not futures[k].cancel():
                    break
                local[k] = _read_span(*args[k], quiet=True)
                bar.update(1)
                if "error" in local[k]:
                    break  # an earlier span may hold an earlier error: wait for those
            for k, fut in enumerate(futures):
                res = local[k] if k in local else fut.result()
                if k not in local:
                    bar.update(1)
                if "error" in res:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise _unpack(res["error"])
                _merge(report, res)
                info["records"] += res["records"]
                missing_ids += res["missing_ids"]
                unknown += res["unknown_durations"]
                if res["chunk"] is not None:
                    chunks.append(res["chunk"])
                del res
                local.pop(k, None)
        frame = frame_from_chunks(chunks)
        del chunks
    if first is not None:
        ctx.variant = first[0]
    return frame, missing_ids, unknown


def _ctx_args(ctx: FileContext, variant: str) -> dict[str, Any]:
    return {
        "file": ctx.file,
        "variant": variant,
        "unit": ctx.unit,
        "source": ctx.source,
        "media_root": ctx.media_root,
        "shape": ctx.shape,
    }


def _can_fork() -> bool:
    # fork skips re-importing pandas in each worker (spawn also needs a `__main__` guard in
    # the caller's script). Other threads (e.g. tqdm's monitor) only sleep or wait on
    # queues; the workers run none of their code, as in torch's DataLoader workers.
    return "fork" in mp.get_all_start_methods()


def _init_worker() -> None:
    # The parent logs the merged messages and shows one bar over the spans.
    os.environ["GDO_PROGRESS"] = "0"
    logging.getLogger("gdo.pool").disabled = True
    # Short-lived and building acyclic objects only: the cyclic GC would just rescan them.
    gc.disable()


def _read_span(
    ctx: FileContext,
    policy: MediaPolicy,
    keep: np.ndarray | None,
    span: Span,
    on_error: str,
    named: bool,
    pack_lists: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """One span -> its candidates as columns (:meth:`CandidateColumns.chunk
    <gdo.pool.columns.CandidateColumns.chunk>`, lists packed for a worker's reply) and
    counts, or the first error, packed. ``quiet``: no bar, no log (the parent logs the
    merged messages), for a span read in the parent process."""
    report = (_QuietReport if quiet else IngestReport)(on_error=on_error)
    conv = RecordConverter(ctx, policy)
    info: dict[str, Any] = {"records": 0}
    records = jsonl_span_records(ctx, keep, report, info, span, show_progress=not quiet)
    try:
        chunk = convert_chunk(records, conv, report, named, "JSONL", pack_lists=pack_lists)
    except InputError as exc:
        return {"error": _pack(exc)}
    return {
        "chunk": chunk,
        "dropped": dict(report.dropped),
        "messages": report.messages,
        "records": info["records"],
        "missing_ids": conv.missing_ids,
        "unknown_durations": conv.unknown_durations,
        "variant": ctx.variant,
    }


class _QuietReport(IngestReport):
    """A span's report in the parent process: counts and messages, logged only once
    they are merged (as a worker's are)."""

    def problem(self, exc: InputError, reason: str, n: int = 1) -> None:
        if self.on_error == "raise":
            raise exc
        self.dropped[reason] += n
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(f"[{reason}] {exc}")


def _merge(report: IngestReport, res: dict[str, Any]) -> None:
    report.dropped.update(res["dropped"])
    for msg in res["messages"]:
        if len(report.messages) >= MAX_MESSAGES:
            break
        report.messages.append(msg)
        log.warning("skipped %s", msg)


def _pack(exc: InputError) -> tuple[type, dict[str, Any], str]:
    # InputError / MediaError take keyword fields, so default pickling (args only) would
    # lose them; send the class, the fields and the message instead.
    return type(exc), dict(exc.__dict__), str(exc)


def _unpack(packed: tuple[type, dict[str, Any], str]) -> InputError:
    cls, fields, message = packed
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(fields)
    return exc
