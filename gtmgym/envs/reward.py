"""The objectives a scenario can reward (``objective:`` in the YAML).

Money is expressed in units of the per-period budget so that rewards are of
order one whatever the scenario's currency. Bankruptcy (cash below zero, when
cash is tracked) costs ``bankruptcy_penalty`` under every objective.

- ``profit``: the period's profit.
- ``market_share``: our customers over the total addressable population.
- ``lifetime_value``: the lifetime value of the customers won, less the
  period's costs. A customer won by channel ``c`` in segment ``i`` is worth
  ``revenue_i * (margin_i - revenue_share_c) / churn_i``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gtmgym.envs import figures as fig
from gtmgym.envs.figures import PeriodFigures
from gtmgym.envs.params import (
    BANKRUPTCY_PENALTY,
    BUDGET_PER_PERIOD,
    OBJECTIVE,
    OBJECTIVES,
    MarketParams,
)

PROFIT, MARKET_SHARE, LIFETIME_VALUE = (
    OBJECTIVES.index(name) for name in ("profit", "market_share", "lifetime_value")
)


def reward(params: MarketParams, figures: PeriodFigures) -> np.ndarray:
    """(N,) reward of one period under the scenario's objective."""
    _, _, _, lifetime_value, settings = params.tables
    return reward_batch(lifetime_value, settings, figures.layout.offsets, figures.data)


@njit(cache=True)
def reward_batch(
    lifetime_value: np.ndarray,
    settings: np.ndarray,
    figure_offsets: np.ndarray,
    figures: np.ndarray,
) -> np.ndarray:
    """(N,) rewards of a batch of figures rows."""
    rewards = np.empty(figures.shape[0])
    for n in range(figures.shape[0]):
        rewards[n] = reward_row(lifetime_value, settings, figure_offsets, figures[n])
    return rewards


@njit(cache=True)
def reward_row(
    lifetime_value: np.ndarray,
    settings: np.ndarray,
    figure_offsets: np.ndarray,
    figures: np.ndarray,
) -> float:
    """The reward of one environment's period, from its figures row."""
    f = figure_offsets
    budget = settings[BUDGET_PER_PERIOD]
    objective = settings[OBJECTIVE]
    if objective == PROFIT:
        value = figures[f[fig.PROFIT]] / budget
    elif objective == MARKET_SHARE:
        value = figures[f[fig.MARKET_SHARE]]
    else:
        n_segments, width = lifetime_value.shape
        won = figures[f[fig.WON] : f[fig.WON + 1]]
        worth = 0.0
        for i in range(n_segments):
            for j in range(width - 1):
                worth += won[i * (width - 1) + j] * lifetime_value[i, j]
        costs = (
            figures[f[fig.ENTRY_COSTS] : f[fig.ENTRY_COSTS + 1]].sum()
            + figures[f[fig.OPERATING_COSTS] : f[fig.OPERATING_COSTS + 1]].sum()
            + figures[f[fig.SPENT]]
        )
        value = (worth - costs) / budget
    return value - settings[BANKRUPTCY_PENALTY] * figures[f[fig.BANKRUPT]]
