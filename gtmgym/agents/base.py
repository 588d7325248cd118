"""The one interface every agent shares: heuristics, tabular, deep, planner.

An agent is built for one scenario and one action mode. It acts on the
observation and the ``info`` dict of the scalar environment; agents that
plan on the model (``reads_state``: the planner, ``greedy``, ``lp``,
``ansoff``) also read the environment's raw state, which a driver adds to
``info`` with :func:`with_state`, with the market being played (the one
drawn at reset when the scenario is a distribution, docs/uncertainty.md). Agents that learn do so in
:meth:`Agent.learn`, on environments of their own.

Saving writes a folder: ``agent.yaml`` (name, seed, action mode,
hyperparameters and the full scenario (or distribution), so a saved agent needs nothing else to
be rebuilt), ``rng.json`` (the agent's random generator), and whatever the
agent learnt (:meth:`Agent.save_learnt`), e.g. a Q-table or an SB3 model.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml

from gtmgym.envs.actions import ActionCodec, make_codec
from gtmgym.envs.distribution import ScenarioDistribution
from gtmgym.envs.kernel import MarketState
from gtmgym.envs.market_expansion import ScenarioSource, configured_distribution
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode, Scenario

AGENT_FILE = "agent.yaml"
RNG_FILE = "rng.json"


class Agent(ABC):
    """Base class: holds the scenario, its parameters and the action codec.

    An agent built on a scenario distribution (docs/uncertainty.md) acts in
    its mean scenario (:attr:`scenario`: spaces, catalogue, the parameters
    heuristics plan on), and learns and is evaluated on :attr:`distribution`,
    a market drawn each episode.

    Args:
        scenario: a bundled scenario or distribution name, a path, a
            Scenario, a ScenarioDistribution or a mapping.
        action_mode: the action mode to act in (default: the scenario's).
        seed: seeds every random choice the agent makes.
    """

    name: ClassVar[str]
    learns: ClassVar[bool] = False  # True for agents whose learn() trains
    reads_state: ClassVar[bool] = False  # True for agents that plan on info["state"]
    action_modes: ClassVar[tuple[ActionMode, ...]] = ("continuous", "discrete", "multidiscrete")

    def __init__(
        self,
        scenario: ScenarioSource | ScenarioDistribution,
        action_mode: ActionMode | None = None,
        seed: int = 0,
    ) -> None:
        # a fixed scenario is a distribution in which nothing varies
        self.distribution = configured_distribution(scenario, None)
        self.scenario = self.distribution.mean()
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

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this agent (beyond scenario, mode, seed)."""
        return {}

    def learn(self, total_steps: int) -> None:  # noqa: B027 - heuristics learn nothing
        """Train for ``total_steps`` more environment steps (heuristics: nothing).

        Calls continue training rather than start over, so experiments can
        evaluate at checkpoints during training.
        """

    def log_training(self, root: str | Path, run_name: str) -> None:  # noqa: B027
        """Write TensorBoard logs while learning, into a folder named after
        ``run_name`` under ``root`` (:func:`~gtmgym.agents.training_log.log_folder`).
        Agents that learn nothing write nothing."""

    def check_budget(self, total_steps: int) -> None:  # noqa: B027 - most need no minimum
        """Raise ValueError if ``total_steps`` of training cannot teach anything."""

    def reset(self) -> None:  # noqa: B027 - most agents keep no episode memory
        """Forget the current episode (called before each evaluation episode)."""

    @abstractmethod
    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        """The action for the current period."""

    def state_of(self, info: dict[str, Any]) -> MarketState:
        """The raw state a model-based agent plans on, from ``info``.

        Raises:
            KeyError: ``info`` has no state (the environments do not put it
                there; the message says how to add it).
        """
        try:
            return info["state"]
        except KeyError:
            raise KeyError(
                f"agent {self.name!r} plans on the model's state: act on "
                "gtmgym.agents.with_state(env, info), which adds env.unwrapped.state"
            ) from None

    def market_of(self, info: dict[str, Any]) -> Scenario:
        """The market being played, from ``info`` (:func:`with_state` adds it):
        on a scenario distribution, the one drawn at the last reset.

        Raises:
            KeyError: ``info`` has no market (the message says how to add it).
        """
        try:
            return info["market"]
        except KeyError:
            raise KeyError(
                f"agent {self.name!r} plans on the market being played: act on "
                "gtmgym.agents.with_state(env, info), which adds env.unwrapped.market_scenario()"
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write the agent to the folder ``path`` (created if needed)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        description = {
            "agent": self.name,
            "seed": self.seed,
            "action_mode": self.action_mode,
            "hyperparameters": self.hyperparameters,
            "scenario": self.distribution.source
            if self.distribution.uncertain
            else self.scenario.model_dump(mode="json"),
        }
        (folder / AGENT_FILE).write_text(yaml.safe_dump(description, sort_keys=False))
        (folder / RNG_FILE).write_text(json.dumps(self.rng.bit_generator.state))
        self.save_learnt(folder)
        return folder

    def save_learnt(self, folder: Path) -> None:  # noqa: B027 - heuristics learn nothing
        """Write what the agent learnt into ``folder``."""

    def load_learnt(self, folder: Path) -> None:  # noqa: B027 - heuristics learn nothing
        """Read back what :meth:`save_learnt` wrote."""

    def restore_rng(self, folder: Path) -> None:
        """Put the random generator back in the state it was saved in."""
        self.rng.bit_generator.state = json.loads((folder / RNG_FILE).read_text())


def with_state(env: Any, info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with the environment's raw state, ``env.unwrapped.state``, as
    the model-based agents read it (``info["state"]``), and the market being
    played, ``env.unwrapped.market_scenario()`` (``info["market"]``: on a
    scenario distribution the market drawn at reset, which the oracle planner
    plans on).

    The environments keep the state out of ``info`` (SB3 deep-copies and
    subprocess vector envs pickle every step's ``info``); a driver adds it for
    the agents whose ``reads_state`` is true.
    """
    model = env.unwrapped
    return {**info, "state": model.state, "market": model.market_scenario()}


def decision_info(agent: Agent, env: Any, info: dict[str, Any]) -> dict[str, Any]:
    """What ``agent`` acts on: ``info``, :func:`with_state` if it reads the state."""
    return with_state(env, info) if agent.reads_state else info
