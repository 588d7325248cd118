"""Heuristic baselines: they run everywhere, do what they say, and never beat the planner."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

import gtmgym
from gtmgym.agents import evaluate, make, with_state
from gtmgym.agents.plans import repeat_state
from gtmgym.envs import kernel

HEURISTICS = ["equal", "random", "proportional", "greedy", "lp", "ansoff"]
NEVER_ENTER = ["equal", "proportional", "greedy", "lp"]


@pytest.mark.parametrize("name", HEURISTICS)
def test_heuristic_runs_on_every_scenario_and_mode(name, scenario_name, action_mode):
    result = evaluate(make(name, scenario_name, action_mode=action_mode), episodes=1, seed=3)
    assert np.isfinite(result["return"]).all()
    assert result["periods"].iloc[0] >= 1


@pytest.mark.parametrize("name", NEVER_ENTER)
def test_these_heuristics_never_enter(name):
    env = gtmgym.MarketExpansionEnv("default", action_mode="continuous", noise=False)
    agent = make(name, "default", action_mode="continuous")
    observation, info = env.reset(seed=0)
    terminated = False
    while not terminated:
        action = agent.act(observation, with_state(env, info))
        observation, _, terminated, _, info = env.step(action)
        assert not info["entered"].any()
    assert info["open"].tolist() == [True, False, False]


def test_ansoff_expands_once_the_home_market_is_penetrated():
    agent = make("ansoff", "default", action_mode="continuous", threshold=0.2)
    env = gtmgym.MarketExpansionEnv("default", action_mode="continuous", noise=False)
    observation, info = env.reset(seed=0)
    entries = []
    terminated = False
    while not terminated:
        penetration = agent.penetration(env.state)
        action = agent.act(observation, with_state(env, info))
        observation, _, terminated, _, info = env.step(action)
        if info["entered"].any():
            entries.append((int(np.flatnonzero(info["entered"])[0]), penetration))
    # most attractive first (population x revenue x margin / entry cost), one at a time
    assert [segment for segment, _ in entries] == list(agent.expansion_order)
    assert all(penetration >= 0.2 for _, penetration in entries)


def test_greedy_first_allocation_beats_every_simple_alternative():
    scenario = gtmgym.load_scenario("channel-allocation").model_copy(update={"noise": False})
    agent = make("greedy", scenario, action_mode="continuous", increments=40)
    env = gtmgym.MarketExpansionEnv(scenario, action_mode="continuous")
    env.reset(seed=0)
    state = env.state
    params = agent.params
    chosen = agent.allocation(state)
    alternatives = [np.zeros_like(chosen), params.available / params.available.sum()]
    for i, c in np.argwhere(params.available):
        single = np.zeros_like(chosen)
        single[i, c] = 1.0
        alternatives.append(single)
    candidates = np.stack([chosen, *alternatives])
    no_entry = np.zeros((len(candidates), params.n_segments), dtype=bool)
    batch = repeat_state(state, len(candidates))
    values = kernel.advance(params.kernel, batch, candidates, no_entry).reward
    assert values[0] >= values[1:].max() - 1e-9
    assert chosen.sum() > 0


def test_lp_matches_a_hand_solved_program():
    agent = make("lp", "channel-allocation", action_mode="continuous")
    selling = np.ones(3, dtype=bool)
    budget = 3000.0
    spend = agent.allocation(selling, budget)
    # by hand: fill the pairs by value per unit, best first, each up to its cap
    value = agent.value_per_unit[agent.params.available]
    caps = agent.cap[agent.params.available]
    expected = np.zeros_like(value)
    left = budget
    for index in np.argsort(-value):
        expected[index] = min(caps[index], left)
        left -= expected[index]
    np.testing.assert_allclose(spend[agent.params.available], expected, atol=1e-6)
    # and scipy agrees with the ordering of the worked example: A, then B, then C
    assert list(np.argsort(-value)) == [0, 1, 2]
    check = linprog(
        -value,
        A_ub=np.ones((1, 3)),
        b_ub=[budget],
        bounds=list(zip([0, 0, 0], caps, strict=True)),
        method="highs",
    )
    np.testing.assert_allclose(check.x, expected, atol=1e-6)


def test_bad_hyperparameters_are_refused_with_their_name():
    with pytest.raises(ValueError, match="increments"):
        make("greedy", "default", increments=0)
    with pytest.raises(ValueError, match="saturation"):
        make("lp", "default", saturation=1.5)
    with pytest.raises(ValueError, match="threshold"):
        make("ansoff", "default", threshold=0.0)
    with pytest.raises(ValueError, match="unexpected keyword argument 'speed'"):
        make("equal", "default", speed=3)


def test_planner_dominates_every_heuristic_without_noise(scenario_name):
    scenario = gtmgym.load_scenario(scenario_name).model_copy(update={"noise": False})
    planner = evaluate(make("planner", scenario, action_mode="continuous"), episodes=1)
    best = planner["return"].iloc[0]
    for name in HEURISTICS:
        for mode in ("continuous", "discrete"):
            score = evaluate(make(name, scenario, action_mode=mode), episodes=1)["return"].iloc[0]
            assert best >= score - 1e-6, (name, mode, score, best)


@pytest.mark.parametrize("name", HEURISTICS)
def test_save_and_load_give_identical_actions(tmp_path, name):
    agent = make(name, "default", seed=5)
    agent.rng.random(3)  # move the generator away from its seed
    restored = gtmgym.agents.load(agent.save(tmp_path / name))
    first = evaluate(agent, episodes=2, seed=9)
    second = evaluate(restored, episodes=2, seed=9)
    np.testing.assert_array_equal(first["return"], second["return"])
