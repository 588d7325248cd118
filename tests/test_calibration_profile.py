"""Profile-likelihood intervals of half-saturation and effectiveness: each
end is where the refitted deviance has risen by chi-square(1) at 90%, and the
intervals hold what the likelihood cannot tell from the truth."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

import gtmgym
from gtmgym.calibration import synthesize
from gtmgym.calibration.profile import Z
from gtmgym.calibration.response import DRAW_TOLERANCE, ResponseProblem

calibrate_module = importlib.import_module("gtmgym.calibration.calibrate")
# where calibrate fits the response (gtmgym/calibration/history_fit.py)
fit_module = importlib.import_module("gtmgym.calibration.history_fit")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """channel-allocation, 104 periods of seed 0, calibrated with 3 draws; and
    the point fit's least-squares problem (at the demand read from the
    residuals, where they show shocks)."""
    folder = tmp_path_factory.mktemp("profile")
    data = synthesize("channel-allocation", 104, seed=0, out=folder / "data")
    captured = {}
    original = fit_module.fit_response

    def spy(scenario_for, spend, won, held, available, *rest, **options):
        weights = rest[0] if rest else options.get("weights")
        if weights is None:  # a point fit, not a bootstrap draw's: the last is the one profiled
            demand = options.get("demand")
            captured["problem"] = ResponseProblem(
                scenario_for, spend, won, held, available, demand=demand
            )
        return original(scenario_for, spend, won, held, available, *rest, **options)

    fit_module.fit_response = spy
    try:
        result = calibrate_module.calibrate(data / "calibration.yaml", folder / "fitted.yaml",
                                            draws=3, jobs=1)  # fmt: skip
    finally:
        fit_module.fit_response = original
    return result, captured["problem"]


def test_every_interval_holds_its_estimate(calibrated):
    result, problem = calibrated
    bands = result.intervals
    for name in ("half_saturation", "effectiveness"):
        estimate = getattr(result.response, name)
        assert (bands[name][0] <= estimate * (1 + 1e-9)).all(), name
        assert (bands[name][1] >= estimate * (1 - 1e-9)).all(), name
    width = bands["effectiveness"][1] - bands["effectiveness"][0]
    assert (width[problem.available] > 0).all() and (width[~problem.available] == 0).all()
    assert (bands["half_saturation"][1] > bands["half_saturation"][0]).all()


def test_each_end_is_where_the_profile_deviance_reaches_the_90_percent_line(calibrated):
    result, problem = calibrated
    x = problem.pack(result.response)
    residuals = problem.residuals(x)
    deviance = float(residuals @ residuals)
    dispersion = max(1.0, deviance / (len(residuals) - len(x)))
    n_channels = problem.shape[1]
    checked = 0
    for c in range(n_channels):
        for end in result.intervals["half_saturation"][:, c]:
            log_end = math.log(end / problem.typical[c])
            if not problem.low[n_channels + c] < log_end < problem.high[n_channels + c]:
                continue
            probe = x.copy()
            probe[n_channels + c] = log_end
            refit = problem.solve(probe, DRAW_TOLERANCE, fixed=n_channels + c)
            root = math.sqrt(max(2.0 * refit.cost - deviance, 0.0) / dispersion)
            assert root == pytest.approx(Z, abs=0.1), (c, end)
            checked += 1
    for j, (i, c) in enumerate(problem.pairs):
        for end in result.intervals["effectiveness"][:, i, c]:
            if not 0.0 < end < 1.0:
                continue
            probe = x.copy()
            probe[3 * n_channels + j] = end
            refit = problem.solve(probe, DRAW_TOLERANCE, fixed=3 * n_channels + j)
            root = math.sqrt(max(2.0 * refit.cost - deviance, 0.0) / dispersion)
            assert root == pytest.approx(Z, abs=0.1), (i, c, end)
            checked += 1
    assert checked >= 8  # of the 12 ends: most are inside the bounds


def test_the_interval_holds_a_truth_the_bootstrap_missed(calibrated):
    # channel C: estimated 1,270 for a truth of 2,100; its bootstrap interval
    # (20 draws) was [1,025, 2,038], while the likelihood at 2,100 is within
    # reach of the estimate's
    result, _ = calibrated
    truth = gtmgym.load_scenario("channel-allocation")
    low, high = result.intervals["half_saturation"][:, 2]
    assert low < truth.channels[2].half_saturation < high
    assert abs(result.response.half_saturation[2] / truth.channels[2].half_saturation - 1) > 0.25
    assert (result.intervals["effectiveness"][:, 0, 1] == 0.0).all()  # channel B not in A
    assert np.isfinite(result.intervals["slope"]).all()  # the bootstrap's, kept


def test_draws_spread_wider_than_the_likelihood_says_widen_the_threshold(calibrated):
    from dataclasses import replace

    from gtmgym.calibration.profile import MIN_DRAWS, adjustments

    result, problem = calibrated
    x = problem.pack(result.response)
    k = problem.shape[1]  # channel 0's log half-saturation
    spreads = {k: 0.1}
    same = [result.response] * MIN_DRAWS
    assert adjustments(problem, x, same, spreads) == {k: 1.0}
    wide = [
        replace(
            result.response, half_saturation=result.response.half_saturation * np.exp(sign * 0.3)
        )
        for sign in (-1, 1) * (MIN_DRAWS // 2)
    ]
    assert adjustments(problem, x, wide, spreads)[k] == pytest.approx(9.0, rel=1e-6)
    assert adjustments(problem, x, wide[: MIN_DRAWS - 1], spreads) == {k: 1.0}  # too few
