"""Three noise-free periods computed by hand from docs/model.md, against the env.

`expected_period` below is the page's equations written out with plain Python
floats, one section at a time, for one environment; it shares no code with
gtmgym/envs.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import gtmgym

SEGMENTS = [
    {
        "name": "home",
        "population": 1000.0,
        "growth": 0.01,
        "initial_customers": 100.0,
        "revenue_per_customer": 2.0,
        "gross_margin": 0.5,
        "churn": 0.1,
        "operating_cost": 5.0,
        "competitor": {"share": 0.2, "response": 0.5, "speed": 0.3},
    },
    {
        "name": "abroad",
        "population": 500.0,
        "revenue_per_customer": 3.0,
        "gross_margin": 0.4,
        "churn": 0.2,
        "open_at_start": False,
        "entry_cost": 20.0,
        "entry_delay": 1,
        "operating_cost": 2.0,
        "competitor": {"share": 0.1},
    },
]
CHANNELS = [
    {
        "name": "direct",
        "effectiveness": [0.3, 0.2],
        "decay": 0.5,
        "half_saturation": 10.0,
        "slope": 2.0,
    },
    {
        "name": "partner",
        "effectiveness": [0.1, 0.4],
        "decay": 0.0,
        "half_saturation": 5.0,
        "slope": 1.0,
        "revenue_share": 0.25,
    },
]
BUDGET = {"per_period": 20.0, "total": 50.0, "carry_over": True, "initial_cash": 100.0}
PERIODS = 3

# continuous actions: weights home/direct, home/partner, abroad/direct, abroad/partner, hold;
# then entry switches home, abroad
ACTIONS = [
    [1, -1, -1, 1, -1, 1, 1],  # half on home/direct, half on abroad/partner (not selling yet)
    [1, 1, 1, 1, -1, -1, -1],  # a quarter on every pair; abroad sells now
    [-1, 1, -1, -1, 1, -1, -1],  # half on home/partner, half held back
]


def scenario(objective: str = "profit") -> dict:
    return {
        "name": "hand",
        "periods": PERIODS,
        "noise": False,
        "objective": objective,
        "segments": SEGMENTS,
        "channels": CHANNELS,
        "budget": BUDGET,
    }


def start_state() -> dict:
    return {
        "population": [s["population"] for s in SEGMENTS],
        # customers by source: direct, partner, held before the episode
        "customers": [[0.0, 0.0, s.get("initial_customers", 0.0)] for s in SEGMENTS],
        "entered": [s.get("open_at_start", True) for s in SEGMENTS],
        "countdown": [0, 0],
        "adstock": [[0.0, 0.0], [0.0, 0.0]],
        "competitor": [s["competitor"]["share"] for s in SEGMENTS],
        "bank": 0.0,
        "budget_left": BUDGET["total"],
        "cash": BUDGET["initial_cash"],
        "period": 0,
    }


def expected_period(state: dict, action: list[float]) -> tuple[dict, dict]:
    """docs/model.md, sections 1 to 7, for one environment."""
    S, C = 2, 2
    v = [(y + 1) / 2 for y in action[: S * C + 1]]
    w = [[v[i * C + c] / sum(v) for c in range(C)] for i in range(S)]
    enter = [y > 0 for y in action[S * C + 1 :]]
    # 1. entry
    new = [enter[i] and not state["entered"][i] for i in range(S)]
    entered = [state["entered"][i] or enter[i] for i in range(S)]
    countdown = [
        SEGMENTS[i].get("entry_delay", 0) if new[i] else state["countdown"][i] for i in range(S)
    ]
    sell = [entered[i] and countdown[i] == 0 for i in range(S)]
    # 2. budget (no min/max spend here)
    a = min(BUDGET["per_period"] + state["bank"], state["budget_left"])
    x = [
        [w[i][c] * a if sell[i] and CHANNELS[c]["effectiveness"][i] > 0 else 0.0 for c in range(C)]
        for i in range(S)
    ]
    spent = sum(map(sum, x))
    # 3. adstock and Hill response
    adstock = [
        [CHANNELS[c]["decay"] * state["adstock"][i][c] + x[i][c] for c in range(C)]
        for i in range(S)
    ]
    phi = [
        [
            CHANNELS[c]["effectiveness"][i]
            * adstock[i][c] ** CHANNELS[c]["slope"]
            / (
                adstock[i][c] ** CHANNELS[c]["slope"]
                + CHANNELS[c]["half_saturation"] ** CHANNELS[c]["slope"]
            )
            for c in range(C)
        ]
        for i in range(S)
    ]
    win_rate = [1 - math.prod(1 - phi[i][c] for c in range(C)) for i in range(S)]
    # 4. demand (noise off: no shock, no event)
    population = [state["population"][i] * (1 + SEGMENTS[i].get("growth", 0.0)) for i in range(S)]
    # 5. churn, then wins
    customers = [[n * (1 - SEGMENTS[i]["churn"]) for n in state["customers"][i]] for i in range(S)]
    churned = [sum(state["customers"][i]) * SEGMENTS[i]["churn"] for i in range(S)]
    won = [[0.0] * C for _ in range(S)]
    for i in range(S):
        reachable = min(population[i] * (1 - state["competitor"][i]), population[i])
        prospects = max(reachable - sum(customers[i]), 0.0)
        prospects = prospects if sell[i] else 0.0
        total_phi = sum(phi[i])
        for c in range(C):
            share = phi[i][c] / total_phi if total_phi > 0 else 0.0
            won[i][c] = prospects * win_rate[i] * share
            customers[i][c] += won[i][c]
    held = [sum(customers[i]) for i in range(S)]
    # 6. money
    revenue = [SEGMENTS[i]["revenue_per_customer"] * held[i] for i in range(S)]
    gross = [SEGMENTS[i]["gross_margin"] * revenue[i] for i in range(S)]
    payout = [
        SEGMENTS[i]["revenue_per_customer"]
        * sum(CHANNELS[c].get("revenue_share", 0.0) * customers[i][c] for c in range(C))
        for i in range(S)
    ]
    entry_costs = [SEGMENTS[i].get("entry_cost", 0.0) if new[i] else 0.0 for i in range(S)]
    operating = [SEGMENTS[i]["operating_cost"] if entered[i] else 0.0 for i in range(S)]
    profit = sum(gross) - sum(payout) - sum(entry_costs) - sum(operating) - spent
    # 7. competitor and clocks
    competitor = []
    for i in range(S):
        rival = SEGMENTS[i]["competitor"]
        target = rival["share"] + rival.get("response", 0.0) * held[i] / population[i]
        moved = state["competitor"][i] + rival.get("speed", 0.0) * (target - state["competitor"][i])
        competitor.append(min(max(moved, 0.0), 0.99))
    next_state = {
        "population": population,
        "customers": customers,
        "entered": entered,
        "countdown": [max(d - 1, 0) for d in countdown],
        "adstock": adstock,
        "competitor": competitor,
        "bank": a - spent,
        "budget_left": state["budget_left"] - spent,
        "cash": state["cash"] + profit,
        "period": state["period"] + 1,
    }
    figures = {
        "available": a,
        "spend": x,
        "won": [sum(row) for row in won],
        "won_by_channel": won,
        "churned": churned,
        "customers": held,
        "revenue": revenue,
        "gross_margin": gross,
        "partner_payout": payout,
        "entry_costs": entry_costs,
        "operating_costs": operating,
        "profit": profit,
        "lifetime_value_won": sum(
            won[i][c]
            * SEGMENTS[i]["revenue_per_customer"]
            * (SEGMENTS[i]["gross_margin"] - CHANNELS[c].get("revenue_share", 0.0))
            / SEGMENTS[i]["churn"]
            for i in range(S)
            for c in range(C)
        ),
        "costs": spent + sum(entry_costs) + sum(operating),
        "market_share": sum(held) / sum(population),
    }
    return next_state, figures


def expected_observation(state: dict) -> list[float]:
    """docs/model.md, Observation, with no demand shock or event (noise off)."""
    delays = [max(s.get("entry_delay", 0), 1) for s in SEGMENTS]
    return (
        [sum(state["customers"][i]) / state["population"][i] for i in range(2)]
        + [float(e) for e in state["entered"]]
        + [state["countdown"][i] / delays[i] for i in range(2)]
        + list(state["competitor"])
        + [0.5, 0.5]  # demand multiplier 1 -> 1 / (1 + 1)
        + [0.0, 0.0]
        + [
            state["adstock"][i][c] / (state["adstock"][i][c] + CHANNELS[c]["half_saturation"])
            for i in range(2)
            for c in range(2)
        ]
        + [
            state["bank"] / (state["bank"] + BUDGET["per_period"]),
            state["budget_left"] / BUDGET["total"],
            state["cash"] / (abs(state["cash"]) + PERIODS * BUDGET["per_period"]),
            (PERIODS - state["period"]) / PERIODS,
        ]
    )


def test_three_periods_match_the_documented_equations():
    env = gym.make(gtmgym.ENV_ID, scenario=scenario(), action_mode="continuous", noise=False)
    observation, _ = env.reset(seed=0)
    state = start_state()
    np.testing.assert_allclose(observation, expected_observation(state), rtol=1e-6)
    for period, action in enumerate(ACTIONS):
        state, expected = expected_period(state, action)
        observation, reward, terminated, _, info = env.step(np.array(action, dtype=np.float32))
        for key in (
            "available",
            "spend",
            "won",
            "won_by_channel",
            "churned",
            "customers",
            "revenue",
            "gross_margin",
            "partner_payout",
            "entry_costs",
            "operating_costs",
            "profit",
            "market_share",
        ):
            np.testing.assert_allclose(
                info[key],
                expected[key],
                rtol=1e-9,
                atol=1e-12,
                err_msg=f"period {period + 1}: {key}",
            )
        assert reward == pytest.approx(expected["profit"] / BUDGET["per_period"], rel=1e-9)
        np.testing.assert_allclose(
            observation,
            expected_observation(state),
            rtol=1e-6,
            atol=1e-7,
            err_msg=f"period {period + 1}: observation",
        )
        assert terminated == (period == PERIODS - 1)
    # the first period's request on abroad was blocked: abroad was not selling yet
    assert state["cash"] == pytest.approx(env.unwrapped.state.cash[0], rel=1e-12)


@pytest.mark.parametrize("objective", ["market_share", "lifetime_value"])
def test_other_objectives_over_one_period(objective):
    env = gym.make(
        gtmgym.ENV_ID, scenario=scenario(objective), action_mode="continuous", noise=False
    )
    env.reset(seed=0)
    _, expected = expected_period(start_state(), ACTIONS[1])
    _, reward, _, _, _ = env.step(np.array(ACTIONS[1], dtype=np.float32))
    if objective == "market_share":
        assert reward == pytest.approx(expected["market_share"], rel=1e-9)
    else:
        value = (expected["lifetime_value_won"] - expected["costs"]) / BUDGET["per_period"]
        assert reward == pytest.approx(value, rel=1e-9)
