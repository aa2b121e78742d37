"""Read one rank's candidates from ``pool.parquet``: its rows only, the columns it needs.

Real pools hold 5-50M candidates; a rank of many must not load the whole table. The file
is read in record batches with column projection (the columns describe uses plus the
ones that name a clip), and each batch keeps the rows whose clip
(:func:`gdo.descriptors.clips.shard_key`, computed in Arrow) hashes to this rank. The
clip is a hash of computed values, so it cannot be a stored-predicate filter; memory
holds one row group's projected columns plus this rank's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.descriptors.shards import shard_of

# What names a row's clip (shard_key's inputs).
KEY_COLUMNS = ("uid", "video_id", "media")


def clip_keys(batch: Any) -> Any:
    """:func:`~gdo.descriptors.clips.shard_key` of every row of a pyarrow record batch,
    computed in Arrow (an Arrow string array): ``video_id``, else the media paths joined
    by newlines, else the uid."""
    import pyarrow.compute as pc

    names = batch.schema.names
    key = batch.column("uid")
    if "media" in names:
        joined = pc.fill_null(pc.binary_join(batch.column("media"), "\n"), "")
        key = pc.if_else(pc.equal(joined, ""), key, joined)
    if "video_id" in names:
        vid = pc.fill_null(batch.column("video_id"), "")
        key = pc.if_else(pc.equal(vid, ""), key, vid)
    return key


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
            keys = clip_keys(batch).to_pylist()
            owner = np.fromiter((shard_of(k, world) for k in keys), np.int64, len(keys))
            batch = batch.filter(pa.array(owner == rank))
        parts.append(batch.select(wanted))
    schema = pf.schema_arrow
    table = pa.Table.from_batches(parts, schema=pa.schema([schema.field(c) for c in wanted]))
    # The file's pandas metadata (dtypes, index) applies to the projected columns too.
    table = table.replace_schema_metadata(schema.metadata)
    return table.to_pandas()
