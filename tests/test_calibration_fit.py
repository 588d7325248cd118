"""The response fit's shortcuts give what the plain computations give:
market copies replayed together, the grouped forward-difference Jacobian,
and bootstrap draws in worker processes."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

from gtmgym.calibration import synthesize
from gtmgym.calibration.response import (
    Response,
    column_groups,
    dependence_of,
    forward_differences,
    replay,
    replay_copies,
)

calibrate_module = importlib.import_module("gtmgym.calibration.calibrate")
# where calibrate fits the response (gtmgym/calibration/history_fit.py)
fit_module = importlib.import_module("gtmgym.calibration.history_fit")


@pytest.fixture(scope="module")
def replay_inputs(tmp_path_factory):
    """What calibrate hands the fit for 40 periods of `default`: the replay
    scenario of any candidate, the spend and the customers held."""
    data = synthesize("default", 40, seed=3, out=tmp_path_factory.mktemp("fit"))
    captured = {}

    def capture(scenario_for, spend, won, held, available, *rest, **options):
        captured.update(scenario_for=scenario_for, spend=spend, held=held, available=available)
        raise StopIteration

    original = fit_module.fit_response
    fit_module.fit_response = capture
    try:
        with pytest.raises(StopIteration):
            calibrate_module.calibrate(data / "calibration.yaml", data / "fitted.yaml")
    finally:
        fit_module.fit_response = original
    return captured


def random_candidates(inputs, count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    n_segments, n_channels = inputs["available"].shape
    return [
        inputs["scenario_for"](
            Response(
                decay=rng.uniform(0.0, 0.95, n_channels),
                half_saturation=rng.uniform(5.0, 80.0, n_channels),
                slope=rng.uniform(0.5, 4.0, n_channels),
                effectiveness=rng.uniform(0.0, 0.2, (n_segments, n_channels)) * inputs["available"],
                r_squared=0.0,
                cost=0.0,
            )
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("copies", [1, 2, 5])
def test_market_copies_replay_as_each_market_alone(replay_inputs, copies):
    candidates = random_candidates(replay_inputs, copies, seed=copies)
    spend, held = replay_inputs["spend"], replay_inputs["held"]
    together = replay_copies(candidates, spend, held)
    for candidate, wins in zip(candidates, together, strict=True):
        np.testing.assert_allclose(wins, replay(candidate, spend, held), rtol=1e-10, atol=1e-9)


def test_grouped_forward_differences_match_scipys_two_point_jacobian():
    rng = np.random.default_rng(0)
    available = np.array([[True, True, False], [True, False, True], [False, True, True]])
    pairs = np.argwhere(available)
    dependence = dependence_of(available, pairs, available, periods=4)
    groups = column_groups(dependence)
    assert len(groups) < dependence.shape[1]  # some parameters probed together
    for group in groups:  # no residual moves with two of a group
        assert dependence[:, group].sum(axis=1).max() <= 1
    mixing = rng.normal(size=dependence.shape) * dependence

    def residuals(x: np.ndarray) -> np.ndarray:
        return mixing @ np.sin(x) + (mixing**2) @ x**2

    x = rng.uniform(0.1, 0.9, dependence.shape[1])
    high = np.ones_like(x)
    x[0] = high[0] - 1e-12  # a step forwards would cross the bound
    ours = forward_differences(lambda probes: [residuals(p) for p in probes], x, high,
                               dependence, groups)  # fmt: skip
    scipys = approx_derivative(residuals, x, method="2-point", bounds=(-np.inf, high))
    np.testing.assert_allclose(ours, scipys, rtol=1e-7, atol=1e-7)


def test_bootstrap_draws_are_the_same_in_workers_and_in_process(tmp_path):
    data = synthesize("tabular", 30, seed=4, out=tmp_path / "data")
    alone = calibrate_module.calibrate(data / "calibration.yaml", tmp_path / "a.yaml", draws=3,
                                       jobs=1)  # fmt: skip
    workers = calibrate_module.calibrate(data / "calibration.yaml", tmp_path / "b.yaml", draws=3,
                                         jobs=2)  # fmt: skip
    for one, other in zip(alone.draws, workers.draws, strict=True):
        np.testing.assert_array_equal(one.response.decay, other.response.decay)
        np.testing.assert_array_equal(one.response.effectiveness, other.response.effectiveness)
        np.testing.assert_array_equal(one.facts.churn, other.facts.churn)

    def scenarios(folder):  # after the first line, which names a.yaml or b.yaml
        return [path.read_text().split("\n", 1)[1] for path in sorted(folder.glob("*.yaml"))]

    assert scenarios(tmp_path / "a-draws") == scenarios(tmp_path / "b-draws")


def test_response_curves_are_the_models_steady_state_hill_curves(replay_inputs):
    from gtmgym.calibration.response import CURVE_PERIODS, response_curves

    (scenario,) = random_candidates(replay_inputs, 1, seed=9)
    scenario = scenario | {"budget": {"per_period": 500.0}}
    levels = np.tile(np.linspace(0.0, 300.0, 7), (len(scenario["channels"]), 1))
    curves = response_curves(scenario, levels)
    for c, channel in enumerate(scenario["channels"]):
        # docs/model.md section 3: adstock a = spend (1 - decay^T) / (1 - decay) after
        # T periods of constant spend, the share won e a^s / (a^s + k^s)
        decay, k, s = channel["decay"], channel["half_saturation"], channel["slope"]
        adstock = levels[c] * (1 - decay**CURVE_PERIODS) / (1 - decay)
        for i, effectiveness in enumerate(channel["effectiveness"]):
            hill = effectiveness * adstock**s / (adstock**s + k**s)
            np.testing.assert_allclose(curves[i, c], hill, rtol=1e-9, atol=1e-12)


def test_the_replay_plays_each_period_at_the_demand_given(replay_inputs):
    (scenario,) = random_candidates(replay_inputs, 1, seed=4)
    spend, held = replay_inputs["spend"], replay_inputs["held"]
    periods, segments = spend.shape[:2]
    expected = replay(scenario, spend, held)
    np.testing.assert_array_equal(
        replay(scenario, spend, held, demand=np.zeros((periods, segments))), expected
    )
    demand = np.zeros((periods, segments))
    demand[10:20, 1] = np.log(1.2)  # segment 1's demand 20% up in periods 10-19
    shocked = replay(scenario, spend, held, demand=demand)
    np.testing.assert_array_equal(np.delete(shocked, 1, axis=1), np.delete(expected, 1, axis=1))
    np.testing.assert_array_equal(shocked[:10], expected[:10])
    assert (shocked[10:20, 1].sum(axis=1) > expected[10:20, 1].sum(axis=1)).all()
    (copied,) = replay_copies([scenario], spend, held, demand)
    np.testing.assert_allclose(copied, shocked, rtol=1e-12, atol=1e-12)
