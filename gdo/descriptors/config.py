"""Schema of ``conf/descriptors/*.yaml``. Owned by gdo.descriptors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DescriptorsConf:
    # name -> {_target_: ..., options}; adding a descriptor never edits the others.
    items: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 16
