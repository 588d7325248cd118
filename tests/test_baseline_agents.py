"""The baselines every agent is measured against: the even split and random actions."""

from __future__ import annotations

import numpy as np
import pytest

import gtmgym
from gtmgym.agents import make, with_state

MODES = ("continuous", "discrete", "multidiscrete")


def rollout(agent_name: str, scenario: str, mode: str, seed: int = 0, noise: bool = False):
    """(actions, infos) of one episode of ``agent_name`` seeded with ``seed``; each
    info is the step's, with ``selling_before`` (the segments selling when the
    action was chosen) added."""
    env = gtmgym.MarketExpansionEnv(scenario, action_mode=mode, noise=noise)
    agent = make(agent_name, scenario, seed=seed, action_mode=mode)
    observation, info = env.reset(seed=seed)
    actions, infos = [], []
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(observation, with_state(env, info))
        selling = info["selling"]
        observation, _, terminated, truncated, info = env.step(action)
        actions.append(np.asarray(action))
        infos.append(info | {"selling_before": selling})
    return actions, infos


@pytest.mark.parametrize("mode", MODES)
def test_equal_spends_all_the_money_evenly_on_selling_pairs_and_never_enters(scenario_name, mode):
    params = make("equal", scenario_name, action_mode=mode).params
    _, infos = rollout("equal", scenario_name, mode)
    for info in infos:
        assert not info["entered"].any()
        pairs = info["selling_before"][:, None] & params.available
        spend = info["spend"]
        if pairs.any():
            np.testing.assert_allclose(spend.sum(), info["available"], rtol=1e-9)
            np.testing.assert_allclose(spend[pairs], spend[pairs].max(), rtol=1e-9)
        assert (spend[~pairs] == 0).all()


def test_equal_in_each_mode_is_the_same_decision():
    spends = [np.stack([i["spend"] for i in rollout("equal", "default", m)[1]]) for m in MODES]
    for spend in spends[1:]:
        np.testing.assert_allclose(spend, spends[0], rtol=1e-9)


def test_equal_picks_the_catalogue_even_split():
    agent = make("equal", "default", action_mode="discrete")
    _, info = gtmgym.MarketExpansionEnv("default", action_mode="discrete").reset(seed=0)
    label = agent.codec.entries[agent.act(None, info)].label
    assert label == "spend 100%, even over selling segments x channels"


@pytest.mark.parametrize("mode", MODES)
def test_random_is_reproducible_for_a_seed_and_varies_with_it(mode):
    first, _ = rollout("random", "default", mode, seed=4, noise=True)
    again, _ = rollout("random", "default", mode, seed=4, noise=True)
    other, _ = rollout("random", "default", mode, seed=5, noise=True)
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))


@pytest.mark.parametrize("mode", MODES)
def test_random_actions_are_in_the_space(mode):
    env = gtmgym.MarketExpansionEnv("default", action_mode=mode)
    actions, _ = rollout("random", "default", mode, seed=1)
    assert all(env.action_space.contains(action) for action in actions)


def test_random_discrete_only_picks_entries_the_mask_allows():
    env = gtmgym.MarketExpansionEnv("default", action_mode="discrete")
    agent = make("random", "default", seed=2, action_mode="discrete")
    observation, info = env.reset(seed=2)
    terminated = False
    while not terminated:
        action = agent.act(observation, info)
        assert info["action_mask"][action]
        observation, _, terminated, _, info = env.step(action)
