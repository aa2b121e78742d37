"""The one table of benchmark kinds: what gdo needs to know about each (``BenchmarkKind``).

A kind says how to read its question files (a record reader, or a whole-file reader),
which record fields it requires, the dataset folder layouts it recognises, its breakdown
(group) fields, its aggregation rule, and the prompt the harness gives its questions.
The readers (:mod:`gdo.benchmarks.readers`), the layouts, the prompts and the aggregation
(:mod:`gdo.evaluation`) and the frontier all look a kind up here, so a new kind is one
:func:`register_kind` call: gdo's own kinds are registered in ``readers.py`` (MVBench,
Video-MME, MLVU, LVBench) and ``custom.py``; one from outside the package registers itself
when its module is imported (``plugins`` in the config).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdo.utils.errors import InputError


@dataclass(frozen=True)
class Rule:
    """How one benchmark turns per-question 0/1 into its headline number."""

    # Macro-average unit (a group field), or None for a micro average.
    unit: str | None
    # Leave empty / unparseable predictions out of the denominator (MVBench).
    answered_only: bool = False

    def describe(self) -> str:
        """A one-line description for reports."""
        base = f"macro over {self.unit}" if self.unit else "micro (mean over questions)"
        return base + (", answered-only denominators" if self.answered_only else "")


@dataclass(frozen=True)
class Form:
    """One release layout of a benchmark's dataset folder."""

    name: str
    questions: tuple[str, ...]  # glob patterns of the question files (first match wins)
    media: tuple[str, ...]  # media folders, relative to the dataset root ("" = the root)


# Any benchmark: a folder holding its question files, media next to them or in a subfolder.
OWN_FOLDER = Form("folder of question files", ("*",), ("", "video", "videos", "data"))
DEFAULT_INSTRUCTION = "Answer with the option's letter from the given choices directly."


@dataclass(frozen=True)
class Prompt:
    """The harness-style prompt of a kind's questions (gdo.evaluation.prompts.build_prompt):
    ``intro`` / ``question_prefix + question`` / ``options_header`` / one line per option
    (``(A) text`` or ``A. text``) / ``instruction``."""

    instruction: str = DEFAULT_INSTRUCTION
    intro: str | None = None
    question_prefix: str = ""
    options_header: str | None = None
    letter_style: str = "paren"  # paren: "(A) text" | dot: "A. text"


@dataclass(frozen=True)
class BenchmarkKind:
    """What gdo knows about one benchmark kind (``eval.benchmarks[].kind``)."""

    name: str
    # Breakdown fields of the question table (the rule's unit among them).
    group_fields: tuple[str, ...]
    rule: Rule
    # A record (one question) -> its row: ``read(rec, *, file, where, stem, media, media_map,
    # frame_subtasks) -> dict`` with qid, question, options, answer_letter, media_kind,
    # media, variant and the group fields (gdo.benchmarks.readers' record readers).
    read_record: Callable[..., dict[str, Any]] | None = None
    # Or the whole file (folder) -> the question table: ``read_file(path, media_root)``.
    read_file: Callable[..., Any] | None = None
    required: tuple[str, ...] = ()  # record fields a file of this kind must have
    forms: tuple[Form, ...] = (OWN_FOLDER,)  # dataset folder layouts, tried in order
    # Question files in a dataset folder that are not this kind's questions (open-ended).
    skip_files: re.Pattern[str] | None = None
    prompt: Prompt = field(default_factory=Prompt)

    def __post_init__(self) -> None:
        if (self.read_record is None) == (self.read_file is None):
            raise ValueError(f"benchmark kind {self.name}: give read_record or read_file")
        if self.rule.unit is not None and self.rule.unit not in self.group_fields:
            raise ValueError(
                f"benchmark kind {self.name}: rule unit {self.rule.unit!r} is not one of its "
                f"group_fields {self.group_fields}"
            )


_KINDS: dict[str, BenchmarkKind] = {}


def register_kind(kind: BenchmarkKind) -> BenchmarkKind:
    """Add (or replace) a benchmark kind; returns it."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str, file: str | None = None) -> BenchmarkKind:
    """The registered kind ``name``; :class:`InputError` naming the known ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise InputError(file, None, "kind", f"one of {', '.join(_KINDS)}", got=name) from None


class _View(Mapping[str, Any]):
    """A read-only view of one attribute of every registered kind (kinds registered later
    show up too)."""

    def __init__(self, get: Callable[[BenchmarkKind], Any]) -> None:
        self._get = get

    def __getitem__(self, name: str) -> Any:
        return self._get(_KINDS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(list(_KINDS))

    def __len__(self) -> int:
        return len(_KINDS)

    def __repr__(self) -> str:
        return repr(dict(self))


# The registered kinds by name (iterating gives the names, in registration order).
KINDS: Mapping[str, BenchmarkKind] = _View(lambda k: k)
# Breakdown fields of each kind (the first one is its macro-average unit, if any).
GROUP_FIELDS: Mapping[str, list[str]] = _View(lambda k: list(k.group_fields))
