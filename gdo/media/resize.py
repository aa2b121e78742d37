"""Resizing frames to a pixel budget (aspect kept) or to an exact size."""

from __future__ import annotations

import math

import cv2
import numpy as np


def fit_max_pixels(height: int, width: int, max_pixels: int | None) -> tuple[int, int]:
    """The largest (H, W) with the same aspect ratio and ``H * W <= max_pixels``.

    Images already within the budget keep their size (never upscaled).
    """
    if max_pixels is None or height * width <= max_pixels:
        return height, width
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    scale = math.sqrt(max_pixels / (height * width))
    h, w = max(1, int(height * scale)), max(1, int(width * scale))
    # Float rounding can overshoot by one row/column; shrink until within budget.
    while h * w > max_pixels:
        if h >= w:
            h -= 1
        else:
            w -= 1
    return h, w


def resize_frames(
    frames: np.ndarray,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Resize (T, H, W, 3) frames to ``size=(H, W)`` or into the ``max_pixels`` budget."""
    t, h, w = frames.shape[:3]
    target = tuple(size) if size is not None else fit_max_pixels(h, w, max_pixels)
    if target == (h, w):
        return frames
    th, tw = int(target[0]), int(target[1])
    # INTER_AREA for shrinking avoids aliasing; INTER_LINEAR when an exact size enlarges.
    interp = cv2.INTER_AREA if th * tw < h * w else cv2.INTER_LINEAR
    out = np.empty((t, th, tw, 3), dtype=np.uint8)
    for i in range(t):
        out[i] = cv2.resize(frames[i], (tw, th), interpolation=interp)
    return out
