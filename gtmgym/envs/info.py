"""The raw figures of a period, as the ``info`` dict the environments return."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.envs.dynamics import PeriodFigures
from gtmgym.envs.reward import market_share


def period_figures(figures: PeriodFigures) -> dict[str, np.ndarray]:
    """Batched figures, each with a leading environment axis.

    Keys: ``available``, ``spend`` (S, C), ``blocked_spend`` (S, C),
    ``unspent``, ``entered`` (S,), ``won`` (S,), ``won_by_channel`` (S, C),
    ``churned`` (S,), ``customers`` (S,), ``population`` (S,), ``demand``
    (S,), ``revenue`` (S,), ``gross_margin`` (S,), ``partner_payout`` (S,),
    ``entry_costs`` (S,), ``operating_costs`` (S,), ``profit``,
    ``market_share``, ``bankrupt``.
    """
    return {
        "available": figures.available,
        "spend": figures.spend,
        "blocked_spend": figures.blocked,
        "unspent": figures.unspent,
        "entered": figures.entered_now,
        "won": figures.won.sum(-1),
        "won_by_channel": figures.won,
        "churned": figures.churned,
        "customers": figures.customers,
        "population": figures.population,
        "demand": figures.demand,
        "revenue": figures.revenue,
        "gross_margin": figures.gross_margin,
        "partner_payout": figures.partner_payout,
        "entry_costs": figures.entry_costs,
        "operating_costs": figures.operating_costs,
        "profit": figures.profit,
        "market_share": market_share(figures),
        "bankrupt": figures.bankrupt,
    }


def period_info(figures: PeriodFigures, env: int) -> dict[str, Any]:
    """The figures of environment ``env`` (scalars as Python floats)."""
    info: dict[str, Any] = {}
    for key, value in period_figures(figures).items():
        item = value[env]
        info[key] = item.item() if item.ndim == 0 else item
    return info
