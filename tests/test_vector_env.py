"""The native vector env against N scalar envs: exact without noise,
the same distributions with noise."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
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
    assert "profit" not in infos and "_profit" not in infos  # no market played: as SyncVectorEnv


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


def test_a_list_of_seeds_equals_scalar_envs_reset_with_those_seeds(scenario_name):
    seeds = [0, 1, 2]
    envs = make_vec(3, scenario=scenario_name, action_mode="discrete", noise=False)
    singles = [
        gym.make(gtmgym.ENV_ID, scenario=scenario_name, action_mode="discrete", noise=False)
        for _ in seeds
    ]
    observations, infos = envs.reset(seed=seeds)
    starts = [env.reset(seed=seed) for env, seed in zip(singles, seeds, strict=True)]
    for market, (observation, info) in enumerate(starts):
        np.testing.assert_array_equal(observations[market], observation)
        np.testing.assert_array_equal(infos["action_mask"][market], info["action_mask"])
    actions = np.random.default_rng(4).integers(envs.single_action_space.n, size=(5, 3))
    for batch in actions:
        observations, rewards, _, _, _ = envs.step(batch)
        for market, env in enumerate(singles):
            observation, reward, *_ = env.step(batch[market])
            np.testing.assert_allclose(observations[market], observation, rtol=1e-6)
            assert rewards[market] == pytest.approx(reward, rel=1e-9, abs=1e-12)


def test_a_list_of_seeds_is_checked_and_reproducible():
    envs = make_vec(3, scenario="default", action_mode="discrete", noise=True)

    def profits(seed) -> np.ndarray:
        envs.reset(seed=seed)
        return np.stack([envs.step(np.ones(3, dtype=int))[4]["profit"] for _ in range(3)])

    np.testing.assert_array_equal(profits([5, 6, 7]), profits([5, 6, 7]))
    assert not np.array_equal(profits([5, 6, 7]), profits([5, 6, 8]))
    envs.reset(seed=[None, None, None])
    with pytest.raises(ValueError, match="one per market: 3, got 2"):
        envs.reset(seed=[0, 1])
    envs.reset(seed=[0, None, 2])  # market 1 unseeded, the others seeded
    with pytest.raises(gym.error.Error, match="Seed must be"):
        envs.reset(seed=[0, -1, 2])


def sync_and_native(autoreset_mode: AutoresetMode, num_envs: int = 2):
    kwargs = {"scenario": "tabular", "action_mode": "discrete", "noise": False}
    sync = gym.make_vec(
        gtmgym.ENV_ID,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": autoreset_mode},
        **kwargs,
    )
    native = make_vec(num_envs, autoreset_mode=autoreset_mode, **kwargs)
    return sync, native


def assert_same_keys(native: dict, sync: dict) -> None:
    assert sorted(native) == sorted(sync)
    for key, value in sync.items():
        if isinstance(value, dict):
            assert_same_keys(native[key], value)
        elif key.startswith("_"):
            np.testing.assert_array_equal(native[key], value, err_msg=key)
        elif value.dtype != object:
            assert native[key].shape == value.shape and native[key].dtype == value.dtype, key


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_info_keys_match_sync_vector_env(autoreset_mode):
    sync, native = sync_and_native(autoreset_mode)
    assert native.metadata["autoreset_mode"] == autoreset_mode
    _, sync_info = sync.reset(seed=0)
    _, native_info = native.reset(seed=0)
    assert_same_keys(native_info, sync_info)
    periods = native.unwrapped.params.periods
    schedule = [np.array([1, 1])] * (periods - 1) + [np.array([2, 3])] * 3  # past the end
    for actions in schedule:
        *sync_results, sync_info = sync.step(actions)
        *native_results, native_info = native.step(actions)
        for sync_result, native_result in zip(sync_results, native_results, strict=True):
            np.testing.assert_allclose(native_result, sync_result, rtol=1e-6)
        assert_same_keys(native_info, sync_info)
        for key in ("profit", "customers", "action_mask", "period"):
            if key in sync_info:
                held = sync_info[f"_{key}"]
                np.testing.assert_allclose(native_info[key][held], sync_info[key][held], rtol=1e-9)


def test_same_step_autoreset_gives_final_obs_like_sync_vector_env():
    sync, native = sync_and_native(AutoresetMode.SAME_STEP)
    sync_start, _ = sync.reset(seed=0)
    native_start, _ = native.reset(seed=0)
    periods = native.unwrapped.params.periods
    for _ in range(periods - 1):
        sync.step(np.array([1, 1]))
        _, _, terminated, _, info = native.step(np.array([1, 1]))
        assert not terminated.any() and "final_obs" not in info
    sync_obs, _, sync_done, _, sync_info = sync.step(np.array([1, 1]))
    native_obs, _, native_done, _, native_info = native.step(np.array([1, 1]))
    assert native_done.all() and sync_done.all()
    np.testing.assert_array_equal(native_obs, native_start)  # restarted in the same step
    np.testing.assert_array_equal(native_obs, sync_obs)
    np.testing.assert_array_equal(native_info["_final_obs"], [True, True])
    for market in range(2):
        np.testing.assert_allclose(
            native_info["final_obs"][market], sync_info["final_obs"][market], rtol=1e-6
        )
        assert not np.array_equal(native_info["final_obs"][market], native_start[market])
    final = native_info["final_info"]
    np.testing.assert_allclose(final["profit"], sync_info["final_info"]["profit"], rtol=1e-9)
    assert (final["period"] == periods).all()
    assert (native_info["period"] == 0).all()


@pytest.mark.parametrize("mode", [AutoresetMode.DISABLED, "sideways"])
def test_other_autoreset_modes_are_refused_naming_the_supported(mode):
    with pytest.raises(ValueError, match=r"NEXT_STEP.*SAME_STEP"):
        make_vec(2, scenario="tabular", autoreset_mode=mode)
