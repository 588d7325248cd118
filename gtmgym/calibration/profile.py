"""Profile-likelihood intervals of the channels' half-saturation and effectiveness.

A history identifies a response curve's shape over the spend it saw, which
several (half-saturation, slope, effectiveness) combinations come close to,
so the estimates of these two lie along a ridge of the likelihood. The block
bootstrap's percentile intervals, centred on the estimate, then miss the truth
far more often than one time in ten (on ``channel-allocation``, seed 0, 104
periods: channels B and C at 1,274 and 1,270 for a truth of 2,400 and 2,100,
both outside their bootstrap intervals, while the likelihood at the truth of C
is well within reach). The profile likelihood asks the data directly.

For a parameter :math:`\\theta_k` held at a value :math:`v`, every other
response parameter is refitted (:meth:`ResponseProblem.solve` with ``fixed``)
and the deviance :math:`D_k(v)` of the wins compared with the fit's
:math:`\\hat D`. The 90% interval holds the values with

.. math:: (D_k(v) - \\hat D) / \\hat\\varphi \\le \\chi^2_{1, 0.90} = 2.706,

:math:`\\hat\\varphi = \\max(1, \\hat D / (n - p))` the dispersion (``n``
wins compared, ``p`` parameters; more than 1 where demand shocks or a rival
spread the wins beyond Poisson). Each end is found on the signed root
:math:`z(v) = \\pm\\sqrt{(D_k(v) - \\hat D) / \\hat\\varphi}`, near linear in
:math:`\\log v`, by secant steps towards :math:`z = 1.645` from the Wald
guess of the fit's Jacobian, each refit started from the last: a handful of
refits per end. With 10 bootstrap draws or more, a parameter whose draws
spread more than the likelihood's curvature says (demand shocks move a
segment's wins together over several periods, which the likelihood counts
as independent) has its threshold widened by the ratio of the variances
(:func:`adjustments`). An end that reaches the parameter's bound (half-saturation
1,000 times the channel's median spend either way; effectiveness 1, or
1/1,000 of the estimate, read as 0) is reported at the bound.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

from gtmgym.calibration.response import Response, ResponseProblem
from gtmgym.calibration.workers import forked_map

LEVEL = 0.90
Z = math.sqrt(chi2.ppf(LEVEL, 1))  # 1.645: the signed root at an end
Z_TOLERANCE = 0.05  # an end is found when its signed root is this close to Z
MAX_REFITS = 8  # per end
# least_squares' tolerances of a refit with one parameter held: on 4 segments
# x 5 channels x 156 periods (benchmark 9), the 48 ends took 20.4 s at 1e-4
# and 18.1 s at 1e-3 on one core, about 2 refits an end
REFIT_TOLERANCE = 1e-3
SMALLEST_EFFECTIVENESS = 1e-3  # of the estimate: below it, an interval reaches 0
FIRST_STEP = 0.5  # in log units, when the Jacobian gives no guess
NO_EFFECT = 1e-6  # an effectiveness estimate this small is searched upwards from here
MIN_DRAWS = 10  # bootstrap draws from which their spread adjusts the intervals


def profile_intervals(
    problem: ResponseProblem, estimate: Response, draws: list[Response], jobs: int = 1
) -> dict[str, np.ndarray]:
    """90% profile-likelihood intervals, as
    :func:`~gtmgym.calibration.uncertainty.intervals` gives them: a (2, C)
    array of half-saturations (low, high) and a (2, S, C) one of
    effectiveness (0 where a pair is not fitted).

    Args:
        draws: the bootstrap's refits, for each parameter's adjustment to
            residuals that move together (see :func:`adjustments`).
    """
    n_channels = problem.shape[1]
    x = problem.pack(estimate)
    residuals = problem.residuals(x)
    deviance = float(residuals @ residuals)
    dispersion = max(1.0, deviance / max(len(residuals) - len(x), 1))
    jacobian = problem.jacobian(x)
    covariance = dispersion * np.linalg.pinv(jacobian.T @ jacobian)
    profiled = [*range(n_channels, 2 * n_channels), *range(3 * n_channels, len(x))]
    spreads = {k: _log_spread(problem, covariance, x, k) for k in profiled}
    scale = adjustments(problem, x, draws, spreads)
    tasks = [(k, side) for k in profiled for side in (-1, 1)]

    def end(task: int) -> float:
        k, side = tasks[task]
        spread = spreads[k] * math.sqrt(scale[k])
        return _end(problem, x, deviance, dispersion * scale[k], k, side, spread)

    ends = dict(zip(tasks, forked_map(end, len(tasks), jobs), strict=True))
    half_saturation = np.empty((2, n_channels))
    for c in range(n_channels):
        for row, side in enumerate((-1, 1)):
            half_saturation[row, c] = problem.typical[c] * math.exp(ends[n_channels + c, side])
    effectiveness = np.zeros((2, *problem.shape))
    for j, (i, c) in enumerate(problem.pairs):
        for row, side in enumerate((-1, 1)):
            effectiveness[row, i, c] = ends[3 * n_channels + j, side]
    return {"half_saturation": half_saturation, "effectiveness": effectiveness}


def adjustments(
    problem: ResponseProblem, x: np.ndarray, draws: list[Response], spreads: dict[int, float]
) -> dict[int, float]:
    """Each profiled parameter's factor on the dispersion: the block
    bootstrap's variance of its log over the likelihood's (Wald) variance,
    where the bootstrap's is larger, else 1.

    The likelihood counts every period's wins as independent; demand shocks
    that last several periods and move every channel of a segment together
    make the residuals move together, so the data hold less information than
    the likelihood's curvature says. The bootstrap over blocks of periods
    keeps those movements, and the profile's threshold is widened by the
    ratio (the curvature adjustment of Chandler and Bate, 2007, Biometrika
    94(1), with the bootstrap's variance for the sandwich's).
    """
    if len(draws) < MIN_DRAWS:
        return dict.fromkeys(spreads, 1.0)
    drawn = [problem.pack(draw) for draw in draws]
    scale = {}
    for k, spread in spreads.items():
        deviations = [_in_log(problem, d, k) - _in_log(problem, x, k) for d in drawn]
        spread_of_draws = math.sqrt(float(np.mean(np.square(deviations))))
        ratio = (spread_of_draws / spread) ** 2 if math.isfinite(spread) and spread > 0 else 1.0
        scale[k] = max(1.0, ratio)
    return scale


def _in_log(problem: ResponseProblem, x: np.ndarray, k: int) -> float:
    """Parameter ``k`` of ``x`` in log units (half-saturation's entry already is one)."""
    return float(x[k]) if problem.is_channel_entry(k) else math.log(max(x[k], NO_EFFECT))


def _log_spread(problem: ResponseProblem, covariance: np.ndarray, x: np.ndarray, k: int) -> float:
    """The Wald standard error of parameter ``k`` in log units (half-saturation's
    entry already is one; effectiveness's is divided by the estimate)."""
    if covariance[k, k] <= 0:
        return math.nan
    spread = math.sqrt(covariance[k, k])
    return spread if problem.is_channel_entry(k) else spread / max(x[k], NO_EFFECT)


def _end(
    problem: ResponseProblem,
    x: np.ndarray,
    deviance: float,
    dispersion: float,
    k: int,
    side: int,
    spread: float,
) -> float:
    """One end of parameter ``k``'s interval: log half-saturation over the
    median spend, or effectiveness itself."""
    is_half_saturation = problem.is_channel_entry(k)  # the only channel entry profiled
    estimate = x[k]
    step = spread
    if is_half_saturation:
        to_value, bound = (lambda t: t), (problem.low[k] if side < 0 else problem.high[k])
        start = estimate
    else:  # searched in log effectiveness
        if estimate <= NO_EFFECT and side < 0:
            return 0.0
        start = math.log(max(estimate, NO_EFFECT))
        to_value = math.exp
        floor = start + math.log(SMALLEST_EFFECTIVENESS)
        bound = floor if side < 0 else math.log(problem.high[k])
    if not math.isfinite(step) or step <= 0:
        step = FIRST_STEP
    # (offset from the estimate, signed root) of the refits so far
    points = [(0.0, 0.0)]
    warm = x.copy()
    offset = min(Z * step, abs(bound - start))
    for _ in range(MAX_REFITS):
        probe = warm.copy()
        probe[k] = to_value(start + side * offset)
        fit = problem.solve(probe, REFIT_TOLERANCE, fixed=k)
        warm = fit.x
        z = math.sqrt(max(2.0 * fit.cost - deviance, 0.0) / dispersion)
        points.append((offset, z))
        if abs(z - Z) < Z_TOLERANCE:
            break
        at_bound = offset >= abs(bound - start) * (1 - 1e-9)
        if z < Z and at_bound:
            return _reported(to_value(bound), is_half_saturation, side, floor_reached=True)
        offset = _next_offset(points, abs(bound - start))
    offset = _interpolated(points)
    return _reported(to_value(start + side * offset), is_half_saturation, side, False)


def _next_offset(points: list[tuple[float, float]], limit: float) -> float:
    """The secant step towards ``Z`` (regula falsi once the end is bracketed),
    at most four times the last offset and never past ``limit``."""
    inside, beyond = _bracket(points)
    last, before = points[-1], points[-2]
    a, b = (inside, beyond) if beyond is not None else (before, last)
    if b[1] == a[1]:
        guess = 2.0 * b[0]
    else:
        guess = a[0] + (Z - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
    if beyond is not None:
        low, high = inside[0], beyond[0]
        guess = min(max(guess, low + 0.1 * (high - low)), high - 0.1 * (high - low))
    else:
        guess = min(max(guess, 1.2 * last[0]), 4.0 * last[0])
    return min(guess, limit)


def _bracket(
    points: list[tuple[float, float]],
) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """The furthest refit whose signed root is below ``Z``, and the nearest
    at or above it (None: none yet)."""
    inside = max((p for p in points if p[1] < Z), key=lambda p: p[0])
    outside = [p for p in points if p[1] >= Z]
    return inside, (min(outside, key=lambda p: p[0]) if outside else None)


def _interpolated(points: list[tuple[float, float]]) -> float:
    """The offset at ``Z``, interpolated between the refits either side of it
    (the furthest refit if none reached it)."""
    inside, beyond = _bracket(points)
    if beyond is None:
        return inside[0]
    if beyond[1] == inside[1]:
        return beyond[0]
    return inside[0] + (Z - inside[1]) * (beyond[0] - inside[0]) / (beyond[1] - inside[1])


def _reported(value: float, is_half_saturation: bool, side: int, floor_reached: bool) -> float:
    """An end as reported: an effectiveness interval that reaches the floor reaches 0."""
    if not is_half_saturation and side < 0 and floor_reached:
        return 0.0
    return value
