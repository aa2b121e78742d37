"""The question table every benchmark reader returns: its columns (one row per question,
then the kind's group fields, gdo.benchmarks.kinds; docs/ARCHITECTURE.md, "Checkpoints
and evaluation")."""

from __future__ import annotations

QUESTION_COLUMNS = [
    "benchmark",
    "qid",
    "question",
    "options",
    "answer_letter",
    "media_kind",
    "media",
    "video_missing",
    "file",
    "record",
    "variant",
]
