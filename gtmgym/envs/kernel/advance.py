"""The one way to play a period: :func:`advance`, for every caller.

The scalar and the vector environment, the planner, the heuristics that look
ahead and the calibration's replay all advance the model through
:func:`advance`: one compiled call per batch that plays each market's period
(:func:`~gtmgym.envs.kernel.period.play_period`), its reward and its
observation. Market ``n`` reads parameter row ``n`` of a batch of
parameters, or the only row if there is one, and draws from its own stream,
so a market's trajectory does not depend on its place in the batch. Asked
to (``threads=True``, the vector environment), batches of ``PARALLEL_FROM``
markets or more run on all cores (numba ``prange``); the result does not
depend on the number of threads.

A period whose figures, reward or state are not finite (float64 overflowed,
0/0, or a sampler refused a NaN probability) raises
:class:`NonFiniteStateError` naming the period and the figures, never
returns: the compiled call checks its own output (a few hundred comparisons)
and the message is built only on failure. The scenario's allowed ranges are
chosen so that this never happens.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from gtmgym.envs.info import ARRAY_KEYS, SCALAR_KEYS
from gtmgym.envs.kernel import randomness
from gtmgym.envs.kernel.layouts import (
    MarketState,
    Params,
    PeriodFigures,
    borrowed,
    figures_view,
    params_view,
    state_view,
)
from gtmgym.envs.kernel.observation import observation_size, observe
from gtmgym.envs.kernel.period import money_available, play_period, segment_entry
from gtmgym.envs.kernel.record import Record
from gtmgym.envs.kernel.reward import reward
from gtmgym.envs.loader import ScenarioError

SHOWN = 6  # non-finite figures named in a message
# markets in a batch from which threads pay for their start, when the caller
# asks for them; callers that run Python between many small batches (the
# planner's rollouts) ask not to: there the threads' wake-ups cost more than
# they save (a planner episode on default: 1.5 s serial, 3.7 s threaded)
PARALLEL_FROM = 64


class NonFiniteStateError(ScenarioError):
    """A period's figures or state came out NaN or infinite: the scenario's
    numbers are beyond what float64 holds (docs/model.md, Allowed ranges).

    The message names the period (counted from 1) and the figures."""


class Period(NamedTuple):
    """What :func:`advance` returns for a batch of ``N`` markets."""

    state: MarketState  # at the end of the period
    figures: PeriodFigures
    reward: np.ndarray  # (N,)
    observation: np.ndarray  # (N, D) float32, of the state at the end


def advance(
    params: Params,
    state: MarketState,
    shares: np.ndarray,
    enter: np.ndarray,
    streams: np.ndarray | None = None,
    threads: bool = False,
) -> Period:
    """One period for a batch of markets.

    Args:
        params: one row for every market, or one row per market.
        state: the state at the start of the period, ``N`` markets.
        shares: (N, S, C) share of the available money aimed at each segment
            and channel; non-negative, summing to at most 1 per market.
        enter: (N, S) bool, the decision to enter each segment.
        streams: (N, 4) uint64, each market's random stream (advanced in
            place; :func:`~gtmgym.envs.kernel.randomness.stream_key` makes
            one); ``None`` plays the expected (noise-free) model.
        threads: spread a batch of ``PARALLEL_FROM`` markets or more over
            numba's threads (the same result, bit for bit).

    Raises:
        NonFiniteStateError: a figure, reward or state entry of the period is
            not finite (or a random draw was given a non-finite input).
    """
    return Stepper(params, state.data.shape[0], threads)(state, shares, enter, streams)


class Stepper:
    """:func:`advance` for one batch of parameters and a number of markets,
    with what the compiled call needs besides the state worked out once: a
    caller that plays many periods of the same markets (the environments)
    keeps one."""

    __slots__ = ("_arguments", "_figures", "_num_envs", "_observations", "_play", "_widths")

    def __init__(self, params: Params, num_envs: int, threads: bool = False) -> None:
        if params.data.shape[0] not in (1, num_envs):
            raise ValueError(f"{params.data.shape[0]} parameter rows for {num_envs} markets")
        s, c = params.n_segments, params.n_channels
        state_layout = MarketState.layout_for(s, c)
        self._figures = PeriodFigures.layout_for(s, c)
        self._num_envs = num_envs
        self._widths = (num_envs * state_layout.width, num_envs * self._figures.width)
        self._observations = (num_envs, observation_size(s, c))
        parallel = threads and num_envs >= PARALLEL_FROM
        self._play = advance_threaded if parallel else advance_serial
        self._arguments = (
            params.data,
            params.layout.offsets,
            state_layout.offsets,
            self._figures.offsets,
            _no_streams(num_envs),
            state_layout.starts["budget_left"],
        )

    def __call__(
        self,
        state: MarketState,
        shares: np.ndarray,
        enter: np.ndarray,
        streams: np.ndarray | None = None,
    ) -> Period:
        """:func:`advance` of ``state``, ``shares``, ``enter`` and ``streams``."""
        num_envs = self._num_envs
        if state.data.shape[0] != num_envs:
            raise ValueError(f"a state of {state.data.shape[0]} markets for {num_envs}")
        params, params_offsets, state_offsets, figure_offsets, no_streams, budget_left = (
            self._arguments
        )
        # one buffer for the results (each array a compiled call returns costs
        # more than the period of a small market): next state, figures, reward
        state_width, figures_width = self._widths
        results = np.empty(state_width + figures_width + num_envs)
        next_state = results[:state_width].reshape(num_envs, -1)
        figures = results[state_width:-num_envs].reshape(num_envs, -1)
        rewards = results[-num_envs:]
        observations = np.empty(self._observations, dtype=np.float32)
        finite = self._play(
            params,
            params_offsets,
            state_offsets,
            figure_offsets,
            state.data,
            _as(shares, np.float64),
            _as(enter, np.bool_),
            streams is not None,
            no_streams if streams is None else streams,
            budget_left,
            next_state,
            figures,
            rewards,
            observations,
        )
        next_record = MarketState.wrap(next_state, state.layout)
        figures_record = PeriodFigures.wrap(figures, self._figures)
        if not finite:
            message = non_finite_message(state, next_record, figures_record, rewards)
            raise NonFiniteStateError(message)
        return Period(next_record, figures_record, rewards, observations)


def _as(values: np.ndarray, dtype: type) -> np.ndarray:
    """``values`` as a C-contiguous array of ``dtype`` (itself when it is one)."""
    if type(values) is np.ndarray and values.dtype == dtype and values.flags.c_contiguous:
        return values
    return np.ascontiguousarray(values, dtype=dtype)


def observe_states(params: Params, state: MarketState) -> np.ndarray:
    """(N, D) float32 observations of a batch of states (e.g. at reset)."""
    s, c = params.n_segments, params.n_channels
    offsets = params.layout.offsets, state.layout.offsets
    return observe_batch(params.data, *offsets, state.data, s, c, observation_size(s, c))


def entry(
    params: Params, state: MarketState, enter: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Section 1 for a batch: (entered now, entered, countdown, selling), each (N, S)."""
    delay = np.broadcast_to(params.entry_delay, state.entered.shape).astype(float)
    return entry_batch(state.entered, state.countdown.astype(float), delay, enter)


