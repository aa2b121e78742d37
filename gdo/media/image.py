"""Images and pre-extracted frame files -> uint8 RGB arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gdo.media.errors import MediaError
from gdo.media.resize import resize_frames
from gdo.media.sampling import uniform_indices


def check_file(path: str | os.PathLike) -> None:
    """Refuse a media path that is missing, not a regular file or empty (MediaError)."""
    if not os.path.exists(path):
        raise MediaError(path, "file not found")
    if not os.path.isfile(path):
        raise MediaError(path, "not a regular file")
    if os.path.getsize(path) == 0:
        raise MediaError(path, "zero-length file")


def load_image(
    path: str | os.PathLike,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read one image as an (H, W, 3) uint8 RGB array, resized to the budget or ``size``."""
    from PIL import Image, UnidentifiedImageError

    check_file(path)
    try:
        with Image.open(path) as im:
            # convert() forces the full decode, so truncated files fail here, not later.
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(path, f"unreadable image ({type(exc).__name__}: {exc})") from exc
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MediaError(path, f"empty image of shape {arr.shape}")
    return resize_frames(arr[None], max_pixels=max_pixels, size=size)[0]


def load_images(
    paths: Sequence[str | os.PathLike],
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read several images into one (T, H, W, 3) array.

    Frames of different sizes are brought to the size of the first one (after
    the budget), so a stack is always rectangular.
    """
    if not paths:
        raise MediaError("<none>", "no image paths given")
    first = load_image(paths[0], max_pixels=max_pixels, size=size)
    out = np.empty((len(paths), *first.shape), dtype=np.uint8)
    out[0] = first
    for i, p in enumerate(paths[1:], start=1):
        out[i] = load_image(p, size=first.shape[:2])
    return out


def load_frames(
    paths: Sequence[str | os.PathLike],
    n_frames: int,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
    min_frames: int = 1,
    strict: bool = False,
) -> np.ndarray:
    """Uniformly sample ``n_frames`` of a pre-extracted frame list -> (n, H, W, 3) uint8.

    The same index rule as videos (:func:`uniform_indices`); fewer files than asked
    repeat indices unless ``strict``; fewer than ``min_frames`` is a :class:`MediaError`.
    """
    total = len(paths)
    where = os.path.dirname(os.fspath(paths[0])) if total else "<no frames>"
    check_count(where, total, n_frames, min_frames, strict)
    idx = uniform_indices(total, n_frames)
    # Load each distinct file once even when indices repeat; later frames take the
    # first frame's size so the stack is rectangular.
    cache: dict[int, np.ndarray] = {}
    target = tuple(size) if size is not None else None
    for i in idx.tolist():
        if i not in cache:
            budget = max_pixels if target is None else None
            cache[i] = load_image(paths[i], max_pixels=budget, size=target)
            target = target or cache[i].shape[:2]
    return np.stack([cache[i] for i in idx])


def check_count(where: str, total: int, n_frames: int, min_frames: int, strict: bool) -> None:
    """Refuse a media with fewer than ``min_frames`` frames (or, ``strict``, than ``n_frames``)."""
    if total < max(1, min_frames):
        raise MediaError(where, f"{total} frames, fewer than min_frames={max(1, min_frames)}")
    if strict and total < n_frames:
        raise MediaError(where, f"{total} frames, fewer than the {n_frames} asked (strict)")
