"""The robust z-score (gdo.utils.stats): one function for the descriptor and score stages."""

from __future__ import annotations

import numpy as np
import pytest

from gdo.utils.stats import robust_z


def test_robust_z_divides_by_the_normal_consistent_iqr() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    z = robust_z(x)
    # median 3, IQR 4 - 2 = 2 -> scale 2 / 1.349
    np.testing.assert_allclose(z[:5], (x[:5] - 3.0) / (2.0 / 1.349))
    assert z[2] == 0.0 and np.isnan(z[5])


def test_robust_z_falls_back_when_the_iqr_is_zero() -> None:
    # IQR 0 (most values equal; the MAD is then 0 too): the std, so the tail keeps its order.
    x = np.array([0.0] * 9 + [5.0, 9.0])
    np.testing.assert_allclose(robust_z(x), x / x.std())
    assert np.all(robust_z(np.ones(4)) == 0)  # constant: no ranking signal


def test_robust_z_gives_nan_for_every_non_finite_value() -> None:
    z = robust_z(np.array([1.0, np.inf, 2.0, -np.inf, 3.0, np.nan]))
    assert np.isnan(z[[1, 3, 5]]).all()
    assert z[[0, 2, 4]] == pytest.approx([-1.349, 0.0, 1.349])
