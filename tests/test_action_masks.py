"""``action_masks()`` on both environments, and MaskablePPO (sb3-contrib) on them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

import gtmgym
from gtmgym.agents import evaluate, load, make

TINY_PPO = {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}


def discrete_env(scenario: str = "tabular") -> gym.Env:
    return gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode="discrete")


def test_scalar_action_masks_are_the_info_mask_as_booleans(scenario_name):
    env = discrete_env(scenario_name)
    rng = np.random.default_rng(3)
    _, info = env.reset(seed=0)
    terminated = False
    while not terminated:
        masks = env.unwrapped.action_masks()
        assert masks.dtype == np.bool_
        np.testing.assert_array_equal(masks, info["action_mask"].astype(bool))
        masks[:] = False  # a copy: the env's own mask is untouched
        assert env.unwrapped.action_masks().any()
        _, _, terminated, _, info = env.step(int(rng.integers(env.action_space.n)))


def test_masks_change_once_a_market_is_entered():
    env = discrete_env("tabular")
    _, info = env.reset(seed=0)
    labels = [entry.label for entry in env.unwrapped.codec.entries]
    enter = next(index for index, label in enumerate(labels) if label.startswith("enter"))
    before = env.unwrapped.action_masks()
    assert before[enter]
    env.step(enter)
    assert not env.unwrapped.action_masks()[enter]  # entering twice is masked


def test_vector_action_masks_are_the_batched_info_mask():
    envs = gym.make_vec(
        gtmgym.ENV_ID,
        num_envs=3,
        vectorization_mode="vector_entry_point",
        scenario="tabular",
        action_mode="discrete",
    )
    single = discrete_env("tabular").unwrapped
    assert envs.unwrapped.action_masks().shape == (3, single.action_space.n)
    _, info = envs.reset(seed=0)
    rng = np.random.default_rng(5)
    for _ in range(single.params.periods + 2):  # across an autoreset
        masks = envs.unwrapped.action_masks()
        assert masks.dtype == np.bool_
        np.testing.assert_array_equal(masks, info["action_mask"].astype(bool))
        _, _, _, _, info = envs.step(rng.integers(single.action_space.n, size=3))


@pytest.mark.parametrize("mode", ["continuous", "multidiscrete"])
def test_no_mask_outside_the_discrete_mode(mode):
    env = gym.make(gtmgym.ENV_ID, scenario="tabular", action_mode=mode)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="discrete action mode only"):
        env.unwrapped.action_masks()


def test_maskable_ppo_trains_on_the_env_from_gymnasium_make():
    model = MaskablePPO("MlpPolicy", discrete_env(), seed=0, device="cpu", **TINY_PPO)
    model.learn(256)
    assert model.num_timesteps >= 256


def test_maskable_ppo_trains_under_subproc_vec_env():
    envs = make_vec_env(
        lambda: discrete_env("tabular"), n_envs=2, seed=0, vec_env_cls=SubprocVecEnv
    )
    try:
        masks = np.stack(envs.env_method("action_masks"))
        assert masks.shape == (2, envs.action_space.n) and masks.dtype == np.bool_
        model = MaskablePPO("MlpPolicy", envs, seed=0, device="cpu", **TINY_PPO)
        model.learn(256)
        assert model.num_timesteps >= 256
    finally:
        envs.close()


def test_the_masked_agent_never_picks_a_masked_action():
    agent = make("maskable_ppo", "default", seed=0, **TINY_PPO)
    agent.learn(128)
    env = discrete_env("default")
    picks, unmasked_picks = [], []
    for episode in range(2):
        observation, info = env.reset(seed=100 + episode)
        terminated = False
        while not terminated:
            mask = info["action_mask"].astype(bool)
            picks.append(mask[agent.act(observation, info)])
            sampled, _ = agent.model.predict(observation, deterministic=False, action_masks=mask)
            picks.append(mask[int(sampled)])
            unmasked, _ = agent.model.predict(observation, deterministic=False)
            unmasked_picks.append(mask[int(unmasked)])
            observation, _, terminated, _, info = env.step(agent.act(observation, info))
    assert all(picks)
    assert not all(unmasked_picks)  # without the mask the same policy does pick them


def test_make_maskable_ppo_learns_evaluates_and_reloads(tmp_path):
    agent = make("maskable_ppo", "tabular", seed=1, **TINY_PPO)
    assert agent.action_mode == "discrete"
    agent.learn(200)
    assert agent.model.num_timesteps >= 200
    scores = evaluate(agent, episodes=2, seed=7)
    assert np.isfinite(scores["return"]).all()
    restored = load(agent.save(tmp_path / "maskable"))
    assert evaluate(restored, episodes=2, seed=7)["return"].equals(scores["return"])


def test_maskable_ppo_refuses_the_continuous_mode():
    with pytest.raises(ValueError, match="discrete"):
        make("maskable_ppo", "default", action_mode="continuous")


@pytest.mark.parametrize("mixed", [False, True], ids=["one scenario", "two scenarios"])
def test_vector_masks_are_each_markets_scalar_mask_every_step(mixed):
    """The native env's masks come from tables remembered per pattern of open
    and selling segments: across entries, delays and autoresets each market's
    mask must still be its scalar env's (with two scenarios, each market by
    its own catalogue)."""
    tabular = gtmgym.load_scenario("tabular").model_dump()
    # no margin at home: the "by value" entries spend nothing there, so they
    # are masked while only home sells, which they are not in `tabular`
    other = dict(tabular, name="tabular-no-home-margin")
    other["segments"] = [dict(tabular["segments"][0], gross_margin=0.0), *tabular["segments"][1:]]
    scenarios = [tabular, other, tabular, other] if mixed else [tabular] * 4
    envs = gym.make_vec(
        gtmgym.ENV_ID, num_envs=4, vectorization_mode="vector_entry_point",
        scenario=scenarios if mixed else tabular, action_mode="discrete", noise=False,
    )  # fmt: skip
    singles = [
        gym.make(gtmgym.ENV_ID, scenario=s, action_mode="discrete", noise=False) for s in scenarios
    ]
    _, infos = envs.reset(seed=0)
    scalar_infos = [env.reset(seed=market)[1] for market, env in enumerate(singles)]
    ended = [False] * 4
    rng = np.random.default_rng(8)
    entries = 0
    for step in range(3 * tabular["periods"]):  # three episodes: autoresets
        for market, info in enumerate(scalar_infos):
            np.testing.assert_array_equal(
                infos["action_mask"][market], info["action_mask"], err_msg=f"{step}, {market}"
            )
        actions = [int(rng.choice(np.flatnonzero(info["action_mask"]))) for info in scalar_infos]
        _, _, _, _, infos = envs.step(np.array(actions))
        entries += int(np.asarray(infos.get("entered", np.zeros((4, 1)))).sum())
        for market, env in enumerate(singles):
            if ended[market]:  # next-step autoreset spends this action on the reset
                _, scalar_infos[market] = env.reset()
                ended[market] = False
            else:
                _, _, ended[market], _, scalar_infos[market] = env.step(actions[market])
    assert entries > 0  # the masks did change along the way


@pytest.mark.parametrize("segments", [3, 32], ids=["remembered patterns", "wide patterns"])
def test_catalogue_masks_and_shares_follow_their_rule_for_every_market(segments):
    """The catalogue works masks and shares out once per pattern of open and
    selling segments (3 segments: 6 bits, remembered across calls; 32: 64
    bits, worked out per call): each market's must be what the entries'
    definitions give, to the last bit."""
    from gtmgym.envs.actions import make_codec
    from gtmgym.envs.params import MarketParams
    from gtmgym.scenarios import random_scenario

    source = random_scenario(1, segments=segments, channels=2, periods=4, action_mode="discrete")
    scenario = gtmgym.load_scenario(source)
    codec = make_codec(MarketParams.from_scenario(scenario), scenario, "discrete")
    rng = np.random.default_rng(0)
    for _ in range(3):  # later calls meet patterns seen before
        entered = rng.random((40, segments)) < 0.6
        selling = entered & (rng.random((40, segments)) < 0.7)
        actions = rng.integers(codec.space.n, size=40)
        masks = codec.mask(entered, selling)
        shares, enter = codec.decode(actions, selling)
        for market, action in enumerate(actions):
            sells = selling[market]
            for k, entry in enumerate(codec.entries):
                weight = (entry.weights * sells[:, None]).sum()
                allowed = not (entry.enter & entered[market]).any() and (
                    entry.level == 0 or (not (entry.needs_selling & ~sells).any() and weight > 0)
                )
                assert masks[market, k] == allowed, (market, entry.label)
            entry = codec.entries[action]
            weights = entry.weights * sells[:, None]
            total = weights.sum(keepdims=True)  # as the batched sum over (segments, channels)
            expected = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
            np.testing.assert_array_equal(shares[market], expected * entry.level)
            np.testing.assert_array_equal(enter[market], entry.enter)
