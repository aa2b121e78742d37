"""Bootstrap confidence intervals that respect each benchmark's aggregation.

Questions are resampled with replacement; for a macro-averaged benchmark (MVBench over
subtasks, MLVU over task types) within each unit, so every unit keeps its size and the
headline is recomputed exactly as the benchmark defines it (answered-only denominators
for MVBench). A *paired* interval resamples the same questions for both runs, which is
what makes a 1-point delta between two runs on the same benchmark measurable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdo.benchmarks.kinds import Rule

_CHUNK = 256  # bootstrap rows per block, to bound memory on large benchmarks


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval (percentage points)."""

    estimate: float
    lo: float
    hi: float
    n: int


def _strata(units: np.ndarray | None, n: int, rule: Rule) -> list[np.ndarray]:
    if rule.unit is None or units is None:
        return [np.arange(n)]
    units = np.asarray(units)
    return [np.flatnonzero(units == u) for u in np.unique(units)]


def _replicates(
    nums: list[np.ndarray],
    dens: list[np.ndarray],
    strata: list[np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Bootstrap headline accuracies (%) of each run: one (n_boot,) array per run."""
    runs = len(nums)
    out = [np.empty(n_boot) for _ in range(runs)]
    for start in range(0, n_boot, _CHUNK):
        b = min(_CHUNK, n_boot - start)
        per_unit_num = np.zeros((runs, b, len(strata)))
        per_unit_den = np.zeros((runs, b, len(strata)))
        for k, s in enumerate(strata):
            sel = s[rng.integers(0, s.size, size=(b, s.size))]
            for r in range(runs):
                per_unit_num[r, :, k] = nums[r][sel].sum(axis=1)
                per_unit_den[r, :, k] = dens[r][sel].sum(axis=1)
        for r in range(runs):
            with np.errstate(invalid="ignore", divide="ignore"):
                if len(strata) == 1:
                    acc = per_unit_num[r, :, 0] / per_unit_den[r, :, 0]
                else:
                    acc = np.nanmean(per_unit_num[r] / per_unit_den[r], axis=1)
            out[r][start : start + b] = 100.0 * acc
    return out


def _headline(num: np.ndarray, den: np.ndarray, strata: list[np.ndarray]) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        accs = np.array([num[s].sum() / den[s].sum() for s in strata])
    return float(100.0 * np.nanmean(accs)) if np.isfinite(accs).any() else float("nan")


def _parts(correct, answered, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    num = np.asarray(correct, dtype=float)
    den = np.asarray(answered, dtype=float) if rule.answered_only else np.ones_like(num)
    return num, den


def bootstrap_accuracy(
    correct, answered, units, rule: Rule, n_boot: int = 2000, ci: float = 0.95, seed: int = 0
) -> Interval:
    """The headline accuracy of one run with its bootstrap interval.

    ``correct`` / ``answered`` may be fractions (a question's mean over seeds).
    """
    num, den = _parts(correct, answered, rule)
    strata = _strata(units, num.size, rule)
    rng = np.random.default_rng(seed)
    (reps,) = _replicates([num], [den], strata, n_boot, rng)
    lo, hi = np.nanpercentile(reps, [50 * (1 - ci), 50 * (1 + ci)])
    return Interval(_headline(num, den, strata), float(lo), float(hi), int(num.size))


def paired_bootstrap_delta(
    correct_a,
    answered_a,
    correct_b,
    answered_b,
    units,
    rule: Rule,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Delta (pp) ``accuracy(a) - accuracy(b)`` on the same questions, with a paired interval.

    The arrays are aligned question by question (same order, same length).
    """
    num_a, den_a = _parts(correct_a, answered_a, rule)
    num_b, den_b = _parts(correct_b, answered_b, rule)
    if num_a.shape != num_b.shape:
        raise ValueError(
            f"paired bootstrap needs the same questions: {num_a.size} vs {num_b.size} answers"
        )
    strata = _strata(units, num_a.size, rule)
    rng = np.random.default_rng(seed)
    rep_a, rep_b = _replicates([num_a, num_b], [den_a, den_b], strata, n_boot, rng)
    delta = rep_a - rep_b
    lo, hi = np.nanpercentile(delta, [50 * (1 - ci), 50 * (1 + ci)])
    est = _headline(num_a, den_a, strata) - _headline(num_b, den_b, strata)
    return Interval(est, float(lo), float(hi), int(num_a.size))


def seed_interval(values, ci: float = 0.95) -> Interval:
    """Mean over seeds with a Student-t interval (NaN bounds for a single seed)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    mean = float(v.mean())
    if v.size < 2:
        return Interval(mean, float("nan"), float("nan"), 1)
    from scipy.special import stdtrit  # only when there are seeds to spread (slow import)

    half = float(stdtrit(v.size - 1, 0.5 + ci / 2) * v.std(ddof=1) / np.sqrt(v.size))
    return Interval(mean, mean - half, mean + half, int(v.size))
