"""Reading a user's parquet file with an error that names it (not pyarrow's own types)."""

from __future__ import annotations

import os

import pandas as pd

from gdo.utils.errors import InputError


def read_parquet(path: str | os.PathLike, where: str | None = None) -> pd.DataFrame:
    """``pd.read_parquet(path)``; :class:`InputError` naming the file when it is no parquet
    (pyarrow raises several exception types for that, none of them ours)."""
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        why = (str(exc) or type(exc).__name__).splitlines()[0]
        raise InputError(
            str(path), where, None, "a parquet file", reason=f"cannot be read ({why})"
        ) from None
