"""Progress bars (tqdm) that stay quiet off rank 0 and can name the pipeline stage."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    **kw: Any,
) -> tqdm:
    """A tqdm bar; disabled on non-zero ranks and when ``GDO_PROGRESS=0``."""
    disable = not is_rank_zero() or os.environ.get("GDO_PROGRESS", "1") == "0"
    stage = os.environ.get("GDO_STAGE")
    if stage and desc:
        desc = f"[{stage}] {desc}"
    return tqdm(
        iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, **kw
    )