def available_money(params: Params, state: MarketState) -> np.ndarray:
    """Section 2 for a batch: (N,) the money each market can spend this period."""
    offsets = params.layout.offsets, state.layout.offsets
    return money_batch(params.data, *offsets, state.data, params.n_segments, params.n_channels)


_NO_STREAMS: dict[int, np.ndarray] = {}


def _no_streams(num_envs: int) -> np.ndarray:
    """Streams the kernel does not touch (noise off), one per batch size."""
    found = _NO_STREAMS.get(num_envs)
    if found is None:
        found = _NO_STREAMS[num_envs] = np.ones((num_envs, randomness.KEY_WORDS), np.uint64)
    return found


_ADVICE = "the scenario's numbers overflow float64 (docs/model.md, Allowed ranges)"


def non_finite_message(
    state: MarketState, next_state: MarketState, figures: PeriodFigures, rewards: np.ndarray
) -> str:
    """Which environment's period went non-finite, and in which figures."""
    for env in range(rewards.shape[0]):
        named = _non_finite(figures, env, _INFO_NAMES) + _non_finite(next_state, env, _STATE_NAMES)
        if not math.isfinite(rewards[env]):
            named.append(f"reward is {rewards[env]}")
        if named:
            shown = ", ".join(named[:SHOWN]) + (" and more" if len(named) > SHOWN else "")
            where = f"environment {env}, " if rewards.shape[0] > 1 else ""
            return f"{where}period {int(state.period[env]) + 1}: {shown}; {_ADVICE}"
    return f"{_periods(state)}: a figure is not finite; {_ADVICE}"


# a figure is named by its info key, where the user reads it
_INFO_NAMES = {field: key for key, field in {**SCALAR_KEYS, **ARRAY_KEYS}.items()}
_STATE_NAMES = {field.name: f"state.{field.name}" for field in MarketState.FIELDS}


def _non_finite(record: Record, env: int, names: dict[str, str]) -> list[str]:
    """``name[index] is value`` for each non-finite entry of one environment's
    row (read raw: an integer field's NaN would not survive its dtype)."""
    where = record.layout
    named = []
    for field in record.FIELDS:
        if field.name == "budget_left":  # infinite when the budget has no total
            continue
        start, shape = where.starts[field.name], where.shapes[field.name]
        values = record.data[env, start : start + int(np.prod(shape, dtype=np.int64))]
        for index, value in np.ndenumerate(values.reshape(shape)):
            if not math.isfinite(value):
                name = names.get(field.name, field.name)
                named.append(f"{name}{_where(index)} is {value}")
    return named


def _periods(state: MarketState) -> str:
    played = np.unique(state.period) + 1
    return f"period {played[0]}" if played.size == 1 else f"periods {played.tolist()}"


