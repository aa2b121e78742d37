"""Read one rank's candidates from ``pool.parquet``: its rows only, the columns it needs.

Real pools hold 5-50M candidates; a rank of many must not load the whole table. The file
is read in record batches with column projection (the columns describe uses plus the
ones that name a clip), and each batch keeps the rows whose clip
(:func:`gdo.descriptors.clips.shard_key`) hashes to this rank. The clip is computed
from two columns, so it cannot be a stored-predicate filter; memory holds one record
batch plus this rank's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gdo.descriptors.clips import shard_key
from gdo.descriptors.shards import shard_of

# What names a row's clip (shard_key's inputs).
KEY_COLUMNS = ("uid", "video_id", "media")


def rank_mask(uids: Sequence[str], video_ids: Sequence, media: Sequence, world: int) -> np.ndarray:
    """The owning rank of each row: :func:`shard_of` of its clip."""
    return np.fromiter(
        (shard_of(shard_key(u, v, m), world) for u, v, m in zip(uids, video_ids, media)),
        dtype=np.int64,
        count=len(uids),
    )


def read_rank(
    path: str | Path,
    rank: int,
    world: int,
    columns: Sequence[str],
    batch_rows: int = 1 << 16,
) -> pd.DataFrame:
    """The rows of ``path`` that rank ``rank`` of ``world`` owns, with ``columns`` (those
    the file has). Rows keep the file's order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    wanted = [c for c in columns if c in names]
    read = list(dict.fromkeys([*wanted, *(c for c in KEY_COLUMNS if c in names)]))
    parts = []
    for batch in pf.iter_batches(batch_size=batch_rows, columns=read):
        if world > 1:
            n = batch.num_rows
            cols = [batch.column(c).to_pylist() if c in names else [None] * n for c in KEY_COLUMNS]
            batch = batch.filter(pa.array(rank_mask(*cols, world) == rank))
        parts.append(batch.select(wanted))
    schema = pf.schema_arrow
    table = pa.Table.from_batches(parts, schema=pa.schema([schema.field(c) for c in wanted]))
    # The file's pandas metadata (dtypes, index) applies to the projected columns too.
    table = table.replace_schema_metadata(schema.metadata)
    return table.to_pandas()
