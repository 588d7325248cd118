"""Scores over seeds with honest intervals (after rliable, Agarwal et al. 2021).

A run's score is its mean evaluation return; an agent's scores are one per
seed. We report the mean and the interquartile mean (IQM: the mean of the
middle 50% of the scores, ``scipy.stats.trim_mean(scores, 0.25)``, as rliable
computes it), each with a 95% percentile interval from a stratified bootstrap:
seeds are resampled with replacement within each stratum (scenario), as
rliable's ``StratifiedBootstrap`` does.

Across the scenarios of a suite (strata = scenarios) the same bootstrap gives
the bands of a performance profile (the fraction of runs scoring above each
threshold) and, resampling two agents' runs independently within each
scenario as rliable's ``StratifiedIndependentBootstrap`` does, the interval of
the probability of improvement P(X > Y). Agarwal, Schwarzer, Castro,
Courville and Bellemare, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS 2021, sections 4.2-4.3. rliable itself is not
a dependency: its 1.2.0 release, on arch 7.2, does not import beside pandas 3,
and its bootstrap draws from numpy's global generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Statistic = Callable[[np.ndarray], float]


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the mean after cutting 25% off each end.

    ``scipy.stats.trim_mean(scores, 0.25, axis=None)`` step for step (the same
    partition, so the same float; tests/test_statistics.py compares them),
    without its argument-checking wrapper: 20 us a call on 6 scores against
    scipy's 338 us, which was 25 of the 45 s a suite report of 2 scenarios x
    4 agents x 3 seeds took under the profiler (every bootstrap replicate
    calls it).
    """
    values = np.asarray(scores, dtype=float).ravel()
    if values.size == 0:
        return float(stats.trim_mean(values, 0.25, axis=None))  # scipy's own answer
    cut = int(0.25 * values.size)
    middle = np.partition(values, (cut, values.size - cut - 1))[cut : values.size - cut]
    return float(np.mean(middle))


def mean(scores: np.ndarray) -> float:
    return float(np.mean(scores))


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap interval."""

    estimate: float
    low: float
    high: float


def bootstrap_interval(
    strata: Sequence[np.ndarray],
    statistic: Statistic,
    confidence: float = 0.95,
    repetitions: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``statistic`` under a stratified bootstrap.

    Args:
        strata: one array of per-seed scores per stratum (e.g. per scenario);
            each replicate resamples every stratum with replacement, keeping
            its size, and applies ``statistic`` to all resampled scores.
        statistic: e.g. :func:`iqm` or :func:`mean`.
        confidence: the interval's coverage.
        repetitions: bootstrap replicates.
        seed: seeds the resampling, so a report is reproducible.
    """
    arrays = _strata(strata, "bootstrap_interval")
    replicates = bootstrap_replicates(arrays, statistic, repetitions, seed)
    low, high = _percentiles(replicates, confidence)
    return Interval(statistic(np.concatenate(arrays)), float(low), float(high))


