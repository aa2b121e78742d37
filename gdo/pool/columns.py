"""Candidates collected column-wise, then turned into the candidate table in bulk.

A record's fields (sample id, source, media, duration, ...) are kept once per record
and repeated over its QA turns with numpy / pyarrow ``take``; per candidate only the
uid digest, the (question, answer) pair and, for multiple-choice questions, the
options and answer letter are kept. Building the table this way does in C what
row tuples + ``zip(*rows)`` + one ``pa.array`` per 1M-cell column did in Python.

The table equals :func:`gdo.pool.schema.candidates_frame` of the same rows (same
columns, dtypes and values); tests/test_pool_parallel.py and the fast/careful path
test check it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdo.pool.schema import UID_BYTES

# Per record, in this order (see CandidateColumns.records).
RECORD_FIELDS = (
    "sample_id",
    "source",
    "file",
    "record",
    "bucket",
    "media_kind",
    "media",
    "video_id",
    "duration_s",
    "n_frames",
)


class CandidateColumns:
    """Collects the candidates of a stream of records (see module docstring).

    ``records``: one tuple per record with candidates, :data:`RECORD_FIELDS` + the
    number of its candidates; ``digests``: the sha1 digest of each candidate's uid key
    (the uid is its first 16 hex digits); ``pairs``: (question, answer) per candidate;
    ``mcq``: (candidate position, options, answer letter) of multiple-choice ones.
    """

    __slots__ = ("records", "digests", "pairs", "mcq")

    def __init__(self) -> None:
        self.records: list[tuple] = []
        self.digests: list[bytes] = []
        self.pairs: list[tuple[str, str]] = []
        self.mcq: list[tuple[int, list[str], str]] = []

    def __len__(self) -> int:
        return len(self.digests)

    def add_rows(self, rows: list[tuple]) -> None:
        """Append one record's candidate rows (tuples in COLUMNS order, turns 0..n-1)."""
        if not rows:
            return
        first = rows[0]
        # uid, sample_id, turn, source, file, record, bucket, kind, media, video_id,
        # duration, n_frames, question, answer, is_mcq, options, letter
        self.records.append((*first[1:2], *first[3:12], len(rows)))
        n0 = len(self.digests)
        for i, row in enumerate(rows):
            # The digest's tail never shows (uids are its first 8 bytes, in hex).
            self.digests.append(bytes.fromhex(row[0]).ljust(20, b"\0"))
            self.pairs.append((row[12], row[13]))
            if row[15]:
                self.mcq.append((n0 + i, row[15], row[16]))

    def frame(self):
        """The candidate DataFrame (COLUMNS order and dtypes); columns are built in C."""
        return frame_from_chunks([self.chunk()])

    def chunk(self, pack_lists: bool = False) -> dict[str, Any] | None:
        """The collected candidates as columns, ready to concatenate (None when none).

        String columns are Arrow arrays and number columns numpy arrays, one value per
        candidate. The Python-object columns are kept compact: ``media`` once per
        record (with ``count``, each record's candidates) and ``options`` only for
        multiple-choice candidates (``mcq_pos``). With ``pack_lists`` those lists of
        strings are packed into one string + lengths (:func:`pack_str_lists`), which
        pickles as a buffer: this is what a worker process sends back.
        :func:`frame_from_chunks` builds the table from chunks.
        """
        import pyarrow as pa

        if not self.records:
            return None
        fields = dict(zip((*RECORD_FIELDS, "count"), zip(*self.records)))
        n = len(self.digests)
        counts = np.array(fields.pop("count"), dtype=np.int64)
        n_rec = len(counts)
        # Row -> its record; turn = row - first row of its record.
        take = np.repeat(np.arange(n_rec), counts) if n != n_rec else None
        take_pa = pa.array(take) if take is not None else None
        chunk: dict[str, Any] = {"n": n, "count": counts}
        for name in ("sample_id", "source", "file", "bucket", "media_kind", "video_id"):
            arr = pa.array(fields.pop(name), type=pa.large_string())
            chunk[name] = arr if take_pa is None else arr.take(take_pa)
        for name, dtype in (("record", np.int64), ("n_frames", np.int64), ("duration_s", float)):
            arr = np.array(fields.pop(name), dtype=dtype)
            chunk[name] = arr if take is None else arr[take]
        del take, take_pa
        chunk["turn"] = np.arange(n, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        media = list(fields.pop("media"))
        chunk["media"] = pack_str_lists(media) if pack_lists else media
        # uid: first 8 bytes of each digest, hex -> one ASCII buffer of 16 chars per row.
        digests = np.frombuffer(b"".join(self.digests), dtype=np.uint8).reshape(n, 20)
        hex_uids = digests[:, :UID_BYTES].tobytes().hex().encode()
        del digests
        offsets = np.arange(0, 16 * (n + 1), 16, dtype=np.int64)
        chunk["uid"] = pa.LargeStringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(hex_uids)
        )
        pairs = self.pairs
        chunk["question"] = pa.array([p[0] for p in pairs], type=pa.large_string())
        chunk["answer"] = pa.array([p[1] for p in pairs], type=pa.large_string())
        mcq = self.mcq
        mcq_pos = np.fromiter((m[0] for m in mcq), dtype=np.int64, count=len(mcq))
        chunk["mcq_pos"] = mcq_pos
        options = [m[1] for m in mcq]
        chunk["mcq_options"] = pack_str_lists(options) if pack_lists else options
        # Letters: the multiple-choice ones, "" (one past them) everywhere else.
        letter_of = np.full(n, len(mcq), dtype=np.int64)
        letter_of[mcq_pos] = np.arange(len(mcq))
        letters = pa.array([m[2] for m in mcq] + [""], type=pa.large_string())
        chunk["answer_letter"] = letters.take(pa.array(letter_of))
        return chunk


