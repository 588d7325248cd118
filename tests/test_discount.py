"""``discount_rate``: rewards as present values under profit and lifetime value (issue 14)."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
import yaml

import gtmgym
from gtmgym.agents import make
from gtmgym.agents.evaluation import evaluate
from gtmgym.agents.planner import BASELINES
from gtmgym.cli import main
from gtmgym.envs import ENV_ID, ScenarioError
from gtmgym.scenarios import random_scenario


def play(scenario, actions) -> tuple[list[float], list[dict]]:
    env = gym.make(ENV_ID, scenario=scenario, noise=False)
    info = env.reset(seed=0)[1]
    rewards, infos = [], [info]
    for action in actions:
        _, reward, terminated, _, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
        if terminated:
            break
    return rewards, infos


@pytest.mark.parametrize("name", ["default", "channel-allocation"])
def test_period_t_is_worth_its_undiscounted_reward_over_1_plus_r_to_the_t_minus_1(name):
    """``default`` is rewarded by profit, ``channel-allocation`` by lifetime value."""
    plain = gtmgym.load_scenario(name).model_dump()
    rate = 0.05
    discounted = dict(copy.deepcopy(plain), discount_rate=rate)
    actions = np.random.default_rng(1).integers(0, 5, plain["periods"])
    undiscounted_rewards, plain_infos = play(plain, actions)
    discounted_rewards, discounted_infos = play(discounted, actions)
    assert len(discounted_rewards) == plain["periods"]
    for ours, theirs in zip(discounted_infos, plain_infos, strict=True):
        np.testing.assert_array_equal(ours.get("customers", 0.0), theirs.get("customers", 0.0))
    if plain["objective"] == "profit":
        pairs = zip(discounted_rewards, undiscounted_rewards, strict=True)
        for t, (ours, theirs) in enumerate(pairs, 1):
            assert ours == pytest.approx(theirs * (1 + rate) ** -(t - 1), rel=1e-12, abs=1e-12)
        return
    # lifetime value: a customer is worth value * (1 + r) / (r + churn), not value / churn
    env = gym.make(ENV_ID, scenario=discounted).unwrapped
    params = env.params
    customer_value = params.customer_value[:, :-1]
    worth = customer_value * (1 + rate) / (rate + params.churn[:, None])
    np.testing.assert_allclose(params.lifetime_value[:, :-1], worth, rtol=1e-14)
    budget = params.budget_per_period
    periods = zip(discounted_rewards, discounted_infos[1:], strict=True)
    for t, (reward, info) in enumerate(periods, 1):
        costs = info["entry_costs"].sum() + info["operating_costs"].sum() + info["spend"].sum()
        booked = ((info["won_by_channel"] * worth).sum() - costs) / budget
        assert reward == pytest.approx(booked * (1 + rate) ** -(t - 1), rel=1e-12, abs=1e-12)


def test_no_discount_is_the_undiscounted_model_bit_for_bit():
    plain = gtmgym.load_scenario("default").model_dump()
    actions = np.random.default_rng(2).integers(0, 5, plain["periods"])
    zero = dict(copy.deepcopy(plain), discount_rate=0.0)
    assert play(zero, actions)[0] == play(plain, actions)[0]


def test_a_discount_rate_may_be_uncertain():
    data = gtmgym.load_scenario("default").model_dump()
    data["discount_rate"] = {"uniform": [0.01, 0.05]}
    env = gym.make(ENV_ID, scenario=data, noise=False)
    rate = env.reset(seed=3)[1]["parameters"]["discount_rate"]
    assert 0.01 <= rate <= 0.05
    rewards = [env.step(1)[1] for _ in range(3)]
    plain = gym.make(ENV_ID, scenario="default", noise=False)
    plain.reset(seed=3)
    undiscounted = [plain.step(1)[1] for _ in range(3)]
    for t, (ours, theirs) in enumerate(zip(rewards, undiscounted, strict=True), 1):
        assert ours == pytest.approx(theirs * (1 + rate) ** -(t - 1), rel=1e-12)


def test_market_share_is_not_discounted():
    data = dict(gtmgym.load_scenario("default").model_dump(), objective="market_share")
    with pytest.raises(ScenarioError, match="discount_rate applies to the profit"):
        gtmgym.load_scenario(dict(data, discount_rate=0.1))
    with pytest.raises(ScenarioError, match=r"discount_rate: Input should be less than or equal"):
        gtmgym.load_scenario(dict(data, objective="profit", discount_rate=1.5))


@pytest.mark.parametrize("seed", range(8))
def test_the_planner_stays_the_upper_bound_when_rewards_are_discounted(seed: int):
    """As tests/test_planner_bound.py, on random scenarios with a discount rate."""
    scenario = random_scenario(seed, objective=("profit", "lifetime_value")[seed % 2])
    scenario["discount_rate"] = float(np.random.default_rng(seed).uniform(0.02, 0.3))
    returns = {}
    for name in ("planner", *BASELINES):
        agent = make(name, scenario)
        returns[name] = float(evaluate(agent, episodes=1, noise=False)["return"].iloc[0])
    best = max(returns[name] for name in BASELINES)
    assert returns["planner"] >= best - 1e-6 * abs(best) - 1e-12, returns


def test_describe_shows_the_discount_rate(tmp_path, capsys):
    data = dict(gtmgym.load_scenario("default").model_dump(mode="json"), discount_rate=0.02)
    path = tmp_path / "discounted.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["describe", str(path)]) == 0
    assert "objective profit, discount rate 0.02" in capsys.readouterr().out


@pytest.mark.parametrize("source", ["default", 4, 9])
def test_lp_values_a_customer_at_the_present_value_of_its_margins(source):
    """lp plans on the reward it is scored by: under profit, a customer won now
    is worth its margins over the periods left, each discounted by (1 + r)
    (on `default` and on random profit markets)."""
    if isinstance(source, str):
        plain = gtmgym.load_scenario(source).model_dump()
    else:
        plain = random_scenario(source, segments=(2, 4), periods=(6, 12), objective="profit")
    assert plain["objective"] == "profit"
    rate = 0.1
    lp = make("lp", dict(copy.deepcopy(plain), discount_rate=rate), action_mode="continuous")
    undiscounted = make("lp", plain, action_mode="continuous")
    params = lp.params
    periods = np.arange(params.periods)
    factors = ((1 - params.churn[:, None]) / (1 + rate)) ** periods  # (S, H)
    worth = params.customer_value[:, :-1] * factors.sum(axis=1)[:, None]
    values = lp.unit_value(params.periods)
    np.testing.assert_allclose(values, lp.customers_per_unit * worth, rtol=1e-12)
    plain_values = undiscounted.unit_value(params.periods)
    # discounting shrinks what a customer's later periods are worth: strictly
    # where it has later periods (it may churn less than surely) and is worth any
    later = (lp.customers_per_unit > 0) & (params.churn[:, None] < 1) & (worth != 0)
    assert later.any()
    assert (np.abs(values[later]) < np.abs(plain_values[later])).all()
    assert (np.abs(values) <= np.abs(plain_values)).all()
    # and it spends no more than the undiscounted lp, since money costs the same
    selling = np.ones(params.n_segments, dtype=bool)
    budget = params.budget_per_period
    assert lp.allocation(selling, budget).sum() <= undiscounted.allocation(selling, budget).sum()
