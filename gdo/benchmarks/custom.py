"""The ``custom`` benchmark kind: your own multiple-choice questions as JSONL, CSV or parquet.

One question per line (JSONL), row (CSV, with a header) or row (parquet):

| field | required | meaning |
|---|---|---|
| ``id`` (or ``qid``) | yes | unique question id |
| ``media`` (or ``video`` / ``image`` / ``frames``) | yes | an image path, a video path, or a list of frame paths (in CSV: a JSON list), relative to the media root |
| ``question`` | yes | the question text |
| ``options`` or columns ``A`` .. ``Z`` | yes | a list of option texts (in CSV: a JSON list), or one column per letter; rows may differ in count; no empty option (it would shift the letters after it) |
| ``answer`` | yes | a letter of this row's options, or the text of one of them |
| ``group`` (or ``subtask``) | no | a breakdown label (accuracy per group in the report) |

The media root is the question file's folder unless given; a media path must stay
inside it. Text files are UTF-8, with or without a byte-order mark (spreadsheets write
one). :func:`check_custom` collects *every* problem of a file with its line (JSONL,
CSV: the line in the file) or row (parquet: 1-based); :func:`read_custom` raises on them,
except media that do not exist: those questions are flagged ``video_missing`` (as for the
other suites) and a warning names each line. ``gdo benchmark check FILE`` prints them all.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.benchmarks.options import (
    LETTERS,
    answer_to_letter,
    split_option_lines,
    strip_letter_prefix,
)
from gdo.benchmarks.schema import QUESTION_COLUMNS
from gdo.media.paths import IMAGE_EXTS, VIDEO_EXTS, is_image_file
from gdo.utils.errors import InputError
from gdo.utils.tables import read_parquet
from gdo.utils.text import read_text

log = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".csv", ".parquet", ".json")
# Option columns: one per letter, A .. Z (the most options a question can have).
COLUMN_LETTERS = LETTERS
_ID_FIELDS = ("id", "qid")
_MEDIA_FIELDS = ("media", "video", "image", "frames")
_GROUP_FIELDS = ("group", "subtask")
# Problem kinds: a missing media file is flagged by the reader, everything else is fatal.
MISSING_MEDIA = "missing_media"
ERROR = "error"


@dataclass
class Problem:
    """One thing wrong with a custom benchmark file, with where it is."""

    file: str
    where: str | None  # "line 7" (JSONL / CSV), "row 3" (parquet), None for the whole file
    field: str | None
    message: str
    kind: str = ERROR

    def __str__(self) -> str:
        parts = [self.file] + [p for p in (self.where,) if p]
        if self.field:
            parts.append(f"field '{self.field}'")
        return f"{', '.join(parts)}: {self.message}"


@dataclass
class CheckResult:
    """What :func:`check_custom` found: the usable question rows and every problem."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    n_records: int = 0

    @property
    def fatal(self) -> list[Problem]:
        """Problems that make :func:`read_custom` raise (all but missing media)."""
        return [p for p in self.problems if p.kind != MISSING_MEDIA]


def _blank(value: Any) -> bool:
    """None, NaN, an empty or whitespace-only string: the cell says nothing."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _plain(value: Any) -> Any:
    """numpy arrays / scalars (parquet cells) as plain Python values."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        return value.tolist()
    return value