def pack_str_lists(lists: list[list[str]]) -> tuple[Any, np.ndarray]:
    """Lists of strings -> (all strings as one Arrow array, list lengths).

    Pickles as a few buffers instead of one object per string and list (several times
    less CPU between processes); :func:`unpack_str_lists` inverts it.
    """
    import pyarrow as pa

    sizes = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return pa.array([s for lst in lists for s in lst], type=pa.large_string()), sizes


def unpack_str_lists(packed: tuple[Any, np.ndarray]) -> list[list[str]]:
    """The lists :func:`pack_str_lists` packed (new, equal list and string objects)."""
    strings, sizes = packed
    flat = strings.to_numpy(zero_copy_only=False).tolist()
    if len(flat) == len(sizes) and (sizes == 1).all():  # one path per record: common
        return list(map(list, zip(flat)))
    ends = np.cumsum(sizes).tolist()
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def frame_from_chunks(chunks: list[dict[str, Any] | None]):
    """The candidate DataFrame of :meth:`CandidateColumns.chunk` results, in order.

    Equal to :func:`gdo.pool.schema.candidates_frame` of the same rows: COLUMNS order,
    dtypes and values (string columns Arrow-backed ``str``, ``media`` / ``options``
    object columns of lists; a record's turns share its ``media`` list). Strings are
    not copied (chunked Arrow arrays); only the list cells are made here.
    """
    import pandas as pd
    import pyarrow as pa

    from gdo.pool.schema import COLUMNS, empty_candidates

    chunks = [c for c in chunks if c is not None]
    if not chunks:
        return empty_candidates()
    n = sum(c["n"] for c in chunks)
    data: dict[str, Any] = {}
    for name, kind in COLUMNS.items():
        if kind == "str":
            parts = [c.pop(name) for c in chunks]
            data[name] = pd.array(pa.chunked_array(parts, type=pa.large_string()), dtype="str")
        elif kind != "list[str]" and name != "is_mcq":
            parts = [c.pop(name) for c in chunks]
            data[name] = pd.Series(
                parts[0] if len(parts) == 1 else np.concatenate(parts), dtype=kind
            )
    del parts
    # media: one list per record, shared by the record's candidates.
    media = []
    for c in chunks:
        m = c.pop("media")
        media.extend(m if isinstance(m, list) else unpack_str_lists(m))
    media_arr = np.empty(len(media), dtype=object)
    media_arr[:] = media
    del media
    counts = np.concatenate([c["count"] for c in chunks])
    data["media"] = pd.Series(np.repeat(media_arr, counts), dtype=object)
    del media_arr
    # options: [] except for the multiple-choice candidates (shifted by earlier chunks).
    is_mcq = np.zeros(n, dtype=bool)
    options: list[list[str]] = [[] for _ in range(n)]
    shift = 0
    for c in chunks:
        opts = c.pop("mcq_options")
        opts = opts if isinstance(opts, list) else unpack_str_lists(opts)
        pos = c["mcq_pos"] + shift
        is_mcq[pos] = True
        for i, o in zip(pos.tolist(), opts):
            options[i] = o
        shift += c["n"]
    data["is_mcq"] = pd.Series(is_mcq, dtype="bool")
    data["options"] = pd.Series(options, dtype=object)
    del options
    return pd.DataFrame({name: data.pop(name) for name in COLUMNS})
