"""The default experiment on a user's own market: defaults adapt, never refuse.

An agent's defaults (tuned on the bundled scenarios) must fit any valid
scenario and any training budget, or be adapted with a note in the resolved
config; a hyperparameter the user wrote that cannot work is still an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gtmgym.agents import make
from gtmgym.experiments.config import ExperimentError, load_experiment


def gtmgym_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmgym", *arguments], capture_output=True, text=True, timeout=600
    )


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_experiment_runs_on_a_wide_continuous_market(tmp_path, wide_market):
    scenario = write(tmp_path / "mine.yaml", wide_market(12, "continuous"))
    out = tmp_path / "out"
    result = gtmgym_cli(
        "run", str(scenario), "--agents", "dqn,qlearning,equal", "--steps", "300",
        "--seeds", "1", "--eval-episodes", "1", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(pd.read_csv(out / "episodes.csv")["agent"]) == {"dqn", "qlearning", "equal"}
    experiment = yaml.safe_load((out / "config.yaml").read_text())
    entries = {entry["agent"]: entry for entry in experiment["agents"]}
    # DQN and Q-learning act on the scenario's discrete catalogue, as recorded
    assert entries["dqn"]["action_mode"] == entries["qlearning"]["action_mode"] == "discrete"
    assert entries["equal"]["action_mode"] == "continuous"  # the scenario's own mode
    assert entries["dqn"]["hyperparameters"]["learning_starts"] == 30
    assert any("learning_starts" in note for note in experiment["notes"])


def test_an_agent_without_the_scenarios_mode_uses_its_own(wide_market):
    continuous = wide_market(3, "continuous")
    assert make("dqn", continuous).action_mode == "discrete"
    assert make("ppo", continuous).action_mode == "continuous"  # it supports the scenario's
    with pytest.raises(ValueError, match="supports action modes"):
        make("dqn", continuous, action_mode="continuous")  # asked for: still refused


def test_bundled_experiment_is_left_as_written_where_its_defaults_fit():
    experiment = load_experiment("default")
    with open(Path(__file__).parents[1] / "gtmgym/experiments/bundled/default.yaml") as file:
        written = yaml.safe_load(file)["agents"]
    for entry, raw in zip(experiment.agents, written, strict=True):
        assert entry.action_mode == raw.get("action_mode")
        assert entry.hyperparameters == raw.get("hyperparameters", {})
    assert experiment.notes == []


def test_tuned_learning_starts_shrinks_to_a_short_budget():
    experiment = load_experiment("default", {"train_steps": 300})
    dqn = next(entry for entry in experiment.agents if entry.agent == "dqn")
    assert dqn.hyperparameters == {"train_freq": 4, "learning_starts": 30}
    assert len(experiment.notes) == 1 and "dqn" in experiment.notes[0]


def test_an_impossible_hyperparameter_the_user_wrote_is_still_an_error(tmp_path):
    agents = [
        {"agent": "dqn", "hyperparameters": {"learning_starts": 1000}},
        {"agent": "equal"},
    ]
    path = write(tmp_path / "e.yaml", {"name": "e", "agents": agents, "train_steps": 300})
    with pytest.raises(ExperimentError, match=r"agents\[0\] \(dqn\).*learning_starts \(1000\)"):
        load_experiment(path)


def test_only_the_selected_agents_are_validated(tmp_path):
    agents = [
        {"agent": "dqn", "hyperparameters": {"learning_starts": 1000}},
        {"agent": "equal"},
        {"agent": "greedy", "action_mode": "continuous"},
    ]
    path = write(tmp_path / "e.yaml", {"name": "e", "agents": agents, "train_steps": 300})
    experiment = load_experiment(path, agents=["greedy", "equal"])
    assert [entry.name for entry in experiment.agents] == ["equal", "greedy"]
    result = gtmgym_cli(
        "run", str(path), "--agents", "equal,greedy", "--seeds", "1", "--eval-episodes", "1",
        "--out", str(tmp_path / "out"), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with pytest.raises(ExperimentError, match=r"nobody.*it has: dqn, equal, greedy"):
        load_experiment(path, agents=["equal", "nobody"])


def test_a_key_given_twice_in_an_experiment_file_is_refused(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("name: twice\nseeds: 2\nagents:\n  - agent: equal\nseeds: 3\n")
    with pytest.raises(ExperimentError) as error:
        load_experiment(path)
    message = str(error.value)
    assert str(path) in message and "line 5" in message and "'seeds'" in message
    assert "first at line 2" in message
