"""Frame index rules shared by videos and frame folders."""

from __future__ import annotations

import numpy as np


def uniform_indices(total: int, n_frames: int) -> np.ndarray:
    """``n_frames`` indices spread uniformly over ``[0, total - 1]`` (the paper's rule).

    ``linspace(0, total - 1, n)`` rounded, first and last frame included. When
    ``total < n_frames`` indices repeat, so callers always get ``n_frames`` frames.
    ``n_frames <= 0`` means every frame.
    """
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_frames <= 0:
        return np.arange(total, dtype=np.int64)
    return np.rint(np.linspace(0, total - 1, n_frames)).astype(np.int64)