def iter_records(path: Path) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """``(where, record, error)`` for each record of one file; ``error`` when unreadable.

    A file that is not UTF-8 text or not a parquet raises :class:`InputError`.
    """
    if path.suffix == ".parquet":
        for n, rec in enumerate(read_parquet(path).to_dict("records"), 1):
            yield f"row {n}", {k: _plain(v) for k, v in rec.items()}, None
        return
    text = read_text(path)
    if path.suffix == ".jsonl":
        for n, line in enumerate(io.StringIO(text), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                yield f"line {n}", None, f"not valid JSON ({err.msg} at column {err.colno})"
                continue
            if not isinstance(rec, dict):
                yield f"line {n}", None, f"expected a JSON object, got {type(rec).__name__}"
                continue
            yield f"line {n}", rec, None
    elif path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for rec in reader:
            # line_num is the file line the row ends on (header = line 1).
            where = f"line {reader.line_num}"
            if None in rec:
                yield where, None, f"{len(rec[None])} more cells than header columns"
                continue
            if all(_blank(v) for v in rec.values()):
                continue
            yield where, dict(rec), None
    elif path.suffix == ".json":
        try:
            data = json.loads(text or "[]")
        except json.JSONDecodeError as err:
            yield f"line {err.lineno}", None, f"not valid JSON ({err.msg})"
            return
        if not isinstance(data, list):
            yield None, None, f"expected a JSON list of questions, got {type(data).__name__}"
            return
        for n, rec in enumerate(data, 1):
            if not isinstance(rec, dict):
                yield f"item {n}", None, f"expected an object, got {type(rec).__name__}"
                continue
            yield f"item {n}", rec, None


def _first(rec: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    """The first of ``names`` with a non-blank value: (field, value), else (None, None)."""
    for name in names:
        value = _plain(rec.get(name))
        if isinstance(value, list) and not value:
            continue
        if not _blank(value):
            return name, value
    return None, None


def _as_list(value: Any) -> list[Any] | None:
    """A list cell, or a JSON list written into a string (CSV); None when it is no list."""
    value = _plain(value)
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _options(rec: dict[str, Any]) -> tuple[list[str] | None, str, str | None]:
    """(options, where they came from, problem) from ``options`` or the ``A``..``Z`` columns."""
    listed = _plain(rec.get("options"))
    columns = {c: rec.get(c) for c in COLUMN_LETTERS if not _blank(_plain(rec.get(c)))}
    if not _blank(listed) and not (isinstance(listed, list) and not listed):
        if columns:
            return None, "", f"both an 'options' list and columns {', '.join(columns)}; use one"
        opts = _as_list(listed)
        if opts is None:
            return None, "", "expected a list of option texts (in CSV: a JSON list)"
        empty = next((i for i, o in enumerate(opts) if _blank(o)), None)
        if empty is not None:
            # Dropping it would shift every later letter, and with it the answer.
            why = f"option {empty + 1} is empty ({json.dumps(opts[empty])}); every option needs"
            return None, "", why + " a text, since an empty one would shift the letters after it"
        texts = [strip_letter_prefix(str(o))[1] for o in opts]
        return texts, "options_list", None
    if columns:
        letters = "".join(columns)
        if letters != COLUMN_LETTERS[: len(letters)]:
            gap = next(c for c in COLUMN_LETTERS if c not in columns)
            return None, "", f"option columns must run A, B, C, ... without a gap; {gap} is empty"
        return [str(columns[c]).strip() for c in letters], "option_columns", None
    return None, "", "no options: give an 'options' list or columns A, B, ... (at least two)"


def _media(value: Any, field_name: str, root: Path) -> tuple[str, list[str], list[str], str | None]:
    """(media_kind, absolute paths, missing paths, problem) of one media cell."""
    items = _as_list(value)
    raw = [str(v) for v in items] if items is not None else [str(value).strip()]
    if not raw or any(not r.strip() for r in raw):
        return "none", [], [], "an empty media path"
    root_abs = os.path.abspath(root)
    paths = []
    for r in raw:
        p = r if os.path.isabs(r) else os.path.join(root_abs, r)
        p = os.path.abspath(p)
        # Lexical check (no symlink resolution): a dataset folder may be a link.
        if os.path.commonpath([p, root_abs]) != root_abs:
            return "none", [], [], f"media path '{r}' escapes the media root {root_abs}"
        paths.append(p)
    exts = [Path(p).suffix.lower() for p in paths]
    if len(paths) > 1 or field_name == "frames":
        bad = [r for r, e in zip(raw, exts) if e not in IMAGE_EXTS]
        if bad:
            return "none", [], [], f"a list of frame images; '{bad[0]}' is not an image file"
        kind = "frames"
    elif exts[0] in VIDEO_EXTS:
        kind = "video"
    elif exts[0] in IMAGE_EXTS:
        kind = "image"
    elif Path(paths[0]).is_dir():
        frames = sorted(str(f) for f in Path(paths[0]).iterdir() if is_image_file(f))
        if not frames:
            return "none", [], [], f"'{raw[0]}' is a folder without frame images"
        return "frames", frames, [], None
    else:
        known = ", ".join(sorted({*VIDEO_EXTS, *IMAGE_EXTS}))
        return "none", [], [], f"'{raw[0]}': unknown media type (expected one of {known})"
    missing = [p for p in paths if not os.path.exists(p)]
    return kind, paths, missing, None


def check_record(
    rec: dict[str, Any], *, file: str, where: str, root: Path
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One question row (or None) and the problems of one record."""
    probs: list[Problem] = []

    def bad(field_name: str | None, message: str, kind: str = ERROR) -> None:
        probs.append(Problem(file, where, field_name, message, kind))

    id_field, qid = _first(rec, _ID_FIELDS)
    if id_field is None:
        bad("id", "missing id (a unique question id)")
    question = _plain(rec.get("question"))
    if _blank(question) or not isinstance(question, str):
        bad("question", f"missing question (expected a non-empty string, got {question!r})")
        question = ""
    options, source, why = _options(rec)
    if options is None and why and why.startswith("no options"):
        # No options field: "(A) ..." lines in the question count (MLVU / LVBench style).
        stem, in_text = split_option_lines(question)
        if in_text:
            options, source, why, question = in_text, "question_lines", None, stem
    if why:
        bad("options", why)
    elif options is not None and len(options) < 2:
        bad("options", f"at least two options, got {len(options)}")
    elif options is not None and len(options) > len(LETTERS):
        bad("options", f"at most {len(LETTERS)} options (letters A to Z), got {len(options)}")
        why = "too many options"
    elif options is not None and len(set(options)) < len(options):
        dup = next(o for o, n in Counter(options).items() if n > 1)
        bad("options", f"option '{dup}' is listed twice")
    letter, fmt = "", ""
    answer = _plain(rec.get("answer"))
    if _blank(answer):
        bad("answer", "missing answer (a letter of this row's options or one option's text)")
    elif options is not None and len(options) >= 2 and not why:
        try:
            letter, fmt = answer_to_letter(answer, options, file=file, where=where, kind="custom")
        except InputError as err:
            letters = ", ".join(LETTERS[: len(options)]) if len(options) <= 6 else "A.."
            bad(
                "answer",
                f"'{answer}' is neither a letter of this row's {len(options)} options "
                f"({letters}) nor the text of one of them ({err.reason or 'no match'})",
            )
    media_field, media_value = _first(rec, _MEDIA_FIELDS)
    kind, media, missing = "none", [], []
    if media_field is None:
        bad("media", "missing media (an image path, a video path or a list of frame paths)")
    else:
        kind, media, missing, why_media = _media(media_value, media_field, root)
        if why_media:
            bad(media_field, why_media)
        for m in missing:
            bad(media_field, f"media file does not exist: {m}", MISSING_MEDIA)
    if any(p.kind == ERROR for p in probs):
        return None, probs
    _, group = _first(rec, _GROUP_FIELDS)
    group = "" if group is None else str(group)
    row = {
        "qid": str(qid),
        "question": split_option_lines(question)[0] if source != "question_lines" else question,
        "options": options,
        "answer_letter": letter,
        "media_kind": kind,
        "media": media,
        "video_missing": bool(missing),
        "variant": f"{source}+answer_{fmt}",
        "subtask": group,
        "group": group,
        "where": where,
    }
    return row, probs


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in SUFFIXES)
    return [path]


def check_custom(path: str | Path, media_root: str | Path | None = None) -> CheckResult:
    """Every problem of a custom benchmark file (or folder of them), and its usable rows."""
    path = Path(path).expanduser()
    res = CheckResult()
    if not path.exists():
        res.problems.append(Problem(str(path), None, None, "file not found"))
        return res
    files = _files(path)
    if not files:
        res.problems.append(Problem(str(path), None, None, f"no {'/'.join(SUFFIXES)} files"))
    seen: dict[str, str] = {}
    for f in files:
        if f.suffix not in SUFFIXES:
            msg = f"unknown format '{f.suffix}' (expected {', '.join(SUFFIXES)})"
            res.problems.append(Problem(str(f), None, None, msg))
            continue
        root = Path(media_root).expanduser() if media_root else f.parent
        before = res.n_records
        try:
            records = list(iter_records(f))
        except InputError as err:
            res.problems.append(Problem(str(f), err.where, None, _reason(err)))
            continue
        except (OSError, ValueError, csv.Error) as err:
            res.problems.append(Problem(str(f), None, None, f"cannot be read ({err})"))
            continue
        for index, (where, rec, error) in enumerate(records):
            res.n_records += 1
            if rec is None:
                res.problems.append(Problem(str(f), where, None, str(error)))
                continue
            row, probs = check_record(rec, file=str(f), where=str(where), root=root)
            res.problems += probs
            if row is None:
                continue
            first = seen.get(row["qid"])
            if first is not None:
                msg = f"duplicate id '{row['qid']}' (first used at {first})"
                res.problems.append(Problem(str(f), where, "id", msg))
                continue
            seen[row["qid"]] = f"{f.name} {where}"
            row.update(benchmark="custom", file=str(f), record=index)
            res.rows.append(row)
        if res.n_records == before:
            res.problems.append(Problem(str(f), None, None, "empty file: no questions"))
    return res


def _reason(err: InputError) -> str:
    """An InputError's message without its file and line (a Problem names those)."""
    if err.reason:
        return err.reason
    return f"expected {err.expected}" if err.expected else str(err)


def read_custom(path: str | Path, media_root: str | Path | None = None) -> pd.DataFrame:
    """Read a custom benchmark into :func:`gdo.evaluation.read_benchmark`'s question table.

    Raises :class:`InputError` naming the first problem's file, line/row and field (and
    how many more there are); media files that do not exist are flagged ``video_missing``
    and logged with their line, like missing videos of the other suites.
    """

    res = check_custom(path, media_root)
    if res.fatal:
        first, more = res.fatal[0], len(res.fatal) - 1
        tail = f" (+{more} more problems; run `gdo benchmark check {path}`)" if more else ""
        err = InputError(first.file, first.where, first.field, reason=first.message + tail)
        err.problems = res.problems  # type: ignore[attr-defined]
        raise err
    for p in res.problems:
        log.warning("custom benchmark: %s (question flagged video_missing)", p)
    df = pd.DataFrame(res.rows)
    cols = QUESTION_COLUMNS + ["subtask", "group", "where"]
    df = df[cols]
    df.attrs["variants"] = dict(Counter(df["variant"]))
    df.attrs["kind"] = "custom"
    df.attrs["problems"] = [str(p) for p in res.problems]
    return df
