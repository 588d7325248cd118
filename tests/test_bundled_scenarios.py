"""The bundled scenarios say what docs/scenarios.md says they are.

Shape checks (sizes, worked-example numbers, YAML conventions) and a few
noise-free calibration checks: the trade-offs each scenario is meant to pose
must hold, or the scenario no longer poses them. Gymnasium API checks over
every scenario live in ``test_env_api.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gtmgym
from gtmgym.envs.loader import scenario_path

BUNDLED = {
    "default",
    "tabular",
    "channel-allocation",
    "global-expansion",
    "cross-border-ecommerce",
    "large",
}
# A number in exponent form without a decimal point, e.g. `1e-4`, which PyYAML reads as a string.
BARE_EXPONENT = re.compile(r"(?<![\w.])[-+]?\d+[eE][-+]?\d+\b")


def test_bundled_scenarios_lists_exactly_the_six():
    names = gtmgym.bundled_scenarios()
    assert sorted(names) == sorted(BUNDLED)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_file_loads_is_named_after_its_stem_and_opens_with_a_comment(name):
    scenario = gtmgym.load_scenario(name)
    path = Path(scenario_path(name))
    assert path.stem == name
    assert scenario.name == name
    source = path.read_text()
    assert source.startswith("#"), "each bundled file opens with what it models and its units"
    header = source.split("\nname:")[0].lower()
    assert "money" in header or "currency" in header or "euro" in header
    assert not BARE_EXPONENT.search(source), "write floats as 1.0e-4, not 1e-4"


def test_tabular_is_small_enough_for_a_q_table():
    scenario = gtmgym.load_scenario("tabular")
    assert len(scenario.segments) == 2
    assert len(scenario.channels) == 2
    assert scenario.periods <= 10
    assert scenario.actions.mode == "discrete"
    assert [segment.open_at_start for segment in scenario.segments].count(False) == 1
    env = gym.make(gtmgym.ENV_ID, scenario="tabular")
    assert isinstance(env.action_space, gym.spaces.Discrete)
    assert env.action_space.n <= 10
    assert len(env.unwrapped.codec.describe()) == env.action_space.n


def test_large_exercises_scale():
    scenario = gtmgym.load_scenario("large")
    assert len(scenario.segments) >= 8
    assert len(scenario.channels) >= 4


def test_cross_border_ecommerce_has_shocks_and_events():
    scenario = gtmgym.load_scenario("cross-border-ecommerce")
    assert len(scenario.segments) >= 5
    assert scenario.noise
    for segment in scenario.segments:
        assert segment.demand_shock.sigma > 0, segment.name
        assert segment.adverse_event.probability > 0, segment.name
        assert segment.adverse_event.demand_cut > 0, segment.name


def test_default_keeps_its_structure():
    scenario = gtmgym.load_scenario("default")
    assert scenario.segment_names == ["home", "europe", "north-america"]
    assert [s.open_at_start for s in scenario.segments] == [True, False, False]
    for segment in scenario.segments[1:]:
        assert segment.entry_cost > 0 and segment.entry_delay > 0
    assert scenario.channel_names == ["direct", "partners", "digital"]
    assert scenario.channels[1].revenue_share > 0
    assert scenario.periods == 24 and scenario.noise
    assert scenario.actions.mode == "discrete"


# --- channel-allocation: the worked example -------------------------------------------

DEMAND = (1000, 800, 600)
PRICE = (100, 120, 150)
CHANNEL_COST = (50, 60, 70)
CHURN = (0.1, 0.2, 0.3)
LIFETIME_VALUE = (200, 150, 100)


def test_channel_allocation_reproduces_the_worked_example():
    scenario = gtmgym.load_scenario("channel-allocation")
    segments = scenario.segments
    assert scenario.segment_names == ["A", "B", "C"]
    assert scenario.objective == "lifetime_value"
    assert [s.population for s in segments] == list(DEMAND)
    assert [s.revenue_per_customer for s in segments] == list(PRICE)
    assert [s.churn for s in segments] == pytest.approx(CHURN, abs=1e-12)
    for segment, value in zip(segments, LIFETIME_VALUE, strict=True):
        clv = segment.revenue_per_customer * segment.gross_margin / segment.churn
        assert abs(clv - value) <= 1e-9, segment.name


def test_channel_allocation_customer_costs_the_channel_cost_at_half_saturation():
    """One channel per market; spending k there wins demand x effectiveness / 2 customers."""
    scenario = gtmgym.load_scenario("channel-allocation")
    for index, channel in enumerate(scenario.channels):
        elsewhere = [e for j, e in enumerate(channel.effectiveness) if j != index]
        assert elsewhere == [0.0, 0.0], channel.name
        assert channel.slope == 1.0 and channel.decay == 0.0
        won = DEMAND[index] * channel.effectiveness[index] * 0.5
        assert channel.half_saturation / won == pytest.approx(CHANNEL_COST[index], abs=1e-9)


def test_channel_allocation_pays_the_lifetime_value_of_each_customer_won():
    """First period, noise off, k spent in A: reward = (CLV x won - k) / budget."""
    scenario = gtmgym.load_scenario("channel-allocation").model_copy(update={"noise": False})
    budget = scenario.budget.per_period
    k = scenario.channels[0].half_saturation
    env = gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode="continuous")
    env.reset(seed=0)
    n_weights = len(scenario.segments) * len(scenario.channels) + 1
    action = -np.ones(n_weights + len(scenario.segments), dtype=np.float32)
    # weights: pair (A, channel-A) gets u = k / budget, hold-back gets 1 - k / budget
    action[0] = 2.0 * (k / budget) - 1.0
    action[n_weights - 1] = 2.0 * (1.0 - k / budget) - 1.0
    _, reward, _, _, info = env.step(action)
    won = DEMAND[0] * scenario.channels[0].effectiveness[0] * 0.5
    assert info["spend"].sum() == pytest.approx(k, rel=1e-6)
    assert info["won"][0] == pytest.approx(won, rel=1e-6)
    assert reward == pytest.approx((LIFETIME_VALUE[0] * won - k) / budget, rel=1e-6)


# --- global-expansion: the worked example ---------------------------------------------

REACHED = (500, 600, 700, 200)
CONTRIBUTIONS = (0.6, 0.3, 0.1)


def test_global_expansion_market_of_ten_thousand_with_the_reached_counts():
    scenario = gtmgym.load_scenario("global-expansion")
    segments = scenario.segments
    assert len(segments) == 4
    assert sum(s.population for s in segments) == pytest.approx(10_000, abs=1e-9)
    reach = [s.population * (1.0 - s.competitor.share) for s in segments]
    assert reach == pytest.approx(REACHED, abs=1e-9)
    for segment in segments:  # the reach stays put: no rival response, growth or shocks
        assert segment.competitor.response == 0.0 or segment.competitor.speed == 0.0
        assert segment.growth == 0.0 and segment.demand_shock.sigma == 0.0
        assert segment.adverse_event.probability == 0.0


def test_global_expansion_channels_contribute_six_three_one():
    scenario = gtmgym.load_scenario("global-expansion")
    assert scenario.channel_names == ["recommendation", "direct-sales", "partners"]
    table = np.array([channel.effectiveness for channel in scenario.channels])
    shares = table / table.sum(axis=0, keepdims=True)
    np.testing.assert_allclose(shares, np.array([CONTRIBUTIONS] * 4).T, atol=1e-12)


def test_global_expansion_home_first_then_international_behind_regulatory_delays():
    scenario = gtmgym.load_scenario("global-expansion")
    home, *international = scenario.segments
    assert home.open_at_start
    for segment in international:
        assert not segment.open_at_start and segment.entry_delay >= 1, segment.name


def test_global_expansion_customers_never_pass_the_reached_count():
    """Full spend from the start, every market entered: customers stay within reach."""
    env = gym.make(gtmgym.ENV_ID, scenario="global-expansion", action_mode="multidiscrete")
    env.reset(seed=0)
    scenario = gtmgym.load_scenario("global-expansion")
    n_pairs = len(scenario.segments) * len(scenario.channels)
    levels = env.action_space.nvec[0] - 1
    action = np.concatenate([np.full(n_pairs, levels), np.ones(len(scenario.segments))])
    terminated, peak = False, np.zeros(len(REACHED))
    while not terminated:
        _, _, terminated, _, info = env.step(action.astype(np.int64))
        assert (info["customers"] <= np.array(REACHED) + 1e-9).all()
        peak = np.maximum(peak, info["customers"])
    assert peak[0] > 100  # spending at home does win customers


# --- calibration: the trade-offs each scenario poses, noise off -----------------------


def noise_free_return(name: str, policy: Callable[[int], str]) -> float:
    """Return of a discrete policy given as a catalogue label per period."""
    env = gym.make(gtmgym.ENV_ID, scenario=name, action_mode="discrete", noise=False)
    env.reset(seed=0)
    index = {entry.label: i for i, entry in enumerate(env.unwrapped.codec.entries)}
    total, period, terminated = 0.0, 0, False
    while not terminated:
        _, reward, terminated, _, _ = env.step(index[policy(period)])
        total += reward
        period += 1
    return total


HOLD = "hold back: spend nothing"


def even(level: int) -> str:
    return f"spend {level}%, even over selling segments x channels"


def test_default_rewards_of_order_one_with_diminishing_returns():
    half = noise_free_return("default", lambda t: even(50))
    full = noise_free_return("default", lambda t: even(100))
    hold = noise_free_return("default", lambda t: HOLD)
    assert 0.0 < hold < half
    assert full < half, "spending the whole budget at home must not be best"
    assert half / 24 < 2.0  # per-period reward of order one, not ten


def test_default_entering_europe_early_pays_within_the_horizon():
    def enter_europe(t: int) -> str:
        return "enter europe; spend 100% even over selling pairs" if t == 0 else even(100)

    def enter_europe_late(t: int) -> str:
        return "enter europe; spend 100% even over selling pairs" if t == 16 else even(50)

    stay_home = max(
        noise_free_return("default", lambda t, level=level: even(level)) for level in (50, 100)
    )
    assert noise_free_return("default", enter_europe) > stay_home + 1.0
    assert noise_free_return("default", enter_europe_late) < stay_home


def test_default_north_america_pays_only_if_entered_early_and_less_than_europe():
    def enter(segment: str, at: int, then: int) -> Callable[[int], str]:
        def policy(t: int) -> str:
            if t == at:
                return f"enter {segment}; spend 100% even over selling pairs"
            return even(then if t > at else 50)

        return policy

    stay_home = noise_free_return("default", lambda t: even(50))
    early = noise_free_return("default", enter("north-america", 0, 100))
    late = noise_free_return("default", enter("north-america", 6, 100))
    europe = noise_free_return("default", enter("europe", 0, 100))
    assert stay_home < early < europe
    assert late < stay_home


def test_tabular_best_policy_is_not_a_naive_one():
    def enter_then_abroad(t: int) -> str:
        return (
            "enter abroad; spend 100% even over selling pairs"
            if t == 0
            else "spend 100% on abroad via direct"
        )

    learned = noise_free_return("tabular", enter_then_abroad)
    naive = [
        noise_free_return("tabular", lambda t: HOLD),
        noise_free_return("tabular", lambda t: even(100)),
        noise_free_return("tabular", lambda t: "spend 100% on home, even over its channels"),
    ]
    assert learned > max(naive) + 3.0
