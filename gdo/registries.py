"""Where each extension point's one table is: stage, descriptor, benchmark kind, goal kind.

docs/ARCHITECTURE.md ("Adding a descriptor, a benchmark kind, a goal or a stage") says
which files a new one touches; tests/test_registries.py checks that every registered
thing has its config and docs entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def registries() -> dict[str, Mapping[str, Any]]:
    """Extension point -> its registry (name -> what is registered), gdo's own entries loaded."""
    from gdo.benchmarks.kinds import KINDS
    from gdo.descriptors.base import REGISTRY
    from gdo.descriptors.registry import load_all
    from gdo.selection.kinds import GOAL_KINDS
    from gdo.stages import STAGES

    load_all()  # the descriptor modules register themselves when imported
    return {
        "stage": STAGES,
        "descriptor": REGISTRY,
        "benchmark kind": KINDS,
        "goal kind": GOAL_KINDS,
    }