def _where(index: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""


@njit(cache=True)
def advance_serial(*arguments):
    """Every market's period into the outputs, in turn (the arguments are
    :func:`_advance_market`'s after ``n``); whether all came out finite."""
    drift = 0.0
    for n in range(arguments[4].shape[0]):  # the state's markets
        drift += _advance_market(n, *arguments)
    return drift == 0.0


@njit(cache=True, parallel=True)
def advance_threaded(*arguments):
    """:func:`advance_serial` with the markets spread over numba's threads (a
    thread pool's start costs more than a small batch: see ``PARALLEL_FROM``)."""
    drift = 0.0
    for n in prange(arguments[4].shape[0]):
        drift += _advance_market(n, *arguments)
    return drift == 0.0


@njit(cache=True)
def _advance_market(
    n, params, params_offsets, state_offsets, figure_offsets, state, shares, enter,
    noisy, streams, budget_left_column, next_state, figures, rewards, observations,
):  # fmt: skip
    """Market ``n``'s period, reward and observation, into the outputs.

    Returns 0.0 if every figure, the reward and the state came out finite,
    else NaN (``x - x`` is 0 for a finite ``x``, NaN for NaN or an infinity).
    """
    n_segments, n_channels = shares.shape[1], shares.shape[2]
    p = market_params(params, params_offsets, n, n_segments, n_channels)
    next_row, figures_row = row(next_state, n), row(figures, n)
    s = state_view(row(state, n), state_offsets, n_segments, n_channels)
    out = state_view(next_row, state_offsets, n_segments, n_channels)
    f = figures_view(figures_row, figure_offsets, n_segments, n_channels)
    stream = row(streams, n)
    play_period(p, s, row(shares, n), row(enter, n), noisy, stream, out, f)
    rewards[n] = reward(p, s, f)
    observe(p, out, row(observations, n))
    # budget_left is infinite when the budget has no total
    return (
        rewards[n] - rewards[n]
        + _drift(figures_row)
        + _drift(next_row[:budget_left_column])
        + _drift(next_row[budget_left_column + 1 :])
    )


@njit(cache=True, inline="always")
def row(batch, n):
    """Market ``n``'s row of a batch the caller owns, without a reference
    count: counted, each row taken is an atomic increment and decrement of
    the batch's one count, which the threads of a batch contend for (two
    threads ran 1.57x one; uncounted, about 1.9x)."""
    return borrowed(batch)[n]


@njit(cache=True, fastmath={"reassoc"})
def _drift(values):
    """The sum of ``x - x`` over ``values``: 0.0 if every value is finite,
    else NaN. Any order of the sum gives that, so the compiler may reorder it
    (``reassoc``, which keeps NaN and infinity as they are) into vector
    instructions, rather than one long chain of dependent additions."""
    drift = 0.0
    for value in values:
        drift += value - value
    return drift


@njit(cache=True, inline="always")
def market_params(params, params_offsets, n, n_segments, n_channels):
    """Market ``n``'s parameters: row ``n``, or the only row of a shared batch."""
    market_row = row(params, n) if params.shape[0] > 1 else row(params, 0)
    return params_view(market_row, params_offsets, n_segments, n_channels)


@njit(cache=True)
def observe_batch(params, params_offsets, state_offsets, state, n_segments, n_channels, width):
    """(N, width) observations of a batch of state rows."""
    observations = np.empty((state.shape[0], width), dtype=np.float32)
    for n in range(state.shape[0]):
        p = market_params(params, params_offsets, n, n_segments, n_channels)
        observe(p, state_view(state[n], state_offsets, n_segments, n_channels), observations[n])
    return observations


@njit(cache=True)
def money_batch(params, params_offsets, state_offsets, state, n_segments, n_channels):
    """(N,) :func:`~gtmgym.envs.kernel.period.money_available` of a batch."""
    money = np.empty(state.shape[0])
    for n in range(state.shape[0]):
        p = market_params(params, params_offsets, n, n_segments, n_channels)
        s = state_view(state[n], state_offsets, n_segments, n_channels)
        money[n] = money_available(p, s.bank[0], s.budget_left[0])
    return money


@njit(cache=True)
def entry_batch(entered, countdown, delay, enter):
    """Section 1 over a batch: each segment through
    :func:`~gtmgym.envs.kernel.period.segment_entry`."""
    num_envs, n_segments = entered.shape
    entered_now = np.empty((num_envs, n_segments), dtype=np.bool_)
    entered_after = np.empty((num_envs, n_segments), dtype=np.bool_)
    countdown_after = np.empty((num_envs, n_segments), dtype=np.int64)
    selling = np.empty((num_envs, n_segments), dtype=np.bool_)
    for n in range(num_envs):
        for i in range(n_segments):
            now, is_in, left, sells = segment_entry(
                entered[n, i], countdown[n, i], delay[n, i], enter[n, i]
            )
            entered_now[n, i], entered_after[n, i], selling[n, i] = now, is_in, sells
            countdown_after[n, i] = int(left)
    return entered_now, entered_after, countdown_after, selling
