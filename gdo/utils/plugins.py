"""Extensions from outside the package: modules named in the root config's ``plugins``.

Importing such a module runs its registrations (``@gdo.descriptors.register``,
``gdo.benchmarks.register_kind``, ...), the same calls gdo's own modules make, so a
descriptor or benchmark kind of one's own needs no edit inside gdo. Every ``gdo <command>``
imports them before its stage (and ``gdo run``'s torchrun steps get the same override).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from gdo.utils.errors import ConfigError


def load_plugins(modules: Iterable[str]) -> list[str]:
    """Import each module of ``modules`` (dotted names on ``sys.path``); returns their names."""
    loaded = []
    for name in modules or ():
        try:
            importlib.import_module(str(name))
        except ImportError as exc:
            raise ConfigError(f"plugins: cannot import '{name}': {exc}") from exc
        loaded.append(str(name))
    return loaded
