"""The `lp` agent solves the linear program of the scenario's own objective.

Every scenario here is built so that a channel's cost per customer is known
in closed form: one channel per market, effectiveness 1 there, slope 1 and a
half-saturation far above any spend, so the Hill curve is nearly linear and a
unit of spend wins about population / half_saturation = 1 / cost customers.
The expected programs are solved here with `scipy.optimize.linprog` from the
worked numbers, not from the package.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

import gtmgym
from gtmgym.agents import make, with_state

# The channel-management worked example (docs/scenarios.md, channel-allocation)
DEMAND = [1000.0, 800.0, 600.0]
PRICE = [100.0, 120.0, 150.0]
CHANNEL_COST = [50.0, 60.0, 70.0]  # per customer won
CHURN = [0.1, 0.2, 0.3]
LIFETIME_VALUE = [200.0, 150.0, 100.0]  # price x margin / churn
MARGIN = [0.2, 0.25, 0.2]  # lifetime value x churn / price
BUDGET = 3000.0
MAX_SPEND = [1400.0, 1100.0, 900.0]  # per channel and period: makes the ranking visible


def market(
    names: list[str],
    demand: list[float],
    price: list[float],
    margin: list[float],
    churn: list[float],
    cost: list[float],
    max_spend: list[float],
    periods: int,
    objective: str,
    budget: float = BUDGET,
) -> dict:
    """A noise-free scenario, one nearly linear channel per market at ``cost`` per customer."""
    segments = [
        {
            "name": name,
            "population": demand[i],
            "revenue_per_customer": price[i],
            "gross_margin": margin[i],
            "churn": churn[i],
        }
        for i, name in enumerate(names)
    ]
    channels = [
        {
            "name": f"channel-{name}",
            "effectiveness": [1.0 if j == i else 0.0 for j in range(len(names))],
            # population x effectiveness / half_saturation = 1 / cost customers per unit
            "half_saturation": cost[i] * demand[i],
            "slope": 1.0,
            "max_spend": max_spend[i],
        }
        for i, name in enumerate(names)
    ]
    return {
        "name": "lp-check",
        "periods": periods,
        "noise": False,
        "objective": objective,
        "segments": segments,
        "channels": channels,
        "budget": {"per_period": budget},
    }


def worked_example(periods: int = 1, objective: str = "lifetime_value") -> dict:
    return market(
        ["A", "B", "C"],
        DEMAND,
        PRICE,
        MARGIN,
        CHURN,
        CHANNEL_COST,
        MAX_SPEND,
        periods,
        objective,
    )


def play(scenario: dict, policy) -> tuple[float, list[np.ndarray]]:
    """(return, spend per segment each period) of ``policy(observation, info)``."""
    env = gtmgym.MarketExpansionEnv(scenario, action_mode="continuous")
    observation, info = env.reset(seed=0)
    total, spends = 0.0, []
    terminated = False
    while not terminated:
        action = policy(observation, with_state(env, info))
        observation, reward, terminated, _, info = env.step(action)
        total += reward
        spends.append(info["spend"].sum(axis=1))
    return total, spends


def play_lp(scenario: dict) -> tuple[float, list[np.ndarray]]:
    agent = make("lp", scenario, action_mode="continuous")
    return play(scenario, agent.act)


def spend_action(spend: np.ndarray, budget: float) -> np.ndarray:
    """The continuous action spending ``spend`` (S,) on each market's own channel
    (docs/model.md, Actions: weights per pair, then hold-back, then entries)."""
    segments = len(spend)
    weights = np.zeros(segments * segments + 1)
    weights[[i * segments + i for i in range(segments)]] = spend / budget
    weights[-1] = 1.0 - spend.sum() / budget
    weights = weights / weights.max()
    return np.concatenate([2.0 * weights - 1.0, -np.ones(segments)]).astype(np.float32)


def test_lp_solves_the_worked_example_as_a_linear_program_does():
    # The worked example's own LP: a unit of spend in market i wins 1 / cost_i
    # customers worth their lifetime value each, and costs the unit; customers
    # never exceed demand.
    net = np.array(LIFETIME_VALUE) / np.array(CHANNEL_COST) - 1.0
    caps = np.minimum(MAX_SPEND, np.array(DEMAND) * np.array(CHANNEL_COST))
    optimum = linprog(
        -net,
        A_ub=np.ones((1, 3)),
        b_ub=[BUDGET],
        bounds=list(zip(np.zeros(3), caps, strict=True)),
        method="highs",
    )
    assert optimum.status == 0
    np.testing.assert_allclose(optimum.x, [1400.0, 1100.0, 500.0], atol=1e-6)
    scenario = worked_example()
    planned, _ = play(scenario, lambda observation, info: spend_action(optimum.x, BUDGET))
    achieved, spends = play_lp(scenario)
    # A first, then B, then C, and the same money in each
    order = [list(np.argsort(-spend, kind="stable")) for spend in (spends[0], optimum.x)]
    assert order[0] == order[1] == [0, 1, 2]
    np.testing.assert_allclose(spends[0], optimum.x, rtol=1e-5)
    assert achieved == pytest.approx(planned, rel=1e-5)
    assert planned > 1.0  # the optimum is worth more than a period's budget


@pytest.mark.parametrize("objective", ["profit", "lifetime_value"])
def test_lp_spends_nothing_where_a_customer_is_worth_less_than_it_costs(objective):
    # "thin" earns 5 a period per customer (lifetime value 10, 8.75 over the
    # three periods) at 50 a customer; "rich" earns 80 (lifetime 160).
    scenario = market(
        ["rich", "thin"],
        demand=[1000.0, 1000.0],
        price=[100.0, 100.0],
        margin=[0.8, 0.05],
        churn=[0.5, 0.5],
        cost=[50.0, 50.0],
        max_spend=[1000.0, 1000.0],
        periods=3,
        objective=objective,
    )
    _, spends = play_lp(scenario)
    for spend in spends:
        assert spend[1] == 0.0
        assert spend[0] == pytest.approx(1000.0, rel=1e-5)


# "fleeting" earns 60 a period per customer but churns at 0.6 (lifetime value
# 100); "loyal" earns 30 a period and churns at 0.1 (lifetime value 300).
# Both cost 20 a customer; money for one market at its cap and half the other.
FLEETING_LOYAL = {
    "names": ["fleeting", "loyal"],
    "demand": [1000.0, 1000.0],
    "price": [100.0, 100.0],
    "margin": [0.6, 0.3],
    "churn": [0.6, 0.1],
    "cost": [20.0, 20.0],
    "max_spend": [2000.0, 2000.0],
}


@pytest.mark.parametrize(
    ("objective", "first"),
    [("profit", "fleeting"), ("lifetime_value", "loyal")],
)
def test_the_objective_decides_which_market_comes_first(objective, first):
    # One period: profit counts a customer's first period (fleeting 60, loyal
    # 30), lifetime value its whole life (fleeting 100, loyal 300).
    scenario = market(**FLEETING_LOYAL, periods=1, objective=objective)
    _, spends = play_lp(scenario)
    expected = [2000.0, 1000.0] if first == "fleeting" else [1000.0, 2000.0]
    np.testing.assert_allclose(spends[0], expected, rtol=1e-5)


def test_under_profit_the_ranking_follows_the_periods_left():
    # Over the remaining horizon H a customer earns margin x sum_{k<H} (1 -
    # churn)^k: with 12 periods left loyal is worth more, with one left
    # fleeting is.
    periods = 12

    def worth(margin: float, churn: float, left: int) -> float:
        return margin * sum((1.0 - churn) ** k for k in range(left))

    assert worth(30.0, 0.1, periods) > worth(60.0, 0.6, periods)
    assert worth(60.0, 0.6, 1) > worth(30.0, 0.1, 1)
    scenario = market(**FLEETING_LOYAL, periods=periods, objective="profit")
    _, spends = play_lp(scenario)
    np.testing.assert_allclose(spends[0], [1000.0, 2000.0], rtol=1e-5)
    np.testing.assert_allclose(spends[-1], [2000.0, 1000.0], rtol=1e-5)


def test_under_profit_lp_stops_spending_when_too_few_periods_are_left_to_pay_back():
    # 30 a period per customer, churn 0.1, 60 a customer: over H periods left
    # a customer earns 30, 57, 81.3, ... so spending pays with 3 periods left
    # and not with 2.
    scenario = market(
        ["only"],
        demand=[1000.0],
        price=[100.0],
        margin=[0.3],
        churn=[0.1],
        cost=[60.0],
        max_spend=[1000.0],
        periods=6,
        objective="profit",
    )
    _, spends = play_lp(scenario)
    spent = [float(spend[0]) for spend in spends]
    assert spent[:4] == pytest.approx([1000.0] * 4, rel=1e-5)
    assert spent[4:] == [0.0, 0.0]


def test_under_market_share_money_costs_nothing_and_cheap_customers_come_first():
    # market_share rewards customers over the total population each period
    # and charges nothing for spend: "cheap" (10 a customer, thin margin)
    # comes before "dear" (40 a customer, rich margin), and a customer worth
    # less than it costs in money is still worth winning.
    scenario = market(
        ["dear", "cheap"],
        demand=[1000.0, 1000.0],
        price=[100.0, 100.0],
        margin=[0.9, 0.01],
        churn=[0.2, 0.2],
        cost=[40.0, 10.0],
        max_spend=[2000.0, 2000.0],
        periods=3,
        objective="market_share",
    )
    _, spends = play_lp(scenario)
    for spend in spends:
        np.testing.assert_allclose(spend, [1000.0, 2000.0], rtol=1e-5)
