"""Random valid scenarios: procedurally generated markets.

:func:`random_scenario` draws a complete scenario mapping from a seed, so a
claim about the model or an agent ("the planner is an upper bound") can be
checked on markets nobody tuned for, and researchers can build train and test
sets of tasks from seeds. Every mapping it returns is accepted by
:func:`gtmgym.load_scenario`.

The draws cover the model's features in combination: closed segments with
entry costs and delays, carry-over (adstock decay, churn below 1), spend
bounds per channel, S-shaped Hill curves (slope above 1), partners keeping a
revenue share, competitors, total budgets with carry-over, and the three
objectives. Money is scaled around a budget of 100 per period.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.envs.scenario import ActionMode, Objective

OBJECTIVES: tuple[Objective, ...] = ("profit", "lifetime_value", "market_share")
ACTION_MODES: tuple[ActionMode, ...] = ("continuous", "discrete", "multidiscrete")

# The ranges every draw comes from (the scales are per budget of 100 a period);
# scenario_family (family.py) draws its markets from the same ranges.
POPULATION_MAGNITUDES = (1.0e3, 1.0e4, 1.0e5)
POPULATION_SCALE = (0.5, 2.0)  # times the magnitude
MARGIN_PER_BUDGET = (0.5, 5.0)  # revenue per customer x population / budget
CHURN_HIGH = 0.2  # churn is uniform up to this, or 1 (one-period customers)
GROWTH = (-0.01, 0.02)
GROSS_MARGIN = (0.2, 0.9)
ENTRY_COST = (0.0, 5.0)  # x budget
ENTRY_DELAY = (0, 4)  # periods, the high end excluded
OPERATING_COST_CLOSED = (0.0, 0.3)  # x budget
OPERATING_COST_OPEN = (0.0, 0.2)  # x budget
INITIAL_SHARE = (0.0, 0.2)  # of the population
COMPETITOR_SHARE = (0.0, 0.6)
COMPETITOR_RESPONSE = (0.0, 1.0)
COMPETITOR_SPEED = (0.0, 0.3)
SHOCK_SIGMA = (0.0, 0.2)
SHOCK_PERSISTENCE = (0.0, 0.9)
EFFECTIVENESS = (0.01, 0.4)
DECAY = (0.0, 0.8)
HALF_SATURATION = (0.05, 1.0)  # x budget
SLOPE_CONCAVE = (0.5, 1.0)
SLOPE_S_SHAPED = (1.0, 3.0)
REVENUE_SHARE = (0.05, 0.4)
MIN_SPEND = (0.02, 0.2)  # x budget
MAX_SPEND = (0.3, 0.8)  # x budget
TOTAL_BUDGET_SHARE = (0.4, 0.9)  # of budget x horizon


def random_scenario(
    seed: int,
    segments: int | tuple[int, int] = (1, 4),
    channels: int | tuple[int, int] = (1, 3),
    periods: int | tuple[int, int] = (3, 12),
    noise: bool = False,
    objective: Objective | None = None,
    action_mode: ActionMode | None = None,
) -> dict[str, Any]:
    """A random valid scenario mapping.

    Args:
        seed: fixes every draw; the same seed gives the same scenario.
        segments: the number of segments, or an inclusive (low, high) range.
        channels: the number of channels, or an inclusive (low, high) range.
        periods: the horizon, or an inclusive (low, high) range.
        noise: the scenario's noise switch.
        objective: the reward (None: drawn from the three objectives).
        action_mode: the action mode (None: drawn from the three modes).

    Returns:
        A scenario mapping named ``random-<seed>``, ready for
        ``gymnasium.make(..., scenario=mapping)`` or ``yaml.safe_dump``.
    """
    rng = np.random.default_rng(seed)
    n_segments = _count(rng, segments)
    n_channels = _count(rng, channels)
    horizon = _count(rng, periods)
    budget = 100.0
    goal = objective or OBJECTIVES[int(rng.integers(len(OBJECTIVES)))]
    mode = action_mode or ACTION_MODES[int(rng.integers(len(ACTION_MODES)))]

    segment_list = [
        _segment(rng, index, budget, closable=index > 0, needs_churn=goal == "lifetime_value")
        for index in range(n_segments)
    ]
    channel_list = [_channel(rng, index, n_segments, budget) for index in range(n_channels)]
    for segment in range(n_segments):  # every segment reachable by at least one channel
        if all(channel["effectiveness"][segment] == 0.0 for channel in channel_list):
            channel_list[int(rng.integers(n_channels))]["effectiveness"][segment] = round(
                float(rng.uniform(0.05, 0.4)), 4
            )
    money: dict[str, Any] = {"per_period": budget}
    if rng.random() < 0.25:
        money["total"] = round(budget * horizon * float(rng.uniform(*TOTAL_BUDGET_SHARE)), 2)
        money["carry_over"] = bool(rng.random() < 0.5)
    return {
        "name": f"random-{seed}",
        "description": f"random_scenario(seed={seed})",
        "periods": horizon,
        "noise": noise,
        "objective": goal,
        "segments": segment_list,
        "channels": channel_list,
        "budget": money,
        "actions": {
            "mode": mode,
            "spend_levels": sorted({0.5, 1.0, round(float(rng.uniform(0.1, 0.9)), 2)}),
            "multidiscrete_levels": int(rng.integers(2, 6)),
        },
    }


def _count(rng: np.random.Generator, spec: int | tuple[int, int]) -> int:
    if isinstance(spec, int):
        return spec
    low, high = spec
    return int(rng.integers(low, high + 1))


def _segment(
    rng: np.random.Generator, index: int, budget: float, closable: bool, needs_churn: bool
) -> dict[str, Any]:
    population = float(rng.choice(POPULATION_MAGNITUDES)) * float(rng.uniform(*POPULATION_SCALE))
    # a customer's yearly margin is worth a few units of budget per thousand customers
    revenue = budget * float(rng.uniform(*MARGIN_PER_BUDGET)) / population
    churn_floor = 0.01 if needs_churn else 0.0
    churn = float(rng.choice([rng.uniform(churn_floor, CHURN_HIGH), 1.0], p=[0.85, 0.15]))
    segment: dict[str, Any] = {
        "name": f"segment-{index}",
        "population": round(population, 1),
        "growth": round(float(rng.uniform(*GROWTH)), 4),
        "initial_customers": 0.0,
        "revenue_per_customer": revenue,
        "gross_margin": round(float(rng.uniform(*GROSS_MARGIN)), 3),
        "churn": max(round(churn, 4), churn_floor),
        "open_at_start": True,
    }
    if closable and rng.random() < 0.5:
        segment["open_at_start"] = False
        segment["entry_cost"] = round(budget * float(rng.uniform(*ENTRY_COST)), 2)
        segment["entry_delay"] = int(rng.integers(*ENTRY_DELAY))
        segment["operating_cost"] = round(budget * float(rng.uniform(*OPERATING_COST_CLOSED)), 2)
    else:
        segment["initial_customers"] = round(population * float(rng.uniform(*INITIAL_SHARE)), 1)
        segment["operating_cost"] = round(budget * float(rng.uniform(*OPERATING_COST_OPEN)), 2)
    if rng.random() < 0.5:
        segment["competitor"] = {
            "share": round(float(rng.uniform(*COMPETITOR_SHARE)), 3),
            "response": round(float(rng.uniform(*COMPETITOR_RESPONSE)), 3),
            "speed": round(float(rng.uniform(*COMPETITOR_SPEED)), 3),
        }
    if rng.random() < 0.3:
        segment["demand_shock"] = {
            "sigma": round(float(rng.uniform(*SHOCK_SIGMA)), 3),
            "persistence": round(float(rng.uniform(*SHOCK_PERSISTENCE)), 3),
        }
    return segment


def _channel(
    rng: np.random.Generator, index: int, n_segments: int, budget: float
) -> dict[str, Any]:
    effectiveness = [
        0.0 if rng.random() < 0.2 else round(float(rng.uniform(*EFFECTIVENESS)), 4)
        for _ in range(n_segments)
    ]
    channel: dict[str, Any] = {
        "name": f"channel-{index}",
        "effectiveness": effectiveness,
        "decay": round(float(rng.choice([0.0, rng.uniform(*DECAY)])), 3),
        "half_saturation": round(budget * float(rng.uniform(*HALF_SATURATION)), 2),
        "slope": round(
            float(rng.choice([rng.uniform(*SLOPE_CONCAVE), rng.uniform(*SLOPE_S_SHAPED)])), 3
        ),
    }
    if rng.random() < 0.3:
        channel["revenue_share"] = round(float(rng.uniform(*REVENUE_SHARE)), 3)
    if rng.random() < 0.25:
        channel["min_spend"] = round(budget * float(rng.uniform(*MIN_SPEND)), 2)
    if rng.random() < 0.25:
        channel["max_spend"] = round(budget * float(rng.uniform(*MAX_SPEND)), 2)
        channel["min_spend"] = min(channel.get("min_spend", 0.0), channel["max_spend"])
    return channel
