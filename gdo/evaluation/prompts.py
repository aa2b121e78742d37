"""Harness-style prompts and answer-letter extraction, both versioned.

Scores drift by several points between harness versions, so every result records
``PROMPT_VERSION`` and ``EXTRACT_VERSION``; change a constant whenever its behaviour
changes.
"""

from __future__ import annotations

import re

from gdo.benchmarks.kinds import KINDS, Prompt
from gdo.benchmarks.options import letters_for

PROMPT_VERSION = "gdo-mcq-prompt-1"
EXTRACT_VERSION = "gdo-extract-1"


def build_prompt(question: str, options: list[str], kind: str) -> str:
    """The prompt text of one question in the harness style of its benchmark kind (its
    :class:`gdo.benchmarks.kinds.Prompt`; an unknown kind gets the default one).

    MVBench: ``Question: ...\nOption:\n(A) ...\n(B) ...\nOnly give the best option.``;
    Video-MME lists ``A. ...`` options; MLVU / LVBench ``(A) ...`` lines.
    """
    style = KINDS[kind].prompt if kind in KINDS else Prompt()
    lines = [style.intro] if style.intro else []
    lines.append(style.question_prefix + question)
    if style.options_header:
        lines.append(style.options_header)
    for ltr, opt in zip(letters_for(options), options):
        lines.append(f"{ltr}. {opt}" if style.letter_style == "dot" else f"({ltr}) {opt}")
    lines.append(style.instruction)
    return "\n".join(lines)


# Phrases models put before the letter ("The best answer is B", "Answer: (C)").
_PREFIX = re.compile(
    r"^\s*(?:the\s+)?(?:best\s+|correct\s+|final\s+)?(?:answer|option|choice)"
    r"(?:\s+is)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\(([A-Z])\)")
_LEADING = re.compile(r"^\s*\**([A-Z])(?:$|[.):,\]\s*])")
_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z'])")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _is_article(text: str, pos: int) -> bool:
    """'A' / 'I' followed by a lower-case word is English, not an option letter."""
    return text[pos] in "AI" and re.match(r"\s+[a-z]", text[pos + 1 :]) is not None


def extract_letter(text: str | None, options: list[str]) -> str | None:
    """The first option letter a model's answer gives, or None when unparseable.

    Tried in order: a letter in parentheses ``(B)``; a leading letter ``B`` / ``B.`` /
    ``B)`` after an optional "The answer is" prefix; the text of an option (the
    earliest one mentioned, the longest on a tie); a standalone capital letter.
    Only letters of the given options count, so ``E`` / ``F`` work when there are six.
    """
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    valid = letters_for(options) if options else "ABCDEF"
    m = _PAREN.search(text)
    while m:
        if m.group(1) in valid:
            return m.group(1)
        m = _PAREN.search(text, m.end())
    body = _PREFIX.sub("", text, count=1)
    m = _LEADING.match(body)
    if m and m.group(1) in valid and not _is_article(body, m.start(1)):
        return m.group(1)
    normed = f" {_norm(text)} "
    hits = []
    for i, opt in enumerate(options):
        o = _norm(opt)
        if o:
            pos = normed.find(f" {o} ")
            if pos >= 0:
                hits.append((pos, -len(o), i))
    if hits:
        return valid[min(hits)[2]]
    for m in _TOKEN.finditer(text):
        if m.group(1) in valid and not _is_article(text, m.start(1)):
            return m.group(1)
    return None
