"""Tabular Q-learning, in numpy (no well-kept library offers it for our spaces)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.agents.discretisation import STATE_BUDGET, Discretisation, fitted_feature_bins
from gtmgym.agents.training_log import EpisodeLog, log_folder
from gtmgym.envs import ENV_ID
from gtmgym.envs.kernel.observation import feature_names
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode

QTABLE_FILE = "qtable.npz"


class QLearningAgent(Agent):
    """Q-learning (Watkins 1989), optionally Double Q-learning (van Hasselt 2010),
    on a discretised observation, in the discrete action mode.

    Exploration is epsilon-greedy with a linear decay; both exploration and
    the greedy choice keep to the entries ``info["action_mask"]`` allows.

    Args:
        scenario, action_mode, seed: as for every agent (discrete mode only).
        bins: bins for every feature not in ``feature_bins`` (1: ignored).
        feature_bins: bins by feature name or prefix, e.g. ``{"penetration": 4}``;
            ``time_remaining: 0`` means one bin per period (exact time).
            ``"auto"``: time, whether each market is open and its penetration,
            coarsened until the table fits ``state_budget``
            (:func:`~gtmgym.agents.discretisation.fitted_feature_bins`); the
            bins chosen are what :attr:`hyperparameters` records.
        discount: the discount factor gamma.
        learning_rate: the step size; with ``learning_rate_power`` > 0 the
            step for a state-action pair is ``learning_rate / visits ** power``.
        learning_rate_power: 0 for a constant step.
        epsilon_start, epsilon_end: exploration at the start and after
            ``epsilon_decay_steps`` steps (linear in between).
        epsilon_decay_steps: steps over which epsilon decays.
        double: Double Q-learning (two tables, updated in turn).
        initial_q: the value every Q-table entry starts at; an optimistic
            value (above any return) makes the agent try every action.
        max_states: refuse a discretisation with more states than this.
        state_budget: the most states ``feature_bins: auto`` may choose.
    """

    name = "qlearning"
    learns = True
    action_modes = ("discrete",)

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = "discrete",
        seed: int = 0,
        bins: int = 1,
        feature_bins: Mapping[str, int] | Literal["auto"] | None = None,
        discount: float = 1.0,
        learning_rate: float = 0.1,
        learning_rate_power: float = 0.0,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.05,
        epsilon_decay_steps: int = 10_000,
        double: bool = False,
        initial_q: float = 0.0,
        max_states: int = 2_000_000,
        state_budget: int = STATE_BUDGET,
    ) -> None:
        super().__init__(scenario, action_mode or "discrete", seed)
        self._check(
            discount,
            learning_rate,
            learning_rate_power,
            epsilon_start,
            epsilon_end,
            epsilon_decay_steps,
        )
        names = feature_names(self.scenario.segment_names, self.scenario.channel_names)
        if feature_bins == "auto":
            feature_bins = fitted_feature_bins(
                self.scenario.segment_names,
                [s.name for s in self.scenario.segments if not s.open_at_start],
                self.params.periods,
                state_budget,
            )
        elif isinstance(feature_bins, str):
            raise ValueError(
                f"qlearning feature_bins must be a mapping or 'auto', got {feature_bins!r}"
            )
        feature_bins = dict(feature_bins or {})
        if feature_bins.get("time_remaining") == 0:
            feature_bins["time_remaining"] = self.params.periods + 1
        self.discretisation = Discretisation(names, bins, feature_bins)
        self.n_states = self.discretisation.n_states
        if self.n_states > max_states:
            raise ValueError(
                f"qlearning discretisation has {self.n_states} states, more than max_states "
                f"({max_states}); use fewer bins"
            )
        self.settings = {
            "bins": bins,
            "feature_bins": dict(feature_bins or {}),
            "discount": discount,
            "learning_rate": learning_rate,
            "learning_rate_power": learning_rate_power,
            "epsilon_start": epsilon_start,
            "epsilon_end": epsilon_end,
            "epsilon_decay_steps": epsilon_decay_steps,
            "double": double,
            "max_states": max_states,
            "state_budget": state_budget,
        }
        n_actions = self.codec.space.n
        self.tables = np.full((2 if double else 1, self.n_states, n_actions), float(initial_q))
        self.visits = np.zeros((self.n_states, n_actions), dtype=np.int64)
        self.steps = 0
        self.episodes = 0
        self.training_log: EpisodeLog | None = None

    @staticmethod
    def _check(discount, learning_rate, power, start, end, decay_steps) -> None:
        problems = []
        if not 0.0 <= discount <= 1.0:
            problems.append(f"discount must be in [0, 1], got {discount}")
        if not 0.0 < learning_rate <= 1.0:
            problems.append(f"learning_rate must be in (0, 1], got {learning_rate}")
        if power < 0:
            problems.append(f"learning_rate_power must be >= 0, got {power}")
        if not 0.0 <= end <= start <= 1.0:
            problems.append(f"need 0 <= epsilon_end <= epsilon_start <= 1, got {end} and {start}")
        if decay_steps < 1:
            problems.append(f"epsilon_decay_steps must be >= 1, got {decay_steps}")
        if problems:
            raise ValueError("qlearning: " + "; ".join(problems))

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.settings)

    @property
    def q_values(self) -> np.ndarray:
        """(states, actions) the Q estimate the agent acts on."""
        return self.tables.mean(axis=0)

    def _values_at(self, state: int) -> np.ndarray:
        """The row of :attr:`q_values` for one state (without averaging the whole table)."""
        return self.tables[0, state] if len(self.tables) == 1 else self.tables[:, state].mean(0)

    def epsilon(self) -> float:
        s = self.settings
        progress = min(self.steps / s["epsilon_decay_steps"], 1.0)
        return s["epsilon_start"] + progress * (s["epsilon_end"] - s["epsilon_start"])

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        return self._greedy(
            self._values_at(self.discretisation.index(observation)), info["action_mask"]
        )

    def log_training(self, root: str | Path, run_name: str) -> None:
        """Log each finished training episode to TensorBoard (:class:`EpisodeLog`)."""
        self.training_log = EpisodeLog(log_folder(root, run_name))

    def learn(self, total_steps: int) -> None:
        env = gym.make(ENV_ID, scenario=self.distribution, action_mode="discrete")
        target = self.steps + total_steps
        log = self.training_log
        if log is not None:
            log.open()
        try:
            while self.steps < target:
                episode_return, td_error, finished = self._learn_episode(env.unwrapped, target)
                if log is not None and finished:  # not an episode cut short at a checkpoint
                    log.episode(self.steps, episode_return, td_error, self.epsilon())
        finally:
            if log is not None:
                log.close()
            env.close()

    def _learn_episode(self, model: gym.Env, target: int) -> tuple[float, float, bool]:
        """Play a training episode, updating as it goes, until it ends or the
        agent has taken ``target`` steps; its return, mean absolute TD error,
        and whether it ended."""
        index = self.discretisation.index
        observation, info = model.reset(seed=self.seed * 1_000_003 + self.episodes)
        self.episodes += 1
        state = index(observation)
        terminated = False
        episode_return = errors = 0.0
        periods = 0
        while not terminated and self.steps < target:
            mask = info["action_mask"]
            if self.rng.random() < self.epsilon():
                allowed = np.flatnonzero(mask)
                action = int(allowed[self.rng.integers(len(allowed))])
            else:
                action = self._greedy(self._values_at(state), mask)
            observation, reward, terminated, _, info = model.step(action)
            following = index(observation)
            error = self._update(state, action, reward, following, info["action_mask"], terminated)
            state = following
            self.steps += 1
            episode_return += reward
            errors += abs(error)
            periods += 1
        return episode_return, errors / max(periods, 1), terminated

    def _update(self, state, action, reward, following, mask, terminated) -> float:
        """One Q-learning update; the TD error it corrected by a step."""
        # Python floats rather than NumPy scalars (several times cheaper each);
        # the operations and their order are those of the textbook update
        s = self.settings
        self.visits[state, action] += 1
        # NumPy's power, not Python's: the two differ in the last bit now and then
        step = s["learning_rate"] / float(self.visits[state, action] ** s["learning_rate_power"])
        table = int(self.rng.integers(len(self.tables))) if s["double"] else 0
        other = 1 - table if s["double"] else 0
        future = 0.0
        if not terminated:
            best = self._greedy(self.tables[table, following], mask)
            future = s["discount"] * self.tables.item(other, following, best)
        value = self.tables.item(table, state, action)
        error = reward + future - value
        self.tables[table, state, action] = value + step * error
        return error

    @staticmethod
    def _greedy(values: np.ndarray, mask: np.ndarray) -> int:
        return int(np.where(mask, values, -np.inf).argmax())

    def save_learnt(self, folder: Path) -> None:
        np.savez(
            folder / QTABLE_FILE,
            tables=self.tables,
            visits=self.visits,
            counters=np.array([self.steps, self.episodes]),
        )

    def load_learnt(self, folder: Path) -> None:
        with np.load(folder / QTABLE_FILE) as saved:
            if saved["tables"].shape != self.tables.shape:
                raise ValueError(
                    f"{folder / QTABLE_FILE}: Q-table of shape {saved['tables'].shape} does not "
                    f"match this agent's {self.tables.shape}"
                )
            self.tables = saved["tables"].copy()
            self.visits = saved["visits"].copy()
            self.steps, self.episodes = (int(v) for v in saved["counters"])
