"""Build the configured descriptors from ``descriptors.specs``, by their registered names.

The one registry of descriptors is :data:`gdo.descriptors.base.REGISTRY` (``@register``):
the built-in ones are the modules of this package (:func:`load_all`); one from outside the
package registers itself when its module is imported (a module named in ``plugins``).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdo.descriptors.base import REGISTRY, Descriptor
from gdo.utils.errors import ConfigError
from gdo.utils.manifest import to_plain


@dataclass
class Item:
    """One configured descriptor: its name, the instance and whether it runs."""

    name: str
    descriptor: Descriptor
    enabled: bool


def load_all() -> None:
    """Import every module of this package so each ``@register`` has run.

    A new descriptor is a new file here: nothing else needs editing to find it.
    """
    # The folder, not the package object: importing gdo.descriptors here would make the
    # package's __init__ (which imports this module) a cycle in the import graph.
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"{__package__}.{mod.name}")


def build(specs: Any) -> list[Item]:
    """Instantiate ``descriptors.specs`` in config order (null items are dropped).

    Each item's name is a registered descriptor (:data:`REGISTRY`); its keys are the
    class's options. ``enabled: false`` keeps the descriptor's columns but fills them
    with NaN.
    """
    load_all()
    out = []
    for name, node in (to_plain(specs) or {}).items():
        if node is None:
            continue
        node = dict(node)
        enabled = bool(node.pop("enabled", True))
        if name not in REGISTRY:
            raise ConfigError(
                f"descriptors.specs.{name}: no registered descriptor of that name (registered: "
                f"{', '.join(sorted(REGISTRY))}; one from outside gdo registers itself with "
                "@gdo.descriptors.register when its module, named in `plugins`, is imported)"
            )
        try:
            desc = REGISTRY[name](**node)
        except Exception as exc:
            raise ConfigError(f"descriptors.specs.{name}: cannot build it: {exc}") from exc
        out.append(Item(name, desc, enabled))
    return out
