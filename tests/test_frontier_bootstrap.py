"""Bootstrap intervals: paired delta coverage on synthetic runs, aggregation respected."""

from __future__ import annotations

import numpy as np
import pytest

from gdo.evaluation import RULES, overall_accuracy
from gdo.frontier import bootstrap_accuracy, paired_bootstrap_delta, seed_interval


def _paired_runs(rng, n, p_base, gain):
    """Two runs on the same questions: run a answers right what b does, plus some more."""
    difficulty = rng.random(n)
    b = difficulty < p_base
    a = difficulty < p_base + gain  # a dominates b question by question (strong pairing)
    return a, b


def test_paired_ci_covers_the_true_delta() -> None:
    rng = np.random.default_rng(0)
    n, p, gain, covered, reps = 400, 0.5, 0.05, 0, 40
    ones = np.ones(n, bool)
    for r in range(reps):
        a, b = _paired_runs(rng, n, p, gain)
        iv = paired_bootstrap_delta(a, ones, b, ones, None, RULES["videomme"], n_boot=400, seed=r)
        covered += iv.lo <= 100 * gain <= iv.hi
        assert iv.lo <= iv.estimate <= iv.hi
    # 95% intervals: nearly every replicate covers the true +5 pp
    assert covered >= 0.85 * reps


def test_pairing_makes_the_interval_narrower_than_unpaired() -> None:
    rng = np.random.default_rng(1)
    n = 500
    ones = np.ones(n, bool)
    a, b = _paired_runs(rng, n, 0.5, 0.03)
    paired = paired_bootstrap_delta(a, ones, b, ones, None, RULES["lvbench"], n_boot=500)
    # unpaired: each run resampled independently
    ia = bootstrap_accuracy(a, ones, None, RULES["lvbench"], n_boot=500, seed=1)
    ib = bootstrap_accuracy(b, ones, None, RULES["lvbench"], n_boot=500, seed=2)
    unpaired_width = np.hypot(ia.hi - ia.lo, ib.hi - ib.lo)
    assert paired.hi - paired.lo < 0.6 * unpaired_width
    assert paired.lo > 0  # a real 3 pp gain is detected when paired


def test_estimate_matches_the_benchmark_aggregation() -> None:
    rng = np.random.default_rng(2)
    n = 120
    units = np.array(["big"] * 100 + ["small"] * 20)
    a = rng.random(n) < 0.7
    b = rng.random(n) < 0.5
    answered = rng.random(n) < 0.9
    for kind in ("mvbench", "mlvu", "videomme"):
        rule = RULES[kind]
        ca, cb = a & answered, b & answered
        iv = paired_bootstrap_delta(ca, answered, cb, answered, units, rule, n_boot=200)
        expect = overall_accuracy(ca, answered, units, rule) - overall_accuracy(
            cb, answered, units, rule
        )
        assert iv.estimate == pytest.approx(expect)
        one = bootstrap_accuracy(ca, answered, units, rule, n_boot=200)
        assert one.estimate == pytest.approx(overall_accuracy(ca, answered, units, rule))
        assert one.lo <= one.estimate <= one.hi and one.n == n


def test_macro_bootstrap_keeps_small_units_weighted_equally() -> None:
    # the small unit is perfect, the big one at chance: macro ~ 75, micro ~ 54
    units = np.array(["big"] * 200 + ["small"] * 20)
    correct = np.r_[np.arange(200) % 2 == 0, np.ones(20, bool)]
    ones = np.ones(220, bool)
    iv = bootstrap_accuracy(correct, ones, units, RULES["mlvu"], n_boot=300)
    assert iv.estimate == pytest.approx(75.0)
    assert 65 < iv.lo < 75 < iv.hi < 85


def test_paired_needs_the_same_questions() -> None:
    with pytest.raises(ValueError, match="same questions"):
        paired_bootstrap_delta([1, 0], [1, 1], [1], [1], None, RULES["lvbench"])


def test_seed_interval() -> None:
    one = seed_interval([1.5])
    assert one.estimate == 1.5 and np.isnan(one.lo)
    iv = seed_interval([1.0, 2.0, 3.0])
    assert iv.estimate == 2.0 and iv.lo < 2.0 < iv.hi and iv.n == 3
