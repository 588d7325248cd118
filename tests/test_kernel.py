"""The kernel: named views match the records, each market draws from its own
stream, a batch may mix markets, and threads do not change a bit."""

from __future__ import annotations

import gymnasium as gym
import numba
import numpy as np
import pytest

import gtmgym
from gtmgym.envs import kernel
from gtmgym.envs.kernel import layouts
from gtmgym.envs.kernel.advance import PARALLEL_FROM
from gtmgym.envs.params import MarketParams
from gtmgym.scenarios import random_scenario

VIEWS = (
    (layouts.Params, layouts.ParamsView, layouts.params_view),
    (layouts.MarketState, layouts.StateView, layouts.state_view),
    (layouts.PeriodFigures, layouts.FiguresView, layouts.figures_view),
)


@pytest.mark.parametrize(("record", "view", "unpack"), VIEWS, ids=lambda v: v.__name__)
def test_every_field_of_a_view_is_its_records_field(record, view, unpack):
    """The view functions list fields by position: a field out of order would
    read another's columns (random values make every column distinct)."""
    segments, channels = 3, 2
    assert view._fields == tuple(field.name for field in record.FIELDS)
    where = record.layout_for(segments, channels)
    row = np.random.default_rng(0).uniform(1.0, 2.0, where.width)
    unpacked = unpack(row, where.offsets, segments, channels)
    for field in record.FIELDS:
        start, shape = where.starts[field.name], where.shapes[field.name]
        columns = row[start : start + int(np.prod(shape, dtype=np.int64))].reshape(shape)
        got = np.asarray(getattr(unpacked, field.name))
        if got.dtype == bool:  # a flag of the parameters, read as a bool
            columns = columns != 0.0
        np.testing.assert_array_equal(
            got.reshape(shape), columns, err_msg=f"{record.__name__}.{field.name}"
        )


def test_params_record_holds_every_parameter_of_the_scenario():
    params = MarketParams.from_scenario(gtmgym.load_scenario("global-expansion"))
    record = params.kernel
    for field in layouts.Params.FIELDS:
        value = getattr(record, field.name)[0]
        if field.name == "objective":
            assert layouts.OBJECTIVES[value] == params.objective
        else:
            np.testing.assert_array_equal(value, getattr(params, field.name), err_msg=field.name)


def scalar_episodes(scenario: str, seed: int, actions: np.ndarray) -> list:
    """(observation, reward, terminated) per action of a scalar env reset with
    ``seed``, reset without one on the action after an episode ends (as
    next-step autoreset spends that action on the reset)."""
    env = gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode="discrete", noise=True)
    env.reset(seed=seed)
    played, terminated = [], False
    for action in actions:
        if terminated:
            observation, _ = env.reset()
            played.append((observation, 0.0, False))
            terminated = False
            continue
        observation, reward, terminated, _, _ = env.step(action)
        played.append((observation, reward, terminated))
    return played


def test_noise_on_market_i_plays_a_scalar_env_seeded_s_plus_i(scenario_name):
    """Gymnasium's vector seeding convention, noise on, across an autoreset."""
    markets, seed = 3, 11
    envs = gym.make_vec(
        gtmgym.ENV_ID, num_envs=markets, vectorization_mode="vector_entry_point",
        scenario=scenario_name, action_mode="discrete", noise=True,
    )  # fmt: skip
    periods = envs.unwrapped.params.periods
    steps = periods + 3  # past the end of the first episode
    actions = np.random.default_rng(1).integers(envs.single_action_space.n, size=(steps, markets))
    envs.reset(seed=seed)
    vector = [envs.step(batch)[:3] for batch in actions]
    for market in range(markets):
        scalar = scalar_episodes(scenario_name, seed + market, actions[:, market])
        for step, (observations, rewards, terminated) in enumerate(vector):
            observation, reward, done = scalar[step]
            np.testing.assert_array_equal(observations[market], observation, err_msg=f"{step}")
            assert rewards[market] == reward and terminated[market] == done, (market, step)


def test_a_batch_of_different_scenarios_plays_each_as_its_scalar_env():
    """Two markets of one shape with different parameters, noise on and off."""
    first = random_scenario(3, segments=2, channels=2, periods=6, noise=True)
    second = random_scenario(4, segments=2, channels=2, periods=8, noise=True)
    second["segments"] = [
        dict(segment, name=old["name"])
        for segment, old in zip(second["segments"], first["segments"], strict=True)
    ]
    second["channels"] = [
        dict(channel, name=old["name"])
        for channel, old in zip(second["channels"], first["channels"], strict=True)
    ]
    for noise in (False, True):
        envs = gym.make_vec(
            gtmgym.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point",
            scenario=[first, second], action_mode="continuous", noise=noise,
        )  # fmt: skip
        singles = [
            gym.make(gtmgym.ENV_ID, scenario=source, action_mode="continuous", noise=noise)
            for source in (first, second)
        ]
        observations, _ = envs.reset(seed=[5, 9])
        for market, (env, seed) in enumerate(zip(singles, (5, 9), strict=True)):
            np.testing.assert_array_equal(observations[market], env.reset(seed=seed)[0])
        shape = (6, 2, *envs.single_action_space.shape)
        actions = np.random.default_rng(2).uniform(-1, 1, shape).astype(np.float32)
        for batch in actions:
            observations, rewards, _, _, infos = envs.step(batch)
            for market, env in enumerate(singles):
                observation, reward, _, _, info = env.step(batch[market])
                np.testing.assert_array_equal(observations[market], observation)
                assert rewards[market] == reward
                np.testing.assert_array_equal(infos["spend"][market], info["spend"])


def test_a_batch_refuses_scenarios_of_another_shape():
    other = random_scenario(5, segments=3, channels=2, periods=6)
    with pytest.raises(gtmgym.ScenarioError, match="scenario 1 .* segments"):
        gym.make_vec(
            gtmgym.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point",
            scenario=["default", other],
        )  # fmt: skip


def test_results_do_not_depend_on_the_number_of_threads():
    envs = gym.make_vec(
        gtmgym.ENV_ID, num_envs=2 * PARALLEL_FROM, vectorization_mode="vector_entry_point",
        scenario="global-expansion", action_mode="discrete", noise=True,
    )  # fmt: skip
    size = (10, envs.num_envs)
    actions = np.random.default_rng(3).integers(envs.single_action_space.n, size=size)

    def play(threads: int) -> list[np.ndarray]:
        numba.set_num_threads(threads)
        try:
            envs.reset(seed=0)
            return [np.concatenate([out[0].ravel(), out[1]]) for out in map(envs.step, actions)]
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    for one, many in zip(play(1), play(numba.config.NUMBA_NUM_THREADS), strict=True):
        np.testing.assert_array_equal(one, many)


def test_advance_checks_the_parameter_rows():
    params = MarketParams.from_scenario(gtmgym.load_scenario("default"))
    state = kernel.initial_state(params.kernel, 3, noise=False)
    two = layouts.Params.stack([params.kernel, params.kernel])
    shares = np.zeros((3, params.n_segments, params.n_channels))
    enter = np.zeros((3, params.n_segments), dtype=bool)
    with pytest.raises(ValueError, match="2 parameter rows for 3 markets"):
        kernel.advance(two, state, shares, enter)
