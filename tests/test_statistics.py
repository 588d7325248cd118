"""The report's statistics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gtmgym.experiments.statistics import bootstrap_interval, iqm, mean


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(1, 9)) == pytest.approx((3 + 4 + 5 + 6) / 4)
    assert iqm(np.array([10, 1, 3, 2])) == pytest.approx((2 + 3) / 2)
    assert iqm(np.array([0, 0, 0, 0, 100])) == pytest.approx(0.0)  # robust to the outlier
    assert mean(np.array([0, 0, 0, 0, 100])) == pytest.approx(20.0)


def test_bootstrap_of_two_scores_matches_the_exact_distribution():
    # resampling {0, 1} twice gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4:
    # the 2.5th and 97.5th percentiles are 0 and 1
    interval = bootstrap_interval([np.array([0.0, 1.0])], mean, repetitions=4000, seed=1)
    assert (interval.estimate, interval.low, interval.high) == (0.5, 0.0, 1.0)


def test_bootstrap_interval_of_constant_scores_is_a_point():
    interval = bootstrap_interval([np.full(10, 3.0)], iqm)
    assert (interval.low, interval.estimate, interval.high) == (3.0, 3.0, 3.0)


def test_bootstrap_interval_narrows_with_more_seeds_and_is_reproducible():
    rng = np.random.default_rng(0)
    few, many = rng.normal(size=5), rng.normal(size=500)
    narrow = bootstrap_interval([many], mean, seed=3)
    wide = bootstrap_interval([few], mean, seed=3)
    assert narrow.high - narrow.low < wide.high - wide.low
    assert narrow.low <= narrow.estimate <= narrow.high
    assert bootstrap_interval([many], mean, seed=3) == narrow
    # normal theory: the 95% interval of a mean of 500 N(0,1) is about +-1.96/sqrt(500)
    assert narrow.high - narrow.low == pytest.approx(2 * 1.96 / np.sqrt(500), rel=0.15)


def test_stratified_bootstrap_keeps_strata_apart():
    # two strata of constant scores: every replicate has one 0 and one 10
    interval = bootstrap_interval([np.array([0.0]), np.array([10.0])], mean)
    assert (interval.low, interval.high) == (5.0, 5.0)


def test_bootstrap_refuses_empty_strata():
    with pytest.raises(ValueError, match="at least one score"):
        bootstrap_interval([np.array([])], mean)


def test_iqm_is_scipys_trim_mean_to_the_last_bit():
    # iqm reimplements scipy.stats.trim_mean(scores, 0.25) for speed: the same float
    from scipy import stats

    rng = np.random.default_rng(11)
    for size in range(1, 41):
        for scale in (1.0e-3, 1.0, 1.0e6):
            scores = rng.normal(size=size) * scale
            assert iqm(scores) == float(stats.trim_mean(scores, 0.25, axis=None))
    assert iqm(np.array([[1.0, 2.0], [3.0, 40.0]])) == pytest.approx(2.5)  # any shape, pooled
