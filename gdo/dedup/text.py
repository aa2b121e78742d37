"""The text a QA pair is compared by: question stem and answer, normalized.

Multiple-choice questions lose their option lines (and an ``Options:`` header and the
instruction after them) and their answer becomes the correct option's text, so the same
question with shuffled options or another letter reads the same. The stem's words are
sorted: "at the end, what colour is the cube?" and "what colour is the cube at the end?"
compare as one text (character n-grams then catch "appear" / "appears").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from gdo.pool.text import normalize_text

# An option line: "A. x", "(A) x", "A) x", "A: x" (gdo.pool.text.parse_options' shapes).
_OPTION = re.compile(r"^\s*(?:\([A-Z]\)|[A-Z][.):])\s*\S")
_HEADER = re.compile(r"^\s*(?:options|choices)\s*:?\s*$", re.I)


def question_stem(question: str) -> str:
    """The question without its option lines and what follows them."""
    if "\n" not in question:
        return question
    lines: list[str] = []
    for line in question.split("\n"):
        if _OPTION.match(line):
            break
        lines.append(line)
    if lines and _HEADER.match(lines[-1]):
        lines.pop()
    return " ".join(lines)


def answer_text(answer: str, options: Sequence[str] | None, letter: str) -> str:
    """The answer as text: the correct option's text for a multiple-choice row."""
    if letter and options is not None and len(options):
        i = ord(letter) - 65
        if 0 <= i < len(options):
            return str(options[i])
    return answer


def qa_texts(
    questions: Iterable[str],
    answers: Iterable[str],
    options: Iterable[Sequence[str] | None],
    letters: Iterable[str],
    stopwords: Iterable[str] = (),
) -> tuple[list[str], list[str]]:
    """(stems, answers) per row: lower case, no punctuation; stems without stopwords, their
    words sorted. Compare ``f"{stem} | {answer}"`` for a QA pair."""
    stop = frozenset(stopwords)
    stems, texts = [], []
    for q, a, opts, letter in zip(questions, answers, options, letters):
        words = sorted(w for w in normalize_text(question_stem(str(q))).split() if w not in stop)
        stems.append(" ".join(words))
        texts.append(normalize_text(answer_text(str(a), opts, str(letter or ""))))
    return stems, texts
