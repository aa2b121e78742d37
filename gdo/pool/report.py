"""What ingestion kept and dropped, and why: the counts that go into the pool manifest."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gdo.utils.errors import InputError

log = logging.getLogger("gdo.pool")

# Messages kept verbatim in the manifest; beyond that only the counts grow.
MAX_MESSAGES = 20


@dataclass
class IngestReport:
    """Counts of an ingestion run: per file, dropped by reason, and sample error messages.

    Units: ``dropped`` counts rows: ``malformed_record`` records (lines),
    ``sampling_records`` records left out by a sampling strategy, every other reason
    candidates (``non_utf8_file``: files kept with U+FFFD in place of the bad bytes).
    ``skipped_files`` counts whole files left out (``empty_file``, ``malformed_file``,
    ``unreadable_file``, ``not_utf8``), whose records nobody counted; each is also named
    in ``files`` with its ``skipped`` reason.
    """

    on_error: str = "raise"
    dropped: Counter = field(default_factory=Counter)
    files: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)
    skipped_files: Counter = field(default_factory=Counter)
    # Near-duplicate removal (gdo.dedup): one row per removed candidate and the step's
    # own counts; the stage writes them to near_duplicates.parquet and the manifest.
    near_duplicates: Any = None
    near_dup: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "skip"):
            raise InputError(None, None, "pool.on_error", "raise or skip", got=self.on_error)

    def problem(self, exc: InputError, reason: str, n: int = 1) -> None:
        """Raise ``exc`` (on_error: raise) or count ``n`` dropped under ``reason`` and log it."""
        if self.on_error == "raise":
            raise exc
        self.dropped[reason] += n
        total = sum(self.dropped.values())
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(f"[{reason}] {exc}")
            log.warning("skipped (%s): %s", reason, exc)
        elif total % 10000 == 0:
            log.warning("%d problems skipped so far (see the pool manifest)", total)

    def file_problem(self, exc: InputError, reason: str, info: dict[str, Any]) -> None:
        """Raise ``exc`` (on_error: raise) or leave out the whole file ``info`` describes:
        counted under ``skipped_files``, named in ``files`` and logged."""
        if self.on_error == "raise":
            raise exc
        self.skipped_files[reason] += 1
        info["skipped"] = reason
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(f"[{reason}, whole file skipped] {exc}")
        log.warning("skipped the whole file (%s): %s", reason, exc)

    def drop(self, reason: str, n: int) -> None:
        """Count ``n`` dropped under ``reason`` (a rule, not an error: never raises)."""
        if n:
            self.dropped[reason] += int(n)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary for the manifest."""
        return {
            "dropped": dict(sorted(self.dropped.items())),
            "skipped_files": dict(sorted(self.skipped_files.items())),
            "files": self.files,
            "notes": dict(sorted(self.notes.items())),
            "near_dup": self.near_dup,
            "messages": self.messages,
        }
