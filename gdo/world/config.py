"""Schema of ``conf/world/*.yaml`` (the embedded synthetic world). Owned by gdo.world."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WorldConf:
    name: str = "default"
    seed: int = 0
