"""What the agent sees: a float32 vector, every feature scaled to about [0, 1].

Layout, for ``S`` segments and ``C`` channels (``S``-long blocks first):

====================  ======  ==============================================
feature               length  value
====================  ======  ==============================================
penetration           S       customers / population
open                  S       1 once open or entered, else 0
entry_countdown       S       periods of entry delay left / max(delay, 1)
competitor_share      S       share of the population the rival holds
demand                S       last period's demand multiplier d as d / (1 + d)
adverse_event         S       periods of adverse event left / its duration
adstock               S x C   adstock a as a / (a + half_saturation), row-major
carried_budget        1       carried-over budget b as b / (b + per-period budget)
budget_remaining      1       what is left of the total budget / total (1 if none)
cash                  1       cash m as m / (|m| + periods x budget), in (-1, 1)
time_remaining        1       periods left / periods
====================  ======  ==============================================
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit

from gtmgym.envs import state as st
from gtmgym.envs.params import (
    BUDGET_PER_PERIOD,
    BUDGET_TOTAL,
    ENTRY_DELAY,
    EVENT_DURATION,
    HALF_SATURATION,
    PERIODS,
    MarketParams,
)
from gtmgym.envs.state import MarketState

SEGMENT_FEATURES = (
    "penetration",
    "open",
    "entry_countdown",
    "competitor_share",
    "demand",
    "adverse_event",
)
GLOBAL_FEATURES = ("carried_budget", "budget_remaining", "cash", "time_remaining")


def feature_names(params: MarketParams, segments: list[str], channels: list[str]) -> list[str]:
    """One name per observation entry, in order (e.g. ``penetration[home]``)."""
    names = [f"{feature}[{segment}]" for feature in SEGMENT_FEATURES for segment in segments]
    names += [f"adstock[{segment}/{channel}]" for segment in segments for channel in channels]
    return names + list(GLOBAL_FEATURES)


def observation_size(params: MarketParams) -> int:
    """How many features an observation has."""
    segments = params.n_segments
    return len(SEGMENT_FEATURES) * segments + segments * params.n_channels + len(GLOBAL_FEATURES)


def observation_space(params: MarketParams) -> spaces.Box:
    """The Box every observation lies in."""
    low = np.zeros(observation_size(params), dtype=np.float32)
    low[-2] = -1.0  # cash may be negative
    return spaces.Box(low, np.ones_like(low), dtype=np.float32)


def observe(params: MarketParams, state: MarketState) -> np.ndarray:
    """(N, D) float32 observations of a batch of states."""
    segment_table, channel_table, _, _, settings = params.tables
    return observe_batch(
        segment_table,
        channel_table,
        settings,
        state.layout.offsets,
        state.data,
        observation_size(params),
    )


@njit(cache=True)
def observe_batch(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    states: np.ndarray,
    size: int,
) -> np.ndarray:
    """(N, size) observations of a batch of state rows."""
    observations = np.empty((states.shape[0], size), dtype=np.float32)
    for n in range(states.shape[0]):
        observe_row(
            segment_table, channel_table, settings, state_offsets, states[n], observations[n]
        )
    return observations


@njit(cache=True)
def observe_row(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """One state row's observation, into ``out`` (the layout in the table above)."""
    n_segments = segment_table.shape[1]
    n_channels = channel_table.shape[1]
    o = state_offsets
    budget = settings[BUDGET_PER_PERIOD]
    periods = settings[PERIODS]
    customers = state[o[st.CUSTOMERS] : o[st.CUSTOMERS + 1]]
    values = np.empty(out.shape[0])
    for i in range(n_segments):
        held = 0.0
        for k in range(n_channels + 1):
            held += customers[i * (n_channels + 1) + k]
        demand = state[o[st.DEMAND] + i]
        values[i] = held / state[o[st.POPULATION] + i]
        values[n_segments + i] = state[o[st.ENTERED] + i]
        values[2 * n_segments + i] = state[o[st.COUNTDOWN] + i] / max(
            segment_table[ENTRY_DELAY, i], 1.0
        )
        values[3 * n_segments + i] = state[o[st.COMPETITOR] + i]
        values[4 * n_segments + i] = demand / (1.0 + demand)
        values[5 * n_segments + i] = state[o[st.EVENT_LEFT] + i] / segment_table[EVENT_DURATION, i]
        for j in range(n_channels):
            adstock = state[o[st.ADSTOCK] + i * n_channels + j]
            values[6 * n_segments + i * n_channels + j] = adstock / (
                adstock + channel_table[HALF_SATURATION, j]
            )
    tail = 6 * n_segments + n_segments * n_channels
    bank, cash = state[o[st.BANK]], state[o[st.CASH]]
    total = settings[BUDGET_TOTAL]
    values[tail] = bank / (bank + budget)
    values[tail + 1] = state[o[st.BUDGET_LEFT]] / total if math.isfinite(total) else 1.0
    values[tail + 2] = cash / (abs(cash) + periods * budget)
    values[tail + 3] = (periods - state[o[st.PERIOD]]) / periods
    for k in range(out.shape[0]):
        # float32 rounding must not step outside the space
        out[k] = min(max(np.float32(values[k]), np.float32(-1.0)), np.float32(1.0))
