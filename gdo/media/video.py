"""Videos (decord, PyAV or OpenCV: gdo.media.backends): probe metadata, sample frames."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gdo.media.backends import open_video, short_error
from gdo.media.errors import MediaError
from gdo.media.image import check_count, check_file
from gdo.media.resize import resize_frames
from gdo.media.sampling import uniform_indices


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about a clip (no frame is decoded to get it)."""

    n_frames: int
    fps: float
    duration_s: float
    width: int
    height: int


def _open(path: str | os.PathLike):
    check_file(path)
    # decord, PyAV or OpenCV (media.video_backend); all keep decord's frame contract.
    return open_video(path)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps, duration and size of a video (``MediaError`` if unreadable)."""
    vr = _open(path)
    n = len(vr)
    fps = vr.fps
    try:
        h, w = vr.size
    except Exception as exc:
        raise MediaError(path, f"cannot decode frames ({short_error(exc)})") from exc
    duration = n / fps if fps > 0 else float("nan")
    return VideoInfo(n_frames=n, fps=fps, duration_s=duration, width=int(w), height=int(h))


def load_video(
    path: str | os.PathLike,
    n_frames: int,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
    min_frames: int = 1,
    strict: bool = False,
) -> np.ndarray:
    """Uniformly sample ``n_frames`` frames of a video -> (n, H, W, 3) uint8 RGB.

    Indices follow :func:`uniform_indices` (linspace over the whole clip). A clip
    shorter than ``n_frames`` repeats frames unless ``strict``; one shorter than
    ``min_frames`` is a :class:`MediaError`, as is a missing, empty or corrupt file.
    """
    return load_video_sets(path, [(n_frames, max_pixels)], size, min_frames, strict)[0]


def load_video_sets(
    path: str | os.PathLike,
    sets: list[tuple[int, int | None]],
    size: tuple[int, int] | None = None,
    min_frames: int = 1,
    strict: bool = False,
) -> list[np.ndarray]:
    """Several uniform samplings of one video from one open and one decode.

    ``sets`` holds ``(n_frames, max_pixels)`` pairs; entry ``k`` of the result equals
    ``load_video(path, *sets[k], size, min_frames, strict)`` (the descriptors need the
    native frames for optical flow and the model's frames from the same clip).
    """
    vr = _open(path)
    total = len(vr)
    for n_frames, _ in sets:
        check_count(os.fspath(path), total, n_frames, min_frames, strict)
    wanted = [uniform_indices(total, n) for n, _ in sets]
    union = np.unique(np.concatenate(wanted))
    try:
        decoded = vr.get_batch(union.tolist())
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(path, f"cannot decode frames ({short_error(exc)})") from exc
    decoded = np.ascontiguousarray(decoded, dtype=np.uint8)
    out = []
    for idx, (_, max_pixels) in zip(wanted, sets, strict=True):
        uniq, inverse = np.unique(idx, return_inverse=True)
        frames = resize_frames(decoded[np.searchsorted(union, uniq)], max_pixels, size)
        out.append(frames[inverse.reshape(-1)])
    return out
