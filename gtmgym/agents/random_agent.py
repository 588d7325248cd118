"""Uniformly random actions: the floor every agent is measured from."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.envs.actions import DiscreteActions


class RandomAgent(Agent):
    """An action drawn uniformly from the action space with the agent's own
    generator; in the discrete mode, among the entries the action mask allows."""

    name = "random"

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        space = self.codec.space
        if isinstance(self.codec, DiscreteActions):
            allowed = np.flatnonzero(info.get("action_mask", np.ones(space.n)))
            return int(self.rng.choice(allowed))
        if self.codec.mode == "continuous":
            return self.rng.uniform(-1.0, 1.0, size=space.shape).astype(np.float32)
        return self.rng.integers(0, space.nvec)
