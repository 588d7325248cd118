"""An environment step in one compiled call: dynamics, reward and observation.

Both environments step through :func:`advance`. It runs the same compiled
functions as :func:`gtmgym.envs.dynamics.step`,
:func:`gtmgym.envs.reward.reward` and :func:`gtmgym.envs.observation.observe`,
fused so that a step crosses from Python into compiled code once.

A period whose figures, reward or state are not finite (float64 overflowed,
or 0/0) raises :class:`NonFiniteStateError` naming the period and the
figures, never returns: the compiled call checks its own output (a few
hundred comparisons) and the message is built only on failure. The
scenario's allowed ranges are chosen so that this never happens.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gtmgym.envs import randomness
from gtmgym.envs import state as st
from gtmgym.envs.dynamics import NO_KEY, play_batch
from gtmgym.envs.figures import PeriodFigures
from gtmgym.envs.info import ARRAY_KEYS, SCALAR_KEYS
from gtmgym.envs.loader import ScenarioError
from gtmgym.envs.observation import observe_row
from gtmgym.envs.params import MarketParams
from gtmgym.envs.record import Record
from gtmgym.envs.reward import reward_row
from gtmgym.envs.state import MarketState

SHOWN = 6  # non-finite figures named in a message


class NonFiniteStateError(ScenarioError):
    """A period's figures or state came out NaN or infinite: the scenario's
    numbers are beyond what float64 holds (docs/model.md, Allowed ranges).

    The message names the period (counted from 1) and the figures."""


def advance(
    params: MarketParams,
    state: MarketState,
    shares: np.ndarray,
    enter: np.ndarray,
    rng: np.random.Generator | None,
    observation_size: int,
) -> tuple[MarketState, PeriodFigures, np.ndarray, np.ndarray]:
    """One period for a batch: (next state, figures, rewards (N,), observations (N, D)).

    Raises:
        NonFiniteStateError: a figure, reward or state entry of the period is
            not finite (or a random draw was given a non-finite input).
    """
    figures_layout = PeriodFigures.layout_for(params.n_segments, params.n_channels)
    try:
        next_state, figures, rewards, observations, finite = advance_batch(
            *params.tables,
            state.layout.offsets,
            figures_layout.offsets,
            state.data,
            shares,
            enter,
            rng is not None,
            randomness.stream_key(rng) if rng is not None else NO_KEY,
            observation_size,
        )
    except randomness.SamplerInputError as error:
        raise NonFiniteStateError(
            f"{_periods(state)}: a random draw was given a non-finite input ({error}); {_ADVICE}"
        ) from error
    next_record = MarketState.wrap(next_state, state.layout)
    figures_record = PeriodFigures.wrap(figures, figures_layout)
    if not finite:
        raise NonFiniteStateError(non_finite_message(state, next_record, figures_record, rewards))
    return next_record, figures_record, rewards, observations


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
def advance_batch(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    effectiveness: np.ndarray,
    lifetime_value: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    figure_offsets: np.ndarray,
    state: np.ndarray,
    shares: np.ndarray,
    enter: np.ndarray,
    noisy: bool,
    key: np.ndarray,
    observation_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(next state, figures, rewards, observations, whether all of it is finite)."""
    next_state, figures = play_batch(
        segment_table,
        channel_table,
        effectiveness,
        lifetime_value,
        settings,
        state_offsets,
        figure_offsets,
        state,
        shares,
        enter,
        noisy,
        key,
    )
    rewards = np.empty(state.shape[0])
    observations = np.empty((state.shape[0], observation_size), dtype=np.float32)
    finite = True
    budget_left = state_offsets[st.BUDGET_LEFT]
    for n in range(state.shape[0]):
        rewards[n] = reward_row(lifetime_value, settings, figure_offsets, figures[n])
        observe_row(
            segment_table, channel_table, settings, state_offsets, next_state[n], observations[n]
        )
        # x - x is 0 for a finite x and NaN for NaN or an infinity; one sum per
        # row keeps the check to a pass over it
        drift = rewards[n] - rewards[n]
        for value in figures[n]:
            drift += value - value
        row = next_state[n]
        for k in range(row.shape[0]):
            if k != budget_left:  # infinite when the budget has no total
                drift += row[k] - row[k]
        finite = finite and drift == 0.0
    return next_state, figures, rewards, observations, finite
