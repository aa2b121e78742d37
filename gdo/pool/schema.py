"""The candidate table's columns and the stable uid (shared by every stage)."""

from __future__ import annotations

import hashlib

from gdo.columns import CANDIDATE

try:  # CPython's own SHA-1: same digest, cheaper per call than OpenSSL's for tiny keys
    import _sha1

    _sha1_new = _sha1.sha1
except ImportError:  # pragma: no cover - depends on the interpreter build
    _sha1_new = hashlib.sha1

# column -> pandas/arrow dtype description (see docs/ARCHITECTURE.md)
COLUMNS: dict[str, str] = CANDIDATE

# Text-only records (no media) get their own bucket, so image quotas and statistics
# never count them.
BUCKETS = ("image", "short_video", "long_video", "text")
MEDIA_KINDS = ("image", "video", "frames", "none")


# The uid is the first 16 hex digits (8 bytes) of sha1(f"{source}\x1f{sample_id}\x1f{turn}").
# This module is the only place that spells it out; the pool readers take whole records'
# digests from uid_digests (one call per record, not per candidate: that shows at 1M).
UID_BYTES = 8
# b"0", b"1", ...: the turn index as it ends a uid key.
_TURN_BYTES = tuple(str(i).encode() for i in range(256))


def _uid_key(source: str, sample_id: str) -> bytes:
    return f"{source}\x1f{sample_id}\x1f".encode()


def uid_digests(source: str, sample_id: str, n_turns: int) -> list[bytes]:
    """The sha1 digests (20 bytes) of turns ``0 .. n_turns - 1`` of one record; the uid of
    turn ``t`` is ``digests[t][:UID_BYTES].hex()`` (= :func:`make_uid`)."""
    key = _uid_key(source, sample_id)
    if n_turns <= len(_TURN_BYTES):
        return [_sha1_new(key + t).digest() for t in _TURN_BYTES[:n_turns]]
    return [_sha1_new(key + str(t).encode()).digest() for t in range(n_turns)]


def make_uid(source: str, sample_id: str, turn: int) -> str:
    """Stable 16-hex id of one QA turn: sha1 of (source, sample id, turn index)."""
    return _sha1_new(_uid_key(source, sample_id) + str(int(turn)).encode()).hexdigest()[:16]


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
