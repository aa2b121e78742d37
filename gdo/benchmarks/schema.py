"""The question table every benchmark reader returns: its columns, the kinds, the group
fields of each kind (one row per question; docs/ARCHITECTURE.md, "Checkpoints and
evaluation")."""

from __future__ import annotations

KINDS = ("mvbench", "videomme", "mlvu", "lvbench", "custom")
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
# Breakdown fields of each benchmark (the first one is its macro-average unit, if any).
GROUP_FIELDS: dict[str, list[str]] = {
    "mvbench": ["subtask"],
    "videomme": ["duration", "domain", "sub_category", "task_type"],
    "mlvu": ["task_type"],
    "lvbench": ["type", "question_type", "time_reference"],
    "custom": ["subtask"],
}
