"""Parallel JSONL ingestion (byte ranges in worker processes) equals the in-process read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import gdo.pool.parallel as parallel
import gdo.pool.readers as readers
from gdo.pool import read_candidates
from gdo.pool.columns import pack_str_lists, unpack_str_lists
from gdo.pool.parallel import PARALLEL_MIN_BYTES, plan_spans, resolve_workers
from gdo.pool.records import FileContext, MediaPolicy, RecordConverter
from gdo.pool.report import IngestReport
from gdo.pool.sampling import sample_indices
from gdo.pool.schema import COLUMNS, candidates_frame
from gdo.utils.errors import InputError

N_RECORDS = 3000


def _write_pool(path: Path, bad_lines: dict[int, str] | None = None) -> Path:
    """A small LLaVA-Video-178K-shaped JSONL; ``bad_lines`` replaces lines (0-based)."""
    bad_lines = bad_lines or {}
    lines = []
    for i in range(N_RECORDS):
        if i in bad_lines:
            lines.append(bad_lines[i])
            continue
        n_turns = 1 + i % 3
        conv = []
        for t in range(n_turns):
            q = f"{'<image>' + chr(10) if t == 0 else ''}what happens {i} {t}?"
            if i % 5 == 0 and t == 0:
                q += "\nOptions:\nA. red\nB. blue\nC. green\nD. dog"
            conv += [{"from": "human", "value": q}, {"from": "gpt", "value": f"B. ans {i}"}]
        rec = {"conversations": conv, "data_source": "0_30_s_nextqa", "video": f"v/{i}.mp4"}
        if i % 7:  # some records without id: the uid falls back to the line index
            rec["id"] = f"vid-{i}"
        lines.append(json.dumps(rec))
        if i % 500 == 0:
            lines.append("")  # blank lines are skipped but still numbered
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def parallel_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records whether each parallel read really ran in workers (no silent fallback)."""
    calls: list[bool] = []
    real = readers.read_jsonl_parallel

    def spy(*args, **kw):
        out = real(*args, **kw)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(readers, "read_jsonl_parallel", spy)
    return calls


def _read(path: Path, workers: int, **kw) -> tuple[pd.DataFrame, IngestReport]:
    report = IngestReport(on_error=kw.pop("on_error", "raise"))
    kw.setdefault("parallel_min_bytes", 1)  # force the parallel path on a small file
    df = read_candidates(path, media_root="/data", report=report, workers=workers, **kw)
    return df, report


def test_spans_start_at_line_starts_and_number_lines(tmp_path: Path) -> None:
    path = _write_pool(tmp_path / "pool.jsonl")
    data = path.read_bytes()
    spans = plan_spans(str(path), 4, count_ordinals=True)
    assert len(spans) == 4
    for start, _, line0, _ in spans:
        assert start == 0 or data[start - 1 : start] == b"\n"
        assert data.count(b"\n", 0, start) == line0


@pytest.fixture
def many_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """~8 spans per process on the small test file, so this process reads the spans no
    worker has started (from the back) while the workers read from the front."""
    monkeypatch.setattr(parallel, "SPAN_BYTES", 2**14)


@pytest.mark.parametrize("strategy", ["all", "random:40%", "end:1000"])
@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_equals_serial(
    tmp_path: Path, strategy: str, workers: int, parallel_calls: list
) -> None:
    path = _write_pool(tmp_path / "pool.jsonl")
    serial, rep1 = _read(path, 1, sampling_strategy=strategy, seed=3)
    parallel, rep2 = _read(path, workers, sampling_strategy=strategy, seed=3)
    assert parallel_calls == [True]
    assert len(serial) > 1000
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert list(serial.dtypes) == list(parallel.dtypes)
    assert rep1.as_dict() == rep2.as_dict()


# Whitespace-only lines of every length, where spans and samples begin and end.
BLANKS = ["   ", "", " \t \r", " ", "\t\t\t\t", "  \x0c  \x0b  ", "\r"]


