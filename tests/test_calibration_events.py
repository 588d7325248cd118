"""Adverse events read from the calibration's residuals (gtmgym/calibration/events.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.signal import lfilter

import gtmgym
from gtmgym.calibration import calibrate, synthesize
from gtmgym.calibration.events import find_events
from gtmgym.calibration.shocks import demand_shocks, smoothed_demand

RIVAL = 0.5


def eventful_history(sigma, persistence, probability, cut, duration, periods, seed):
    """Wins as the model makes them (tests/test_calibration_shocks.py's
    history), with adverse events: one starts with ``probability`` in a
    period none runs, and cuts the demand by ``cut`` for ``duration``
    periods. Returns the wins, what a fit at the expected demand predicts,
    the prospects' share and the true event periods."""
    rng = np.random.default_rng(seed)
    expected = rng.uniform(100.0, 300.0, size=periods)
    leverage = rng.uniform(0.6, 0.9, size=periods)
    shock = lfilter([sigma], [1.0, -persistence], rng.standard_normal(periods + 200))[200:]
    in_event = np.zeros(periods, dtype=bool)
    left = 0
    for t in range(periods):
        if left == 0 and rng.uniform() < probability:
            left = duration
        in_event[t] = left > 0
        left = max(left - 1, 0)
    acting = np.exp(np.minimum(shock, -np.log1p(-RIVAL))) * np.where(in_event, 1.0 - cut, 1.0)
    acting /= acting.mean()  # the fit at the expected demand absorbs the mean multiplier
    won = rng.poisson(np.maximum(expected * (1.0 + (acting - 1.0) / leverage), 0.0))
    return won[:, None].astype(float), expected[:, None], leverage[:, None], in_event


def test_events_are_found_with_their_cut_and_duration_and_the_shock_is_not_inflated():
    found = []
    for seed in range(8):
        won, expected, leverage, in_event = eventful_history(0.1, 0.7, 0.04, 0.5, 4, 156, seed)
        shocks = demand_shocks(won, expected, leverage, np.array([RIVAL]), seed=seed)
        events = shocks.events[0]
        found.append(
            (events.duration, events.cut, shocks.sigma[0], np.mean(events.in_event == in_event))
        )
    durations, cuts, sigmas, agreement = np.array(found).T
    assert np.median(durations) == 4
    assert np.median(cuts) == pytest.approx(0.5, abs=0.1)
    assert np.median(sigmas) == pytest.approx(0.1, rel=0.3)  # read outside the events
    assert np.median(agreement) > 0.95  # periods marked as in an event, or not, rightly


def test_no_event_is_read_where_the_demand_only_wanders_as_an_ar1():
    falsely = 0
    for seed in range(12):
        won, expected, leverage, _ = eventful_history(0.12, 0.7, 0.0, 0.0, 1, 104, seed)
        falsely += demand_shocks(won, expected, leverage, np.array([RIVAL])).events[0].duration > 0
    assert falsely <= 1


def test_the_event_probability_counts_events_over_the_periods_one_could_start_in():
    periods = 100
    y = np.zeros(periods)
    truth = np.zeros(periods, dtype=bool)
    for start in (20, 50, 80):
        truth[start : start + 5] = True
    y[truth] = np.log(0.4)
    noise = np.full(periods, 0.01)
    events = find_events(y, noise, np.ones(periods, dtype=bool), 0.0, 0.0)
    np.testing.assert_array_equal(events.in_event, truth)
    assert (events.starts, events.duration) == (3, 5)
    assert events.cut == pytest.approx(0.6, abs=1e-9)
    assert events.probability == pytest.approx(3 / (periods - 3 * 4))
    weights = np.ones(periods)
    weights[50:55] = 0.0  # a bootstrap draw without the second event's periods
    drawn = find_events(y, noise, np.ones(periods, dtype=bool), 0.0, 0.0, weights)
    assert drawn.probability == pytest.approx(2 / (periods - 5 - 2 * 4))


def test_the_smoothed_demand_replays_an_event_at_its_depth_and_centres_the_rest_on_zero():
    won, expected, leverage, in_event = eventful_history(0.05, 0.5, 0.04, 0.6, 5, 156, 3)
    shocks = demand_shocks(won, expected, leverage, np.array([RIVAL]))
    demand = smoothed_demand(won, expected, leverage, shocks)[:, 0]
    assert in_event.any() and shocks.events[0].duration == 5
    assert demand[in_event].mean() == pytest.approx(np.log(0.4), abs=0.1)
    # outside events the model's log shock has mean 0, whatever level the
    # fit at the expected demand (which averaged the events in) left
    assert abs(demand[~in_event].mean()) < 0.03


@pytest.fixture(scope="module")
def calibrated_with_events(tmp_path_factory):
    folder = tmp_path_factory.mktemp("events")
    data = synthesize("cross-border-ecommerce", 104, seed=0, out=folder / "data")
    result = calibrate(data / "calibration.yaml", folder / "fitted.yaml", draws=2, jobs=1)
    return folder, result


def test_a_calibrated_scenario_carries_the_events_the_history_shows(calibrated_with_events):
    folder, result = calibrated_with_events
    truth = gtmgym.load_scenario("cross-border-ecommerce")
    fitted = gtmgym.load_scenario(folder / "fitted.yaml")
    japan = [s.name for s in truth.segments].index("japan")  # cut 0.6 for 6 periods
    event = fitted.segments[japan].adverse_event
    assert event.duration == truth.segments[japan].adverse_event.duration
    assert event.demand_cut == pytest.approx(0.6, abs=0.1)
    assert 0.0 < event.probability < 0.1

    # every draw names the same segments' events, so that they differ only in numbers
    def eventful(path):
        return [("adverse_event" in s) for s in yaml.safe_load(path.read_text())["segments"]]

    draws = sorted(Path(folder / "fitted-draws").glob("draw-*.yaml"))
    assert len(draws) == 2
    assert all(eventful(draw) == eventful(folder / "fitted.yaml") for draw in draws)
    assert result.intervals["event_duration"].shape == (2, len(truth.segments))
