"""Plans and courses of action, played on the expected (noise-free) model.

Two ways of writing what an agent will do over the ``H`` periods left:

- a **plan**, what the planner optimises: per period, a spend level (the
  share of the available money spent) and weights over the segment x channel
  pairs, spread over the pairs that sell in that period (so one plan stays
  meaningful whatever the entry dates), and an entry date per segment as an
  offset from now (``H`` or more: never). :func:`plan_returns` plays a batch
  of plans.
- a **course**, what an agent can actually play: one action of the agent's
  own action mode per period. :func:`course_returns` plays a batch of courses
  by decoding each action exactly as the environment does, so a course's
  score is the return the environment gives it (noise off).

Both play periods with :func:`gtmgym.envs.kernel.advance`, the code the
environments run (its rewards included).
"""

from __future__ import annotations

import numpy as np

from gtmgym.envs import kernel
from gtmgym.envs.actions import ActionCodec
from gtmgym.envs.kernel import MarketState
from gtmgym.envs.params import MarketParams


def repeat_state(state: MarketState, count: int) -> MarketState:
    """A batch of ``count`` copies of a one-environment state."""
    return state.repeat(count)


def spread_shares(
    params: MarketParams, selling: np.ndarray, weights: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """(N, S, C) shares: ``weights`` (N, S, C) spread over the selling pairs, times ``levels``.

    A plan whose weights miss every selling pair spends nothing.
    """
    spread = weights * selling[:, :, None] * params.available[None]
    total = spread.sum(axis=(1, 2), keepdims=True)
    shares = np.divide(spread, total, out=np.zeros_like(spread), where=total > 0)
    return shares * levels[:, None, None]


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
    for period in range(horizon):
        enter = entry_at == period
        selling = kernel.entry(params.kernel, batch, enter)[3]
        if period == 0 and first_shares is not None:
            shares = first_shares
        else:
            shares = spread_shares(params, selling, weights[:, period], levels[:, period])
        batch, figures, rewards, _ = kernel.advance(params.kernel, batch, shares, enter)
        total += np.where(alive, rewards, 0.0)
        alive &= ~figures.bankrupt
    return total


def course_returns(
    params: MarketParams, codec: ActionCodec, state: MarketState, actions: np.ndarray
) -> np.ndarray:
    """Total reward of each course of actions from ``state`` to the end.

    Args:
        params: the model.
        codec: the action codec the actions are written in.
        state: the current state, one environment.
        actions: (N, H, ...) one action per course and period, in the
            codec's mode.

    Returns:
        (N,) the sum of the rewards, counting nothing after a bankruptcy:
        what the noise-free environment pays for playing each course.
    """
    count, horizon = actions.shape[:2]
    batch = repeat_state(state, count)
    total = np.zeros(count)
    alive = np.ones(count, dtype=bool)
    for period in range(horizon):
        shares, enter = codec.decode(codec.check(actions[:, period]), batch.selling)
        batch, figures, rewards, _ = kernel.advance(params.kernel, batch, shares, enter)
        total += np.where(alive, rewards, 0.0)
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
    selling = kernel.entry(params.kernel, state, enter[None])[3]
    return spread_shares(params, selling, weights[None], np.array([level]))[0], enter
