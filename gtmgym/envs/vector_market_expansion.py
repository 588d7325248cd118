"""A native vector environment: a whole batch of markets in one compiled call.

It runs the same :func:`gtmgym.envs.transition.advance` as the scalar
environment, on all ``num_envs`` markets at once, with one random stream per
step keyed by the env's generator. Finished
markets are reset on the following step (Gymnasium's next-step autoreset).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from gtmgym.envs.actions import make_codec
from gtmgym.envs.info import period_figures
from gtmgym.envs.market_expansion import ScenarioSource, configured_scenario
from gtmgym.envs.observation import feature_names, observation_space, observe
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode
from gtmgym.envs.state import MarketState, initial_state
from gtmgym.envs.transition import advance


class MarketExpansionVectorEnv(VectorEnv):
    """``num_envs`` independent markets of one scenario, stepped together.

    Spaces, rewards and ``info`` keys are those of
    :class:`~gtmgym.envs.market_expansion.MarketExpansionEnv`, batched over a
    leading axis. Create it with ``gymnasium.make_vec("gtmgym/MarketExpansion-v0",
    num_envs=N, vectorization_mode="vector_entry_point", scenario=...)``.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        scenario: ScenarioSource = "default",
        action_mode: ActionMode | None = None,
        noise: bool | None = None,
        render_mode: str | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = num_envs
        self.scenario = configured_scenario(scenario, noise)
        self.params = MarketParams.from_scenario(self.scenario)
        self.action_mode = action_mode or self.scenario.actions.mode
        self.codec = make_codec(self.params, self.scenario, self.action_mode)
        self.single_action_space = self.codec.space
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = observation_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.feature_names = feature_names(
            self.params, self.scenario.segment_names, self.scenario.channel_names
        )
        self.render_mode = render_mode
        self.state: MarketState | None = None
        self._fresh = initial_state(self.params, num_envs)
        self._fresh_observations = observe(self.params, self._fresh)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._action_mask = self._masks_of(self._fresh)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = self._fresh
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        return self._fresh_observations.copy(), self._start_info()

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        checked = self.codec.check(np.asarray(actions))
        if checked.shape[0] != self.num_envs:
            raise ValueError(f"expected a batch of {self.num_envs} actions, got {checked.shape[0]}")
        shares, enter = self.codec.decode(checked, self.state.selling)
        rng = self.np_random if self.params.noise else None
        state, figures, rewards, observations = advance(
            self.params,
            self.state,
            np.ascontiguousarray(shares, dtype=np.float64),
            np.ascontiguousarray(enter, dtype=np.bool_),
            rng,
            self.single_observation_space.shape[0],
        )
        terminated = (state.period >= self.params.periods) | figures.bankrupt

        restarted = self._needs_reset
        if restarted.any():
            state = state.where(restarted, self._fresh)
            observations = np.where(restarted[:, None], self._fresh_observations, observations)
            rewards = np.where(restarted, 0.0, rewards)
            terminated = terminated & ~restarted
        self.state = state
        self._needs_reset = terminated

        info: dict[str, Any] = {}
        played = ~restarted
        for key, value in period_figures(figures).items():
            info[key] = value
            info[f"_{key}"] = played
        info.update(self._start_info())
        truncated = np.zeros(self.num_envs, dtype=bool)
        return observations, rewards, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The current action masks as a (num_envs, K) bool array: ``info["action_mask"]``.

        Before the first :meth:`reset` they are the starting state's masks.

        Raises:
            RuntimeError: outside the discrete mode.
        """
        if self._action_mask is None:
            raise RuntimeError(
                f"action masks exist in the discrete action mode only, not {self.action_mode!r}"
            )
        return self._action_mask.astype(bool)

    def _masks_of(self, state: MarketState) -> np.ndarray | None:
        """(num_envs, K) int8 catalogue masks of ``state``; None outside the discrete mode."""
        if self.action_mode != "discrete":
            return None
        return self.codec.mask(state.entered, state.selling)

    def _start_info(self) -> dict[str, Any]:
        assert self.state is not None
        everyone = np.ones(self.num_envs, dtype=bool)
        info: dict[str, Any] = {
            "period": self.state.period,
            "open": self.state.entered,
            "selling": self.state.selling,
        }
        info.update({f"_{key}": everyone for key in list(info)})
        self._action_mask = self._masks_of(self.state)
        if self._action_mask is not None:
            info["action_mask"] = self._action_mask.copy()  # callers may write into info
            info["_action_mask"] = everyone
        return info
