"""Range checks of config values: one :class:`ConfigError` naming the key, value and range."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from gdo.utils.errors import ConfigError


def check_range(
    key: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    optional: bool = False,
    hint: str = "",
) -> None:
    """Refuse ``value`` unless it is a finite number within the bounds.

    ``lo_open`` / ``hi_open`` exclude the bound itself; ``optional`` accepts None. The
    message reads ``goal.max_ratio=-0.5: expected a number in (0, 1]``.
    """
    if value is None and optional:
        return
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        raise ConfigError(
            f"{key}={value!r}: expected {_describe(lo, hi, lo_open, hi_open)}"
            + (f" ({hint})" if hint else "")
        )


def check_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    """Refuse ``value`` unless it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{key}={value!r}: expected one of {', '.join(choices)}")


def check_all_set(node: Any, group: str, what: str, where: str) -> None:
    """Refuse a config node with keys left unset (``???``), naming every one of them.

    ``group`` is the node's name in the root config (``goal``), ``what`` says which node
    it is in the message (``goal 'temp'``) and ``where`` where its values belong.
    A plain object (a test's namespace, a replay) passes: it has what it is asked for.
    """
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(node, DictConfig):
        return
    # OmegaConf names keys from the root: "goal.x" inside a composed config, "x" alone.
    prefix = "" if node._get_full_key(None) else f"{group}."
    missing = sorted(prefix + k for k in OmegaConf.missing_keys(node))
    if missing:
        raise ConfigError(
            f"{what} does not set {', '.join(missing)}: every one of its keys is required "
            f"(state it in {where})"
        )


def _describe(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"a number {'<' if hi_open else '<='} {hi:g}"
    return "a finite number"
