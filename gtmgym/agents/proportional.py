"""Spend in proportion to what each market is worth."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.envs.params import MarketParams


def value_split(params: MarketParams, selling: np.ndarray) -> np.ndarray:
    """(S, C) shares: across selling segments by population x revenue x margin,
    within a segment across its channels by effectiveness."""
    value = params.population * params.revenue * params.margin * selling
    if value.sum() <= 0:
        return np.zeros(params.effectiveness.shape)
    effectiveness = params.effectiveness.sum(axis=1, keepdims=True)
    within = np.divide(
        params.effectiveness,
        effectiveness,
        out=np.zeros_like(params.effectiveness),
        where=effectiveness > 0,
    )
    return (value / value.sum())[:, None] * within


class ProportionalAgent(Agent):
    """Spend the whole budget every period, split across the selling segments
    by their value (population x revenue per customer x gross margin) and,
    within a segment, across channels by effectiveness; never enter.

    The rule of thumb of a planning team that sizes budgets to markets.
    """

    name = "proportional"

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        selling = np.asarray(info["selling"], dtype=bool)
        shares = value_split(self.params, selling)
        return encode(self.codec, shares, np.zeros_like(selling), selling)
