"""Peak match: the training samples at which a run first reaches a target accuracy.

The paper reads it off five checkpoints; here it is the first crossing of the target
(the baseline's final accuracy), linearly interpolated between the two checkpoints
around it and flagged as interpolated, and "not reached" is a valid answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PeakMatch:
    """Where a curve first reaches the target.

    ``samples`` is None when it never does (``reached`` False); ``interpolated`` says
    that the value lies between two checkpoints rather than on one.
    """

    samples: float | None
    interpolated: bool
    reached: bool


def peak_match(
    samples: Sequence[float], accuracies: Sequence[float], target: float, atol: float = 1e-9
) -> PeakMatch:
    """First crossing of ``target`` by the accuracy-vs-samples curve (``PeakMatch``).

    Points are sorted by samples; NaN accuracies are skipped. The first checkpoint at or
    above the target decides: on the target (within ``atol``) or the very first point ->
    that checkpoint's samples; above it -> the linear interpolation between it and the
    previous checkpoint. A noisy curve that dips again later keeps its first crossing.
    """
    x = np.asarray(samples, dtype=float)
    y = np.asarray(accuracies, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"{x.size} samples for {y.size} accuracies; expected one each")
    keep = ~np.isnan(y) & ~np.isnan(x)
    order = np.argsort(x[keep], kind="stable")
    x, y = x[keep][order], y[keep][order]
    if math.isnan(target) or x.size == 0:
        return PeakMatch(None, False, False)
    hits = np.flatnonzero(y >= target - atol)
    if hits.size == 0:
        return PeakMatch(None, False, False)
    i = int(hits[0])
    if i == 0 or abs(y[i] - target) <= atol:
        return PeakMatch(float(x[i]), False, True)
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    return PeakMatch(float(x0 + (target - y0) / (y1 - y0) * (x1 - x0)), True, True)


def reduction(baseline_samples: float, match: PeakMatch) -> float | None:
    """``baseline samples / peak match`` (the paper's "512k / peak match"); None if not reached."""
    if not match.reached or not match.samples:
        return None
    return float(baseline_samples) / float(match.samples)
