"""The `config.yaml` a run writes: a rerunnable experiment file, and the
record a resume is checked against (same scenario contents, agents, seeds and
versions, or a refusal that names what differs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gtmgym.envs.loader import scenario_path
from gtmgym.experiments.config import ExperimentError, load_experiment

CHEAP_AGENTS = [{"agent": "equal"}, {"agent": "greedy"}, {"agent": "random"}]


def write_scenario(folder: Path, churn: float = 0.03) -> Path:
    """The default scenario, six periods long, with home churn ``churn``."""
    text = scenario_path("default").read_text(encoding="utf-8")
    text = text.replace("periods: 24", "periods: 6").replace("churn: 0.03", f"churn: {churn}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mine.yaml"
    path.write_text(text.replace("name: default", "name: mine", 1), encoding="utf-8")
    return path


def write_experiment(folder: Path, **fields) -> Path:
    experiment = {
        "name": "tiny",
        "scenario": "scenarios/mine.yaml",
        "agents": CHEAP_AGENTS,
        "seeds": 2,
        "train_steps": 0,
        "eval_episodes": 2,
        "checkpoints": 1,
    } | fields
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    return path


def test_scenario_path_is_read_from_the_experiment_files_folder(tmp_path, monkeypatch):
    write_scenario(tmp_path / "experiments" / "scenarios")
    experiment = write_experiment(tmp_path / "experiments")
    monkeypatch.chdir(tmp_path)
    assert load_experiment(experiment).resolved_scenario().name == "mine"

    missing = write_experiment(tmp_path / "elsewhere", scenario="scenarios/gone.yaml")
    with pytest.raises(ExperimentError) as error:
        load_experiment(missing)
    message = str(error.value)
    assert str(tmp_path / "elsewhere" / "scenarios" / "gone.yaml") in message
    assert str(missing) in message and "scenario" in message
