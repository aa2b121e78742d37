"""The robust z-score every stage uses (docs/METHOD.md#robust-z-scores)."""

from __future__ import annotations

import numpy as np
import pandas as pd

IQR_TO_SIGMA = 1.349  # IQR of a standard normal
MAD_TO_SIGMA = 1.4826  # 1 / (the standard normal's 75th percentile)


def robust_z(x: np.ndarray | pd.Series) -> np.ndarray:
    """``(x - median) / (IQR / 1.349)`` over the finite values; the others give NaN.

    When the IQR is 0 (e.g. ``amm`` when most candidates are still images, or a binary
    column), the scale falls back to 1.4826 * MAD, then to the std, so the tail keeps its
    order; a constant column gives 0 (it carries no ranking signal).
    """
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    z = np.full_like(x, np.nan)
    if not finite.any():
        return z
    v = x[finite]
    med = float(np.median(v))
    q75, q25 = np.percentile(v, [75, 25])
    scale = (q75 - q25) / IQR_TO_SIGMA
    if not scale > 0:
        scale = MAD_TO_SIGMA * float(np.median(np.abs(v - med)))
    if not scale > 0:
        scale = float(v.std())
    z[finite] = (v - med) / scale if scale > 0 else 0.0
    return z
