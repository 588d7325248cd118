"""Scores over seeds with honest intervals (after rliable, Agarwal et al. 2021).

A run's score is its mean evaluation return; an agent's scores are one per
seed. We report the mean and the interquartile mean (IQM: the mean of the
middle 50% of the scores, ``scipy.stats.trim_mean(scores, 0.25)``, as rliable
computes it), each with a 95% percentile interval from a stratified bootstrap:
seeds are resampled with replacement within each stratum (scenario), as
rliable's ``StratifiedBootstrap`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Statistic = Callable[[np.ndarray], float]


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the mean after cutting 25% off each end."""
    return float(stats.trim_mean(np.asarray(scores, dtype=float), 0.25, axis=None))


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
    arrays = [np.asarray(s, dtype=float) for s in strata]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("bootstrap_interval needs at least one score in every stratum")
    rng = np.random.default_rng(seed)
    replicates = np.empty(repetitions)
    for index in range(repetitions):
        resampled = [a[rng.integers(0, a.size, a.size)] for a in arrays]
        replicates[index] = statistic(np.concatenate(resampled))
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return Interval(statistic(np.concatenate(arrays)), float(low), float(high))
