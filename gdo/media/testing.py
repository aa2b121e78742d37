"""Tiny media writers for tests and fixtures: mp4 via cv2 (MPEG-4 part 2, which decord
reads) and flat PNGs. Not used by the pipeline itself."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def gray_level(i: int) -> int:
    """The grey value frame ``i`` of :func:`write_video` is painted with."""
    return (20 * i) % 250


def write_video(
    path: Path, n_frames: int = 10, fps: float = 8.0, size: tuple[int, int] = (24, 32)
) -> Path:
    """An mp4 whose frame ``i`` is a flat grey of level ``gray_level(i)``, so tests can
    tell which frames were sampled despite lossy coding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cv2 cannot write an mp4v video to {path}")
    for i in range(n_frames):
        writer.write(np.full((h, w, 3), gray_level(i), dtype=np.uint8))
    writer.release()
    return path


def write_image(path: Path, rgb: tuple[int, int, int] = (255, 0, 0), size=(20, 30)) -> Path:
    """A flat PNG of colour ``rgb`` (cv2 writes BGR, so the channels are flipped here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.zeros((*size, 3), dtype=np.uint8)
    img[:] = rgb[::-1]
    if not cv2.imwrite(str(path), img):
        raise RuntimeError(f"cv2 cannot write {path}")
    return path
