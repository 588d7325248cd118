"""The one interface every agent shares: heuristics, tabular, deep, planner.

An agent is built for one scenario and one action mode. It acts on the
observation and the ``info`` dict of the scalar environment (heuristics and
the planner may read the raw figures there, e.g. ``info["selling"]``); agents
that learn do so in :meth:`Agent.learn`, on environments of their own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from gtmgym.envs.actions import ActionCodec, make_codec
from gtmgym.envs.market_expansion import ScenarioSource, configured_scenario
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode


class Agent(ABC):
    """Base class: holds the scenario, its parameters and the action codec.

    Args:
        scenario: a bundled scenario name, a path, a Scenario or a mapping.
        action_mode: the action mode to act in (default: the scenario's).
        seed: seeds every random choice the agent makes.
    """

    name: ClassVar[str]
    action_modes: ClassVar[tuple[ActionMode, ...]] = ("continuous", "discrete", "multidiscrete")

    def __init__(
        self, scenario: ScenarioSource, action_mode: ActionMode | None = None, seed: int = 0
    ) -> None:
        self.scenario = configured_scenario(scenario, None)
        self.action_mode: ActionMode = action_mode or self.scenario.actions.mode
        if self.action_mode not in self.action_modes:
            raise ValueError(
                f"agent {self.name!r} supports action modes {list(self.action_modes)}, "
                f"not {self.action_mode!r}"
            )
        self.params = MarketParams.from_scenario(self.scenario)
        self.codec: ActionCodec = make_codec(self.params, self.scenario, self.action_mode)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def learn(self, total_steps: int) -> None:  # noqa: B027 - heuristics learn nothing
        """Train for ``total_steps`` environment steps (heuristics: nothing)."""

    @abstractmethod
    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        """The action for the current period."""
