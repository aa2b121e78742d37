"""Peak match: exact hit, interpolation, never reached, noisy curves; reduction."""

from __future__ import annotations

import math

import pytest

from gdo.frontier import PeakMatch, peak_match, reduction


def test_exact_checkpoint_hit_is_not_interpolated() -> None:
    pm = peak_match([10_000, 20_000, 30_000], [50.0, 61.22, 63.0], target=61.22)
    assert pm == PeakMatch(20_000.0, interpolated=False, reached=True)


def test_interpolates_between_the_two_checkpoints_around_the_crossing() -> None:
    # 60 at 20k, 64 at 30k: 62 is crossed halfway -> 25k
    pm = peak_match([10_000, 20_000, 30_000], [55.0, 60.0, 64.0], target=62.0)
    assert pm.reached and pm.interpolated
    assert pm.samples == pytest.approx(25_000.0)
    # a quarter of the way
    assert peak_match([0, 40], [40.0, 44.0], 41.0).samples == pytest.approx(10.0)


def test_never_reached_is_a_valid_answer() -> None:
    pm = peak_match([1, 2, 3], [10.0, 20.0, 30.0], target=30.5)
    assert pm == PeakMatch(None, interpolated=False, reached=False)
    assert reduction(512_000, pm) is None


def test_noisy_curve_first_crossing_counts() -> None:
    # crosses at 2->3, dips below again at 4, crosses again at 5
    samples = [1_000, 2_000, 3_000, 4_000, 5_000]
    accs = [40.0, 48.0, 52.0, 47.0, 60.0]
    pm = peak_match(samples, accs, target=50.0)
    assert pm.samples == pytest.approx(2_500.0) and pm.interpolated
    # order of the input does not matter
    assert peak_match(samples[::-1], accs[::-1], 50.0) == pm


def test_first_checkpoint_already_above_target() -> None:
    pm = peak_match([5_000, 10_000], [70.0, 72.0], target=60.0)
    assert pm == PeakMatch(5_000.0, interpolated=False, reached=True)


def test_nan_points_are_skipped_and_shapes_checked() -> None:
    pm = peak_match([1, 2, 3], [10.0, math.nan, 30.0], target=20.0)
    assert pm.samples == pytest.approx(2.0) and pm.interpolated
    with pytest.raises(ValueError, match="one each"):
        peak_match([1, 2], [1.0], 1.0)
    assert not peak_match([], [], 1.0).reached
    assert not peak_match([1], [5.0], math.nan).reached


def test_reduction_is_baseline_samples_over_peak_match() -> None:
    # the paper's VideoMME row: 512k / 26.6k = 19.2x
    assert reduction(512_000, PeakMatch(26_600.0, True, True)) == pytest.approx(19.248, abs=1e-3)


def test_peak_match_is_flagged_when_the_baseline_did_not_beat_the_base_model() -> None:
    import pandas as pd

    from gdo.frontier.report import peak_text

    row = {
        "baseline_acc": 40.0,
        "peak_reached": True,
        "peak_match": 48.0,
        "peak_interpolated": True,
        "baseline_beats_base": False,
    }
    assert peak_text(pd.Series(row)).endswith("†")
    assert not peak_text(pd.Series({**row, "baseline_beats_base": True})).endswith("†")


def test_baseline_verdict_names_a_significant_loss() -> None:
    """A uniform run significantly *below* the base model is not "not significant"."""
    import pandas as pd

    from gdo.frontier.report import _baseline_verdict

    row = {"baseline_beats_base": False, "baseline_gain_lo": -18.3, "baseline_gain_hi": -1.7}
    assert _baseline_verdict(pd.Series(row)) == "below the base model †"
    row.update(baseline_gain_hi=3.6)
    assert _baseline_verdict(pd.Series(row)) == "not significant †"
    row.update(baseline_beats_base=True, baseline_gain_lo=0.5)
    assert _baseline_verdict(pd.Series(row)) == "learned"
    assert _baseline_verdict(pd.Series({"baseline_beats_base": None})) == ""
