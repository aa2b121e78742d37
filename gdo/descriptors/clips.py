"""Clips: which candidates share media, which rank owns them, which batch does their work.

A pool holds several QA turns per clip (2-8 in the world, up to 8 in real pools). The
media descriptors (motion, RGB statistics) and the model's frames depend only on the
media, so describe does that work once per clip:

- :func:`media_key` says which rows share media work (same kind, paths and frame count);
- :func:`shard_key` says which rank owns a row: its clip (``video_id``, else its media
  paths), so a clip's turns stay on one rank; text-only rows go by their uid;
- :class:`ClipPlan` says, for a rank's batches in order, which batch computes a clip's
  media values and decodes its model frames, and after which batch each is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

MediaKey = tuple[str, tuple[str, ...], int]


def media_key(row: dict[str, Any]) -> MediaKey | None:
    """What a row's media work depends on: (kind, paths, frame count); None without media.

    Rows with equal keys get equal media descriptor values and equal model frames.
    """
    kind = row.get("media_kind") or "none"
    media = row.get("media")
    paths = tuple(str(p) for p in media) if media is not None else ()
    if kind == "none" or not paths:
        return None
    n = row.get("n_frames")
    return (str(kind), paths, int(n) if n is not None and n == n else -1)


def media_keys(table: Any) -> list[MediaKey | None]:
    """:func:`media_key` of every row of a candidate DataFrame, in order."""
    n = len(table)
    kinds = table["media_kind"] if "media_kind" in table else [None] * n
    media = table["media"] if "media" in table else [None] * n
    frames = table["n_frames"] if "n_frames" in table else [None] * n
    return [
        media_key({"media_kind": k, "media": m, "n_frames": f})
        for k, m, f in zip(kinds, media, frames)
    ]


def shard_key(uid: str, video_id: Any, media: Any) -> str:
    """The identity a row is sharded by: its clip (``video_id``, else its media paths,
    joined), or its uid when it has no media. Turns of one clip share it."""
    if isinstance(video_id, str) and video_id:
        return video_id
    joined = "\n".join(str(p) for p in media) if media is not None else ""
    return joined or str(uid)


def frames_window(
    cache_mb: float, batch_size: int, frames: int | None, max_pixels: int | None
) -> int:
    """How many batches a clip's model frames may wait in memory for the clip's next
    batch so that what is kept stays within ``cache_mb``: the frames kept are at most
    those of ``window + 1`` batches, a clip's at most ``frames * max_pixels * 3`` bytes.
    0 (load again in every batch of the clip) when the model's frames are unknown."""
    if not frames or not max_pixels or cache_mb <= 0:
        return 0
    per_batch = max(1, int(batch_size)) * int(frames) * int(max_pixels) * 3
    return max(0, math.floor(cache_mb * 2**20 / per_batch) - 1)


@dataclass
class ClipPlan:
    """Per batch (in the order the rank runs them): the clips whose media values it
    computes, the clips whose model frames it decodes, and the clips whose values and
    frames are not needed after it.

    A clip's values are computed in its first batch and kept until its last. Its model
    frames are decoded in its first batch and kept for its next batch if that comes
    within ``window`` batches; a later batch decodes them again (memory stays bounded by
    the clips of ``window + 1`` batches).
    """

    values_at: list[set[Hashable]] = field(default_factory=list)
    decode_at: list[set[Hashable]] = field(default_factory=list)
    drop_values_after: list[list[Hashable]] = field(default_factory=list)
    drop_frames_after: list[list[Hashable]] = field(default_factory=list)

    @classmethod
    def build(cls, keys: Sequence[Sequence[Hashable | None]], window: int) -> ClipPlan:
        """The plan for batches whose rows have the media ``keys`` (None: no media)."""
        if window < 0:
            raise ValueError(f"window: expected >= 0 batches, got {window}")
        n = len(keys)
        plan = cls([set() for _ in range(n)], [set() for _ in range(n)])
        plan.drop_values_after = [[] for _ in range(n)]
        plan.drop_frames_after = [[] for _ in range(n)]
        last: dict[Hashable, int] = {}
        for b, batch in enumerate(keys):
            for key in dict.fromkeys(k for k in batch if k is not None):
                prev = last.get(key)
                if prev is None:
                    plan.values_at[b].add(key)
                    plan.decode_at[b].add(key)
                elif b - prev > window:
                    plan.decode_at[b].add(key)
                    plan.drop_frames_after[prev].append(key)
                last[key] = b
        for key, b in last.items():
            plan.drop_values_after[b].append(key)
            plan.drop_frames_after[b].append(key)
        return plan

    def counts(self) -> dict[str, int]:
        """Clips (media values computed) and model-frame decodes over the whole plan."""
        return {
            "clips": sum(len(s) for s in self.values_at),
            "decodes": sum(len(s) for s in self.decode_at),
        }
