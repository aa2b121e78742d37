"""Writing the world's media (mp4 via cv2.VideoWriter, PNG) and checking that it decodes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gdo.utils.errors import GdoError


class WorldMediaError(GdoError):
    """A written video or image that does not decode as written (names the file)."""


def write_video(path: Path, frames: np.ndarray, duration_s: float, codec: str = "mp4v") -> Path:
    """Write RGB frames ``(T, H, W, 3)`` as an mp4 lasting ``duration_s`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w, _ = frames.shape
    fps = max(t / max(duration_s, 1e-3), 1e-2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise WorldMediaError(f"{path}: cv2.VideoWriter could not open codec '{codec}'")
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[:, :, ::-1]))  # cv2 wants BGR
    finally:
        writer.release()
    return path


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write one RGB image ``(H, W, 3)`` as PNG (lossless)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[:, :, ::-1])):
        raise WorldMediaError(f"{path}: cv2.imwrite failed")
    return path


def read_video(path: Path) -> np.ndarray:
    """All frames of a video as RGB ``(T, H, W, 3)``: gdo.media when present, else decord."""
    n = count_frames(path)
    try:
        from gdo.media import load_video
    except ImportError:
        import decord

        return decord.VideoReader(str(path)).get_batch(list(range(n))).asnumpy()
    return np.asarray(load_video(str(path), n, strict=True))


def count_frames(path: Path) -> int:
    """Number of frames the decoder sees in a video (gdo.media's probe when present)."""
    try:
        from gdo.media import probe_video
    except ImportError:
        import decord

        return len(decord.VideoReader(str(path)))
    return int(probe_video(str(path)).n_frames)


def verify_videos(items: list[tuple[Path, int]]) -> int:
    """Decode each ``(path, expected frame count)``; raise on the first mismatch."""
    for path, expected in items:
        try:
            got = count_frames(path)
        except Exception as err:  # decord raises its own DECORDError, gdo.media MediaError
            raise WorldMediaError(f"{path}: cannot be read back ({err})") from err
        if got != expected:
            raise WorldMediaError(f"{path}: expected {expected} frames, the decoder reads {got}")
    return len(items)
