"""Schema of ``conf/score/*.yaml`` (the shared score). Owned by gdo.scoring."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ScoreConf:
    name: str = "default"
