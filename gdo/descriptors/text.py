"""Text helpers shared by the text-based descriptors (TNC, coverage, goal relevance)."""

from __future__ import annotations

import re
import zlib

import numpy as np

WORD = re.compile(r"\w+")
# MCQ option lines as pools and benchmarks write them: "A. text", "(B) text", "C) text".
OPTION_LINE = re.compile(r"^\s*(?:\([A-Za-z]\)|[A-Za-z][.)])\s")


def question_stem(question: str) -> str:
    """The question without its option lines (and without an ``Options:`` header)."""
    keep = [
        ln
        for ln in str(question).splitlines()
        if not OPTION_LINE.match(ln) and ln.strip().lower() not in ("options:", "option:")
    ]
    return "\n".join(keep)


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return WORD.findall(str(text).lower())


def hashed_ngrams(text: str, buckets: int, n_max: int = 2) -> np.ndarray:
    """Bucket ids (crc32, stable across processes) of the text's 1..n_max-grams."""
    toks = words(text)
    grams = [
        " ".join(toks[i : i + n]) for n in range(1, n_max + 1) for i in range(len(toks) - n + 1)
    ]
    return np.fromiter((zlib.crc32(g.encode()) % buckets for g in grams), np.int64, len(grams))
