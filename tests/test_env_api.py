"""The Gymnasium contract, for every bundled scenario and action mode."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gtmgym


def make(scenario: str, mode: str, **kwargs) -> gym.Env:
    return gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode=mode, **kwargs)


def rollout(env: gym.Env, seed: int, periods: int | None = None) -> list[tuple]:
    """(observation, reward, terminated) per period, random actions seeded too."""
    observation, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    trajectory = [(observation, 0.0, False)]
    terminated = False
    while not terminated and (periods is None or len(trajectory) <= periods):
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert not truncated
        trajectory.append((observation, reward, terminated))
    return trajectory


def test_registered_with_gymnasium():
    assert gtmgym.ENV_ID in gym.registry
    spec = gym.spec(gtmgym.ENV_ID)
    assert spec.vector_entry_point is not None


def test_gymnasium_check_env_passes_without_warnings(scenario_name, action_mode):
    env = make(scenario_name, action_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped, skip_render_check=True)
    assert [str(w.message) for w in caught] == []


def test_sb3_check_env_passes_without_warnings(scenario_name, action_mode):
    env = make(scenario_name, action_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env.unwrapped, warn=True)
    assert [str(w.message) for w in caught] == []


def test_seeded_rollout_is_reproducible(scenario_name, action_mode):
    first = rollout(make(scenario_name, action_mode), seed=7)
    second = rollout(make(scenario_name, action_mode), seed=7)
    assert len(first) == len(second)
    for (obs_a, reward_a, done_a), (obs_b, reward_b, done_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b and done_a == done_b


def test_different_seeds_give_different_draws():
    first = rollout(make("default", "discrete"), seed=1)
    second = rollout(make("default", "discrete"), seed=2)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, second, strict=False))


def test_episode_lasts_the_horizon_and_ends_terminated(scenario_name):
    env = make(scenario_name, "discrete", noise=False)
    periods = gtmgym.load_scenario(scenario_name).periods
    trajectory = rollout(env, seed=0)
    assert trajectory[-1][2] is True
    bankrupt_early = len(trajectory) - 1 < periods
    assert len(trajectory) - 1 == periods or bankrupt_early
    assert trajectory[-1][0][-1] == 0.0 or bankrupt_early  # no time remaining


def test_observations_finite_and_in_space(scenario_name, action_mode):
    env = make(scenario_name, action_mode)
    for seed in range(3):
        for observation, reward, _ in rollout(env, seed=seed):
            assert np.isfinite(observation).all()
            assert np.isfinite(reward)
            assert env.observation_space.contains(observation)


def test_env_pickles_mid_episode(scenario_name, action_mode):
    env = make(scenario_name, action_mode)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(2):
        env.step(env.action_space.sample())
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(3):
        action = env.action_space.sample()
        obs_a, reward_a, *_ = env.step(action)
        obs_b, reward_b, *_ = clone.step(action)
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b


def test_make_overrides_noise_and_mode():
    env = make("default", "continuous", noise=False)
    assert isinstance(env.action_space, gym.spaces.Box)
    assert env.unwrapped.params.noise is False
    rewards = {rollout(env, seed=seed)[-1][1] for seed in range(3)}
    # with noise off, the seed only drives the (seeded) random actions
    assert len(rewards) == 3


def test_noise_off_is_deterministic_for_fixed_actions():
    def returns(seed: int) -> list[float]:
        env = make("default", "discrete", noise=False)
        env.reset(seed=seed)
        return [env.step(1)[1] for _ in range(10)]

    assert returns(0) == returns(123)


def test_discrete_mask_marks_entry_once():
    env = make("default", "discrete", noise=False)
    codec = env.unwrapped.codec
    enter = next(i for i, e in enumerate(codec.entries) if e.enter.any())
    _, info = env.reset(seed=0)
    assert info["action_mask"][enter] == 1
    _, _, _, _, info = env.step(enter)
    assert info["entered"].any()
    assert info["action_mask"][enter] == 0


def test_spend_aimed_at_closed_segment_is_not_spent():
    env = make("default", "continuous", noise=False)
    scenario = env.unwrapped.scenario
    closed = next(i for i, s in enumerate(scenario.segments) if not s.open_at_start)
    n_channels = len(scenario.channels)
    action = -np.ones(env.action_space.shape, dtype=np.float32)
    action[closed * n_channels] = 1.0  # all weight on a pair of the closed segment
    env.reset(seed=0)
    _, _, _, _, info = env.step(action)
    assert info["spend"].sum() == 0.0
    assert info["blocked_spend"][closed, 0] == info["available"]
    assert info["unspent"] == info["available"]


def test_changing_the_info_arrays_does_not_change_the_market():
    """Callers may write into what ``info`` hands them; the env keeps its own."""
    played = []
    for scribble in (False, True):
        env = gym.make(gtmgym.ENV_ID, scenario="default", action_mode="discrete", noise=False)
        _, info = env.reset(seed=0)
        rewards = []
        for _ in range(6):
            if scribble:
                info["selling"][:] = True
                info["open"][:] = True
                info["action_mask"][:] = 0
            _, reward, _, _, info = env.step(1)
            rewards.append(reward)
        played.append(rewards)
    assert played[0] == played[1]


def test_pre_decision_info_matches_the_state_through_entries(scenario_name):
    """open, selling and the mask are remembered per entry pattern; never stale."""
    env = make(scenario_name, "discrete")
    codec = env.unwrapped.codec
    _, info = env.reset(seed=3)
    choices = np.random.default_rng(3)  # the test's own draws, not the env's stream
    terminated, patterns = False, set()
    while not terminated:
        state = env.unwrapped.state
        assert info["open"].tolist() == state.entered[0].tolist()
        assert info["selling"].tolist() == state.selling[0].tolist()
        expected_mask = codec.mask(state.entered, state.selling)[0]
        assert info["action_mask"].tolist() == expected_mask.tolist()
        patterns.add((tuple(state.entered[0]), tuple(state.countdown[0])))
        allowed = np.flatnonzero(info["action_mask"])
        entering = [k for k in allowed if codec.entries[k].enter.any()]
        if entering and info["period"] >= 1:  # enter as soon as one can, after a period
            action = int(entering[0])
        else:
            action = int(allowed[choices.integers(len(allowed))])
        *_, terminated, _, info = env.step(action)
    closed_at_start = not env.unwrapped.params.open_at_start.all()
    assert len(patterns) >= (2 if closed_at_start else 1), patterns
