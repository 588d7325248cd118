"""The market-expansion environment (one market at a time)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gtmgym.envs.actions import make_codec
from gtmgym.envs.distribution import (
    ParameterDraws,
    ScenarioDistribution,
    load_distribution,
    parameters_option,
)
from gtmgym.envs.info import period_info
from gtmgym.envs.kernel import MarketState, Stepper, initial_state, observe_states, stream_keys
from gtmgym.envs.kernel.observation import feature_names, observation_space
from gtmgym.envs.kernel.record import Layout
from gtmgym.envs.loader import load_scenario
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode, Scenario

ScenarioSource = str | Path | Scenario | dict[str, Any]


class MarketExpansionEnv(gym.Env):
    """Split a marketing and sales budget across markets and channels.

    ## Description
    A company sells in a home market and may enter foreign markets. Each
    period the agent splits the period's budget across segment x channel pairs
    (direct sales, partners, digital, ...) and decides which closed segments
    to enter; customers are won through saturating, carried-over channel
    responses, churn away, and pay revenue. The model and its equations are in
    ``docs/model.md``; every parameter comes from a YAML scenario.

    ## Action Space
    Chosen by ``action_mode`` (the scenario's ``actions.mode`` by default):

    - ``continuous``: ``Box(-1, 1, (S*C + 1 + S,), float32)``: a weight per
      pair and one hold-back weight, mapped to shares of the available money
      by ``u = (x + 1) / 2``, ``share = u / sum(u)``; then an entry switch per
      segment (entered when > 0).
    - ``discrete``: ``Discrete(K)``, a catalogue of allocations (hold back,
      even split, focus on a segment or a pair, enter a segment), printed by
      ``gtmgym describe``; ``info["action_mask"]`` marks the entries that
      would do what their label says.
    - ``multidiscrete``: a spend level per pair then an entry flag per segment.

    Money aimed at a segment that is not selling yet, at a channel not
    available in a segment, or outside a channel's min/max spend is not spent;
    ``info["blocked_spend"]`` says how much.

    ## Observation Space
    ``Box(low, high, (6*S + S*C + 4,), float32)``, features scaled to [0, 1]
    (cash to (-1, 1)); the table is in :mod:`gtmgym.envs.kernel.observation` and
    ``env.unwrapped.feature_names`` names every entry.

    ## Rewards
    Under ``objective: profit`` (default), the period's profit (gross margin
    minus partner revenue shares, spend, entry and operating costs) divided by
    the per-period budget. ``market_share``: our customers over the total
    addressable population. ``lifetime_value``: the lifetime value of the
    customers won less the period's costs, in budget units. Falling below
    zero cash (when tracked) costs ``bankruptcy_penalty``. A scenario's
    ``discount_rate`` makes profit and lifetime-value rewards present values
    (period ``t`` times ``(1 + r) ** -(t - 1)``; docs/model.md, Rewards).

    ## Starting State
    The scenario's start: initial customers, open segments, no adstock; it is
    not random. The randomness is in the periods (binomial wins and churn,
    demand shocks, adverse events), drawn from the episode's stream, which
    :meth:`reset` seeds from ``self.np_random``.

    A scenario with distributions (docs/uncertainty.md) draws its uncertain
    parameters at each :meth:`reset`, from the same episode key (so
    ``reset(seed=s)`` fixes the market and its randomness), or plays the
    values ``reset(options={"parameters": ...})`` fixed: a mapping of field
    paths to values, or a whole scenario; they stay fixed for later resets
    until ``options={"parameters": None}``. ``info["parameters"]`` (at reset)
    gives each uncertain field's value by path. With ``observe_parameters:
    true`` in the file, the observation ends with one feature per uncertain
    field: the value's position in its distribution, in [0, 1]. The action
    catalogue is the mean scenario's (``env.scenario``); the market being
    played is ``env.market_scenario()``.

    ## Episode End
    ``terminated=True`` after the scenario's ``periods`` periods (the horizon
    is part of the task; time remaining is observed), or when cash falls
    below zero. The environment never truncates.

    ## Arguments
    ``gymnasium.make("gtmgym/MarketExpansion-v0", scenario="default",
    action_mode=None, noise=None)``: ``scenario`` is a bundled name, a YAML
    path, a :class:`~gtmgym.envs.scenario.Scenario`, a mapping or a
    :class:`~gtmgym.envs.distribution.ScenarioDistribution`;
    ``action_mode`` and ``noise`` override the scenario's.

    ## Version History
    - v0: initial release.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: ScenarioSource = "default",
        action_mode: ActionMode | None = None,
        noise: bool | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.distribution = configured_distribution(scenario, noise)
        self.scenario = self.distribution.mean()
        self.params = MarketParams.from_scenario(self.scenario)
        self.action_mode = action_mode or self.scenario.actions.mode
        self.codec = make_codec(self.params, self.scenario, self.action_mode)
        self.action_space = self.codec.space
        self.observation_space = observed_space(self.params, self.distribution)
        self.feature_names = observed_feature_names(self.distribution)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.state: MarketState | None = None
        self._stream: np.ndarray | None = None  # (1, 4) uint64: the episode's draws
        self._done = False
        self._last_info: dict[str, Any] = {}
        self.kernel = self.params.kernel  # the market's parameters: drawn at reset if uncertain
        uncertain = self.distribution.uncertain
        self._draws = ParameterDraws(self.distribution, self.params, 1) if uncertain else None
        self._values = self._draws.mean[None] if self._draws else None
        self._market: Scenario | None = None  # market_scenario() of the last reset
        self._features = self._observed_parameters()
        self._start = initial_state(self.kernel, 1, self.params.noise)
        self._advance = Stepper(self.kernel, 1)  # kernel.advance of this market's periods
        where = self._start.layout
        self._period_column = where.starts["period"]
        entered, countdown = _columns(where, "entered"), _columns(where, "countdown")
        self._entry_columns = slice(  # both fields: the memo key of an entry pattern
            min(entered.start, countdown.start), max(entered.stop, countdown.stop)
        )
        self._entry_patterns: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        self._selling = self._start.selling[0]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        parameters = parameters_option(options, self.distribution)
        key = None
        if self.params.noise or self._draws is not None:
            key = stream_keys([self.np_random])
        if self.params.noise:
            self._stream = key
        if self._draws is not None:
            self._draw_market(key, parameters)
        self.state = self._start.index(0)  # a copy: callers may keep a state
        self._done = False
        self._last_info = self._start_info()
        if self._draws is not None:
            self._last_info["parameters"] = {
                name: float(value[0]) for name, value in self._draws.info(self._values).items()
            }
        observation = observe_states(self.kernel, self.state)[0]
        return self._with_parameters(observation), self._last_info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended; call reset() before step()")
        shares, enter = self.codec.decide_one(action, self._selling)
        self.state, figures, rewards, observations = self._advance(
            self.state, shares, enter, self._stream
        )
        info = self._start_info(period_info(figures, 0))
        terminated = info["period"] >= self.params.periods or info["bankrupt"]
        self._done = terminated
        self._last_info = info
        observation = self._with_parameters(observations[0])
        return observation, float(rewards[0]), terminated, False, info

    def market_scenario(self) -> Scenario:
        """The market being played, as a validated scenario: the scenario
        itself, or the distribution's with the values drawn at the last reset.

        Worked out once per reset (validating a drawn scenario costs about
        1.5 ms; :func:`gtmgym.agents.with_state` asks every step), so the
        same object until the next draw.
        """
        if self._values is None:
            return self.scenario
        if self._market is None:
            self._market = self.distribution.scenario_with(self._values[0])
        return self._market

    def _draw_market(self, key: np.ndarray, parameters: Any) -> None:
        """This episode's parameters: drawn from ``key``, or as the options fix them."""
        assert self._draws is not None
        self._draws.fix(parameters)
        self._values = self._draws.draw(key, np.zeros(1, dtype=np.int64))
        self._market = None
        self.kernel = self._draws.rows(self._values)
        self._features = self._observed_parameters()
        self._start = initial_state(self.kernel, 1, self.params.noise)
        self._advance = Stepper(self.kernel, 1)

    def _observed_parameters(self) -> np.ndarray | None:
        """The parameter features appended to every observation, if observed."""
        if self._values is None or not self.distribution.observe_parameters:
            return None
        return self.distribution.positions(self._values)[0]

    def _with_parameters(self, observation: np.ndarray) -> np.ndarray:
        if self._features is None:
            return observation
        return np.concatenate([observation, self._features])

    def action_masks(self) -> np.ndarray:
        """The current action mask as a (K,) bool array: ``info["action_mask"]``.

        Before the first :meth:`reset` it is the starting state's mask (the
        start is not random), so a vectorised caller can ask at any time.

        Raises:
            RuntimeError: outside the discrete mode (only the catalogue has
                entries that can be masked).
        """
        if self.action_mode != "discrete":
            raise RuntimeError(
                f"action masks exist in the discrete action mode only, not {self.action_mode!r}"
            )
        state = self._start if self.state is None else self.state
        return self._entry_pattern(state)[2].astype(bool)

    def render(self) -> str | np.ndarray | None:
        """The current period as a line of text (``ansi``) or a picture (``rgb_array``).

        ``rgb_array`` is an (H, W, 3) uint8 frame (:mod:`gtmgym.envs.rendering`):
        customers against market size per segment, open and entering markets,
        this period's spend per segment x channel, cash and budget left.
        """
        if self.render_mode is None or self.state is None:
            return None
        info = self._last_info
        if self.render_mode == "rgb_array":
            # imported here: matplotlib is over half of `import gtmgym` (2.4 of 4.4 s cold)
            from gtmgym.envs.rendering import draw_frame

            return draw_frame(self.scenario, self.params, self.state, info.get("spend"))
        return (
            f"period {int(self.state.period[0])}/{self.params.periods}  "
            f"customers {np.round(info.get('customers', self.state.total_customers()[0]), 1)}  "
            f"profit {info.get('profit', 0.0):.1f}"
        )

    def _start_info(self, info: dict[str, Any] | None = None) -> dict[str, Any]:
        """``info`` with what the agent may read before deciding; notes the
        selling segments."""
        assert self.state is not None
        row = self.state.data[0]
        entered, self._selling, mask = self._entry_pattern(self.state)
        if info is None:
            info = {}
        info["period"] = int(row.item(self._period_column))
        info["open"] = entered.copy()  # copies: callers may write into info,
        info["selling"] = self._selling.copy()  # the env decodes with its own
        if mask is not None:
            info["action_mask"] = mask.copy()
        return info

    def _entry_pattern(
        self, state: MarketState
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(open, selling, action mask) of a one-market state, read-only.

        A scenario has few entry patterns (which markets are open, which are
        still in their entry delay), so each is worked out once: this runs
        every step.
        """
        key = state.data[0, self._entry_columns].tobytes()
        pattern = self._entry_patterns.get(key)
        if pattern is None:
            entered, selling = state.entered[0], state.selling[0]
            mask = self.codec.mask_one(entered, selling) if self.action_mode == "discrete" else None
            for array in (entered, selling, mask):
                if array is not None:
                    array.setflags(write=False)
            if len(self._entry_patterns) >= _ENTRY_PATTERN_LIMIT:
                self._entry_patterns.clear()
            pattern = self._entry_patterns[key] = (entered, selling, mask)
        return pattern


_ENTRY_PATTERN_LIMIT = 1024


def _columns(where: Layout, field: str) -> slice:
    start = where.starts[field]
    return slice(start, start + where.shapes[field][0])


def configured_scenario(source: ScenarioSource, noise: bool | None) -> Scenario:
    """The scenario from ``source`` with the ``noise`` override applied."""
    scenario = load_scenario(source)
    if noise is not None and noise != scenario.noise:
        scenario = scenario.model_copy(update={"noise": bool(noise)})
    return scenario


def observed_space(params: MarketParams, distribution: ScenarioDistribution) -> spaces.Box:
    """The observation space: the model's features, then with
    ``observe_parameters`` one in [0, 1] per uncertain field."""
    space = observation_space(params.n_segments, params.n_channels)
    if not distribution.observe_parameters:
        return space
    extra = np.zeros(len(distribution.fields), dtype=np.float32)
    low, high = np.concatenate([space.low, extra]), np.concatenate([space.high, extra + 1.0])
    return spaces.Box(low, high, dtype=np.float32)


def observed_feature_names(distribution: ScenarioDistribution) -> list[str]:
    """One name per observation entry (``parameter[segments[0].churn]`` for a
    parameter feature)."""
    point = distribution.point
    names = feature_names(point.segment_names, point.channel_names)
    if distribution.observe_parameters:
        names += [f"parameter[{name}]" for name in distribution.names]
    return names


def configured_distribution(
    source: ScenarioSource | ScenarioDistribution, noise: bool | None
) -> ScenarioDistribution:
    """The scenario distribution from ``source`` (a fixed scenario is one in
    which nothing varies), with the ``noise`` override applied."""
    distribution = load_distribution(source)
    if noise is not None and noise != distribution.point.noise:
        point = distribution.point.model_copy(update={"noise": bool(noise)})
        distribution = dataclasses.replace(distribution, point=point)
    return distribution