def _write_with_blanks(path: Path, n: int) -> tuple[Path, dict[str, int]]:
    """``n`` one-turn records with ids, whitespace-only lines before, between (several
    in a row) and after them, the last one without a newline; returns the line index
    of each record's id."""
    lines: list[str] = [BLANKS[0]]
    at: dict[str, int] = {}
    for i in range(n):
        conv = [{"from": "human", "value": f"q {i}?"}, {"from": "gpt", "value": f"a {i}"}]
        rec = {"id": f"r{i}", "conversations": conv, "data_source": "0_30_s_x", "video": "v.mp4"}
        at[rec["id"]] = len(lines)
        lines.append(json.dumps(rec))
        lines += BLANKS[: i % 4] if i % 3 else BLANKS[i % len(BLANKS) :]
    lines.append("  \t  ")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, at


@pytest.mark.parametrize("strategy", ["all", "first:50%", "end:7", "random:13", "random:30%"])
@pytest.mark.parametrize("workers", [1, 2])
def test_whitespace_lines_are_not_records(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    strategy: str,
    workers: int,
    parallel_calls: list,
) -> None:
    # Spans of ~256 bytes: 16 spans, some of them starting on a whitespace-only line.
    monkeypatch.setattr(parallel, "SPAN_BYTES", 2**8)
    n = 60
    path, at = _write_with_blanks(tmp_path / "pool.jsonl", n)
    assert len(plan_spans(str(path), 16, count_ordinals=True)) == 16
    df, report = _read(path, workers, sampling_strategy=strategy, seed=3)
    assert parallel_calls == ([True] if workers > 1 else [])
    # The sample is drawn over the records only, as if the blank lines were not there.
    chosen = sample_indices(n, strategy, 3, str(path.resolve()))
    ids = [f"r{i}" for i in (range(n) if chosen is None else chosen.tolist())]
    assert df["sample_id"].tolist() == ids
    assert df["record"].tolist() == [at[i] for i in ids]  # lines still numbered
    assert df["question"].tolist() == [f"q {i[1:]}?" for i in ids]
    assert report.dropped.get("malformed_record", 0) == 0
    assert report.dropped.get("sampling_records", 0) == n - len(ids)
    assert report.files[0]["records"] == len(ids)
    if workers > 1:
        serial, rep1 = _read(path, 1, sampling_strategy=strategy, seed=3)
        pd.testing.assert_frame_equal(serial, df, check_exact=True)
        assert rep1.as_dict() == report.as_dict()


@pytest.mark.parametrize("workers", [2, 3])
def test_many_spans_equal_serial(
    tmp_path: Path, workers: int, many_spans: None, parallel_calls: list
) -> None:
    path = _write_pool(tmp_path / "pool.jsonl")
    spans = plan_spans(str(path), 8 * workers, count_ordinals=False)
    assert len(spans) == 8 * workers
    serial, rep1 = _read(path, 1)
    parallel, rep2 = _read(path, workers)
    assert parallel_calls == [True]
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert rep1.as_dict() == rep2.as_dict()
    # The list cells are real lists, as in one process.
    assert all(type(v) is list for v in parallel["media"])
    assert all(type(v) is list for v in parallel["options"])
    assert parallel["is_mcq"].sum() > 0


def test_columns_equal_row_table(tmp_path: Path) -> None:
    """The column-wise table equals the row-tuple one (schema.candidates_frame)."""
    path = _write_pool(tmp_path / "pool.jsonl")
    df = read_candidates(path, media_root="/data", workers=1)
    ctx = FileContext(
        file=str(path.resolve()),
        variant="LLaVA-Video-178K, JSONL",
        unit="line",
        media_root="/data",
    )
    conv = RecordConverter(ctx, MediaPolicy())
    rows: list[tuple] = []
    for i, line in enumerate(path.read_text().split("\n")):
        if line.strip():
            rows.extend(conv.convert(json.loads(line), i))
    expected = candidates_frame(dict(zip(COLUMNS, (list(c) for c in zip(*rows)))))
    pd.testing.assert_frame_equal(df, expected, check_exact=True)


