"""Tabular Q-learning: finds a known optimum, reproducible, saves and loads."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import gtmgym
from gtmgym.agents import evaluate, make
from gtmgym.agents.discretisation import STATE_BUDGET, Discretisation
from gtmgym.agents.qlearning import QLearningAgent


def tiny_scenario() -> dict:
    """One market, a strong and a weak channel, three periods, no noise."""
    return {
        "name": "tiny",
        "periods": 3,
        "noise": False,
        "segments": [
            {
                "name": "only",
                "population": 1000.0,
                "revenue_per_customer": 1.0,
                "gross_margin": 0.8,
                "churn": 0.5,
            }
        ],
        "channels": [
            {"name": "weak", "effectiveness": [0.05], "half_saturation": 10.0},
            {"name": "strong", "effectiveness": [0.6], "half_saturation": 10.0},
        ],
        "budget": {"per_period": 20.0},
        "actions": {"mode": "discrete", "spend_levels": [1.0]},
    }


def brute_force_optimum(scenario: dict) -> tuple[tuple[int, ...], float]:
    env = gym.make(gtmgym.ENV_ID, scenario=scenario)
    best, best_return = None, -np.inf
    for plan in itertools.product(range(env.action_space.n), repeat=scenario["periods"]):
        env.reset(seed=0)
        total = sum(env.step(action)[1] for action in plan)
        if total > best_return:
            best, best_return = plan, total
    return best, best_return


def greedy_plan(agent: QLearningAgent, scenario: dict) -> tuple[int, ...]:
    env = gym.make(gtmgym.ENV_ID, scenario=scenario)
    observation, info = env.reset(seed=0)
    plan, terminated = [], False
    while not terminated:
        action = agent.act(observation, info)
        plan.append(action)
        observation, _, terminated, _, info = env.step(action)
    return tuple(plan)


def test_qlearning_finds_the_brute_force_optimum():
    scenario = tiny_scenario()
    optimum, _ = brute_force_optimum(scenario)
    agent = make(
        "qlearning",
        scenario,
        seed=0,
        feature_bins={"time_remaining": 0},
        epsilon_decay_steps=1500,
        learning_rate=0.5,
    )
    agent.learn(3000)
    assert greedy_plan(agent, scenario) == optimum
    labels = [agent.codec.entries[a].label for a in optimum]
    assert all("strong" in label for label in labels), labels


def test_learning_is_reproducible_for_a_seed():
    first = make("qlearning", "tabular", seed=3)
    second = make("qlearning", "tabular", seed=3)
    other = make("qlearning", "tabular", seed=4)
    for agent in (first, second, other):
        agent.learn(2000)
    np.testing.assert_array_equal(first.tables, second.tables)
    assert not np.array_equal(first.tables, other.tables)


def test_learn_continues_across_calls():
    whole = make("qlearning", "tabular", seed=1)
    whole.learn(1000)
    split = make("qlearning", "tabular", seed=1)
    split.learn(400)
    split.learn(600)
    assert split.steps == whole.steps == 1000
    assert split.visits.sum() == 1000


def test_save_and_load_round_trip(tmp_path):
    agent = make("qlearning", "tabular", seed=2)
    agent.learn(3000)
    restored = gtmgym.agents.load(agent.save(tmp_path / "q"))
    assert (tmp_path / "q" / "qtable.npz").is_file()
    np.testing.assert_array_equal(restored.tables, agent.tables)
    np.testing.assert_array_equal(
        evaluate(agent, episodes=3, seed=5)["return"],
        evaluate(restored, episodes=3, seed=5)["return"],
    )


def test_masked_actions_are_never_chosen():
    agent = make("qlearning", "tabular", seed=0)
    agent.tables[:] = 0.0
    enter = next(i for i, e in enumerate(agent.codec.entries) if e.enter.any())
    agent.tables[:, :, enter] = 100.0  # tempting, but masked once abroad is entered
    env = gtmgym.MarketExpansionEnv("tabular")
    observation, info = env.reset(seed=0)
    observation, _, _, _, info = env.step(enter)
    assert info["action_mask"][enter] == 0
    assert agent.act(observation, info) != enter


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epsilon_start": 0.1, "epsilon_end": 0.5}, "epsilon_end <= epsilon_start"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"discount": 1.5}, "discount"),
        ({"feature_bins": {"nonsense": 3}}, "nonsense"),
        ({"feature_bins": "fine"}, "a mapping or 'auto'"),
        ({"feature_bins": "auto", "state_budget": 0}, "state_budget"),
        ({"bins": 10}, "max_states"),
        ({"speed": 1}, "speed"),
    ],
)
def test_invalid_hyperparameters_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        make("qlearning", "tabular", **settings)


def test_continuous_mode_is_refused():
    with pytest.raises(ValueError, match="discrete"):
        make("qlearning", "tabular", action_mode="continuous")


def test_discretisation_is_row_major_over_equal_width_bins():
    """index() against the definition: cell = floor((x - low) * bins / (1 - low)),
    clamped to the feature's bins, combined row-major; ranges include cash (-1, 1)."""
    env = gym.make(gtmgym.ENV_ID, scenario="channel-allocation", action_mode="discrete")
    names = env.unwrapped.feature_names
    cut = Discretisation(names, 1, {"time_remaining": 5, "cash": 4, "penetration": 3})
    assert cut.n_states == 5 * 4 * 3**env.unwrapped.params.n_segments
    rng = np.random.default_rng(0)
    counts, low = cut.counts[cut.used], cut.low[cut.used]
    seen = set()
    for _ in range(2000):
        observation = rng.uniform(-1.3, 1.3, len(names)).astype(np.float32)
        cells = np.floor((observation[cut.used] - low) * counts / (1.0 - low))
        cells = np.clip(cells, 0, counts - 1).astype(np.int64)
        expected = int(np.ravel_multi_index(tuple(cells), tuple(counts)))
        assert cut.index(observation) == expected
        seen.add(expected)
    assert len(seen) > cut.n_states // 4  # the draws reach many cells, not a corner


