"""A config node as its dataclass: what a stage converts its block to, once, at its entry.

Hydra composes a ``DictConfig``; a stage's inner functions then read attributes of a plain
dataclass instance (``pool.files[0].path``, typed, autocompleted) instead of string keys of
a resolved dict (``to_plain(cfg.pool)["files"][0]["path"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from gdo.utils.errors import ConfigError

T = TypeVar("T")


def typed(node: Any, schema: type[T], where: str) -> T:
    """``node`` (a composed ``DictConfig``, a plain mapping, or already a ``schema``) as an
    instance of the dataclass ``schema``, interpolations resolved.

    A node of another shape (an unknown key, a wrong type, a required value left unset)
    raises :class:`ConfigError` naming ``where`` (the node's dotted name, ``pool``).
    """
    if isinstance(node, schema):
        return node
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(node, DictConfig | Mapping):
        raise ConfigError(f"{where}: expected a mapping of {schema.__name__}, got {node!r}")
    try:
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) is schema:
            return OmegaConf.to_object(node)  # already on its schema: no merge needed
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), node))
    except OmegaConfBaseException as err:
        raise ConfigError(f"{where}: {err}".replace("\n", " ")) from err
