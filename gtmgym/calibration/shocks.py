"""Demand shocks from what the fitted response leaves unexplained.

The model's demand shock (docs/model.md, sections 4 and 5) multiplies a
segment's reachable market by :math:`\\mu_t = e^{z_t}`, :math:`z_t` an AR(1)
of persistence :math:`\\rho` with innovations of sd :math:`\\sigma`, and
never beyond the whole population: the multiplier that acts is
:math:`\\min(e^{z_t}, 1 / (1 - \\kappa))` for a rival's share
:math:`\\kappa` (with no rival, only falls in demand show).

The fitted response is replayed with :math:`\\mu = 1` and the customers held
as observed, so each period's customers won, observed over predicted
(:math:`r_t`), says what the multiplier was: the prospects are the
reachable market :math:`R_t` less the customers still held :math:`n_t`, so

.. math:: \\hat\\mu_t = 1 + L_t (r_t - 1), \\qquad L_t = (R_t - n_t) / R_t,

and :math:`y_t = \\log \\hat\\mu_t` is the acting log multiplier blurred by
the sampling noise of the wins (roughly Poisson around their prediction
:math:`\\hat W_t`, a variance of about :math:`v_t = L_t^2 / \\hat W_t` in
:math:`y_t`).

:math:`(\\sigma, \\rho)` are found by **indirect inference**: two statistics
of :math:`y` (its variance and lag-1 autocovariance about its linear trend,
periods weighted by their precision) are computed on the data and on
:data:`REPLICATES` simulated histories of the same periods (the AR(1), the
cap, wins drawn about :math:`\\hat W_t` and read through the same
:math:`\\hat\\mu_t`; common random numbers), and
``scipy.optimize.least_squares`` matches them. Where fewer than
:data:`MIN_PERIODS` periods have :data:`MIN_WINS` predicted wins, or the
residuals vary no more than sampling noise does, the segment gets no shock.
Adverse events, which cut demand deeply for a few periods, are found in
the same readings (:mod:`gtmgym.calibration.events`), and the shock is then
read again from the periods outside them. Whatever else the calibrated model
leaves out (a rival that reacts to our spend) shows in the residuals too and
is read as demand shock (docs/calibration.md, Demand shocks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import lfilter

from gtmgym.calibration.events import Events, find_events, first_shock, no_events

MIN_PERIODS = 24  # periods with enough predicted wins to read
MIN_WINS = 5.0  # predicted wins in a period for its ratio to be read
LOWEST_MULTIPLIER = 0.05  # implied multipliers are read as at least this (no log of 0)
MAX_SIGMA, MAX_PERSISTENCE = 1.0, 0.99
REPLICATES = 64  # simulated histories per candidate
BURN_IN = 50  # periods simulated before the history, so the AR(1) starts stationary
EVENT_ROUNDS = 3  # searches for events, each under the shock read outside the last's


@dataclass
class Shocks:
    """Per segment: the demand shock's innovation sd and persistence
    (both 0: the data show none), the periods they were read from, and the
    adverse events found (:mod:`gtmgym.calibration.events`; duration 0:
    none)."""

    sigma: np.ndarray  # (S,)
    persistence: np.ndarray  # (S,)
    periods: np.ndarray  # (S,) int
    events: list[Events] | None = None  # one a segment

    def event_field(self, name: str) -> np.ndarray:
        """(S,) one field of every segment's events (0 where none were read)."""
        n_segments = len(self.sigma)
        if self.events is None:
            return np.zeros(n_segments)
        return np.array([float(getattr(e, name)) for e in self.events])


