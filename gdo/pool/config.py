"""Schema of ``conf/pool/*.yaml`` (pool ingestion). Owned by gdo.pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PoolConf:
    name: str = "world"
    # Each entry: {path, format: auto, media_root, sampling_strategy: all, source}
    files: list[Any] = field(default_factory=list)
