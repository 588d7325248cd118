"""Deep agents through Stable-Baselines3: DQN, PPO and A2C behind one adapter,
and sb3-contrib's MaskablePPO, which reads the env's ``action_masks()``.

The algorithm's own keyword arguments pass straight through (as nested
mappings, e.g. ``policy_kwargs: {net_arch: [64, 64]}``), checked against its
constructor so a misspelt name is an error, not a silent default. Models are
seeded through SB3 (``seed=``) and through the environments
(``make_vec_env(seed=...)``), trained on the CPU with one torch thread, and
saved in SB3's own format (``model.zip`` in the agent's folder).
:meth:`StableBaselinesAgent.log_training` turns on SB3's own TensorBoard
output (the scalars of ``tensorboard_log``, in a folder named after the run).
"""

from __future__ import annotations

import copy
import inspect
import warnings
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env

from gtmgym.agents.base import Agent
from gtmgym.agents.training_log import log_folder, require_tensorboard
from gtmgym.envs import ENV_ID
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode

MODEL_FILE = "model.zip"
# set by the adapter itself, never by the user
RESERVED = {"self", "policy", "env", "seed", "device", "_init_setup_model", "verbose"}


class StableBaselinesAgent(Agent):
    """An SB3 algorithm as a gtmgym agent.

    Args:
        scenario, action_mode, seed: as for every agent.
        policy: the SB3 policy name.
        n_envs: environments stepped together while learning.
        progress_bar: show SB3's progress bar while learning.
        **algorithm_kwargs: keyword arguments of the SB3 algorithm.
    """

    learns = True
    algorithm: ClassVar[type[BaseAlgorithm]]

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        policy: str = "MlpPolicy",
        n_envs: int = 1,
        progress_bar: bool = False,
        **algorithm_kwargs: Any,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        if n_envs < 1:
            raise ValueError(f"{self.name}: n_envs must be at least 1, got {n_envs}")
        self._check_kwargs(algorithm_kwargs)
        self.settings = {"policy": policy, "n_envs": n_envs, "progress_bar": progress_bar}
        self.algorithm_kwargs = algorithm_kwargs
        self._budget_checked = False
        self.env = make_vec_env(
            lambda: gym.make(ENV_ID, scenario=self.distribution, action_mode=self.action_mode),
            n_envs=n_envs,
            seed=seed,
        )
        self.model = self.algorithm(  # SB3 fills policy_kwargs in: give it a copy
            policy, self.env, seed=seed, device="cpu", verbose=0, **copy.deepcopy(algorithm_kwargs)
        )

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self.settings | self.algorithm_kwargs

    def _check_kwargs(self, kwargs: dict[str, Any]) -> None:
        allowed = set(inspect.signature(self.algorithm.__init__).parameters) - RESERVED
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameters {unknown}; allowed: {sorted(allowed)}"
            )
        rate = kwargs.get("learning_rate")
        if isinstance(rate, int | float) and rate <= 0:
            raise ValueError(f"{self.name}: learning_rate must be positive, got {rate}")
        buffer, batch = kwargs.get("buffer_size"), kwargs.get("batch_size")
        if buffer is not None and batch is not None and batch > buffer:
            raise ValueError(f"{self.name}: batch_size ({batch}) exceeds buffer_size ({buffer})")

    def log_training(self, root: str | Path, run_name: str) -> None:
        from stable_baselines3.common.logger import configure

        require_tensorboard()
        # SB3's logger with its TensorBoard output alone, what tensorboard_log
        # sets up, in a folder named after the run: tensorboard_log with
        # reset_num_timesteps=False would write every run to <name>_0
        self.model.set_logger(configure(str(log_folder(root, run_name)), ["tensorboard"]))

    def check_budget(self, total_steps: int) -> None:
        """Refuse a training budget the algorithm cannot learn anything in."""
        starts = getattr(self.model, "learning_starts", 0)
        if total_steps <= starts:
            raise ValueError(
                f"{self.name}: learning_starts ({starts}) must be below the training "
                f"budget ({total_steps} steps), or nothing is learnt"
            )
        self._budget_checked = True

    def learn(self, total_steps: int) -> None:
        import torch

        if not self._budget_checked and self.model.num_timesteps == 0:
            self.check_budget(total_steps)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # reproducible, and no oversubscription in workers
        try:
            self.model.learn(
                total_steps, reset_num_timesteps=False, progress_bar=self.settings["progress_bar"]
            )
        finally:
            torch.set_num_threads(threads)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        action, _ = self.model.predict(observation, deterministic=True)
        return int(action) if self.action_mode == "discrete" else action

    def save_learnt(self, folder: Path) -> None:
        self.model.save(folder / MODEL_FILE)

    def load_learnt(self, folder: Path) -> None:
        with warnings.catch_warnings():
            # A saved n-step DQN comes back with its NStepReplayBuffer and that
            # buffer's own n_steps; SB3 still warns that n_steps is "ignored".
            warnings.filterwarnings("ignore", message=r"`n_steps=\d+` is ignored")
            self.model = self.algorithm.load(folder / MODEL_FILE, env=self.env, device="cpu")
        buffer = getattr(self.model, "replay_buffer_kwargs", None)  # off-policy only
        if buffer is not None and buffer.get("n_steps", 1) != self.model.n_steps:
            raise ValueError(f"{folder}: the saved model's replay buffer lost its n-step setting")


class DQNAgent(StableBaselinesAgent):
    """Deep Q-network (Mnih et al. 2015), SB3's implementation; discrete mode
    only. It ignores the action mask (masked entries are valid actions that
    do nothing useful, which DQN learns to avoid)."""

    name = "dqn"
    algorithm = DQN
    action_modes = ("discrete",)


class PPOAgent(StableBaselinesAgent):
    """Proximal policy optimisation (Schulman et al. 2017), SB3's implementation."""

    name = "ppo"
    algorithm = PPO
    action_modes = ("discrete", "continuous")


class A2CAgent(StableBaselinesAgent):
    """Advantage actor-critic (Mnih et al. 2016), SB3's implementation."""

    name = "a2c"
    algorithm = A2C
    action_modes = ("discrete", "continuous")


class MaskablePPOAgent(StableBaselinesAgent):
    """PPO with invalid-action masking (Huang & Ontañón 2022), sb3-contrib's
    MaskablePPO; discrete mode only. While learning it reads the
    environment's ``action_masks()``; when acting, ``info["action_mask"]``:
    masked catalogue entries get zero probability, so it never spends on a
    market that is not selling or enters one twice."""

    name = "maskable_ppo"
    algorithm = MaskablePPO
    action_modes = ("discrete",)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        action, _ = self.model.predict(
            observation, deterministic=True, action_masks=np.asarray(info["action_mask"], bool)
        )
        return int(action)
