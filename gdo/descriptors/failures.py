"""Per-sample failures in describe: recorded as data (a row's ``status`` / ``error``), never
fatal to the batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class SampleError(Exception):
    """A per-sample failure raised inside a descriptor (recorded, never fatal)."""


class PreparedError(Exception):
    """A failure that happened where the media work ran (a worker process): it carries
    that failure's :func:`error_reason`, so the row's error reads the same either way."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Failed:
    """A failure as data (picklable): what :func:`outcome` gives for a call that raised."""

    reason: str


def outcome(fn: Callable[[], Any]) -> Any:
    """``fn()``, or :class:`Failed` with its :func:`error_reason` if it raised."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - per-sample failures are data, not bugs
        return Failed(error_reason(exc))


def error_reason(exc: BaseException) -> str:
    """A short, countable reason: the exception's class name, then its message."""
    if isinstance(exc, PreparedError):
        return exc.reason
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:300] if msg else type(exc).__name__


def reason_kind(error: str) -> str:
    """The countable part of an error string (its exception class)."""
    return error.split(":", 1)[0].strip() or "unknown"
