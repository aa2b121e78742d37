"""TNC (temporal necessity): does the question need several frames in order?

``mode: regex`` flags questions that use a temporal word (the paper's list,
docs/METHOD.md#tnc-temporal-necessity:
before/after/then/while/during/first/next/finally/sequence/later/earlier/transition/
happen, plus start/end/begin, with their inflections) -> 1.0, else 0.0. Option lines
(``A. ...``) are ignored: an option's wording says nothing about the question.
``mode: llm`` asks the VLM a text-only judge prompt and reads its one-word verdict:
"Temporal" -> 1, "Static" -> 0, anything else -> 0.5.
"""

from __future__ import annotations

import re
from typing import Any

from gdo.columns import TNC
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext
from gdo.descriptors.text import question_stem

TEMPORAL_WORDS = re.compile(
    r"\b(?:before|after(?:wards?)?|then|while|during|first|next|finally|sequences?|later|"
    r"earlier|transitions?|happen(?:s|ed|ing)?|start(?:s|ed|ing)?|end(?:s|ed|ing)?|"
    r"begin(?:s|ning)?|began|begun)\b",
    re.IGNORECASE,
)

JUDGE_PROMPT = (
    "Does answering this question about a video require comparing several frames in "
    "time order, or is a single frame enough? Reply with one word: Temporal or Static.\n"
    "Question: {question}"
)


def regex_tnc(question: str, extra: re.Pattern[str] | None = None) -> float:
    """1.0 when the question stem uses a temporal word (or an ``extra`` one), else 0.0."""
    stem = question_stem(question)
    hit = TEMPORAL_WORDS.search(stem) or (extra is not None and extra.search(stem))
    return 1.0 if hit else 0.0


def parse_verdict(text: str) -> float:
    """The judge's reply -> 1.0 (Temporal), 0.0 (Static) or 0.5 (unclear or both)."""
    t = text.lower()
    temporal, static = "temporal" in t, "static" in t
    if temporal and not static:
        return 1.0
    if static and not temporal:
        return 0.0
    return 0.5


@register("temporal_necessity")
class TemporalNecessity(Descriptor):
    """TNC: regex on temporal words, or the VLM as a text-only judge."""

    sample_columns = (TNC,)

    def __init__(
        self,
        mode: str = "regex",
        prompt: str = JUDGE_PROMPT,
        max_new_tokens: int = 4,
        extra_words: list[str] | None = None,
    ) -> None:
        if mode not in ("regex", "llm"):
            raise ValueError(
                f"descriptors.specs.temporal_necessity.mode: expected regex or llm, got {mode!r}"
            )
        self.mode = mode
        self.prompt = prompt
        self.max_new_tokens = int(max_new_tokens)
        # Words a pool phrases its temporal questions with beyond the paper's list
        # (e.g. "last", "move"); whole words, case-insensitive.
        self.extra_words = [str(w) for w in (extra_words or [])]

    def _extra(self) -> re.Pattern[str] | None:
        if not self.extra_words:
            return None
        return re.compile(r"\b(?:" + "|".join(map(re.escape, self.extra_words)) + r")\b", re.I)

    @property
    def needs_model(self) -> bool:  # type: ignore[override]
        return self.mode == "llm"

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """One TNC value per row."""
        if self.mode == "regex":
            extra = self._extra()
            return {
                TNC: ctx.column(ctx.map_rows(lambda i: regex_tnc(ctx.rows[i]["question"], extra)))
            }

        def judge(rows: list[dict[str, Any]], _: list[int]) -> list[float]:
            prompts = [
                {
                    "question": self.prompt.format(question=question_stem(r["question"])),
                    "media_kind": "none",
                    "media": [],
                }
                for r in rows
            ]
            outs = ctx.model.generate(
                prompts, n=1, temperature=0.0, max_new_tokens=self.max_new_tokens
            )
            return [parse_verdict(o[0] if o else "") for o in outs]

        return {TNC: ctx.column(ctx.map_batch(("tnc_llm", self.prompt), judge))}