def bootstrap_replicates(
    strata: Sequence[np.ndarray],
    statistic: Callable[[np.ndarray], float | np.ndarray],
    repetitions: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """``statistic`` of each stratified resample: one row per replicate."""
    arrays = _strata(strata, "bootstrap_replicates")
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(repetitions):
        resampled = [a[rng.integers(0, a.size, a.size)] for a in arrays]
        replicates.append(statistic(np.concatenate(resampled)))
    return np.asarray(replicates, dtype=float)


ColumnStatistic = Callable[[np.ndarray], np.ndarray]


def iqm_columns(table: np.ndarray) -> np.ndarray:
    """:func:`iqm` of each column of a (scores, points) table at once."""
    ordered = np.sort(np.asarray(table, dtype=float), axis=0)
    cut = int(0.25 * ordered.shape[0])
    return ordered[cut : ordered.shape[0] - cut].mean(axis=0)


def mean_columns(table: np.ndarray) -> np.ndarray:
    """:func:`mean` of each column of a (scores, points) table."""
    return np.asarray(table, dtype=float).mean(axis=0)


def bootstrap_bands(
    runs: np.ndarray,
    statistic: ColumnStatistic,
    confidence: float = 0.95,
    repetitions: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise percentile bands of ``statistic`` over runs, column by column.

    Args:
        runs: (n_runs, n_points), e.g. one row per seed and a column per
            period; each replicate resamples whole rows, so a band is over
            seeds, not over points.
        statistic: a table's statistic per column (:func:`iqm_columns`,
            :func:`mean_columns`).

    Returns:
        The estimate, low and high end of each column.
    """
    table = np.asarray(runs, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        raise ValueError(f"bootstrap_bands needs a (runs, points) table, got shape {table.shape}")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, table.shape[0], (repetitions, table.shape[0]))
    replicates = np.stack([statistic(table[chosen]) for chosen in rows])
    low, high = _percentiles(replicates, confidence)
    return statistic(table), low, high


@dataclass(frozen=True)
class Profile:
    """A performance profile with its pointwise bootstrap band."""

    thresholds: np.ndarray
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


def fraction_above(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The fraction of ``scores`` strictly above each threshold (the run-score
    distribution of Agarwal et al. 2021, section 4.2)."""
    scores = np.asarray(scores, dtype=float).ravel()
    return (scores[:, None] > np.asarray(thresholds, dtype=float)[None, :]).mean(axis=0)


def performance_profile(
    strata: Sequence[np.ndarray],
    thresholds: np.ndarray,
    confidence: float = 0.95,
    repetitions: int = 2000,
    seed: int = 0,
) -> Profile:
    """The fraction of all runs (every stratum pooled) scoring above each
    threshold, with a percentile band from the stratified bootstrap."""
    arrays = _strata(strata, "performance_profile")
    thresholds = np.asarray(thresholds, dtype=float)
    replicates = bootstrap_replicates(
        arrays, lambda pooled: fraction_above(pooled, thresholds), repetitions, seed
    )
    low, high = _percentiles(replicates, confidence)
    return Profile(thresholds, fraction_above(np.concatenate(arrays), thresholds), low, high)


def probability_of_improvement(
    x_strata: Sequence[np.ndarray], y_strata: Sequence[np.ndarray]
) -> float:
    """P(X > Y): the chance that a run of X scores more than a run of Y on the
    same stratum (ties count one half), averaged over the strata (Agarwal et
    al. 2021, section 4.3: the Mann-Whitney U statistic over n x m, per task)."""
    xs = _strata(x_strata, "probability_of_improvement")
    ys = _strata(y_strata, "probability_of_improvement")
    if len(xs) != len(ys):
        raise ValueError(f"probability_of_improvement: {len(xs)} strata of X, {len(ys)} of Y")
    return float(np.mean([_wins(x[None, :], y[None, :])[0] for x, y in zip(xs, ys, strict=True)]))


def improvement_interval(
    x_strata: Sequence[np.ndarray],
    y_strata: Sequence[np.ndarray],
    confidence: float = 0.95,
    repetitions: int = 2000,
    seed: int = 0,
) -> Interval:
    """:func:`probability_of_improvement` with a percentile interval: each
    replicate resamples X's runs and Y's runs independently within each stratum."""
    estimate = probability_of_improvement(x_strata, y_strata)
    rng = np.random.default_rng(seed)
    per_stratum = []
    for x, y in zip(_strata(x_strata, "x"), _strata(y_strata, "y"), strict=True):
        x_resampled = x[rng.integers(0, x.size, (repetitions, x.size))]
        y_resampled = y[rng.integers(0, y.size, (repetitions, y.size))]
        per_stratum.append(_wins(x_resampled, y_resampled))
    low, high = _percentiles(np.mean(per_stratum, axis=0), confidence)
    return Interval(estimate, float(low), float(high))


def _wins(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row of ``x`` (replicates x runs) and ``y``: the share of pairs
    (x_i, y_j) with x_i > y_j, ties counting one half."""
    above = x[:, :, None] > y[:, None, :]
    tied = x[:, :, None] == y[:, None, :]
    return (above + 0.5 * tied).mean(axis=(1, 2))


def _strata(strata: Sequence[np.ndarray], caller: str) -> list[np.ndarray]:
    arrays = [np.asarray(s, dtype=float).ravel() for s in strata]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError(f"{caller} needs at least one score in every stratum")
    return arrays


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail], axis=0)
    return low, high
