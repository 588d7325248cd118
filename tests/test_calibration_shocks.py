"""Demand shocks read from the calibration's residuals (gtmgym/calibration/shocks.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from gtmgym.calibration.shocks import Shocks, demand_shocks, smoothed_demand


def history(sigma: float, persistence: float, rival: float, periods: int, seed: int):
    """Wins as the model makes them: an AR(1) log shock, capped at the whole
    population, scales the prospects (a share ``leverage`` of the reachable
    market), and wins are Poisson about their mean."""
    rng = np.random.default_rng(seed)
    expected = rng.uniform(100.0, 400.0, size=periods)
    leverage = rng.uniform(0.6, 0.9, size=periods)
    shock = lfilter([sigma], [1.0, -persistence], rng.standard_normal(periods + 200))[200:]
    acting = np.exp(np.minimum(shock, -np.log1p(-rival)))
    acting /= acting.mean()  # the fitted response absorbs the mean multiplier
    # prospects R mu - n, with n = (1 - leverage) R: wins scale by 1 + (mu - 1) / leverage
    won = rng.poisson(np.maximum(expected * (1.0 + (acting - 1.0) / leverage), 0.0))
    return won[:, None].astype(float), expected[:, None], leverage[:, None]


@pytest.mark.parametrize(("sigma", "persistence", "rival"), [(0.1, 0.7, 0.5), (0.15, 0.4, 0.0)])
def test_a_shock_is_recovered_from_wins_made_as_the_model_makes_them(sigma, persistence, rival):
    found = []
    for seed in range(6):
        won, expected, leverage = history(sigma, persistence, rival, 400, seed)
        shocks = demand_shocks(won, expected, leverage, np.array([rival]), seed=seed)
        found.append((shocks.sigma[0], shocks.persistence[0]))
    sigmas, persistences = np.array(found).T
    assert np.median(sigmas) == pytest.approx(sigma, rel=0.2)
    assert np.median(persistences) == pytest.approx(persistence, abs=0.15)


def test_no_shock_is_read_where_the_wins_vary_as_sampling_alone_makes_them():
    sigmas = []
    for seed in range(6):
        won, expected, leverage = history(0.0, 0.0, 0.5, 200, seed)
        sigmas.append(demand_shocks(won, expected, leverage, np.array([0.5])).sigma[0])
    assert np.median(sigmas) < 0.02


def test_too_few_periods_with_wins_give_no_shock_and_say_so():
    won, expected, leverage = history(0.2, 0.5, 0.5, 100, 0)
    expected[20:] = 1.0  # only 20 periods with enough wins to read
    shocks = demand_shocks(won, expected, leverage, np.array([0.5]))
    assert shocks.sigma[0] == 0.0 and shocks.periods[0] == 20


def test_bootstrap_weights_change_the_estimate_and_zero_weights_drop_periods():
    won, expected, leverage = history(0.1, 0.7, 0.5, 200, 1)
    plain = demand_shocks(won, expected, leverage, np.array([0.5]))
    weights = np.zeros(200)
    weights[:100] = 2.0
    halved = demand_shocks(won, expected, leverage, np.array([0.5]), weights)
    first_half = demand_shocks(won[:100], expected[:100], leverage[:100], np.array([0.5]))
    assert halved.sigma[0] != plain.sigma[0]
    assert halved.sigma[0] == pytest.approx(first_half.sigma[0], rel=0.25)


def test_the_smoothed_demand_follows_a_shock_read_through_many_wins_and_ignores_few():
    rng = np.random.default_rng(5)
    periods = 300
    shock = lfilter([0.15], [1.0, -0.7], rng.standard_normal(periods + 200))[200:]
    leverage = np.full(periods, 0.7)
    shocks = Shocks(sigma=np.array([0.15, 0.15, 0.0]), persistence=np.array([0.7, 0.7, 0.0]),
                    periods=np.full(3, periods))  # fmt: skip
    expected = np.stack(
        [np.full(periods, 2000.0), np.full(periods, 2.0), np.full(periods, 2000.0)], 1
    )
    mean = expected * (1.0 + (np.exp(shock)[:, None] - 1.0) / leverage[:, None])
    won = rng.poisson(mean).astype(float)
    demand = smoothed_demand(won, expected, np.stack([leverage] * 3, axis=1), shocks)
    assert np.corrcoef(demand[:, 0], shock)[0, 1] > 0.9  # many wins a period: read
    assert np.abs(demand[:, 0] - shock).mean() < 0.05
    assert (demand[:, 1] == 0.0).all()  # under 5 expected wins: never read, the prior's 0
    assert (demand[:, 2] == 0.0).all()  # no shock estimated: none replayed
