"""The subset in the formats users train with (docs/FORMATS.md).

- ``train.json``: LLaVA-Video-178K records: ``id``, ``conversations`` (human turn
  starting ``<image>\\n``), ``video`` or ``image``, ``data_source``.
- ``train.jsonl``: ms-swift ``messages`` rows: ``id``, ``messages`` (user/assistant),
  ``videos`` + ``video_id`` for video rows, ``images`` for image and frame rows, with
  one ``<video>``/``<image>`` token per media item in the user turn.
Media paths are written as the pool holds them (absolute).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.utils.io import atomic_write_text


def _media(row: dict) -> list[str]:
    m = row.get("media")
    return [str(p) for p in m] if m is not None else []


def llava_record(row: dict) -> dict[str, Any]:
    """One LLaVA-Video record for one candidate (a single-turn conversation)."""
    media, kind = _media(row), row.get("media_kind", "none")
    token = "<image>\n" if media and kind != "none" else ""
    rec: dict[str, Any] = {
        "id": str(row["uid"]),
        "conversations": [
            {"from": "human", "value": token + str(row["question"])},
            {"from": "gpt", "value": str(row["answer"])},
        ],
        "data_source": str(row["source"]),
    }
    if kind == "video" and media:
        rec["video"] = media[0]
    elif media:
        rec["image"] = media[0] if len(media) == 1 else media
    return rec


def messages_row(row: dict) -> dict[str, Any]:
    """One ms-swift ``messages`` row for one candidate."""
    media, kind = _media(row), row.get("media_kind", "none")
    out: dict[str, Any] = {"id": str(row["uid"])}
    if kind == "video" and media:
        prefix = "<video>"
        out["videos"] = media[:1]
        out["video_id"] = str(row.get("video_id") or media[0])
    elif media:
        prefix = "<image>" * len(media)
        out["images"] = media
        if kind == "frames":
            out["video_id"] = str(row.get("video_id") or "")
    else:
        prefix = ""
    out["messages"] = [
        {"role": "user", "content": prefix + str(row["question"])},
        {"role": "assistant", "content": str(row["answer"])},
    ]
    out["data_source"] = str(row["source"])
    return out


def write_llava(subset: pd.DataFrame, path: Path) -> Path:
    """``train.json``: a JSON list of LLaVA-Video records (one per selected candidate)."""
    records = [llava_record(r) for r in subset.to_dict("records")]
    return atomic_write_text(path, json.dumps(records, indent=1, ensure_ascii=False) + "\n")


def write_messages(subset: pd.DataFrame, path: Path) -> Path:
    """``train.jsonl``: one ms-swift messages row per line."""
    lines = [json.dumps(messages_row(r), ensure_ascii=False) for r in subset.to_dict("records")]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
