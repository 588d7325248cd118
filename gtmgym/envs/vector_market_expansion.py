"""A native vector environment: a whole batch of markets in one compiled call.

It runs the same :func:`gtmgym.envs.transition.advance` as the scalar
environment, on all ``num_envs`` markets at once, with one random stream per
step keyed by the env's generator. Finished markets are reset on the
following step (Gymnasium's next-step autoreset, the default) or on the same
step (``autoreset_mode=AutoresetMode.SAME_STEP``), as
:class:`gymnasium.vector.SyncVectorEnv` does, with the same ``info`` keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from gtmgym.envs.actions import make_codec
from gtmgym.envs.figures import PeriodFigures
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
    :class:`~gtmgym.envs.market_expansion.MarketExpansionEnv` under
    :class:`gymnasium.vector.SyncVectorEnv`: each key batched over a leading
    axis, with its ``_key`` mask of the markets it holds for, and under
    same-step autoreset ``final_obs`` and ``final_info`` for the markets that
    finished. One difference: ``info["state"]`` is the whole batch as one
    :class:`~gtmgym.envs.state.MarketState` (row ``i`` is market ``i``), not
    an object array of batches of one. Create it with
    ``gymnasium.make_vec("gtmgym/MarketExpansion-v0", num_envs=N,
    vectorization_mode="vector_entry_point", scenario=...)``; pass
    ``autoreset_mode=AutoresetMode.SAME_STEP`` there for same-step autoreset.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    AUTORESET_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)

    def __init__(
        self,
        num_envs: int = 1,
        scenario: ScenarioSource = "default",
        action_mode: ActionMode | None = None,
        noise: bool | None = None,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = num_envs
        self.autoreset_mode = supported_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
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
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every market afresh.

        Args:
            seed: an int seeds the batch's random stream; a list (one seed per
                market, as SyncVectorEnv takes) seeds it from the whole list,
                so the same list gives the same draws; None or a list of None:
                unseeded. The start itself is not random: without noise, each
                market equals a scalar env reset with its own seed.
            options: unused.
        """
        if isinstance(seed, list | tuple):
            self._seed_from_list(list(seed))
        else:
            super().reset(seed=seed)
        self.state = MarketState.wrap(self._fresh.data.copy(), self._fresh.layout)  # info holds it
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        return self._fresh_observations.copy(), self._start_info(self.state)

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
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            return self._reset_same_step(state, figures, rewards, observations, terminated)

        restarted = self._needs_reset
        if restarted.any():
            state = state.where(restarted, self._fresh)
            observations = np.where(restarted[:, None], self._fresh_observations, observations)
            rewards = np.where(restarted, 0.0, rewards)
            terminated = terminated & ~restarted
        self.state = state
        self._needs_reset = terminated
        info = _figures_info(figures, played=~restarted)
        info.update(self._start_info(state))
        return observations, rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

    def _reset_same_step(
        self,
        state: MarketState,
        figures: PeriodFigures,
        rewards: np.ndarray,
        observations: np.ndarray,
        terminated: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step's results when finished markets restart at once: their last
        observation and info go to ``final_obs`` and ``final_info``."""
        info = _figures_info(figures, played=~terminated)
        if terminated.any():
            final_info = _figures_info(figures, played=terminated)
            final_info.update(self._start_info(state, terminated))
            final_obs = np.full(self.num_envs, None, dtype=object)
            for market in np.flatnonzero(terminated):
                final_obs[market] = observations[market]
            info |= {"final_obs": final_obs, "_final_obs": terminated}
            info |= {"final_info": final_info, "_final_info": terminated}
            state = state.where(terminated, self._fresh)
            observations = np.where(terminated[:, None], self._fresh_observations, observations)
        self.state = state
        info.update(self._start_info(state))
        return observations, rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

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

    def _seed_from_list(self, seeds: list[int | None]) -> None:
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"a list of seeds needs one per market: {self.num_envs}, got {len(seeds)}"
            )
        if all(seed is None for seed in seeds):
            return
        if any(seed is None for seed in seeds):
            raise ValueError(
                "a list of seeds must be all integers or all None: the markets of the "
                f"native vector env share one random stream, got {seeds}"
            )
        for seed in seeds:  # the checks (and messages) of a scalar env's seed
            seeding.np_random(seed)
        self._np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seeds)))
        self._np_random_seed = -1  # what Gymnasium records for a generator not seeded by an int

    def _masks_of(self, state: MarketState) -> np.ndarray | None:
        """(num_envs, K) int8 catalogue masks of ``state``; None outside the discrete mode."""
        if self.action_mode != "discrete":
            return None
        return self.codec.mask(state.entered, state.selling)

    def _start_info(self, state: MarketState, markets: np.ndarray | None = None) -> dict[str, Any]:
        """What the agents may read before deciding, as the scalar env's info, batched.

        Args:
            state: the markets' state; ``self.state`` unless it is a final info.
            markets: which markets the keys hold for (default: all); the
                current action mask is remembered only for the current state.
        """
        holds = np.ones(self.num_envs, dtype=bool) if markets is None else markets
        info: dict[str, Any] = {
            "period": state.period,
            "open": state.entered,
            "selling": state.selling,
            "state": state,
        }
        masks = self._masks_of(state)
        if markets is None:
            self._action_mask = masks
        if masks is not None:
            info["action_mask"] = masks.copy()  # callers may write into info
        info.update({f"_{key}": holds for key in list(info)})
        return info


def _figures_info(figures: PeriodFigures, played: np.ndarray) -> dict[str, Any]:
    """The period's figures with their ``_key`` masks; none when no market played
    (as SyncVectorEnv leaves out the keys no sub-env returned)."""
    if not played.any():
        return {}
    info: dict[str, Any] = {}
    for key, value in period_figures(figures).items():
        info[key] = value
        info[f"_{key}"] = played
    return info


def supported_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """``mode`` as an AutoresetMode, if the native vector env supports it.

    Raises:
        ValueError: a mode other than next-step and same-step (the message
            names them).
    """
    supported = MarketExpansionVectorEnv.AUTORESET_MODES
    try:
        resolved = AutoresetMode(mode)
    except ValueError:
        resolved = None
    if resolved not in supported:
        names = ", ".join(f"AutoresetMode.{m.name} ({m.value!r})" for m in supported)
        raise ValueError(f"autoreset_mode must be one of {names}; got {mode!r}")
    return resolved
