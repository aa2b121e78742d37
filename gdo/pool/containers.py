"""Pool file containers -> (index, record) streams: JSONL, JSON list, parquet.

Each reader applies the file's sampling strategy to records before they are parsed
(JSONL) or converted, counts what it leaves out in the :class:`IngestReport`, and
reports broken lines / files there (or raises, with ``on_error: raise``).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from gdo.pool.records import FileContext
from gdo.pool.report import IngestReport
from gdo.pool.sampling import sample_indices
from gdo.pool.schema import COLUMNS, candidates_frame
from gdo.utils.errors import InputError
from gdo.utils.progress import progress
from gdo.utils.tables import read_parquet
from gdo.utils.text import BOM, wide_encoding, wide_error

try:  # orjson parses ~2x faster; the stdlib is the fallback with the same behaviour
    import orjson

    json_loads = orjson.loads
    JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - depends on the environment
    json_loads = json.loads
    JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: parsing creates millions of acyclic objects, and the
    collector's repeated full passes over them cost ~25% of ingestion time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def container_of(path: str, ext: str) -> str:
    """``parquet``, ``JSONL`` or ``JSON list``: by extension, then by the first bytes.

    A ``.json`` file whose first line is a complete object is JSONL (common in the wild),
    unless that line is all the file holds: then it is one JSON document (one record, or
    an object where a list was expected, which its reader refuses as a whole file).
    """
    if ext == ".parquet":
        return "parquet"
    if ext == ".jsonl":
        return "JSONL"
    with open(path, "rb") as fh:
        head = fh.read(64).removeprefix(BOM).lstrip()
        if not head.startswith(b"{"):
            return "JSON list" if head.startswith(b"[") or ext == ".json" else "JSONL"
        fh.seek(0)
        first = fh.readline().removeprefix(BOM)
        while first and not first.strip():
            first = fh.readline()
        alone = all(is_blank(line) for line in fh)
    try:
        json.loads(first)
    except ValueError:
        return "JSON list"  # a pretty-printed object: the JSON reader says what is wrong
    return "JSON list" if alone else "JSONL"


def jsonl_records(
    ctx: FileContext, strategy: str, seed: int, report: IngestReport, info: dict
) -> Iterator[tuple[int, Any]]:
    """(line index, parsed object) of each kept non-blank line; bad lines go to ``report``."""
    keep = jsonl_keep(ctx, strategy, seed, report)
    return jsonl_span_records(ctx, keep, report, info)


def jsonl_keep(
    ctx: FileContext, strategy: str, seed: int, report: IngestReport
) -> np.ndarray | None:
    """Mask over non-blank lines kept by the sampling strategy (None: all); counts the rest."""
    if strategy in ("all", "", None):
        return None
    with open(ctx.file, "rb") as fh:
        n = sum(1 for line in fh if not is_blank(line))
    chosen = sample_indices(n, strategy, seed, ctx.file)
    if chosen is None:
        return None
    keep = np.zeros(n, dtype=bool)
    keep[chosen] = True
    report.drop("sampling_records", n - len(chosen))
    return keep


def is_blank(line: bytes) -> bool:
    """A line the JSONL reader skips without counting it as a record: empty or only
    whitespace (of any length), or only a UTF-8 byte-order mark. The record counter of a
    sampling mask, the span planner and the readers all use this rule, so record ordinals
    agree between them."""
    stripped = line.strip()
    return not stripped or stripped == BOM


def file_problem(ctx: FileContext, container: str) -> tuple[InputError, str] | None:
    """Why a JSON / JSONL file cannot be read at all: (error, reason) or None.

    UTF-16 / UTF-32 text (``not_utf8``) and a file without a single record
    (``empty_file``: nothing but blank lines; an empty JSON list is found by its reader).
    """
    with open(ctx.file, "rb") as fh:
        wide = wide_encoding(fh.read(64))
        if wide:
            return wide_error(ctx.file, wide, f"({ctx.variant})"), "not_utf8"
        fh.seek(0)
        if container == "JSONL" and all(is_blank(line) for line in fh):
            return _empty(ctx), "empty_file"
    return None


def _empty(ctx: FileContext) -> InputError:
    return InputError(
        ctx.file, f"({ctx.variant})", None, "at least one record", reason="empty file: no records"
    )


def jsonl_span_records(
    ctx: FileContext,
    keep: np.ndarray | None,
    report: IngestReport,
    info: dict,
    span: tuple[int, int, int, int] | None = None,
    show_progress: bool = True,
) -> Iterator[tuple[int, Any]]:
    """Records of the lines ``span = (start byte, n lines, first line index, first ordinal)``.

    ``span`` is None for the whole file. Line indices and record ordinals (the sampling
    mask's index) continue from the span's first ones, so a chunk of a file read in
    another process names the same lines as a whole-file read. ``show_progress``:
    False for a span read beside other spans (their caller shows one bar).
    """
    start, n_lines, lineno0, ordinal0 = span if span is not None else (0, None, 0, 0)
    size = os.path.getsize(ctx.file)
    ordinal = ordinal0 - 1
    done = 0
    with (
        open(ctx.file, "rb") as fh,
        (
            progress(total=size, desc=f"pool {ctx.stem}", unit="B", unit_scale=True)
            if show_progress
            else _NoBar()
        ) as bar,
    ):
        fh.seek(start)
        lines = fh if n_lines is None else islice(fh, n_lines)
        for lineno, line in enumerate(lines, lineno0):
            done += len(line)
            if lineno % 65536 == 0:
                bar.update(done - bar.n)
            # is_blank, inlined (hot loop): a blank line starts with a byte <= b" " (or a BOM)
            if (line[0] <= 32 or line[0] == 0xEF) and is_blank(line):
                continue
            ordinal += 1
            if keep is not None and not keep[ordinal]:
                continue
            info["records"] += 1
            try:
                rec = json_loads(line)
            except JSON_ERRORS as exc:
                rec = _after_bom(line) if lineno == 0 else None
                if rec is None:
                    report.problem(_json_error(ctx, exc, line, lineno), "malformed_record")
                    continue
            yield lineno, rec
        bar.update(done - bar.n)


def _after_bom(line: bytes) -> Any:
    """The record of a file's first line behind a UTF-8 byte-order mark (None: none)."""
    if not line.startswith(BOM):
        return None
    try:
        return json_loads(line[len(BOM) :])
    except JSON_ERRORS:
        return None


class _NoBar:
    """Stands in for a progress bar that is not shown."""

    n = 0

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        self.n += n


def json_records(
    ctx: FileContext, strategy: str, seed: int, report: IngestReport, info: dict
) -> Iterator[tuple[int, Any]]:
    """(record index, record) of a JSON-list file; a broken or empty file is one file
    problem (:meth:`IngestReport.file_problem`)."""
    with open(ctx.file, "rb") as fh:
        data = fh.read().removeprefix(BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        err = InputError(
            ctx.file,
            f"line {line} ({ctx.variant})",
            None,
            "UTF-8 text",
            reason=f"not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})",
        )
        if report.on_error == "raise":
            raise err from exc
        # Skipping would lose the whole file; keep it with U+FFFD and say so.
        report.problem(err, "non_utf8_file", 1)
        text = data.decode("utf-8", errors="replace")
    del data
    if not text.strip():
        report.file_problem(_empty(ctx), "empty_file", info)
        return
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        report.file_problem(
            InputError(
                ctx.file,
                f"line {exc.lineno} column {exc.colno} ({ctx.variant})",
                None,
                "a JSON list of records",
                reason=f"malformed JSON ({exc.msg})",
            ),
            "malformed_file",
            info,
        )
        return
    del text
    if isinstance(records, dict) and ("conversations" in records or "messages" in records):
        records = [records]
    if not isinstance(records, list):
        got = type(records).__name__
        if isinstance(records, dict):
            got = "an object with keys " + ", ".join(sorted(map(str, records))[:8])
        report.file_problem(
            InputError(ctx.file, f"({ctx.variant})", None, "a JSON list of records", got=got),
            "malformed_file",
            info,
        )
        return
    if not records:
        report.file_problem(_empty(ctx), "empty_file", info)
        return
    chosen = sample_indices(len(records), strategy, seed, ctx.file)
    if chosen is not None:
        report.drop("sampling_records", len(records) - len(chosen))
    indices = range(len(records)) if chosen is None else chosen.tolist()
    info["records"] += len(indices)
    for i in progress(indices, desc=f"pool {ctx.stem}", unit="rec"):
        yield i, records[i]


def read_parquet_file(ctx: FileContext, report: IngestReport, info: dict) -> pd.DataFrame | None:
    """The table of a parquet pool file; None when it is no parquet or has no rows
    (a file problem: raised, or skipped and counted)."""
    try:
        frame = read_parquet(ctx.file, "(parquet)")
    except InputError as exc:
        report.file_problem(exc, "unreadable_file", info)
        return None
    if not len(frame):
        report.file_problem(_empty(ctx), "empty_file", info)
        return None
    return frame


def parquet_records(
    frame: pd.DataFrame,
    strategy: str,
    seed: int,
    ctx: FileContext,
    report: IngestReport,
    info: dict,
) -> Iterator[tuple[int, Any]]:
    """Rows of a parquet file holding records (LLaVA / chat shapes) as plain dicts."""
    chosen = sample_indices(len(frame), strategy, seed, ctx.file)
    if chosen is not None:
        report.drop("sampling_records", len(frame) - len(chosen))
        frame = frame.iloc[chosen]
    info["records"] += len(frame)
    index = frame.index if chosen is None else chosen
    for i, rec in zip(index, progress(frame.to_dict("records"), desc=f"pool {ctx.stem}")):
        yield int(i), {k: _plain(v) for k, v in rec.items() if not _is_null(v)}


def _plain(value: Any) -> Any:
    # Arrow list columns come back as numpy arrays (of dicts for turns); records want lists.
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def candidates_parquet(
    frame: pd.DataFrame,
    ctx: FileContext,
    strategy: str,
    seed: int,
    report: IngestReport,
    info: dict,
) -> pd.DataFrame:
    """A parquet already in the candidate columns (e.g. an earlier pool.parquet)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            ctx.file,
            "(candidates parquet)",
            ", ".join(missing),
            "every candidate column of gdo.pool.schema.COLUMNS",
        )
    for column, kind in COLUMNS.items():
        check_column(frame[column], kind, ctx)
    chosen = sample_indices(len(frame), strategy, seed, ctx.file)
    if chosen is not None:
        report.drop("sampling_records", len(frame) - len(chosen))
        frame = frame.iloc[chosen]
    info.update(records=len(frame))
    cols = {c: [_plain(v) for v in frame[c].tolist()] for c in COLUMNS}
    return candidates_frame(cols)


def check_column(values: pd.Series, kind: str, ctx: FileContext) -> None:
    """:class:`InputError` naming the column, its first bad row and the expected type
    when a candidates parquet column does not hold ``kind`` values (see COLUMNS)."""
    dtype = values.dtype
    right_dtype = {
        "int64": pd.api.types.is_integer_dtype(dtype),
        "float64": dtype.kind in "iuf",  # NaN is fine: an unknown duration
        "bool": pd.api.types.is_bool_dtype(dtype),
        "str": isinstance(dtype, pd.StringDtype),
    }.get(kind, False)
    # Fast path: the right dtype without nulls needs no look at each value.
    if right_dtype and (kind == "float64" or not values.isna().any()):
        return
    bad = _first_bad(values, _GOOD[kind])
    if bad is not None:
        row, value = bad
        raise InputError(
            ctx.file,
            f"row {row} (candidates parquet)",
            str(values.name),
            f"{kind} values (gdo.pool.schema.COLUMNS)",
            got=f"{value!r} in a column of dtype {dtype}",
        )


def _is_int(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return False
    return isinstance(v, int | np.integer) or (isinstance(v, float) and v.is_integer())


_GOOD = {
    "int64": _is_int,
    "float64": lambda v: (
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
    ),
    "bool": lambda v: isinstance(v, bool | np.bool_),
    "str": lambda v: isinstance(v, str),
    "list[str]": lambda v: (
        isinstance(v, list | tuple | np.ndarray) and all(isinstance(x, str) for x in v)
    ),
}


def _first_bad(values: pd.Series, good) -> tuple[int, Any] | None:
    """(row, value) of the first value ``good`` refuses; None when every value passes."""
    for row, value in enumerate(values.tolist()):
        if not good(value):
            return row, value
    return None


def _json_error(ctx: FileContext, exc: Exception, line: bytes, line_index: int) -> InputError:
    if isinstance(exc, UnicodeDecodeError) or "UTF-8" in str(exc):
        try:
            line.decode("utf-8")
            offset = "?"
        except UnicodeDecodeError as bad:
            offset = str(bad.start)
        return InputError(
            ctx.file,
            ctx.where(line_index),
            None,
            "UTF-8 text",
            reason=f"not valid UTF-8 (byte offset {offset} in the line)",
        )
    msg = str(exc).split("\n", 1)[0]
    return InputError(
        ctx.file,
        ctx.where(line_index),
        None,
        "one JSON object per line",
        reason=f"malformed JSON ({msg})",
    )
