"""The native vector env against N scalar envs: exact without noise,
the same distributions with noise."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import gtmgym
from gtmgym.envs.vector_market_expansion import MarketExpansionVectorEnv


def make_vec(num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(
        gtmgym.ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def test_make_vec_builds_the_native_vector_env():
    envs = make_vec(3, scenario="default")
    assert isinstance(envs.unwrapped, MarketExpansionVectorEnv)
    assert envs.observation_space.shape == (3, *envs.single_observation_space.shape)


@pytest.mark.parametrize("action_mode", ["continuous", "discrete", "multidiscrete"])
def test_vector_equals_scalar_envs_without_noise(scenario_name, action_mode):
    num_envs = 4
    envs = make_vec(num_envs, scenario=scenario_name, action_mode=action_mode, noise=False)
    singles = [
        gym.make(gtmgym.ENV_ID, scenario=scenario_name, action_mode=action_mode, noise=False)
        for _ in range(num_envs)
    ]
    observations, _ = envs.reset(seed=0)
    for env_index, env in enumerate(singles):
        observation, _ = env.reset(seed=env_index)
        np.testing.assert_array_equal(observations[env_index], observation)
    envs.action_space.seed(11)
    terminated = np.zeros(num_envs, dtype=bool)
    while not terminated.all():
        actions = envs.action_space.sample()
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        assert not truncated.any()
        for env_index, env in enumerate(singles):
            observation, reward, done, _, info = env.step(actions[env_index])
            np.testing.assert_allclose(observations[env_index], observation, rtol=1e-6)
            np.testing.assert_allclose(rewards[env_index], reward, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(infos["spend"][env_index], info["spend"], rtol=1e-12)
            np.testing.assert_allclose(infos["customers"][env_index], info["customers"], rtol=1e-12)
            assert terminated[env_index] == done


def test_next_step_autoreset():
    envs = make_vec(2, scenario="default", noise=False)
    first, _ = envs.reset(seed=0)
    periods = envs.unwrapped.params.periods
    for _ in range(periods):
        _, _, terminated, _, _ = envs.step(np.array([1, 1]))
    assert terminated.all()
    observations, rewards, terminated, _, infos = envs.step(np.array([1, 1]))
    np.testing.assert_array_equal(observations, first)
    np.testing.assert_array_equal(rewards, 0.0)
    assert not terminated.any()
    assert not infos["_profit"].any()


def simulate_vector(num_episodes: int, seed: int) -> dict[str, np.ndarray]:
    envs = make_vec(num_episodes, scenario="default")
    return play_even_split_with_entry(envs, seed, batched=True)


def simulate_scalar(num_episodes: int, seed: int) -> dict[str, np.ndarray]:
    env = gym.make(gtmgym.ENV_ID, scenario="default")
    runs = [
        play_even_split_with_entry(env, seed + episode, batched=False)
        for episode in range(num_episodes)
    ]
    return {key: np.stack([run[key] for run in runs], axis=1) for key in runs[0]}


def play_even_split_with_entry(env, seed: int, batched: bool) -> dict[str, np.ndarray]:
    """Enter every closed market at once, then split the budget evenly.

    Returns per-period figures with shape (periods, episodes, ...).
    """
    codec = env.unwrapped.codec
    enter = [i for i, entry in enumerate(codec.entries) if entry.enter.any()]
    even = next(i for i, e in enumerate(codec.entries) if e.label.startswith("spend 100%, even"))
    plan = enter + [even] * (env.unwrapped.params.periods - len(enter))
    env.reset(seed=seed)
    figures: dict[str, list] = {"customers": [], "profit": [], "won": [], "churned": []}
    for action in plan:
        action = np.full(env.num_envs, action) if batched else action
        *_, info = env.step(action)
        for key in figures:
            value = np.asarray(info[key], dtype=float)
            figures[key].append(value if batched else value[None])
    return {key: np.concatenate([v[None] for v in values]) for key, values in figures.items()}


def test_vector_and_scalar_draw_from_the_same_distributions():
    vector = simulate_vector(2000, seed=2024)
    scalar = simulate_scalar(300, seed=7)
    for key in ("customers", "profit", "won", "churned"):
        v = vector[key].reshape(vector[key].shape[0], vector[key].shape[1], -1)
        s = scalar[key].reshape(scalar[key].shape[0], -1, v.shape[-1])
        for period in (0, 5, 12, 23):
            for column in range(v.shape[-1]):
                a, b = v[period, :, column], s[period, :, column]
                if a.std() == 0 and b.std() == 0:
                    assert a.mean() == b.mean()
                    continue
                # same mean: Welch's t-test; same spread: Levene's test
                assert stats.ttest_ind(a, b, equal_var=False).pvalue > 1e-4, (key, period)
                assert stats.levene(a, b).pvalue > 1e-4, (key, period)


def test_noise_on_vector_env_is_reproducible_for_a_seed():
    first = simulate_vector(50, seed=5)
    second = simulate_vector(50, seed=5)
    other = simulate_vector(50, seed=6)
    np.testing.assert_array_equal(first["profit"], second["profit"])
    assert not np.array_equal(first["profit"], other["profit"])
