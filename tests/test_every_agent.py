"""Every registered agent runs on every bundled scenario, in every mode it supports."""

from __future__ import annotations

import numpy as np
import pytest

import gtmgym
from gtmgym.agents import evaluate, make, names
from gtmgym.agents.registry import agent_class

TINY = {
    "dqn": {
        "learning_starts": 10,
        "buffer_size": 200,
        "batch_size": 8,
        "policy_kwargs": {"net_arch": [8]},
    },
    "ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
    "a2c": {"n_steps": 4, "policy_kwargs": {"net_arch": [8]}},
    "maskable_ppo": {
        "n_steps": 16,
        "batch_size": 16,
        "n_epochs": 1,
        "policy_kwargs": {"net_arch": [8]},
    },
    "planner": {"iterations": 3, "replan_iterations": 1, "entry_sweeps": 1},
}
TINY["planner_mean"] = TINY["planner"]


@pytest.mark.parametrize("name", names())
def test_agent_runs_on_every_scenario(name, scenario_name):
    for mode in agent_class(name).action_modes:
        agent = make(name, scenario_name, seed=0, action_mode=mode, **TINY.get(name, {}))
        agent.learn(40)
        result = evaluate(agent, episodes=1, seed=2)
        assert np.isfinite(result["return"]).all(), (name, mode)
        assert result["periods"].iloc[0] >= 1


def test_planner_beats_a_trained_agent_without_noise():
    scenario = gtmgym.load_scenario("tabular").model_copy(update={"noise": False})
    learner = make("qlearning", scenario, seed=0)
    learner.learn(20_000)
    learnt = evaluate(learner, episodes=1)["return"].iloc[0]
    planner = evaluate(make("planner", scenario, action_mode="continuous"), episodes=1)
    assert planner["return"].iloc[0] >= learnt - 1e-9


def test_the_package_evaluates_with_the_agents_own_loop():
    assert gtmgym.evaluate is evaluate
    agent = make("equal", "tabular", seed=0)
    scores = gtmgym.evaluate(agent, "tabular", episodes=2, seed=5)
    assert list(scores["seed"]) == [5, 6]
    assert scores.equals(evaluate(agent, "tabular", episodes=2, seed=5))
    with pytest.raises(AttributeError, match="no_such_thing"):
        gtmgym.no_such_thing  # noqa: B018
