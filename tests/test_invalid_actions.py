"""Actions outside the space are refused loudly, and leave the market untouched."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gtmgym

N_SEGMENTS, N_CHANNELS = 3, 3  # the default scenario
CONTINUOUS_WIDTH = N_SEGMENTS * N_CHANNELS + 1 + N_SEGMENTS
CATALOGUE_SIZE = gym.make(gtmgym.ENV_ID, scenario="default", action_mode="discrete").action_space.n

BAD_ACTIONS = {
    "continuous": [
        np.full(CONTINUOUS_WIDTH, 1.5, dtype=np.float32),
        np.zeros(CONTINUOUS_WIDTH - 1, dtype=np.float32),
        np.array([np.nan] + [0.0] * (CONTINUOUS_WIDTH - 1), dtype=np.float32),
    ],
    "discrete": [-1, CATALOGUE_SIZE, 2.5, np.nan, [1, 2]],
    "multidiscrete": [
        np.full(N_SEGMENTS * N_CHANNELS + N_SEGMENTS, 9),
        np.zeros(3, dtype=np.int64),
        np.array([0.5] * (N_SEGMENTS * N_CHANNELS + N_SEGMENTS)),
    ],
}
GOOD_ACTIONS = {
    "continuous": np.zeros(CONTINUOUS_WIDTH, dtype=np.float32),
    "discrete": 1,
    "multidiscrete": np.ones(N_SEGMENTS * N_CHANNELS + N_SEGMENTS, dtype=np.int64),
}


@pytest.mark.parametrize(
    "mode, bad", [(mode, bad) for mode, actions in BAD_ACTIONS.items() for bad in actions]
)
def test_bad_action_is_refused_and_changes_nothing(mode, bad):
    env = gym.make(gtmgym.ENV_ID, scenario="default", action_mode=mode)
    env.reset(seed=4)
    with pytest.raises(gtmgym.InvalidActionError, match=mode):
        env.step(bad)
    after_refusal = env.step(GOOD_ACTIONS[mode])

    fresh = gym.make(gtmgym.ENV_ID, scenario="default", action_mode=mode)
    fresh.reset(seed=4)
    expected = fresh.step(GOOD_ACTIONS[mode])
    np.testing.assert_array_equal(after_refusal[0], expected[0])
    assert after_refusal[1] == expected[1]


def test_error_says_what_is_allowed():
    env = gym.make(gtmgym.ENV_ID, scenario="default", action_mode="discrete")
    env.reset(seed=0)
    with pytest.raises(gtmgym.InvalidActionError, match=rf"\[0, {CATALOGUE_SIZE}\)"):
        env.step(CATALOGUE_SIZE + 10)


def test_step_before_reset_and_after_the_end_are_errors():
    env = gtmgym.MarketExpansionEnv("tabular")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for _ in range(env.params.periods):
        *_, terminated, _, _ = env.step(0)
    assert terminated
    with pytest.raises(RuntimeError, match="ended"):
        env.step(0)


def test_vector_env_refuses_a_batch_of_the_wrong_size():
    envs = gym.make_vec(gtmgym.ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="batch of 3"):
        envs.step(np.array([1, 1]))
    with pytest.raises(gtmgym.InvalidActionError):
        envs.step(np.array([1, 1, 99]))