def demand_shocks(
    observed: np.ndarray,
    predicted: np.ndarray,
    leverage: np.ndarray,
    rivals: np.ndarray,
    weights: np.ndarray | None = None,
    seed: int = 0,
    durations: np.ndarray | None = None,
) -> Shocks:
    """Each segment's demand shock from the fit's residuals.

    Args:
        observed: (T, S) customers won per period and segment, from the data.
        predicted: (T, S) the same replayed through the fitted model.
        leverage: (T, S) prospects as a share of the reachable market
            (:math:`L_t`, from :func:`~gtmgym.calibration.response.replay`).
        rivals: (S,) the rival's share of each segment (:math:`\\kappa`).
        weights: (T,) how often each period counts (a bootstrap's draw).
        seed: the simulations' common random numbers.
        durations: (S,) the only adverse events' duration to search for
            per segment, 0 for none (a bootstrap draw's, the point
            estimate's; default: any, :func:`~gtmgym.calibration.events.find_events`).
    """
    periods, n_segments = observed.shape
    counts = np.ones(periods) if weights is None else np.asarray(weights, dtype=float)
    sigma, persistence, used = np.zeros(n_segments), np.zeros(n_segments), np.zeros(n_segments, int)
    events = [no_events(periods) for _ in range(n_segments)]
    for i in range(n_segments):
        expected, share = predicted[:, i], leverage[:, i]
        read = (expected >= MIN_WINS) & (share > 0)
        used[i] = int(read.sum())
        if used[i] < MIN_PERIODS:
            continue
        y = log_multipliers(observed[:, i], expected, share)
        noise = np.divide(share**2, expected, out=np.zeros(periods), where=read)
        cap = -np.log1p(-float(rivals[i]))
        rng = np.random.default_rng([seed, i])
        simulation = _Simulation(expected, share, cap, rng)
        statistics = _Statistics(counts * read, noise)
        sigma[i], persistence[i] = _matched(y, statistics, simulation)
        # the events, then the shock read again outside them, until they hold
        if durations is not None and not durations[i]:
            continue
        duration = None if durations is None else int(durations[i])
        assumed = first_shock(y, noise, read)
        for _ in range(EVENT_ROUNDS):
            found = find_events(y, noise, read, *assumed, weights, duration)
            unchanged = np.array_equal(found.in_event, events[i].in_event)
            events[i] = found
            if unchanged or int((read & ~found.in_event).sum()) < MIN_PERIODS:
                break
            statistics = _Statistics(counts * read * ~found.in_event, noise)
            sigma[i], persistence[i] = _matched(y, statistics, simulation)
            assumed = sigma[i], persistence[i]
    return Shocks(sigma=sigma, persistence=persistence, periods=used, events=events)


def _matched(
    y: np.ndarray, statistics: _Statistics, simulation: _Simulation
) -> tuple[float, float]:
    """(sigma, persistence) whose simulated statistics match the data's;
    (0, 0) where the data vary no more than sampling noise alone makes."""
    target = statistics(y[None, :])[:, 0]
    if target[0] <= statistics(simulation.histories(0.0, 0.0)).mean(axis=1)[0]:
        return 0.0, 0.0

    def mismatch(x: np.ndarray) -> np.ndarray:
        moments = statistics(simulation.histories(x[0], x[1])).mean(axis=1)
        return (moments - target) / target[0]

    bounds = ([0.0, 0.0], [MAX_SIGMA, MAX_PERSISTENCE])
    best = least_squares(mismatch, x0=[0.1, 0.5], bounds=bounds)
    return float(best.x[0]), float(best.x[1])


class _Statistics:
    """(variance, lag-1 autocovariance) of log multipliers about their linear
    trend, periods weighted by ``weights`` over their sampling ``noise``
    (plus its median, so that no period outweighs the rest)."""

    def __init__(self, weights: np.ndarray, noise: np.ndarray) -> None:
        read = weights > 0
        self.weights = weights / (noise + np.median(noise[read]))
        self.pairs = self.weights[1:] * read[:-1] * self.weights[:-1]
        time = np.arange(len(noise), dtype=float)
        design = np.stack([np.ones_like(time), time], axis=1)
        weighted = design * self.weights[:, None]
        # y less its weighted least-squares line, for many y at once
        self.detrend = np.eye(len(time)) - design @ np.linalg.pinv(design.T @ weighted) @ weighted.T

    def __call__(self, histories: np.ndarray) -> np.ndarray:
        """(2, K) statistics of (K, T) histories."""
        centred = histories @ self.detrend.T
        variance = (centred**2 @ self.weights) / self.weights.sum()
        lagged = (centred[:, 1:] * centred[:, :-1]) @ self.pairs / max(self.pairs.sum(), 1e-300)
        return np.stack([variance, lagged])


def log_multipliers(wins: np.ndarray, expected: np.ndarray, leverage: np.ndarray) -> np.ndarray:
    """:math:`\\log \\hat\\mu_t` of (K, T) or (T,) wins (not below
    :data:`LOWEST_MULTIPLIER`; 0 where nothing was expected)."""
    ratio = np.divide(wins, expected, out=np.ones(np.broadcast(wins, expected).shape),
                      where=expected > 0)  # fmt: skip
    return np.log(np.maximum(1.0 + leverage * (ratio - 1.0), LOWEST_MULTIPLIER))


