"""Schemas of ``conf/goal/*.yaml`` and ``conf/select/*.yaml``. Owned by gdo.selection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GoalConf:
    name: str = "temp_plus"


@dataclass
class SelectConf:
    budget: float | None = None
