"""The channels' response, fitted through the model's own equations.

For candidate parameters (per channel: adstock decay, Hill half-saturation
and slope; per available pair: effectiveness) the history is replayed with
:func:`gtmgym.envs.dynamics.step`, the code every environment runs, noise
off: each period spends what the spend table says, and the customers held
are then set to the customers the customer table says were held (teacher
forcing), so a period's predicted wins depend on the parameters and on that
period's observed market, not on earlier prediction errors. The residuals,
predicted minus observed wins per period, segment and channel, scaled by
``sqrt(observed + 1)`` (roughly Poisson), are minimised by bounded
nonlinear least squares (``scipy.optimize.least_squares``, trust region
reflective) from several starts; the best end is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from gtmgym.envs import dynamics
from gtmgym.envs.loader import load_scenario
from gtmgym.envs.params import MarketParams
from gtmgym.envs.state import initial_state

DECAY_RANGE = (0.0, 0.95)
SLOPE_RANGE = (0.5, 4.0)
STARTS = ((0.2, 0.5), (0.6, 2.0))  # (decay, half-saturation / median spend)


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
    """
    counts = np.ones(spend.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    n_segments, n_channels = available.shape
    pairs = np.argwhere(available)
    typical = np.array(
        [np.median(spend[:, :, c][spend[:, :, c] > 0]) if (spend[:, :, c] > 0).any() else 1.0
         for c in range(n_channels)]
    )  # fmt: skip

    def unpack(x: np.ndarray) -> Response:
        effectiveness = np.zeros((n_segments, n_channels))
        effectiveness[pairs[:, 0], pairs[:, 1]] = x[3 * n_channels :]
        return Response(
            decay=x[:n_channels],
            half_saturation=typical * np.exp(x[n_channels : 2 * n_channels]),
            slope=x[2 * n_channels : 3 * n_channels],
            effectiveness=effectiveness,
            r_squared=float("nan"),
            cost=float("nan"),
        )

    def pack(response: Response) -> np.ndarray:
        return np.concatenate([
            response.decay, np.log(response.half_saturation / typical), response.slope,
            response.effectiveness[pairs[:, 0], pairs[:, 1]],
        ])  # fmt: skip

    fitted = available if won.ndim == 3 else available.any(axis=1)  # the wins compared

    def comparable(predicted: np.ndarray) -> np.ndarray:
        return predicted if won.ndim == 3 else predicted.sum(axis=2)

    weight = np.sqrt(counts).reshape(-1, *([1] * (won.ndim - 1)))

    def residuals(x: np.ndarray) -> np.ndarray:
        predicted = comparable(replay(scenario_for(unpack(x)), spend, held))
        scaled = (predicted - won) / np.sqrt(won + 1.0) * weight
        return scaled[:, fitted].ravel()

    low = np.concatenate([
        np.full(n_channels, DECAY_RANGE[0]), np.full(n_channels, np.log(1e-3)),
        np.full(n_channels, SLOPE_RANGE[0]), np.zeros(len(pairs)),
    ])  # fmt: skip
    high = np.concatenate([
        np.full(n_channels, DECAY_RANGE[1]), np.full(n_channels, np.log(1e3)),
        np.full(n_channels, SLOPE_RANGE[1]), np.ones(len(pairs)),
    ])  # fmt: skip
    starts = [np.clip(pack(start), low, high)] if start is not None else [
        np.concatenate([
            np.full(n_channels, decay), np.full(n_channels, np.log(scale)),
            np.full(n_channels, 1.2), np.full(len(pairs), 0.02),
        ])
        for decay, scale in STARTS
    ]  # fmt: skip
    ends = [least_squares(residuals, x0, bounds=(low, high), method="trf") for x0 in starts]
    best = min(ends, key=lambda end: end.cost)
    response = unpack(best.x)
    predicted = comparable(replay(scenario_for(response), spend, held))[:, fitted]
    observed = won[:, fitted]
    total = ((observed - observed.mean()) ** 2).sum()
    response.r_squared = float(1.0 - ((predicted - observed) ** 2).sum() / max(total, 1e-12))
    response.cost = float(best.cost)
    return response


def replay(scenario: dict[str, Any], spend: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(T, S, C) wins the model predicts for each period of the history,
    holding the customers the data say were held (see the module docstring)."""
    params = MarketParams.from_scenario(load_scenario(scenario))
    state = initial_state(params, 1)
    budget = scenario["budget"]["per_period"]
    enter = np.zeros((1, spend.shape[1]), dtype=bool)
    wins = np.empty_like(spend)
    for period in range(spend.shape[0]):
        state.customers[0] = held[period]
        state, figures = dynamics.step(params, state, spend[period][None] / budget, enter, None)
        wins[period] = figures.won[0]
    return wins
