"""Myopic water-filling: the allocation that maximises next period's reward."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.agents.plans import repeat_state
from gtmgym.envs import kernel
from gtmgym.envs.kernel import MarketState
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode


class GreedyAgent(Agent):
    """Each period, water-fill the budget on the marginal returns of the
    Hill curves: hand out the available money in ``increments`` equal parts,
    each to the segment x channel pair whose next-period expected reward
    gains most from it, and stop when no pair gains anything (the money is
    then held back). Never enters.

    Myopic by design: it values a customer only for the period in which it
    is won, so it under-invests where customers stay; the gap to the planner
    measures what looking ahead is worth.

    Args:
        increments: parts the available money is split into.
    """

    name = "greedy"
    reads_state = True

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        increments: int = 20,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        if increments < 1:
            raise ValueError(f"greedy increments must be at least 1, got {increments}")
        self.increments = increments

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"increments": self.increments}

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        state = self.state_of(info)
        selling = state.selling[0]
        shares = self.allocation(state)
        return encode(self.codec, shares, np.zeros_like(selling), selling)

    def allocation(self, state: MarketState) -> np.ndarray:
        """(S, C) shares maximising next-period expected reward, by water-filling."""
        pairs = np.argwhere(state.selling[0][:, None] & self.params.available)
        shares = np.zeros(self.params.available.shape)
        if len(pairs) == 0:
            return shares
        batch = repeat_state(state, len(pairs) + 1)
        no_entry = np.zeros((len(pairs) + 1, self.params.n_segments), dtype=bool)
        step = 1.0 / self.increments
        for _ in range(self.increments):
            candidates = np.repeat(shares[None], len(pairs) + 1, axis=0)
            candidates[np.arange(1, len(pairs) + 1), pairs[:, 0], pairs[:, 1]] += step
            value = kernel.advance(self.params.kernel, batch, candidates, no_entry).reward
            best = int(np.argmax(value[1:]))
            if value[1 + best] <= value[0]:
                break
            shares[pairs[best, 0], pairs[best, 1]] += step
        return shares
