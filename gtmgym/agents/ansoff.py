"""Ansoff's expansion path: market penetration, then market development."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.agents.proportional import value_split
from gtmgym.envs.kernel import MarketState
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode


class AnsoffAgent(Agent):
    """Penetrate the open markets until their penetration of the reachable
    market (customers over population less the rival's share) passes
    ``threshold``; then enter new markets one at a time, most attractive
    first (population x revenue x margin / entry cost), entering the next
    only once the last one sells. Spend all the budget every period, split
    by value over the selling segments.

    The textbook sequence of Ansoff's growth matrix, as a manager would run it.

    Args:
        threshold: penetration of the reachable open markets, in (0, 1],
            beyond which the agent expands.
    """

    name = "ansoff"
    reads_state = True

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        threshold: float = 0.3,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"ansoff threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        params = self.params
        attractiveness = (
            params.population * params.revenue * params.margin / np.maximum(params.entry_cost, 1e-9)
        )
        closed = np.flatnonzero(~params.open_at_start)
        self.expansion_order = closed[np.argsort(-attractiveness[closed], kind="stable")]

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        state = self.state_of(info)
        selling = state.selling[0]
        enter = np.zeros_like(selling)
        target = self.next_market(state)
        if target is not None:
            enter[target] = True
        shares = value_split(self.params, selling)
        return encode(self.codec, shares, enter, selling)

    def penetration(self, state: MarketState) -> float:
        """Customers over the reachable population of the selling markets."""
        selling = state.selling[0]
        reachable = (state.population[0] * (1 - state.competitor[0]) * selling).sum()
        held = (state.total_customers()[0] * selling).sum()
        return float(held / reachable) if reachable > 0 else 0.0

    def next_market(self, state: MarketState) -> int | None:
        """The market to enter now, if the time has come."""
        entered = state.entered[0]
        if (entered & ~state.selling[0]).any():  # the last entry is still localising
            return None
        if self.penetration(state) < self.threshold:
            return None
        remaining = [i for i in self.expansion_order if not entered[i]]
        return int(remaining[0]) if remaining else None