@pytest.mark.parametrize(
    "lists", [[], [["a"]], [["a"], ["b"]], [[], ["x", "é"], [""], ["y"]], [["p"], []]]
)
def test_packed_string_lists_round_trip(lists: list[list[str]]) -> None:
    out = unpack_str_lists(pack_str_lists(lists))
    assert out == lists and all(type(x) is list for x in out)


def test_default_workers() -> None:
    import os

    assert resolve_workers(None) == max(1, min(4, len(os.sched_getaffinity(0))))
    assert resolve_workers(0) == 1 and resolve_workers(3) == 3


def test_error_in_second_chunk_names_true_line(tmp_path: Path) -> None:
    bad = 2500  # record index in the second half; 5 blank lines precede it
    path = _write_pool(tmp_path / "pool.jsonl", {bad: '{"conversations": [ broken'})
    lines = path.read_text().split("\n")
    true_line = lines.index('{"conversations": [ broken') + 1
    assert true_line > len(lines) // 2  # really in the second span
    with pytest.raises(InputError) as serial:
        _read(path, 1)
    with pytest.raises(InputError) as parallel:
        _read(path, 2)
    assert f"line {true_line} (" in str(parallel.value)
    assert str(parallel.value) == str(serial.value)
    assert parallel.value.where == serial.value.where
    assert parallel.value.file == str(path.resolve())


def test_first_error_wins_across_processes(tmp_path: Path, many_spans: None) -> None:
    # Bad lines early (a worker's span) and late (a span this process reads itself).
    path = _write_pool(tmp_path / "pool.jsonl", {300: "not json", 2900: "[1, 2]"})
    with pytest.raises(InputError) as serial:
        _read(path, 1)
    with pytest.raises(InputError) as parallel_err:
        _read(path, 3)
    assert str(parallel_err.value) == str(serial.value)
    assert f"line {path.read_text().split(chr(10)).index('not json') + 1} (" in str(serial.value)
    # Only the late one: raised from this process's own span.
    path = _write_pool(tmp_path / "late.jsonl", {2900: "[1, 2]"})
    with pytest.raises(InputError) as serial:
        _read(path, 1)
    with pytest.raises(InputError) as parallel_err:
        _read(path, 2)
    assert str(parallel_err.value) == str(serial.value)


def test_skip_counts_agree(tmp_path: Path, parallel_calls: list) -> None:
    bad = {0: "not json", 10: '{"id": 3', 1800: "[1, 2]", 2900: '{"id": "x"}'}
    path = _write_pool(tmp_path / "pool.jsonl", bad)
    serial, rep1 = _read(path, 1, on_error="skip")
    parallel, rep2 = _read(path, 2, on_error="skip")
    assert parallel_calls == [True]
    assert rep1.dropped["malformed_record"] == 4
    assert rep2.as_dict() == rep1.as_dict()
    pd.testing.assert_frame_equal(serial, parallel)


def test_small_files_stay_in_process(tmp_path: Path, parallel_calls: list) -> None:
    path = _write_pool(tmp_path / "pool.jsonl")
    _read(path, 2, parallel_min_bytes=PARALLEL_MIN_BYTES)
    assert parallel_calls == []


@pytest.mark.slow
def test_default_threshold_on_40mb(tmp_path: Path, parallel_calls: list) -> None:
    small = _write_pool(tmp_path / "small.jsonl").read_bytes()
    path = tmp_path / "pool.jsonl"
    copies = PARALLEL_MIN_BYTES // len(small) + 2
    # Same records repeated (~40 MB): uids repeat, which the reader does not care about.
    path.write_bytes(small * copies)
    serial, rep1 = _read(path, 1, parallel_min_bytes=PARALLEL_MIN_BYTES)
    parallel, rep2 = _read(path, 2, parallel_min_bytes=PARALLEL_MIN_BYTES)
    assert parallel_calls == [True]
    pd.testing.assert_frame_equal(serial, parallel)
    assert rep1.as_dict() == rep2.as_dict()
