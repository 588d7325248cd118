"""rl-zoo3's hyperparameter files: they hold what gtmgym's agents are built
with, and rl-zoo3's own train script runs on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import gtmgym
from gtmgym import zoo
from gtmgym.agents import make
from gtmgym.envs import ENV_ID


def test_every_file_is_shipped_and_written_from_the_tuned_defaults():
    shipped = sorted(zoo.hyperparams_folder().glob("*/*.yml"))
    expected = sorted(
        zoo.hyperparams_file(algo, scenario)
        for scenario in gtmgym.bundled_scenarios()
        for algo in zoo.ALGORITHMS
    )
    assert shipped == expected
    for path in shipped:
        algo, scenario = path.stem, path.parent.name
        assert path.read_text(encoding="utf-8") == zoo.file_text(algo, scenario), (
            f"{path} is stale: run `python -m gtmgym.zoo`"
        )


@pytest.mark.parametrize("algo", zoo.ALGORITHMS)
@pytest.mark.parametrize("scenario", gtmgym.bundled_scenarios())
def test_a_file_holds_what_the_gtmgym_agent_is_built_with(algo, scenario):
    settings = yaml.safe_load(zoo.hyperparams_file(algo, scenario).read_text())[ENV_ID]
    agent = make(algo, scenario)
    assert settings["env_kwargs"] == {"scenario": scenario, "action_mode": agent.action_mode}
    assert settings["policy"] == agent.settings["policy"]
    assert settings["n_envs"] == agent.settings["n_envs"]
    zoo_only = {"n_timesteps", "policy", "n_envs", "env_kwargs"}
    assert {k: v for k, v in settings.items() if k not in zoo_only} == agent.algorithm_kwargs


def test_unknown_algorithm_or_scenario_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="a2c, dqn, ppo"):
        zoo.hyperparams_file("maskable_ppo")
    with pytest.raises(ValueError, match="tabular"):
        zoo.hyperparams_file("ppo", "my-market")


def _zoo_train(algo: str, scenario: str, folder: Path, steps: int, *extra: str) -> Path:
    """Run ``python -m rl_zoo3.train`` as the files' headers say; the saved model."""
    pytest.importorskip("rl_zoo3", reason="the zoo extra: pip install -e '.[zoo]'")
    command = [
        sys.executable, "-m", "rl_zoo3.train",
        "--algo", algo,
        "--env", ENV_ID,
        "--gym-packages", "gtmgym",
        "-conf", str(zoo.hyperparams_file(algo, scenario)),
        "-n", str(steps),
        "--seed", "0",
        "-f", str(folder),
        "--device", "cpu",
        "--num-threads", "1",
        "--eval-env-kwargs", f"scenario:'{scenario}'", "action_mode:'discrete'",
        *extra,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    name = ENV_ID.replace("/", "-")
    model = folder / algo / f"{name}_1" / f"{name}.zip"
    assert model.is_file(), sorted(p.name for p in folder.rglob("*"))
    return model


def test_rl_zoo3_trains_ppo_on_tabular_as_the_gtmgym_agent_does(tmp_path):
    from stable_baselines3 import PPO

    steps = 1024  # two of PPO's 512-step rollouts
    # evaluating once on the right scenario (--eval-env-kwargs) leaves training as it was
    trained = PPO.load(_zoo_train("ppo", "tabular", tmp_path, steps, "--eval-freq", "600"))
    agent = make("ppo", "tabular", seed=0)
    assert trained.observation_space == agent.env.observation_space
    assert trained.num_timesteps == steps
    agent.learn(steps)
    ours, theirs = agent.model.policy.state_dict(), trained.policy.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:  # the same network: same settings, seeds and environments
        assert (ours[key] - theirs[key]).abs().max().item() < 1e-5, key


@pytest.mark.filterwarnings("ignore:`n_steps=5` is ignored")  # SB3 on loading an n-step DQN
def test_rl_zoo3_trains_dqn_on_default_for_a_few_hundred_steps(tmp_path):
    from stable_baselines3 import DQN

    model = _zoo_train(
        "dqn", "default", tmp_path, 300, "--eval-freq", "-1", "--hyperparams", "learning_starts:100"
    )
    trained = DQN.load(model)
    assert trained.num_timesteps == 300
    assert trained.n_steps == 5 and trained.train_freq.frequency == 1  # default's tuned settings
