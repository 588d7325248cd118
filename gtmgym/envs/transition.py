"""An environment step in one compiled call: dynamics, reward and observation.

Both environments step through :func:`advance`. It runs the same compiled
functions as :func:`gtmgym.envs.dynamics.step`,
:func:`gtmgym.envs.reward.reward` and :func:`gtmgym.envs.observation.observe`,
fused so that a step crosses from Python into compiled code once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gtmgym.envs import randomness
from gtmgym.envs.dynamics import NO_KEY, play_batch
from gtmgym.envs.figures import PeriodFigures
from gtmgym.envs.observation import observe_row
from gtmgym.envs.params import MarketParams
from gtmgym.envs.reward import reward_row
from gtmgym.envs.state import MarketState


def advance(
    params: MarketParams,
    state: MarketState,
    shares: np.ndarray,
    enter: np.ndarray,
    rng: np.random.Generator | None,
    observation_size: int,
) -> tuple[MarketState, PeriodFigures, np.ndarray, np.ndarray]:
    """One period for a batch: (next state, figures, rewards (N,), observations (N, D))."""
    figures_layout = PeriodFigures.layout_for(params.n_segments, params.n_channels)
    next_state, figures, rewards, observations = advance_batch(
        *params.tables,
        state.layout.offsets,
        figures_layout.offsets,
        state.data,
        shares,
        enter,
        rng is not None,
        randomness.stream_key(rng) if rng is not None else NO_KEY,
        observation_size,
    )
    return (
        MarketState.wrap(next_state, state.layout),
        PeriodFigures.wrap(figures, figures_layout),
        rewards,
        observations,
    )


@njit(cache=True)
def advance_batch(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    effectiveness: np.ndarray,
    lifetime_value: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    figure_offsets: np.ndarray,
    state: np.ndarray,
    shares: np.ndarray,
    enter: np.ndarray,
    noisy: bool,
    key: np.ndarray,
    observation_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    next_state, figures = play_batch(
        segment_table,
        channel_table,
        effectiveness,
        lifetime_value,
        settings,
        state_offsets,
        figure_offsets,
        state,
        shares,
        enter,
        noisy,
        key,
    )
    rewards = np.empty(state.shape[0])
    observations = np.empty((state.shape[0], observation_size), dtype=np.float32)
    for n in range(state.shape[0]):
        rewards[n] = reward_row(lifetime_value, settings, figure_offsets, figures[n])
        observe_row(
            segment_table, channel_table, settings, state_offsets, next_state[n], observations[n]
        )
    return next_state, figures, rewards, observations
