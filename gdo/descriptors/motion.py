"""AMM (motion): mean Farneback optical-flow magnitude, plus frame diversity.

``amm`` is the mean flow magnitude (pixels at ``size`` x ``size``, 224 in the
paper, docs/METHOD.md#amm-motion) over consecutive pairs of up to ``n_frames`` uniformly
spaced grayscale frames; ``frame_div`` is the mean absolute difference of consecutive grayscale
frames / 255. Both are 0 for images and text-only candidates: nothing can move.

Frames smaller than ``size`` are not up-sampled unless ``upscale: true``: up-sampling
adds no information but costs ~40x (a 32x32 world clip took 0.47 s at 224 vs 0.012 s
native, measured here), so a low-resolution pool is measured at its own resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from gdo.columns import AMM, FRAME_DIV
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext


def subsample(frames: np.ndarray, n: int) -> np.ndarray:
    """At most ``n`` uniformly spaced frames (first and last kept)."""
    t = len(frames)
    if t <= n:
        return frames
    return frames[np.linspace(0, t - 1, n).round().astype(int)]


def to_gray(frames: np.ndarray, size: int | None, upscale: bool = False) -> list[np.ndarray]:
    """RGB uint8 frames -> grayscale, resized to ``size`` x ``size`` when given.

    Without ``upscale`` frames whose sides are both below ``size`` keep their size.
    """
    if size and not upscale and max(frames.shape[1:3]) < size:
        size = None
    out = []
    for f in frames:
        g = cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY)
        if size and g.shape != (size, size):
            # Linear up-sampling keeps the shapes' edges soft enough for Farneback.
            g = cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR)
        out.append(g)
    return out


def motion_stats(
    frames: np.ndarray | None,
    n_frames: int = 8,
    size: int | None = 224,
    farneback: dict | None = None,
    upscale: bool = False,
) -> tuple[float, float]:
    """(amm, frame_div) of one clip; (0, 0) for fewer than two frames."""
    if frames is None or len(frames) < 2:
        return 0.0, 0.0
    gray = to_gray(subsample(frames, n_frames), size, upscale)
    fb = {
        "pyr_scale": 0.5,
        "levels": 3,
        "winsize": 15,
        "iterations": 3,
        "poly_n": 5,
        "poly_sigma": 1.2,
        "flags": 0,
        **(farneback or {}),
    }
    mags, diffs = [], []
    for a, b in zip(gray[:-1], gray[1:]):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, **fb)
        mags.append(float(np.linalg.norm(flow, axis=-1).mean()))
        diffs.append(float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean()) / 255.0)
    return float(np.mean(mags)), float(np.mean(diffs))


@register("motion")
class Motion(Descriptor):
    """AMM: how much moves (optical flow) and how much the frames differ."""

    sample_columns = (AMM, FRAME_DIV)
    per_clip = True

    def __init__(
        self,
        n_frames: int = 8,
        size: int | None = 224,
        upscale: bool = False,
        farneback: dict | None = None,
    ) -> None:
        self.n_frames = int(n_frames)
        self.size = int(size) if size else None
        self.upscale = bool(upscale)
        self.farneback = dict(farneback or {})

    def clip_value(self, ctx: BatchContext, i: int) -> tuple[float, float]:
        """(amm, frame_div) of row ``i``'s clip: its frames alone decide them."""
        frames = ctx.frames(i)
        if ctx.rows[i].get("media_kind") == "image":
            return 0.0, 0.0
        return motion_stats(frames, self.n_frames, self.size, self.farneback, self.upscale)

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """Flow and frame difference of each row's frames (0 for images / text)."""
        vals = ctx.clip_values(self)
        return {
            AMM: ctx.column({i: v[0] for i, v in vals.items()}),
            FRAME_DIV: ctx.column({i: v[1] for i, v in vals.items()}),
        }
