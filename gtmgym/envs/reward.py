"""The objectives a scenario can reward (``objective:`` in the YAML).

Money is expressed in units of the per-period budget so that rewards are of
order one whatever the scenario's currency. Bankruptcy (cash below zero, when
cash is tracked) costs ``bankruptcy_penalty`` under every objective.
"""

from __future__ import annotations

import numpy as np

from gtmgym.envs.dynamics import PeriodFigures
from gtmgym.envs.params import MarketParams


def reward(params: MarketParams, figures: PeriodFigures) -> np.ndarray:
    """(N,) reward of one period under the scenario's objective."""
    if params.objective == "profit":
        value = figures.profit / params.budget_per_period
    elif params.objective == "market_share":
        value = market_share(figures)
    elif params.objective == "lifetime_value":
        value = lifetime_value_won(params, figures) / params.budget_per_period
    else:  # the scenario model admits no other value
        raise ValueError(f"unknown objective {params.objective!r}")
    return value - params.bankruptcy_penalty * figures.bankrupt


def market_share(figures: PeriodFigures) -> np.ndarray:
    """(N,) our customers over the total addressable population."""
    return figures.customers.sum(-1) / figures.population.sum(-1)


def lifetime_value_won(params: MarketParams, figures: PeriodFigures) -> np.ndarray:
    """(N,) lifetime value of the customers won, less the period's costs.

    A customer won by channel ``c`` in segment ``i`` is worth
    ``revenue_i * (margin_i - revenue_share_c) / churn_i``.
    """
    value = (figures.won * params.lifetime_value[:, :-1]).sum(axis=(1, 2))
    costs = (figures.entry_costs + figures.operating_costs).sum(-1) + figures.spent
    return value - costs
