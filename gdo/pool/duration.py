"""Durations and buckets: explicit metadata, the LLaVA-Video `data_source` range, or a probe."""

from __future__ import annotations

import math
import re

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)_(s|m|h)(?:_|$)")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_KEYS = ("duration_s", "duration", "video_duration")
N_FRAMES_KEYS = ("n_frames", "num_frames", "frame_count")


def duration_from_data_source(data_source: str) -> float:
    """Midpoint of the range a LLaVA-Video-178K folder name gives, in seconds.

    ``0_30_s_nextqa`` -> 15, ``30_60_s_*`` -> 45, ``1_2_m_*`` -> 90, ``2_3_m_*`` -> 150;
    NaN when the name carries no range.
    """
    m = _RANGE.match(data_source)
    if not m:
        return math.nan
    unit = _UNIT_S[m.group(3)]
    return (float(m.group(1)) + float(m.group(2))) / 2.0 * unit


def duration_from_metadata(record: dict) -> float:
    """A positive number in one of the record's duration fields, else NaN."""
    for key in DURATION_KEYS:
        value = record.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return math.nan


def n_frames_from_metadata(record: dict) -> int:
    """A positive frame count from the record's metadata, else -1."""
    for key in N_FRAMES_KEYS:
        value = record.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return -1


def bucket_of(
    media_kind: str, duration_s: float, long_video_min_s: float, unknown: str = "short_video"
) -> str:
    """``image`` for images, ``text`` for text-only rows; videos split at ``long_video_min_s``."""
    if media_kind == "image":
        return "image"
    if media_kind == "none":
        return "text"
    if math.isnan(duration_s):
        return unknown
    return "long_video" if duration_s > long_video_min_s else "short_video"
