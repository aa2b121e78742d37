"""Error types that name the file, the record, the field and what was expected."""

from __future__ import annotations


class GdoError(Exception):
    """Base class of every error gdo raises on purpose."""


class InputError(GdoError, ValueError):
    """Bad user input: the message names where it is and what was expected.

    ``InputError("pool.json", "record 12", "conversations", "a list of turns", got="null")``
    reads ``pool.json, record 12, field 'conversations': expected a list of turns, got null``.
    """

    def __init__(
        self,
        file: str | None = None,
        where: str | None = None,
        field: str | None = None,
        expected: str | None = None,
        got: object | None = None,
        reason: str | None = None,
    ) -> None:
        self.file, self.where, self.field = file, where, field
        self.expected, self.got, self.reason = expected, got, reason
        parts = [p for p in (str(file) if file else None, where) if p]
        if field:
            parts.append(f"field '{field}'")
        head = ", ".join(parts) or "input"
        msg = reason or ""
        if expected:
            msg = (msg + "; " if msg else "") + f"expected {expected}"
        if got is not None:
            shown = repr(got) if not isinstance(got, str) else got
            if len(shown) > 120:
                shown = shown[:117] + "..."
            msg += f", got {shown}"
        super().__init__(f"{head}: {msg}" if msg else head)


class ConfigError(GdoError, ValueError):
    """A configuration value that cannot work (names the key and the value)."""


class InfeasibleError(GdoError):
    """Constraints that cannot all hold (names the constraint and the numbers)."""


class StepError(GdoError):
    """A stage run in a child process (``torchrun -m gdo ...``) failed; the child printed why."""
