"""The candidate table's columns and the stable uid (shared by every stage)."""

from __future__ import annotations

import hashlib

# column -> pandas/arrow dtype description (see docs/ARCHITECTURE.md)
COLUMNS: dict[str, str] = {
    "uid": "str",
    "sample_id": "str",
    "turn": "int64",
    "source": "str",
    "file": "str",
    "record": "int64",
    "bucket": "str",
    "media_kind": "str",
    "media": "list[str]",
    "video_id": "str",
    "duration_s": "float64",
    "n_frames": "int64",
    "question": "str",
    "answer": "str",
    "is_mcq": "bool",
    "options": "list[str]",
    "answer_letter": "str",
}

# Text-only records (no media) get their own bucket, so image quotas and statistics
# never count them.
BUCKETS = ("image", "short_video", "long_video", "text")
MEDIA_KINDS = ("image", "video", "frames", "none")


def make_uid(source: str, sample_id: str, turn: int) -> str:
    """Stable 16-hex id of one QA turn: sha1 of (source, sample id, turn index)."""
    key = f"{source}\x1f{sample_id}\x1f{int(turn)}".encode()
    return hashlib.sha1(key).hexdigest()[:16]


def candidates_frame(columns: dict[str, list]):
    """A candidate DataFrame from column lists, with COLUMNS' order and dtypes.

    List cells (``media``, ``options``) stay Python lists; after a parquet round trip
    they come back as arrays, so readers should treat them as sequences.
    """
    import pandas as pd
    import pyarrow as pa

    n = len(next(iter(columns.values()))) if columns else 0
    data = {}
    for name, kind in COLUMNS.items():
        values = columns.get(name, [] if n == 0 else None)
        if values is None:
            raise KeyError(f"candidate column {name!r} missing")
        if kind == "str":
            # Through pyarrow directly: ~2x faster than pandas' own list conversion.
            data[name] = pd.array(pa.array(values, type=pa.large_string()), dtype="str")
        elif kind == "list[str]":
            data[name] = pd.Series(values, dtype=object)
        else:
            data[name] = pd.Series(values, dtype=kind)
    return pd.DataFrame(data)


def empty_candidates():
    """A candidate DataFrame with no rows (all columns, right dtypes)."""
    return candidates_frame({})


def arrow_schema():
    """The pyarrow schema of ``pool.parquet`` (explicit, so empty list columns keep their type)."""
    import pyarrow as pa

    types = {
        "str": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list[str]": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()])


def write_candidates(path, df) -> None:
    """Write a candidate DataFrame to parquet with :func:`arrow_schema` (not atomic itself)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df[list(COLUMNS)], schema=arrow_schema(), preserve_index=False)
    pq.write_table(table, path)
