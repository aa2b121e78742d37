"""Build the configured descriptors from ``descriptors.items`` (``_target_`` or by name)."""

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


def build(items: Any) -> list[Item]:
    """Instantiate ``descriptors.items`` in config order (null items are dropped).

    A node with ``_target_`` is built with Hydra's ``instantiate``; a node without
    one is looked up by its name in the registry. ``enabled: false`` keeps the
    descriptor's columns but fills them with NaN.
    """
    from hydra.utils import instantiate

    load_all()
    out = []
    for name, node in (to_plain(items) or {}).items():
        if node is None:
            continue
        node = dict(node)
        enabled = bool(node.pop("enabled", True))
        try:
            if "_target_" in node:
                desc = instantiate(node, _convert_="all")
            elif name in REGISTRY:
                desc = REGISTRY[name](**node)
            else:
                raise ConfigError(
                    f"descriptors.items.{name}: no _target_ and no registered descriptor of "
                    f"that name (registered: {', '.join(sorted(REGISTRY))})"
                )
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"descriptors.items.{name}: cannot build it: {exc}") from exc
        if not isinstance(desc, Descriptor):
            raise ConfigError(
                f"descriptors.items.{name}: _target_ gave {type(desc).__name__}, "
                "expected a gdo.descriptors.base.Descriptor"
            )
        out.append(Item(name, desc, enabled))
    return out
