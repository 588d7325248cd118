"""The `config.yaml` a run writes: a rerunnable experiment file, and the
record a resume is checked against (same scenario contents, agents, seeds and
versions, or a refusal that names what differs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_experiments import gtmgym_cli

from gtmgym.envs.loader import scenario_path
from gtmgym.experiments.config import ExperimentError, load_experiment
from gtmgym.experiments.runner import resolved_config, run_experiment
from gtmgym.experiments.store import OutputError, RunStore

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
    """An experiment file in ``folder``; a field given as ``None`` is left out."""
    experiment = {
        "name": "tiny",
        "scenario": "scenarios/mine.yaml",
        "agents": CHEAP_AGENTS,
        "seeds": 2,
        "train_steps": 0,
        "eval_episodes": 2,
        "checkpoints": 1,
    } | fields
    experiment = {key: value for key, value in experiment.items() if value is not None}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    return path


def assert_config_reruns(first: Path, second: Path) -> None:
    """``gtmgym run first/config.yaml --out second`` writes the same tidy tables."""
    result = gtmgym_cli(
        "run", str(first / "config.yaml"), "--out", str(second), "--jobs", "1", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    for table in ("episodes.csv", "curves.csv", "allocations.csv"):
        assert (second / table).read_bytes() == (first / table).read_bytes(), table


def test_config_yaml_reruns_the_same_episodes_without_the_original_files(tmp_path):
    write_scenario(tmp_path / "experiments" / "scenarios")
    agents = [*CHEAP_AGENTS, {"agent": "qlearning", "label": "q"}]
    experiment = write_experiment(
        tmp_path / "experiments", agents=agents, train_steps=60, checkpoints=2
    )
    first = tmp_path / "first"
    run_experiment(load_experiment(experiment), first, jobs=1)
    (tmp_path / "experiments" / "scenarios" / "mine.yaml").unlink()

    assert_config_reruns(first, tmp_path / "second")

    config = yaml.safe_load((first / "config.yaml").read_text())
    assert config["name"] == "tiny"
    assert config["scenario"]["name"] == "mine" and config["scenario"]["periods"] == 6
    assert config["agents"][3]["hyperparameters"]["epsilon_decay_steps"] > 0  # resolved
    assert "gymnasium" in config["provenance"]["versions"]
    assert "git_commit" in config["provenance"]
    assert "mine" in config["description"]


def test_description_names_the_scenario_that_ran():
    experiment = load_experiment("default", {"scenario": "tabular"})
    description = resolved_config(experiment)["description"]
    assert "tabular" in description and "default scenario" not in description


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


def test_resume_refuses_a_changed_scenario_and_keeps_what_was_written(tmp_path):
    scenario = write_scenario(tmp_path / "experiments" / "scenarios")
    experiment = write_experiment(tmp_path / "experiments")
    out = tmp_path / "out"
    run_experiment(load_experiment(experiment), out, jobs=1)
    interrupted = out / "units" / "mine__random__1"
    for table in interrupted.iterdir():
        table.unlink()
    interrupted.rmdir()  # as if stopped before the last run
    written = {
        path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()
    }

    write_scenario(scenario.parent, churn=0.08)
    result = gtmgym_cli("run", str(experiment), "--out", str(out), "--no-progress")
    assert result.returncode == 2
    assert "scenario segments[0].churn: 0.03 -> 0.08" in result.stderr
    assert "--out" in result.stderr and "Traceback" not in result.stderr
    assert {
        path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()
    } == written


def test_resume_names_changed_agents_and_seeds(tmp_path):
    scenario = write_scenario(tmp_path / "experiments" / "scenarios")
    experiment = write_experiment(tmp_path / "experiments")
    out = tmp_path / "out"
    run_experiment(load_experiment(experiment), out, jobs=1)
    config = (out / "config.yaml").read_bytes()

    agents = [{"agent": "equal"}, {"agent": "greedy", "hyperparameters": {"increments": 10}}]
    changed = write_experiment(tmp_path, scenario=str(scenario), agents=agents, seeds=3)
    with pytest.raises(OutputError) as error:
        run_experiment(load_experiment(changed), out, jobs=1)
    message = str(error.value)
    assert "greedy hyperparameters.increments: 20 -> 10" in message
    assert "agent random: only in the folder" in message and "seeds: 2 -> 3" in message
    assert (out / "config.yaml").read_bytes() == config

    RunStore(out).prepare(resolved_config(load_experiment(experiment)))  # the same resumes
    assert (out / "config.yaml").read_bytes() == config  # as first written
