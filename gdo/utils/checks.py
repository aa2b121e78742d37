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


def _describe(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"a number {'<' if hi_open else '<='} {hi:g}"
    return "a finite number"
