"""``load_media``: one entry point for every media kind of a candidate."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gdo.media.errors import MediaError
from gdo.media.image import load_frames, load_images
from gdo.media.paths import resolve_media
from gdo.media.video import load_video

MEDIA_KINDS = ("image", "video", "frames", "none")


def load_media(
    kind: str,
    paths: Sequence[str | os.PathLike] | str,
    n_frames: int = 32,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
    root: str | os.PathLike | None = None,
    min_frames: int = 1,
    strict: bool = False,
) -> np.ndarray:
    """Load a candidate's media as a (T, H, W, 3) uint8 RGB array.

    ``kind`` is the candidate's ``media_kind``: ``image`` (one image gives T = 1,
    several give one frame each), ``video`` (one file, ``n_frames`` uniformly
    sampled), ``frames`` (pre-extracted frame files, ``n_frames`` sampled) or
    ``none`` (text-only: an empty (0, 0, 0, 3) array). ``root`` resolves relative
    paths with media-root containment (:func:`resolve_media`).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if kind == "none":
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    if kind not in MEDIA_KINDS:
        raise ValueError(f"media kind {kind!r}: expected one of {', '.join(MEDIA_KINDS)}")
    if not paths:
        raise MediaError("<none>", f"media kind {kind!r} but no paths given")
    resolved = [resolve_media(p, root) for p in paths] if root is not None else list(paths)
    if kind == "image":
        return load_images(resolved, max_pixels=max_pixels, size=size)
    if kind == "video":
        if len(resolved) != 1:
            raise MediaError(resolved[0], f"media kind 'video' takes one file, got {len(resolved)}")
        return load_video(resolved[0], n_frames, max_pixels, size, min_frames, strict)
    return load_frames(resolved, n_frames, max_pixels, size, min_frames, strict)
