"""A native vector environment: a whole batch of markets in one compiled call.

It runs the same :func:`gtmgym.envs.kernel.advance` as the scalar
environment, on all ``num_envs`` markets at once (on all cores for large
batches). Each market has its own random generator and stream, seeded as
Gymnasium seeds the sub-environments of a vector env (``seed + i``), so
market ``i`` plays exactly the episodes of a scalar environment reset with
that seed, noise on or off. The markets may come from different scenarios of
one shape (a list of scenarios), or be drawn from one scenario distribution,
each market from its own generator (docs/uncertainty.md). Finished markets
are reset on the following step (Gymnasium's next-step autoreset, the
default) or on the same step (``autoreset_mode=AutoresetMode.SAME_STEP``), as
:class:`gymnasium.vector.SyncVectorEnv` does, with the same ``info`` keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from gtmgym.envs.actions import ActionCodec, make_codec
from gtmgym.envs.distribution import ParameterDraws, load_distribution, parameters_option
from gtmgym.envs.info import period_figures
from gtmgym.envs.kernel import (
    MarketState,
    Params,
    PeriodFigures,
    Stepper,
    initial_state,
    observe_states,
    stream_keys,
)
from gtmgym.envs.loader import ScenarioError
from gtmgym.envs.market_expansion import (
    ScenarioSource,
    configured_distribution,
    configured_scenario,
    observed_feature_names,
    observed_space,
)
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode, Scenario


class MarketExpansionVectorEnv(VectorEnv):
    """``num_envs`` independent markets, stepped together.

    ``scenario`` is one scenario for every market, or a list of ``num_envs``
    scenarios with the same segments and channels (market ``i`` plays
    ``scenario[i]``; spaces come from the first, and every scenario's must
    match it). A scenario with distributions draws each market's parameters
    at its every reset from that market's generator, as the scalar env does
    (market ``i`` reset with seed ``s + i`` plays what a scalar env reset with
    that seed plays); every market decodes with the catalogue of the
    distribution's mean scenario. ``reset(options={"parameters": ...})``
    fixes the values for every market, or per market with a list.

    Spaces, rewards and ``info`` keys are those of
    :class:`~gtmgym.envs.market_expansion.MarketExpansionEnv` under
    :class:`gymnasium.vector.SyncVectorEnv`: each key batched over a leading
    axis, with its ``_key`` mask of the markets it holds for, and under
    same-step autoreset ``final_obs`` and ``final_info`` for the markets that
    finished. The raw state of the whole batch is ``envs.unwrapped.state``, one
    :class:`~gtmgym.envs.kernel.MarketState` (row ``i`` is market ``i``). Create it with
    ``gymnasium.make_vec("gtmgym/MarketExpansion-v0", num_envs=N,
    vectorization_mode="vector_entry_point", scenario=...)``; pass
    ``autoreset_mode=AutoresetMode.SAME_STEP`` there for same-step autoreset.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    AUTORESET_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)

    def __init__(
        self,
        num_envs: int = 1,
        scenario: ScenarioSource | list[ScenarioSource] = "default",
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
        sources = scenario if isinstance(scenario, list) else [scenario]
        if len(sources) not in (1, num_envs):
            raise ValueError(
                f"a list of scenarios needs one per market: {num_envs}, got {len(sources)}"
            )
        self.distribution = (
            configured_distribution(sources[0], noise) if len(sources) == 1 else None
        )
        if self.distribution is not None:
            self.scenarios = [self.distribution.mean()]
        else:
            self.scenarios = [configured_scenario(source, noise) for source in sources]
        self.scenario = self.scenarios[0]
        self.params = MarketParams.from_scenario(self.scenario)
        self.action_mode = action_mode or self.scenario.actions.mode
        self.codec = make_codec(self.params, self.scenario, self.action_mode)
        self._markets = _Markets(self.scenarios, self.params, self.codec, self.action_mode)
        self.single_action_space = self.codec.space
        self.action_space = batch_space(self.single_action_space, num_envs)
        # a list of fixed scenarios draws nothing: the first stands for them
        self._drawing = self.distribution or load_distribution(self.scenario)
        self.single_observation_space = observed_space(self.params, self._drawing)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.feature_names = observed_feature_names(self._drawing)
        self.render_mode = render_mode
        self.state: MarketState | None = None
        self.kernel = self._markets.kernel
        self._draws: ParameterDraws | None = None
        self._drawn = np.zeros(num_envs, dtype=bool)  # markets drawn since the last info
        if self.distribution is not None and self.distribution.uncertain:
            self._draws = ParameterDraws(self.distribution, self.params, num_envs)
            self._values = np.repeat(self._draws.mean[None], num_envs, axis=0)
            self.kernel = self._draws.rows(self._values)
        self._periods = np.broadcast_to(self.kernel.periods, (num_envs,))
        # kernel.advance of these markets (drawn parameters go into self.kernel in place)
        self._advance = Stepper(self.kernel, num_envs, threads=True)
        self._noise = self.params.noise
        self._generators: list[np.random.Generator] | None = None  # one per market
        self._streams: np.ndarray | None = None  # (num_envs, 4) uint64, noise on
        self._fresh = initial_state(self.kernel, num_envs, self._noise)
        self._fresh_observations = self._with_parameters(observe_states(self.kernel, self._fresh))
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._action_mask = self._masks_of(self._fresh)
        self._selling: np.ndarray | None = None  # of self.state, from its info

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every market afresh.

        Args:
            seed: an int ``s`` seeds market ``i``'s generator with ``s + i``
                (as SyncVectorEnv seeds its sub-environments), a list seeds
                market ``i`` with ``seed[i]`` (None: unseeded); None keeps
                each market's generator going (unseeded the first time).
                Market ``i`` then plays what a scalar env reset with its seed
                plays, step for step.
            options: ``{"parameters": ...}`` fixes the parameters of a
                scenario distribution, for every market or per market with a
                list (see :class:`MarketExpansionVectorEnv`).
        """
        seeds = self._market_seeds(seed)
        if isinstance(seed, int):
            super().reset(seed=seed)
        if seeds is not None or self._generators is None:
            seeds = seeds or [None] * self.num_envs
            self._generators = [seeding.np_random(market_seed)[0] for market_seed in seeds]
        parameters = parameters_option(options, self._drawing)
        if self._draws is not None:
            self._draws.fix(parameters)
        self._streams = None
        self._restart_streams(np.ones(self.num_envs, dtype=bool))
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
        shares, enter = self._markets.decode(checked, self._selling)
        state, figures, rewards, observations = self._advance(
            self.state, shares, enter, self._streams
        )
        observations = self._with_parameters(observations)
        terminated = (state.period >= self._periods) | figures.bankrupt
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            return self._reset_same_step(state, figures, rewards, observations, terminated)

        restarted = self._needs_reset
        if restarted.any():
            self._restart_streams(restarted)
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
            self._restart_streams(terminated)
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

    def _market_seeds(self, seed: int | list[int | None] | None) -> list[int | None] | None:
        """One seed per market from ``reset``'s ``seed`` (None: keep the generators)."""
        if seed is None:
            return None
        if isinstance(seed, list | tuple):
            if len(seed) != self.num_envs:
                raise ValueError(
                    f"a list of seeds needs one per market: {self.num_envs}, got {len(seed)}"
                )
            for market_seed in seed:
                seeding.np_random(market_seed)  # the checks (and messages) of a scalar env's seed
            return list(seed)
        seeding.np_random(seed)  # the checks (and messages) of a scalar env's seed
        return [seed + market for market in range(self.num_envs)]

    def _restart_streams(self, markets: np.ndarray) -> None:
        """New episodes for ``markets``: each takes its next key from its
        generator, for its stream and its drawn parameters."""
        if self._generators is None or not (self._noise or self._draws is not None):
            return
        chosen = np.flatnonzero(markets)
        if chosen.size == 0:
            return
        keys = stream_keys([self._generators[market] for market in chosen])
        if self._noise:
            if self._streams is None:
                self._streams = np.empty((self.num_envs, keys.shape[1]), dtype=keys.dtype)
            self._streams[chosen] = keys
        if self._draws is not None:
            self._draw_markets(chosen, keys)

    def _draw_markets(self, markets: np.ndarray, keys: np.ndarray) -> None:
        """New parameters for ``markets`` (indices) from their keys: their
        kernel rows, starting states and first observations."""
        assert self._draws is not None
        self._values[markets] = self._draws.draw(keys, markets)
        rows = self._draws.rows(self._values[markets])
        self.kernel.data[markets] = rows.data
        fresh = initial_state(rows, len(markets), self._noise)
        self._fresh.data[markets] = fresh.data
        self._fresh_observations[markets] = self._with_parameters(
            observe_states(rows, fresh), markets
        )
        self._drawn[markets] = True

    def _with_parameters(self, observations: np.ndarray, markets: Any = slice(None)) -> np.ndarray:
        """The observations of ``markets`` with their parameter features, if observed."""
        if self._draws is None or not self._draws.distribution.observe_parameters:
            return observations
        features = self._draws.distribution.positions(self._values[markets])
        return np.concatenate([observations, features], axis=1)

    def market_scenario(self, market: int) -> Scenario:
        """Market ``market``'s scenario, with the parameters drawn at its last reset."""
        if self._draws is None:
            return self.scenarios[market if len(self.scenarios) > 1 else 0]
        return self._draws.distribution.scenario_with(self._values[market])

    def _masks_of(
        self, state: MarketState, selling: np.ndarray | None = None
    ) -> np.ndarray | None:
        """(num_envs, K) int8 catalogue masks of ``state`` (``selling``: its
        selling segments, if known); None outside the discrete mode."""
        if self.action_mode != "discrete":
            return None
        return self._markets.mask(state.entered, state.selling if selling is None else selling)

    def _start_info(self, state: MarketState, markets: np.ndarray | None = None) -> dict[str, Any]:
        """What the agents may read before deciding, as the scalar env's info, batched.

        Args:
            state: the markets' state; ``self.state`` unless it is a final info.
            markets: which markets the keys hold for (default: all); the
                current action mask is remembered only for the current state.
        """
        holds = np.ones(self.num_envs, dtype=bool) if markets is None else markets
        selling = state.selling
        info: dict[str, Any] = {
            "period": state.period,
            "open": state.entered,
            "selling": selling.copy(),  # callers may write into info
        }
        masks = self._masks_of(state, selling)
        if markets is None:  # the current state's: the next step decodes with them
            self._action_mask, self._selling = masks, selling
        if masks is not None:
            info["action_mask"] = masks.copy()  # callers may write into info
        info.update({f"_{key}": holds for key in list(info)})
        if markets is None and self._draws is not None and self._drawn.any():
            drawn, self._drawn = self._drawn, np.zeros(self.num_envs, dtype=bool)
            values = self._draws.info(np.where(drawn[:, None], self._values, 0.0))
            info["parameters"] = values | {f"_{name}": drawn for name in values}
            info["_parameters"] = drawn
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


class _Markets:
    """The markets' parameters and action codecs: shared by all, or one scenario each.

    The continuous and multi-discrete codecs depend only on the shape, so one
    serves every market; the discrete catalogue depends on each market's
    channels (its "by value" entries), so markets of different scenarios
    decode and mask with their own.
    """

    def __init__(
        self, scenarios: list, params: MarketParams, codec: ActionCodec, mode: ActionMode
    ) -> None:
        first = scenarios[0]
        rows = [params]
        for number, scenario in enumerate(scenarios[1:], start=1):
            if (scenario.segment_names, scenario.channel_names) != (
                first.segment_names,
                first.channel_names,
            ):
                raise ScenarioError(
                    f"scenario {number} ({scenario.name!r}) has segments "
                    f"{scenario.segment_names} and channels {scenario.channel_names}; a batch "
                    f"needs those of scenario 0: {first.segment_names}, {first.channel_names}"
                )
            if scenario.noise != first.noise:
                raise ScenarioError(
                    f"scenario {number} ({scenario.name!r}) has noise {scenario.noise}; a "
                    f"batch needs scenario 0's ({first.noise}), or pass noise= to override both"
                )
            rows.append(MarketParams.from_scenario(scenario))
        self.kernel = params.kernel if len(rows) == 1 else Params.stack([p.kernel for p in rows])
        self.codecs = [codec]
        self.groups: list[np.ndarray] = []
        if mode == "discrete" and len(rows) > 1:
            # one codec per distinct scenario, with the markets that play it
            distinct: dict[str, list[int]] = {}
            for market, scenario in enumerate(scenarios):
                distinct.setdefault(scenario.model_dump_json(), []).append(market)
            self.codecs, self.groups = [], []
            for markets in distinct.values():
                other = make_codec(rows[markets[0]], scenarios[markets[0]], mode)
                if other.space != codec.space:
                    raise ScenarioError(
                        f"scenario {markets[0]} ({scenarios[markets[0]].name!r}) has a catalogue "
                        f"of {other.space.n} actions; a batch needs scenario 0's {codec.space.n}"
                    )
                self.codecs.append(other)
                self.groups.append(np.array(markets))
            if len(self.codecs) == 1:
                self.groups = []

    def decode(self, actions: np.ndarray, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shares, enter) of a batch of checked actions, each market by its codec."""
        if not self.groups:
            return self.codecs[0].decode(actions, selling)
        shares = np.empty((*selling.shape, self.kernel.n_channels))
        enter = np.empty(selling.shape, dtype=bool)
        for codec, markets in zip(self.codecs, self.groups, strict=True):
            shares[markets], enter[markets] = codec.decode(actions[markets], selling[markets])
        return shares, enter

    def mask(self, entered: np.ndarray, selling: np.ndarray) -> np.ndarray:
        """(N, K) int8 catalogue masks, each market by its codec."""
        if not self.groups:
            return self.codecs[0].mask(entered, selling)
        masks = np.empty((entered.shape[0], self.codecs[0].space.n), dtype=np.int8)
        for codec, markets in zip(self.codecs, self.groups, strict=True):
            masks[markets] = codec.mask(entered[markets], selling[markets])
        return masks
