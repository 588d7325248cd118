"""The oracle planner: exact on a closed-form case, never beaten without noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import gtmgym
from gtmgym.agents.evaluation import evaluate
from gtmgym.agents.planner import Planner

POPULATION, EFFECTIVENESS, REVENUE, MARGIN = 1000.0, 0.5, 1.0, 0.5
HALF_SATURATION, SLOPE, BUDGET, PERIODS = 50.0, 2.0, 200.0, 4


def closed_form_scenario() -> dict:
    """One segment, one channel, no carry-over, no noise, churn 1.

    Every period starts afresh, so the best spend x solves
    margin * revenue * population * effectiveness * r'(x) = 1.
    """
    return {
        "name": "closed-form",
        "periods": PERIODS,
        "noise": False,
        "segments": [
            {
                "name": "only",
                "population": POPULATION,
                "revenue_per_customer": REVENUE,
                "gross_margin": MARGIN,
                "churn": 1.0,
            }
        ],
        "channels": [
            {
                "name": "direct",
                "effectiveness": [EFFECTIVENESS],
                "half_saturation": HALF_SATURATION,
                "slope": SLOPE,
            }
        ],
        "budget": {"per_period": BUDGET},
    }


def period_profit(spend: float) -> float:
    response = spend**SLOPE / (spend**SLOPE + HALF_SATURATION**SLOPE)
    return MARGIN * REVENUE * POPULATION * EFFECTIVENESS * response - spend


def test_closed_form_optimum_solves_the_first_order_condition():
    best = minimize_scalar(lambda x: -period_profit(x), bounds=(0, BUDGET), method="bounded")
    k, s = HALF_SATURATION, SLOPE
    marginal = s * k**s * best.x ** (s - 1) / (best.x**s + k**s) ** 2
    assert MARGIN * REVENUE * POPULATION * EFFECTIVENESS * marginal == pytest.approx(1, rel=1e-4)


def test_planner_within_one_percent_of_closed_form_optimum():
    best = minimize_scalar(lambda x: -period_profit(x), bounds=(0, BUDGET), method="bounded")
    optimum = PERIODS * period_profit(best.x) / BUDGET
    result = evaluate(Planner(closed_form_scenario(), action_mode="continuous"), episodes=1)
    assert result["return"].iloc[0] >= 0.99 * optimum
    assert result["return"].iloc[0] <= optimum * (1 + 1e-6)
    assert result["spend"].iloc[0] / PERIODS == pytest.approx(best.x, rel=0.01)


def fixed_policy_return(scenario, plan: list[int]) -> float:
    import gymnasium as gym

    env = gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode="discrete", noise=False)
    env.reset(seed=0)
    total, terminated, period = 0.0, False, 0
    while not terminated:
        _, reward, terminated, _, _ = env.step(plan[min(period, len(plan) - 1)])
        total += reward
        period += 1
    return total


@pytest.mark.parametrize("scenario_name", ["default"])
def test_planner_beats_simple_policies_without_noise(scenario_name):
    scenario = gtmgym.load_scenario(scenario_name).model_copy(update={"noise": False})
    planner = evaluate(Planner(scenario, action_mode="continuous"), episodes=1)["return"].iloc[0]
    env = Planner(scenario, action_mode="discrete").codec
    even = next(i for i, e in enumerate(env.entries) if e.label.startswith("spend 100%, even"))
    enters = [i for i, e in enumerate(env.entries) if e.enter.any()]
    policies = {
        "hold back": [0],
        "even split": [even],
        "enter everything, then even split": enters + [even],
    }
    for name, plan in policies.items():
        assert planner >= fixed_policy_return(scenario, plan) - 1e-9, name


def test_planner_is_deterministic_and_round_trips(tmp_path):
    planner = Planner("default", action_mode="continuous", iterations=20, replan_iterations=3)
    first = evaluate(planner, episodes=1, noise=False)
    planner.save(tmp_path / "planner")
    restored = gtmgym.agents.load(tmp_path / "planner")
    second = evaluate(restored, episodes=1, noise=False)
    np.testing.assert_allclose(first["return"], second["return"], rtol=1e-12)
