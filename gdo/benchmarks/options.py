"""Multiple-choice options: letters, ``(A) ...`` lines in a question, answers as letters.

Shared by the benchmark readers and the answer extraction, so that "what is option B"
means the same thing everywhere.
"""

from __future__ import annotations

import re
import string

from gdo.utils.errors import InputError

LETTERS = string.ascii_uppercase
# "(A) text" (MLVU / LVBench) or "A. text" / "A) text" (Video-MME, LLaVA-Video MC) lines.
_PAREN_LINE = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$")
_DOT_LINE = re.compile(r"^\s*([A-Z])[.)]\s+(.*?)\s*$")
_LETTER_ONLY = re.compile(r"^\s*\(?([A-Z])\)?[.:]?\s*$")
_OPTION_HEADERS = {"options:", "option:", "choices:", "candidates:"}


def letters_for(options: list[str]) -> str:
    """The option letters of a question with these options: ``A``, ``B``, ... in order."""
    if len(options) > len(LETTERS):
        raise ValueError(f"{len(options)} options; at most {len(LETTERS)} are supported")
    return LETTERS[: len(options)]


def split_option_lines(question: str) -> tuple[str, list[str]]:
    """Split ``(A) ...`` (or ``A. ...``) option lines off a question.

    Returns the question without its option lines (and without an ``Options:`` header)
    and the option texts in letter order. Lines only count as options when their letters
    run A, B, C, ... without a gap, so a sentence that happens to start with "A." stays.
    """
    lines = question.replace("\r\n", "\n").split("\n")
    for pattern in (_PAREN_LINE, _DOT_LINE):
        kept, options = [], []
        for line in lines:
            m = pattern.match(line)
            if m and len(options) < len(LETTERS) and m.group(1) == LETTERS[len(options)]:
                options.append(m.group(2))
            else:
                kept.append(line)
        if len(options) >= 2:
            kept = [ln for ln in kept if ln.strip().lower() not in _OPTION_HEADERS]
            return "\n".join(kept).strip(), options
    return question.strip(), []


def strip_letter_prefix(option: str) -> tuple[str | None, str]:
    """``"A. apple"`` -> ``("A", "apple")``; an option without a letter -> ``(None, text)``."""
    m = _PAREN_LINE.match(option) or _DOT_LINE.match(option)
    if m:
        return m.group(1), m.group(2)
    return None, option.strip()


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", str(text).lower()).split())


def answer_to_letter(
    answer: object, options: list[str], *, file: str, where: str, kind: str
) -> tuple[str, str]:
    """The letter of a gold answer given as a letter or as an option's text.

    Returns ``(letter, format)`` with format ``letter`` or ``text``. A letter outside
    the options, or a text that is no option, raises :class:`InputError` with the row, as
    do more options than there are letters.
    """
    if len(options) > len(LETTERS):
        raise InputError(
            file,
            where,
            "options",
            f"at most {len(LETTERS)} options, one per letter A to Z ({kind})",
            got=f"{len(options)} options",
        )
    valid = letters_for(options)
    text = "" if answer is None else str(answer).strip()
    m = _LETTER_ONLY.match(text)
    if m:
        letter = m.group(1)
        if letter not in valid:
            raise InputError(
                file,
                where,
                "answer",
                f"a letter among {', '.join(valid) or '(no options)'} ({kind})",
                got=text,
                reason=f"answer letter outside the {len(options)} options",
            )
        return letter, "letter"
    for i, opt in enumerate(options):
        if text == str(opt).strip():
            return valid[i], "text"
    normed = [_norm(o) for o in options]
    if _norm(text) in normed:
        return valid[normed.index(_norm(text))], "text"
    letter, rest = strip_letter_prefix(text)
    if letter is not None and letter in valid and _norm(rest) == normed[valid.index(letter)]:
        return letter, "letter"
    raise InputError(
        file,
        where,
        "answer",
        f"an option letter ({', '.join(valid)}) or the text of one option ({kind})",
        got=text,
    )
