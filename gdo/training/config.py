"""Schema of ``conf/training/*.yaml``. Owned by gdo.training."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainingConf:
    name: str = "cpu"
