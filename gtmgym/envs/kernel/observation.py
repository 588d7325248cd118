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

from gtmgym.envs.kernel.layouts import ParamsView, StateView

SEGMENT_FEATURES = (
    "penetration",
    "open",
    "entry_countdown",
    "competitor_share",
    "demand",
    "adverse_event",
)
GLOBAL_FEATURES = ("carried_budget", "budget_remaining", "cash", "time_remaining")


def feature_names(segments: list[str], channels: list[str]) -> list[str]:
    """One name per observation entry, in order (e.g. ``penetration[home]``)."""
    names = [f"{feature}[{segment}]" for feature in SEGMENT_FEATURES for segment in segments]
    names += [f"adstock[{segment}/{channel}]" for segment in segments for channel in channels]
    return names + list(GLOBAL_FEATURES)


def observation_size(n_segments: int, n_channels: int) -> int:
    """How many features an observation has."""
    return len(SEGMENT_FEATURES) * n_segments + n_segments * n_channels + len(GLOBAL_FEATURES)


def observation_space(n_segments: int, n_channels: int) -> spaces.Box:
    """The Box every observation lies in."""
    low = np.zeros(observation_size(n_segments, n_channels), dtype=np.float32)
    low[-2] = -1.0  # cash may be negative
    return spaces.Box(low, np.ones_like(low), dtype=np.float32)


@njit(cache=True, inline="always")
def observe(p: ParamsView, s: StateView, out: np.ndarray) -> None:
    """One market's observation, into ``out`` (the layout in the table above)."""
    n_segments, n_channels = p.effectiveness.shape
    budget, periods = p.budget_per_period, p.periods
    for i in range(n_segments):
        held = 0.0
        for k in range(n_channels + 1):
            held += s.customers[i, k]
        _put(out, i, held / s.population[i])
        _put(out, n_segments + i, s.entered[i])
        _put(out, 2 * n_segments + i, s.countdown[i] / max(p.entry_delay[i], 1.0))
        _put(out, 3 * n_segments + i, s.competitor[i])
        _put(out, 4 * n_segments + i, s.demand[i] / (1.0 + s.demand[i]))
        _put(out, 5 * n_segments + i, s.event_left[i] / p.event_duration[i])
        for j in range(n_channels):
            adstock = s.adstock[i, j]
            _put(
                out, 6 * n_segments + i * n_channels + j, adstock / (adstock + p.half_saturation[j])
            )
    tail = 6 * n_segments + n_segments * n_channels
    bank, cash = s.bank[0], s.cash[0]
    _put(out, tail, bank / (bank + budget))
    _put(
        out,
        tail + 1,
        s.budget_left[0] / p.budget_total if math.isfinite(p.budget_total) else 1.0,
    )
    _put(out, tail + 2, cash / (abs(cash) + periods * budget))
    _put(out, tail + 3, (periods - s.period[0]) / periods)


@njit(cache=True, inline="always")
def _put(out: np.ndarray, k: int, value: float) -> None:
    """Feature ``k`` as float32, clamped: float32 rounding must not step
    outside the space."""
    out[k] = min(max(np.float32(value), np.float32(-1.0)), np.float32(1.0))
