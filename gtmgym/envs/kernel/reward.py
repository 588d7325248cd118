"""The objectives a scenario can reward (``objective:`` in the YAML; docs/model.md, Rewards).

Money is expressed in units of the per-period budget so that rewards are of
order one whatever the scenario's currency. Bankruptcy (cash below zero, when
cash is tracked) costs ``bankruptcy_penalty`` under every objective.

- ``profit``: the period's profit.
- ``market_share``: our customers over the total addressable population.
- ``lifetime_value``: the lifetime value of the customers won, less the
  period's costs. A customer won by channel ``c`` in segment ``i`` is worth
  ``revenue_i * (margin_i - revenue_share_c) * (1 + r) / (r + churn_i)``
  (``/ churn_i`` when undiscounted).

Under ``profit`` and ``lifetime_value`` a ``discount_rate`` ``r`` per period
makes the reward a present value: period ``t`` (counted from 1) is worth
``(1 + r) ** -(t - 1)`` of its money, penalty included; ``r = 0`` (the
default) leaves it undiscounted.
"""

from __future__ import annotations

from numba import njit

from gtmgym.envs.kernel.layouts import OBJECTIVES, FiguresView, ParamsView, StateView

PROFIT, MARKET_SHARE, LIFETIME_VALUE = (
    OBJECTIVES.index(name) for name in ("profit", "market_share", "lifetime_value")
)


@njit(cache=True, inline="always")
def reward(p: ParamsView, s: StateView, f: FiguresView) -> float:
    """The reward of one market's period, from its figures (``s``: the state
    the period started from)."""
    if p.objective == PROFIT:
        value = f.profit[0] / p.budget_per_period
    elif p.objective == MARKET_SHARE:
        value = f.market_share[0]
    else:
        n_segments, n_channels = f.won.shape
        worth = 0.0
        for i in range(n_segments):
            for j in range(n_channels):
                worth += f.won[i, j] * p.lifetime_value[i, j]
        costs = f.entry_costs.sum() + f.operating_costs.sum() + f.spent[0]
        value = (worth - costs) / p.budget_per_period
    value -= p.bankruptcy_penalty * f.bankrupt[0]
    if p.discount_rate != 0.0:  # 0 under market_share (the scenario refuses a rate there)
        value *= (1.0 + p.discount_rate) ** -s.period[0]
    return value
