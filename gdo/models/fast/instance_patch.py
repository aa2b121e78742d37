"""Swap the ``forward`` of chosen module instances of a loaded model (classes untouched)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


def patch_forward(
    model: Any, matches: Callable[[Any], bool], forward: Callable[..., Any], enabled: bool
) -> int:
    """Give every module of ``model`` for which ``matches(module)`` holds the bound
    ``forward`` (``enabled``), or remove it again; returns the number of modules matched."""
    changed = 0
    for module in model.modules():
        if not matches(module):
            continue
        if enabled:
            module.forward = types.MethodType(forward, module)
        elif "forward" in vars(module):
            del module.forward
        changed += 1
    return changed
