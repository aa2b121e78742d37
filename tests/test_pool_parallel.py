"""Parallel JSONL ingestion (byte ranges in worker processes) equals the in-process read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import gdo.pool.readers as readers
from gdo.pool import read_candidates
from gdo.pool.parallel import PARALLEL_MIN_BYTES, plan_spans
from gdo.pool.report import IngestReport
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


@pytest.mark.parametrize("strategy", ["all", "random:40%", "end:1000"])
def test_parallel_equals_serial(tmp_path: Path, strategy: str, parallel_calls: list) -> None:
    path = _write_pool(tmp_path / "pool.jsonl")
    serial, rep1 = _read(path, 1, sampling_strategy=strategy, seed=3)
    parallel, rep2 = _read(path, 2, sampling_strategy=strategy, seed=3)
    assert parallel_calls == [True]
    assert len(serial) > 1000
    pd.testing.assert_frame_equal(serial, parallel)
    assert rep1.as_dict() == rep2.as_dict()


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
