"""Schema of ``conf/eval/*.yaml`` (benchmarks, scoring mode, frontier). Owned by gdo.evaluation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalConf:
    name: str = "world"
