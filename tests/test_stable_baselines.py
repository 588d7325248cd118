"""DQN, PPO and A2C through the SB3 adapter, with tiny budgets."""

from __future__ import annotations

import numpy as np
import pytest

import gtmgym
from gtmgym.agents import evaluate, make
from gtmgym.agents.registry import tuned_defaults

TINY = {
    "dqn": {
        "learning_starts": 50,
        "buffer_size": 500,
        "batch_size": 16,
        "policy_kwargs": {"net_arch": [16]},
    },
    "ppo": {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}},
    "a2c": {"n_steps": 8, "policy_kwargs": {"net_arch": [16]}},
}
CASES = [
    ("dqn", "discrete"),
    ("ppo", "discrete"),
    ("ppo", "continuous"),
    ("a2c", "discrete"),
    ("a2c", "continuous"),
]


@pytest.mark.parametrize("name, mode", CASES)
def test_learns_and_acts(name, mode):
    agent = make(name, "default", seed=0, action_mode=mode, **TINY[name])
    agent.learn(200)
    assert agent.model.num_timesteps >= 200
    result = evaluate(agent, episodes=1, seed=1)
    assert np.isfinite(result["return"]).all()


@pytest.mark.parametrize("name, mode", [("dqn", "discrete"), ("ppo", "continuous")])
def test_learning_is_reproducible_for_a_seed(name, mode):
    def trained(seed: int) -> np.ndarray:
        agent = make(name, "tabular", seed=seed, action_mode=mode, **TINY[name])
        agent.learn(300)
        return evaluate(agent, episodes=2, seed=7)["return"].to_numpy()

    np.testing.assert_array_equal(trained(1), trained(1))


@pytest.mark.parametrize("name, mode", [("dqn", "discrete"), ("a2c", "continuous")])
def test_save_and_load_give_identical_actions(tmp_path, name, mode):
    agent = make(name, "tabular", seed=2, action_mode=mode, **TINY[name])
    agent.learn(200)
    folder = agent.save(tmp_path / name)
    assert (folder / "model.zip").is_file()
    restored = gtmgym.agents.load(folder)
    env = gtmgym.MarketExpansionEnv("tabular", action_mode=mode)
    observation, info = env.reset(seed=0)
    for _ in range(env.params.periods):
        action = agent.act(observation, info)
        np.testing.assert_array_equal(
            np.asarray(action), np.asarray(restored.act(observation, info))
        )
        observation, _, _, _, info = env.step(action)


def test_unknown_hyperparameters_are_named():
    with pytest.raises(ValueError, match=r"learning_rat\b.*allowed"):
        make("dqn", "tabular", learning_rat=0.1)


def test_learning_starts_beyond_the_budget_is_refused():
    agent = make("dqn", "tabular", learning_starts=1000)
    with pytest.raises(ValueError, match=r"learning_starts \(1000\).*500 steps"):
        agent.learn(500)


def test_impossible_combinations_are_refused():
    with pytest.raises(ValueError, match="batch_size"):
        make("dqn", "tabular", batch_size=64, buffer_size=32)
    with pytest.raises(ValueError, match="learning_rate"):
        make("ppo", "tabular", learning_rate=-1.0)


def test_dqn_refuses_continuous_mode():
    with pytest.raises(ValueError, match="discrete"):
        make("dqn", "default", action_mode="continuous")


def test_tuned_defaults_come_from_yaml_and_keywords_win():
    agent = make("dqn", "tabular", learning_rate=1.0e-3)
    assert agent.model.learning_rate == pytest.approx(1.0e-3)
    assert agent.model.batch_size == 64  # from gtmgym/agents/defaults/dqn.yaml


def test_a_scenarios_tuned_defaults_extend_the_shared_ones():
    shared, on_default = tuned_defaults("dqn", "tabular"), tuned_defaults("dqn", "default")
    assert (shared["train_freq"], on_default["train_freq"]) == (4, 1)
    assert {k: v for k, v in on_default.items() if k != "train_freq"} == {
        k: v for k, v in shared.items() if k != "train_freq"
    }
    assert make("dqn", "default").model.train_freq.frequency == 1
