"""Spend-and-entry plans played on the expected (noise-free) model, in batches.

A plan for the ``H`` periods left holds, per period, a spend level (the share
of the available money spent) and weights over the segment x channel pairs;
the weights are spread over the pairs that sell in that period, so one plan
stays meaningful whatever the entry dates. Entry dates are given per segment
as an offset from now (``H`` or more: never). :func:`plan_returns` plays a
whole batch of plans at once with :func:`gtmgym.envs.dynamics.step`, the same
code the environments run.
"""

from __future__ import annotations

import numpy as np

from gtmgym.envs import dynamics
from gtmgym.envs.params import MarketParams
from gtmgym.envs.reward import reward
from gtmgym.envs.state import MarketState


def repeat_state(state: MarketState, count: int) -> MarketState:
    """A batch of ``count`` copies of a one-environment state."""
    return state.repeat(count)


def plan_returns(
    params: MarketParams,
    state: MarketState,
    levels: np.ndarray,
    weights: np.ndarray,
    entry_at: np.ndarray,
    first_shares: np.ndarray | None = None,
) -> np.ndarray:
    """Total reward of each plan from ``state`` to the end of the episode.

    Args:
        params: the model.
        state: the current state, one environment.
        levels: (N, H) share of the available money spent each period.
        weights: (N, H, S, C) non-negative weights over the pairs.
        entry_at: (N, S) period offset at which each segment is entered.
        first_shares: (N, S, C) optional shares for the first period that
            replace the plan's own (to score a given first action).

    Returns:
        (N,) the sum of the rewards, counting nothing after a bankruptcy.
    """
    count, horizon = levels.shape
    batch = repeat_state(state, count)
    total = np.zeros(count)
    alive = np.ones(count, dtype=bool)
    usable = params.available[None]
    for period in range(horizon):
        enter = entry_at == period
        selling = dynamics.entry(params, batch, enter)[3]
        if period == 0 and first_shares is not None:
            shares = first_shares
        else:
            spread = weights[:, period] * selling[:, :, None] * usable
            spread_total = spread.sum(axis=(1, 2), keepdims=True)
            shares = np.divide(
                spread, spread_total, out=np.zeros_like(spread), where=spread_total > 0
            )
            shares = shares * levels[:, period, None, None]
        batch, figures = dynamics.step(params, batch, shares, enter, None)
        total += np.where(alive, reward(params, figures), 0.0)
        alive &= ~figures.bankrupt
    return total


def first_decision(
    params: MarketParams,
    state: MarketState,
    level: float,
    weights: np.ndarray,
    entry_at: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The shares (S, C) and entries (S,) a plan makes in its first period."""
    enter = entry_at == 0
    selling = dynamics.entry(params, state, enter[None])[3][0]
    spread = weights * selling[:, None] * params.available
    total = spread.sum()
    shares = spread / total * level if total > 0 else np.zeros_like(spread)
    return shares, enter
