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

import numpy as np
from gymnasium import spaces

from gtmgym.envs.params import MarketParams
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


def observation_space(params: MarketParams) -> spaces.Box:
    """The Box every observation lies in."""
    size = len(SEGMENT_FEATURES) * params.n_segments + params.n_segments * params.n_channels
    low = np.zeros(size + len(GLOBAL_FEATURES), dtype=np.float32)
    low[-2] = -1.0  # cash may be negative
    return spaces.Box(low, np.ones_like(low), dtype=np.float32)


def observe(params: MarketParams, state: MarketState) -> np.ndarray:
    """(N, D) float32 observations of a batch of states."""
    population = state.population
    budget = params.budget_per_period
    delay = np.maximum(params.entry_delay, 1)
    segment_block = np.concatenate(
        [
            state.customers.sum(-1) / population,
            state.entered,
            state.countdown / delay,
            state.competitor,
            state.demand / (1.0 + state.demand),
            state.event_left / params.event_duration,
        ],
        axis=1,
    )
    adstock = state.adstock / (state.adstock + params.half_saturation)
    budget_remaining = (
        state.budget_left / params.budget_total
        if np.isfinite(params.budget_total)
        else np.ones_like(state.bank)
    )
    global_block = np.stack(
        [
            state.bank / (state.bank + budget),
            budget_remaining,
            state.cash / (np.abs(state.cash) + params.periods * budget),
            (params.periods - state.period) / params.periods,
        ],
        axis=1,
    )
    observation = np.concatenate(
        [segment_block, adstock.reshape(state.num_envs, -1), global_block], axis=1
    ).astype(np.float32)
    # float32 rounding must not step outside the space
    return np.clip(observation, -1.0, 1.0, out=observation)