# the hand-tuned tables of the bundled scenarios (defaults/qlearning.yaml), kept as they were
BUNDLED_STATES = {
    "channel-allocation": 2808,
    "cross-border-ecommerce": 1600,
    "default": 5400,
    "global-expansion": 32400,
    "large": 37888,
    "tabular": 360,
}


def test_bundled_scenarios_keep_their_tuned_tables():
    assert set(BUNDLED_STATES) == set(gtmgym.bundled_scenarios())
    for name, states in BUNDLED_STATES.items():
        assert make("qlearning", name).n_states == states, name


@pytest.mark.parametrize("segments", [1, 3, 5, 7, 12, 20])
def test_default_table_fits_the_state_budget_on_any_market(wide_market, segments, tmp_path):
    agent = make("qlearning", wide_market(segments))
    assert 1 < agent.n_states <= STATE_BUDGET
    cut = agent.discretisation
    time = cut.feature_names.index("time_remaining")
    assert cut.counts[time] == agent.params.periods + 1  # time is kept exact
    agent.learn(50)
    restored = gtmgym.agents.load(agent.save(tmp_path / "q"))
    np.testing.assert_array_equal(restored.discretisation.counts, cut.counts)


def test_auto_table_is_the_hand_tuned_one_where_there_is_one():
    for name in sorted(set(BUNDLED_STATES) - {"tabular"}):  # tabular's is hand-made: abroad only
        auto = make("qlearning", name, feature_bins="auto")
        np.testing.assert_array_equal(
            auto.discretisation.counts, make("qlearning", name).discretisation.counts, name
        )


@pytest.mark.parametrize(
    "budget, states",
    [
        (5400, 25 * 6**3),  # time x (open 2 x penetration 3) per segment
        (5399, 25 * 4**3),  # penetration in 2 bins
        (1599, 25 * 2**3),  # whether each market is open
        (199, 25 * 2**2),  # open for the markets closed at the start only
        (99, 25 * 2),  # ... for as many of them as fit
        (24, 24),  # time alone, in fewer bins
    ],
)
def test_state_budget_coarsens_the_table_step_by_step(budget, states):
    agent = make("qlearning", "default", feature_bins="auto", state_budget=budget)
    assert agent.n_states == states


def test_explicit_bins_beyond_max_states_are_still_refused(wide_market):
    with pytest.raises(ValueError, match="max_states"):
        make(
            "qlearning",
            wide_market(12),
            feature_bins={"time_remaining": 0, "open": 2, "penetration": 3},
        )
