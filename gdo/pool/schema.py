"""The candidate table's columns and the stable uid (shared by every stage)."""

from __future__ import annotations

import hashlib

# column -> pandas/arrow dtype description (see docs/ARCHITECTURE.md)
COLUMNS: dict[str, str] = {
    "uid": "str",
    "sample_id": "str",
    "turn": "int64",
    "source": "str",
    "file": "str",
    "record": "int64",
    "bucket": "str",
    "media_kind": "str",
    "media": "list[str]",
    "video_id": "str",
    "duration_s": "float64",
    "n_frames": "int64",
    "question": "str",
    "answer": "str",
    "is_mcq": "bool",
    "options": "list[str]",
    "answer_letter": "str",
}

BUCKETS = ("image", "short_video", "long_video")
MEDIA_KINDS = ("image", "video", "frames", "none")


def make_uid(source: str, sample_id: str, turn: int) -> str:
    """Stable 16-hex id of one QA turn: sha1 of (source, sample id, turn index)."""
    key = f"{source}\x1f{sample_id}\x1f{int(turn)}".encode()
    return hashlib.sha1(key).hexdigest()[:16]
