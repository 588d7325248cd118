"""The channels' response, fitted through the model's own equations.

For candidate parameters (per channel: adstock decay, Hill half-saturation
and slope; per available pair: effectiveness) the history is replayed with
:func:`gtmgym.envs.kernel.advance`, the code every environment runs, noise
off: each period spends what the spend table says, and the customers held
are then set to the customers the customer table says were held (teacher
forcing), so a period's predicted wins depend on the parameters and on that
period's observed market, not on earlier prediction errors. The residuals,
the Poisson deviance residuals of the wins per period, segment and channel
(so that least squares is maximum likelihood), are minimised by bounded
nonlinear least squares (``scipy.optimize.least_squares``, trust region
reflective) from several starts; the best end is kept. The Jacobian is
taken by forward differences (scipy's 2-point steps): a segment's wins
depend on its channels' parameters and its own effectiveness only, so the
effectiveness of different segments is probed together, and the probes are
replayed a few at a time as copies of the market side by side in one
market (:func:`replay_copies`), still through ``kernel.advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from scipy.special import xlogy
from threadpoolctl import threadpool_limits

from gtmgym.calibration.workers import forked_map
from gtmgym.envs import kernel
from gtmgym.envs.loader import load_scenario
from gtmgym.envs.params import MarketParams

DECAY_RANGE = (0.0, 0.95)
SLOPE_RANGE = (0.5, 4.0)
STARTS = ((0.2, 0.5), (0.6, 2.0))  # (decay, half-saturation / median spend)
# least_squares' ftol, xtol and gtol. On 100,000 customers x 156 periods x 5
# channels x 4 segments the point fit took 164 Jacobians at scipy's 1e-8 and
# 19 at 1e-4 (cost 0.1% higher, decays equal to 3 decimals); a bootstrap
# draw, started from the point estimate, 4 to 13 at 1e-4
POINT_TOLERANCE = 1e-5
DRAW_TOLERANCE = 1e-4
# market copies replayed together: on 4 segments x 5 channels x 156 periods
# one copy took 5.3 ms, 4 copies 4.8 ms, 8 copies 18 ms, 21 copies 75 ms
# (the copies' pairs grow as their square)
COPIES_PER_REPLAY = 5
FORWARD_STEP = np.sqrt(np.finfo(float).eps)  # scipy's relative step for 2-point differences


@dataclass
class Response:
    """Fitted response parameters and how well they explain the wins."""

    decay: np.ndarray  # (C,)
    half_saturation: np.ndarray  # (C,)
    slope: np.ndarray  # (C,)
    effectiveness: np.ndarray  # (S, C), 0 where not available
    r_squared: float  # of wins per period, segment and channel
    cost: float


def fit_response(
    scenario_for: Callable[[Response], dict[str, Any]],
    spend: np.ndarray,
    won: np.ndarray,
    held: np.ndarray,
    available: np.ndarray,
    weights: np.ndarray | None = None,
    start: Response | None = None,
    jobs: int = 1,
    demand: np.ndarray | None = None,
) -> Response:
    """Fit the response to the history.

    Args:
        scenario_for: the replay scenario (a mapping) for candidate parameters.
        spend: (T, S, C) money spent per period and pair.
        won: (T, S, C) customers won per period and pair, or (T, S) per
            period and segment over all channels (a wide spend table): the
            predicted wins are then summed over the channels too.
        held: (T + 1, S, C + 1) customers held at the start and the end of
            each period, by acquiring channel.
        available: (S, C) bool, the pairs the response is fitted for.
        weights: (T,) how often each period counts (a bootstrap's draw of
            periods); the whole history is still replayed, so carry-over
            runs through the periods as they happened.
        start: start from these parameters only (a bootstrap's point estimate).
        jobs: worker processes for the starts (forked; the same result for any).
        demand: (T, S) each period's log demand multiplier to replay the
            history at (:func:`~gtmgym.calibration.shocks.smoothed_demand`);
            none: the expected demand, 0.
    """
    problem = ResponseProblem(scenario_for, spend, won, held, available, weights, demand)
    if start is not None:
        starts = [problem.pack(start)]
    else:
        starts = [problem.start(decay, scale) for decay, scale in STARTS]
    tolerance = POINT_TOLERANCE if start is None else DRAW_TOLERANCE
    ends = forked_map(lambda index: problem.solve(starts[index], tolerance), len(starts), jobs)
    best = min(ends, key=lambda end: end.cost)
    response = problem.unpack(best.x)
    replayed = replay(scenario_for(response), spend, held, demand=demand)
    response.r_squared = r_squared(replayed, won, available)
    response.cost = float(best.cost)
    return response


def r_squared(predicted: np.ndarray, won: np.ndarray, available: np.ndarray) -> float:
    """R^2 of the wins replayed, ``predicted`` (T, S, C), against those
    observed, ``won`` (T, S, C), or (T, S) summed over channels."""
    if won.ndim == 2:
        predicted, fitted = predicted.sum(axis=2), available.any(axis=1)
    else:
        fitted = available
    observed, predicted = won[:, fitted], predicted[:, fitted]
    total = ((observed - observed.mean()) ** 2).sum()
    return float(1.0 - ((predicted - observed) ** 2).sum() / max(total, 1e-12))


@dataclass
class ResponseProblem:
    """The least-squares problem of one history: the response parameters as
    one vector ``x`` (per channel decay, log half-saturation over the
    channel's median spend, slope; then each available pair's
    effectiveness), its bounds, and the residuals and their Jacobian.

    Arguments as :func:`fit_response`'s.
    """

    scenario_for: Callable[[Response], dict[str, Any]]
    spend: np.ndarray
    won: np.ndarray
    held: np.ndarray
    available: np.ndarray
    weights: np.ndarray | None = None
    demand: np.ndarray | None = None

    def __post_init__(self) -> None:
        spend, won, available, weights = self.spend, self.won, self.available, self.weights
        counts = np.ones(spend.shape[0]) if weights is None else np.asarray(weights, dtype=float)
        self.shape = available.shape
        n_channels = available.shape[1]
        self.pairs = np.argwhere(available)
        self.typical = np.array(
            [np.median(spend[:, :, c][spend[:, :, c] > 0]) if (spend[:, :, c] > 0).any() else 1.0
             for c in range(n_channels)]
        )  # fmt: skip
        self.fitted = available if won.ndim == 3 else available.any(axis=1)  # the wins compared
        self.weight = np.sqrt(counts).reshape(-1, *([1] * (won.ndim - 1)))
        self.low = np.concatenate([
            np.full(n_channels, DECAY_RANGE[0]), np.full(n_channels, np.log(1e-3)),
            np.full(n_channels, SLOPE_RANGE[0]), np.zeros(len(self.pairs)),
        ])  # fmt: skip
        self.high = np.concatenate([
            np.full(n_channels, DECAY_RANGE[1]), np.full(n_channels, np.log(1e3)),
            np.full(n_channels, SLOPE_RANGE[1]), np.ones(len(self.pairs)),
        ])  # fmt: skip
        self.dependence = dependence_of(available, self.pairs, self.fitted, spend.shape[0])
        self.groups = column_groups(self.dependence)

    def unpack(self, x: np.ndarray) -> Response:
        n_channels = self.shape[1]
        effectiveness = np.zeros(self.shape)
        effectiveness[self.pairs[:, 0], self.pairs[:, 1]] = x[3 * n_channels :]
        return Response(
            decay=x[:n_channels],
            half_saturation=self.typical * np.exp(x[n_channels : 2 * n_channels]),
            slope=x[2 * n_channels : 3 * n_channels],
            effectiveness=effectiveness,
            r_squared=float("nan"),
            cost=float("nan"),
        )

    def pack(self, response: Response) -> np.ndarray:
        """``response`` as a vector, inside the bounds."""
        x = np.concatenate([
            response.decay, np.log(response.half_saturation / self.typical), response.slope,
            response.effectiveness[self.pairs[:, 0], self.pairs[:, 1]],
        ])  # fmt: skip
        return np.clip(x, self.low, self.high)

    def is_channel_entry(self, k: int) -> bool:
        """Whether entry ``k`` of a packed vector is a channel's (decay, log
        half-saturation over its typical spend, slope), not a pair's
        effectiveness."""
        return k < 3 * self.shape[1]

    def start(self, decay: float, scale: float) -> np.ndarray:
        """A start: every channel's decay and half-saturation (``scale``
        times its median spend), slope 1.2, effectiveness 0.02."""
        n_channels = self.shape[1]
        return np.concatenate([
            np.full(n_channels, decay), np.full(n_channels, np.log(scale)),
            np.full(n_channels, 1.2), np.full(len(self.pairs), 0.02),
        ])  # fmt: skip

    def comparable(self, predicted: np.ndarray) -> np.ndarray:
        return predicted if self.won.ndim == 3 else predicted.sum(axis=2)

    def scaled(self, predicted: np.ndarray) -> np.ndarray:
        deviance = poisson_deviance_residuals(self.comparable(predicted), self.won)
        return (deviance * self.weight)[:, self.fitted].ravel()

    def residuals(self, x: np.ndarray) -> np.ndarray:
        scenario = self.scenario_for(self.unpack(x))
        return self.scaled(replay(scenario, self.spend, self.held, demand=self.demand))

    def residuals_of(self, probes: list[np.ndarray]) -> list[np.ndarray]:
        candidates = [self.scenario_for(self.unpack(probe)) for probe in probes]
        return [
            self.scaled(predicted)
            for first in range(0, len(candidates), COPIES_PER_REPLAY)
            for predicted in replay_copies(
                candidates[first : first + COPIES_PER_REPLAY], self.spend, self.held, self.demand
            )
        ]

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return forward_differences(self.residuals_of, x, self.high, self.dependence, self.groups)

    def solve(self, start: np.ndarray, tolerance: float, fixed: int | None = None) -> Any:
        """``least_squares`` from ``start``; with ``fixed``, that entry of
        ``x`` stays at its value in ``start`` and the others are fitted (the
        result's ``x`` is still the whole vector).

        One BLAS thread: the trust region's factorisations are small, and on
        a busy 2-core machine OpenBLAS's threads made them 15 times slower
        (3,120 x 35 Jacobian: 55 ms against 3.9 ms).
        """
        free = np.ones(len(start), dtype=bool)
        if fixed is not None:
            free[fixed] = False

        def whole(z: np.ndarray) -> np.ndarray:
            x = start.copy()
            x[free] = z
            return x

        with threadpool_limits(1, user_api="blas"):
            end = least_squares(
                lambda z: self.residuals(whole(z)), start[free],
                jac=lambda z: self.jacobian(whole(z))[:, free],
                bounds=(self.low[free], self.high[free]), method="trf",
                ftol=tolerance, xtol=tolerance, gtol=tolerance,
            )  # fmt: skip
        end.x = whole(end.x)
        return end


def poisson_deviance_residuals(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Signed square roots of the Poisson deviance of each count (predicted
    minus observed in sign): their sum of squares is twice the negative
    log-likelihood up to a constant, so least squares on them is maximum
    likelihood. Residuals scaled by the observed count instead (Neyman's
    chi-square) pull small expected counts down: on channel-allocation, 5-40
    wins a period, they fitted effectiveness 0.07-0.09 and slopes 1.1-1.5 for
    a truth of 0.1 and 1, from 104 or 1,200 periods alike."""
    mean = np.maximum(predicted, 1e-12)
    deviance = 2.0 * (xlogy(observed, observed / mean) - (observed - mean))
    return np.sign(mean - observed) * np.sqrt(np.maximum(deviance, 0.0))


def dependence_of(
    available: np.ndarray, pairs: np.ndarray, fitted: np.ndarray, periods: int
) -> np.ndarray:
    """(residuals, parameters) 1 where a residual may depend on a parameter.

    With the customers held set to the observed ones each period, the wins
    in one segment depend on the response parameters of the channels
    available there and on that segment's effectiveness only.
    """
    n_segments, n_channels = available.shape
    segment_of_row = np.argwhere(fitted)[:, 0]  # the fitted wins' segments, in order
    uses = np.zeros((n_segments, 3 * n_channels + len(pairs)), dtype=bool)
    for block in range(3):
        uses[:, block * n_channels : (block + 1) * n_channels] = available
    uses[pairs[:, 0], 3 * n_channels + np.arange(len(pairs))] = True
    return np.tile(uses[segment_of_row], (periods, 1)).astype(int)


def forward_differences(
    residuals_of: Callable[[list[np.ndarray]], list[np.ndarray]],
    x: np.ndarray,
    high: np.ndarray,
    dependence: np.ndarray,
    groups: list[np.ndarray],
) -> np.ndarray:
    """The Jacobian at ``x`` by forward differences, with scipy's 2-point
    steps (backwards where a step would cross ``high``), the parameters of
    a group probed together and every probe's residuals asked for at once.

    Args:
        residuals_of: the residuals of each of several parameter vectors.
        dependence: (residuals, parameters) 1 where a residual may move
            with a parameter; no residual moves with two of a group.
    """
    steps = FORWARD_STEP * np.maximum(1.0, np.abs(x))
    steps = np.where(x + steps > high, -steps, steps)
    probes = [x]
    for group in groups:
        probe = x.copy()
        probe[group] += steps[group]
        probes.append(probe)
    base, *probed = residuals_of(probes)
    columns = np.zeros((len(base), len(x)))
    for group, moved in zip(groups, probed, strict=True):
        columns[:, group] = (moved - base)[:, None] * dependence[:, group] / steps[group]
    return columns


def column_groups(dependence: np.ndarray) -> list[np.ndarray]:
    """Parameters probed together: no residual depends on two of a group
    (greedily, in order: each channel parameter alone, the effectiveness of
    different segments together)."""
    groups: list[list[int]] = []
    rows_of: list[np.ndarray] = []
    for column in range(dependence.shape[1]):
        rows = dependence[:, column].astype(bool)
        for group, taken in zip(groups, rows_of, strict=True):
            if not (taken & rows).any():
                group.append(column)
                taken |= rows
                break
        else:
            groups.append([column])
            rows_of.append(rows.copy())
    return [np.array(group) for group in groups]


def replay_copies(
    scenarios: list[dict[str, Any]],
    spend: np.ndarray,
    held: np.ndarray,
    demand: np.ndarray | None = None,
) -> list[np.ndarray]:
    """:func:`replay` of several candidate scenarios (same segments and
    channels, other parameters) in one market that holds a copy of each.

    Copy ``j`` has its own segments and channels, each of its channels
    reaching only its own segments (effectiveness 0 elsewhere) and spending
    what the history spent there, with a budget that many times larger: the
    copies are independent (segments share only the period's budget, which
    covers them all, and the replay's market has no rival response, shocks
    or spend limits), so each copy's wins are its scenario's. Replaying the
    copies together costs a few single replays instead of one per copy: the
    model's Python boundary, not its arithmetic, is most of a period's time.
    """
    copies = len(scenarios)
    periods, n_segments, n_channels = spend.shape
    first = scenarios[0]
    segments = [
        segment | {"name": f"{segment['name']}~{j}"}
        for j, scenario in enumerate(scenarios)
        for segment in scenario["segments"]
    ]
    channels = []
    for j, scenario in enumerate(scenarios):
        for channel in scenario["channels"]:
            reach = np.zeros((copies, n_segments))
            reach[j] = channel["effectiveness"]
            name = f"{channel['name']}~{j}"
            channels.append(channel | {"name": name, "effectiveness": reach.ravel().tolist()})
    budget = {"per_period": first["budget"]["per_period"] * copies}
    market = first | {"segments": segments, "channels": channels, "budget": budget}
    copied_spend = np.zeros((periods, copies * n_segments, copies * n_channels))
    copied_held = np.zeros((periods + 1, copies * n_segments, copies * n_channels + 1))
    for j in range(copies):
        rows = slice(j * n_segments, (j + 1) * n_segments)
        copied_spend[:, rows, j * n_channels : (j + 1) * n_channels] = spend
        copied_held[:, rows, j * n_channels : (j + 1) * n_channels] = held[:, :, :n_channels]
        copied_held[:, rows, -1] = held[:, :, n_channels]
    copied_demand = None if demand is None else np.tile(demand, (1, copies))
    wins = replay(market, copied_spend, copied_held, demand=copied_demand)
    return [
        wins[:, j * n_segments : (j + 1) * n_segments, j * n_channels : (j + 1) * n_channels]
        for j in range(copies)
    ]


def replay(
    scenario: dict[str, Any],
    spend: np.ndarray,
    held: np.ndarray,
    leverage: np.ndarray | None = None,
    demand: np.ndarray | None = None,
) -> np.ndarray:
    """(T, S, C) wins the model predicts for each period of the history,
    holding the customers the data say were held (see the module docstring).

    Args:
        leverage: if given, a (T, S) array filled with each period's
            prospects as a share of the reachable market (docs/model.md,
            section 5: :math:`U_i` over :math:`P_i (1 - \\kappa_i)`), which
            :mod:`gtmgym.calibration.shocks` reads the demand shocks through.
        demand: (T, S) each period's log demand multiplier (the model's log
            shock, docs/model.md section 4, set before the period is
            played); none: 0, the expected demand.
    """
    params = MarketParams.from_scenario(load_scenario(scenario))
    state = kernel.initial_state(params.kernel, 1, params.noise)
    budget = scenario["budget"]["per_period"]
    enter = np.zeros((1, spend.shape[1]), dtype=bool)
    wins = np.empty_like(spend)
    for period in range(spend.shape[0]):
        state.customers[0] = held[period]
        if demand is not None:
            state.log_shock[0] = demand[period]
        rivals = state.competitor[0].copy()
        shares = spend[period][None] / budget
        state, figures, _, _ = kernel.advance(params.kernel, state, shares, enter)
        wins[period] = figures.won[0]
        if leverage is not None:
            reachable = figures.population[0] * (1.0 - rivals)
            remaining = held[period].sum(axis=1) - figures.churned[0]
            leverage[period] = np.maximum(reachable - remaining, 0.0) / np.maximum(reachable, 1e-12)
    return wins


CURVE_PERIODS = 100  # constant spend this long: adstock within 0.6% of its limit at decay 0.95


def response_curves(scenario: dict[str, Any], levels: np.ndarray) -> np.ndarray:
    """(S, C, L) the share of a segment's prospects a channel wins per period
    when it alone spends each of its ``levels`` (C, L) per period on the segment, at
    steady state (after :data:`CURVE_PERIODS` periods, nobody held), played
    through ``kernel.advance`` with one market per pair and level.

    Args:
        scenario: a replay scenario (every segment open, noise off) whose
            budget per period covers the largest level.
    """
    params = MarketParams.from_scenario(load_scenario(scenario))
    n_segments, n_channels = params.n_segments, params.n_channels
    budget = scenario["budget"]["per_period"]
    count = levels.shape[1]
    markets = n_segments * n_channels * count
    shares = np.zeros((markets, n_segments, n_channels))
    segment, channel, level = np.unravel_index(np.arange(markets),
                                               (n_segments, n_channels, count))  # fmt: skip
    shares[np.arange(markets), segment, channel] = levels[channel, level] / budget
    state = kernel.initial_state(params.kernel, markets, params.noise)
    enter = np.zeros((markets, n_segments), dtype=bool)
    for _ in range(CURVE_PERIODS):
        state.customers[:] = 0.0
        state, figures, _, _ = kernel.advance(params.kernel, state, shares, enter)
    index = np.arange(markets)
    prospects = figures.population[index, segment] * (1.0 - state.competitor[index, segment])
    rate = figures.won[index, segment, channel] / np.maximum(prospects, 1e-12)
    return rate.reshape(n_segments, n_channels, count)
