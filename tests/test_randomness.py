"""The compiled samplers draw from the distributions the model states.

Each check compares many draws (fixed seed) with the exact law from scipy, by a
chi-square test on the counts, so a sampler with the wrong shape, not just the
wrong mean, fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from gtmgym.envs.kernel import randomness

DRAWS = 40_000


@njit(cache=True)
def _binomials(key: np.ndarray, n: int, p: float, count: int) -> np.ndarray:
    stream = key.copy()
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        out[k] = randomness.binomial(stream, n, p)
    return out


@njit(cache=True)
def _normals(key: np.ndarray, count: int) -> np.ndarray:
    stream = key.copy()
    out = np.empty(count)
    for k in range(count):
        out[k] = randomness.standard_normal(stream)
    return out


@njit(cache=True)
def _multinomials(key: np.ndarray, n: int, probabilities: np.ndarray, count: int) -> np.ndarray:
    stream = key.copy()
    out = np.empty((count, probabilities.shape[0]), dtype=np.int64)
    for k in range(count):
        randomness.multinomial(stream, n, probabilities, out[k])
    return out


@njit(cache=True)
def _multinomials_in_place(
    key: np.ndarray, n: int, probabilities: np.ndarray, count: int
) -> np.ndarray:
    """As :func:`_multinomials`, each draw's counts written over a copy of the
    probabilities (the period keeps a segment's chances and its wins in one row)."""
    stream = key.copy()
    out = np.empty((count, probabilities.shape[0]))
    for k in range(count):
        out[k] = probabilities
        randomness.multinomial(stream, n, out[k], out[k])
    return out


def _key(seed: int) -> np.ndarray:
    return randomness.stream_key(np.random.default_rng(seed))


def _chi_square_p_value(draws: np.ndarray, pmf: np.ndarray) -> float:
    """Goodness of fit of integer draws to ``pmf`` over 0..len(pmf)-1, tails pooled."""
    counts = np.bincount(draws, minlength=len(pmf))[: len(pmf)].astype(float)
    expected = pmf * len(draws)
    keep = expected >= 5  # pool the thin tails into one cell
    observed = np.append(counts[keep], counts[~keep].sum() + (len(draws) - counts.sum()))
    wanted = np.append(expected[keep], len(draws) - expected[keep].sum())
    if wanted[-1] < 5:
        observed[-2] += observed[-1]
        wanted[-2] += wanted[-1]
        observed, wanted = observed[:-1], wanted[:-1]
    return float(stats.chisquare(observed, wanted).pvalue)


@pytest.mark.parametrize(
    ("n", "p"),
    [
        (12, 0.3),  # inversion
        (200, 0.1),  # inversion, mean 20
        (2_000, 0.05),  # BTPE, mean 100
        (50_000, 0.4),  # BTPE, wide
        (400, 0.93),  # p > 1/2: drawn as n minus the complement
    ],
)
def test_binomial_matches_the_binomial_law(n: int, p: float) -> None:
    draws = _binomials(_key(n), n, p, DRAWS)
    assert draws.min() >= 0 and draws.max() <= n
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    assert _chi_square_p_value(draws, pmf) > 0.001


def test_binomial_edges_are_exact() -> None:
    key = _key(0)
    assert (_binomials(key, 0, 0.5, 100) == 0).all()
    assert (_binomials(key, 50, 0.0, 100) == 0).all()
    assert (_binomials(key, 50, 1.0, 100) == 50).all()


def test_standard_normal_is_standard_normal() -> None:
    draws = _normals(_key(1), DRAWS)
    assert stats.kstest(draws, "norm").pvalue > 0.001


def test_multinomial_counts_follow_their_marginals() -> None:
    probabilities = np.array([0.2, 0.05, 0.3])  # the rest: not counted
    draws = _multinomials(_key(2), 60, probabilities, DRAWS)
    assert (draws.sum(axis=1) <= 60).all()
    for outcome, p in enumerate(probabilities):
        pmf = stats.binom.pmf(np.arange(61), 60, p)
        assert _chi_square_p_value(draws[:, outcome], pmf) > 0.001
    # counts of different outcomes compete for the same trials
    correlation = np.corrcoef(draws[:, 0], draws[:, 2])[0, 1]
    expected = -np.sqrt(0.2 * 0.3 / ((1 - 0.2) * (1 - 0.3)))
    assert abs(correlation - expected) < 0.03


def test_the_stream_comes_from_the_generator() -> None:
    """Same generator state, same draws; the key advances the generator."""
    first, second = np.random.default_rng(7), np.random.default_rng(7)
    a = _binomials(randomness.stream_key(first), 100, 0.5, 50)
    b = _binomials(randomness.stream_key(second), 100, 0.5, 50)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _binomials(randomness.stream_key(first), 100, 0.5, 50))
    assert not np.array_equal(a, _binomials(_key(8), 100, 0.5, 50))


def test_multinomial_in_place_draws_what_it_draws_into_another_array() -> None:
    probabilities = np.array([0.2, 0.05, 0.3, 0.0, 0.45])
    apart = _multinomials(_key(3), 500, probabilities, 2_000)
    in_place = _multinomials_in_place(_key(3), 500, probabilities, 2_000)
    assert np.array_equal(apart, in_place)


def test_stream_keys_are_one_stream_key_from_each_generator() -> None:
    seeds = [11, 12, 13]
    batch = randomness.stream_keys([np.random.default_rng(seed) for seed in seeds])
    one_each = [randomness.stream_key(np.random.default_rng(seed)) for seed in seeds]
    assert batch.dtype == np.uint64 and np.array_equal(batch, np.stack(one_each))
    assert (batch[:, 0] & np.uint64(1)).all()  # never the all-zero state
    assert randomness.stream_keys([]).shape == (0, randomness.KEY_WORDS)