class _Simulation:
    """Log multipliers read from simulated histories of wins: the AR(1)
    shock, capped as the model caps it, scales each period's expected wins
    (relative to the history's mean multiplier, which the fitted response
    absorbed), wins are drawn about that (normal with Poisson variance, so
    that the mismatch is smooth) and read as the data are. The same random
    numbers serve every candidate (sigma, persistence)."""

    def __init__(
        self, expected: np.ndarray, leverage: np.ndarray, cap: float, rng: np.random.Generator
    ) -> None:
        periods = len(expected)
        self.innovations = rng.standard_normal((REPLICATES, BURN_IN + periods))
        self.sampling = rng.standard_normal((REPLICATES, periods))
        self.expected, self.leverage, self.cap = expected, leverage, cap

    def histories(self, sigma: float, persistence: float) -> np.ndarray:
        shock = lfilter([sigma], [1.0, -persistence], self.innovations, axis=1)
        acting = np.exp(np.minimum(shock[:, BURN_IN:], self.cap))
        relative = acting / acting.mean(axis=1, keepdims=True)
        # the prospects, a share L of the reachable market R (the rest is our
        # customers n), become R mu - n: the wins' ratio is 1 + (mu - 1) / L
        ratio = 1.0 + (relative - 1.0) / np.maximum(self.leverage, 1e-12)
        mean = np.maximum(self.expected * ratio, 0.0)
        wins = np.maximum(mean + np.sqrt(np.maximum(mean, 0.0)) * self.sampling, 0.0)
        return log_multipliers(wins, self.expected, self.leverage)


def smoothed_demand(
    observed: np.ndarray,
    predicted: np.ndarray,
    leverage: np.ndarray,
    shocks: Shocks,
) -> np.ndarray:
    """(T, S) each period's log demand multiplier, as best the wins tell it:
    the readings :math:`y_t` of :func:`log_multipliers` smoothed under the
    segment's estimated AR(1) (a Rauch-Tung-Striebel smoother with the
    reading's sampling variance :math:`v_t`), so that a period's reading
    counts by how many wins it rests on, and not at all where too few were
    expected or the segment has no shock (0 there). Where adverse events
    were read, the readings' level outside them is taken off (the fit at
    the expected demand averaged the events in; outside an event the
    model's log shock has mean 0), the events' depth is the mean inside
    them, and the shock is smoothed about that.

    The response fit replays the history at these multipliers
    (docs/calibration.md, Demand in the replay); the readings are made
    about the response fitted at the expected demand, whose level the
    multipliers' mean leaves to the refit.
    """
    periods, n_segments = observed.shape
    demand = np.zeros((periods, n_segments))
    for i in range(n_segments):
        sigma, rho = float(shocks.sigma[i]), float(shocks.persistence[i])
        events = shocks.events[i] if shocks.events is not None else no_events(periods)
        if sigma <= 0.0 and not events.in_event.any():
            continue
        expected, share = predicted[:, i], leverage[:, i]
        read = (expected >= MIN_WINS) & (share > 0)
        y = log_multipliers(observed[:, i], expected, share)
        noise = np.divide(share**2, expected, out=np.full(periods, np.inf), where=read)
        # the events' cut, about the level outside them: the readings are
        # about a fit at the expected demand, which averaged the events in,
        # and outside an event the model's log shock has mean 0
        cut = events.depth * events.in_event  # 0 where none were read
        demand[:, i] = cut
        if sigma > 0.0:
            demand[:, i] += _smoothed(y - events.level - cut, noise, sigma, rho)
    return demand


def _smoothed(y: np.ndarray, noise: np.ndarray, sigma: float, rho: float) -> np.ndarray:
    """The RTS smoother's means of an AR(1) ``z`` (innovations ``sigma``,
    persistence ``rho``, stationary at the start) read as ``y = z + e``,
    ``e`` of variance ``noise`` (infinite: not read)."""
    periods = len(y)
    ahead_mean, ahead_var = np.zeros(periods), np.zeros(periods)
    mean, var = np.zeros(periods), np.zeros(periods)
    prior_mean, prior_var = 0.0, sigma**2 / max(1.0 - rho**2, 1e-6)
    for t in range(periods):
        ahead_mean[t], ahead_var[t] = prior_mean, prior_var
        if np.isfinite(noise[t]):
            gain = prior_var / (prior_var + noise[t])
            mean[t] = prior_mean + gain * (y[t] - prior_mean)
            var[t] = (1.0 - gain) * prior_var
        else:
            mean[t], var[t] = prior_mean, prior_var
        prior_mean, prior_var = rho * mean[t], rho**2 * var[t] + sigma**2
    smoothed = mean.copy()
    for t in range(periods - 2, -1, -1):
        back = var[t] * rho / ahead_var[t + 1]
        smoothed[t] = mean[t] + back * (smoothed[t + 1] - ahead_mean[t + 1])
    return smoothed
