"""Generalisation experiments: train on a scenario distribution, evaluate in
and out of distribution (docs/uncertainty.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from gtmgym.agents import evaluate, load, make
from gtmgym.experiments.config import IN_DISTRIBUTION, ExperimentError, load_experiment
from gtmgym.experiments.generalisation import generalisation_runs
from gtmgym.experiments.runner import resolved_config, run_experiment

FAST_PLANNER = {"iterations": 3, "replan_iterations": 1, "restarts": 1, "entry_sweeps": 1}
EVAL_SCENARIOS = {
    "shifted": "default-uncertain-shifted",
    "point-estimate": {"scenario": "default-uncertain", "point_estimate": True},
}


def write_experiment(folder: Path, **changes) -> Path:
    experiment = {
        "name": "tiny-generalisation",
        "train_scenario": "default-uncertain",
        "eval_scenarios": EVAL_SCENARIOS,
        "scenario_overrides": {"periods": 6},
        "agents": [
            {"agent": "planner", "action_mode": "continuous", "hyperparameters": FAST_PLANNER},
            {"agent": "planner_mean", "action_mode": "continuous", "hyperparameters": FAST_PLANNER},
            {"agent": "equal"},
            {"agent": "qlearning"},
        ],
        "seeds": 2,
        "train_steps": 300,
        "eval_episodes": 2,
        "checkpoints": 1,
    } | changes
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def test_agents_trained_on_a_distribution_are_evaluated_on_each_eval_scenario(tmp_path: Path):
    experiment = load_experiment(write_experiment(tmp_path))
    out = tmp_path / "out"
    run_experiment(experiment, out, jobs=1)
    episodes = pd.read_csv(out / "episodes.csv")
    labels = [IN_DISTRIBUTION, "shifted", "point-estimate"]
    assert set(episodes["scenario"]) == set(labels)
    assert len(episodes) == 4 * 2 * len(labels) * 2  # agents x seeds x labels x episodes
    runs = generalisation_runs(episodes)
    assert len(runs) == 4 * 2 * 2  # one row per (agent, seed, eval scenario)
    assert not runs.duplicated(["agent", "seed", "eval_scenario"]).any()
    assert (runs["gap"] == runs["eval_return"] - runs["in_distribution"]).all()
    table = pd.read_csv(out / "generalisation.csv")
    assert len(table) == 4 * 2
    assert (table["gap_ci_low"] <= table["gap"]).all() and (
        table["gap"] <= table["gap_ci_high"]
    ).all()
    # the in-distribution episodes are the distribution's draws, the point estimate its mean
    planner = episodes[(episodes["agent"] == "planner") & (episodes["seed"] == 0)]
    by_label = planner.groupby("scenario")["return"].apply(list)
    assert by_label[IN_DISTRIBUTION] != by_label["point-estimate"]
    report = (out / "report.md").read_text()
    assert "## Generalisation" in report and "gap (shifted)" in report
    assert (out / "learning_curves__in-distribution.png").is_file()
    assert not (out / "learning_curves__shifted.png").exists()  # learnt in-distribution only
    # config.yaml holds the distributions inline: it reruns as it is
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert isinstance(config["train_scenario"], dict) and "scenario" not in config
    rerun = load_experiment(out / "config.yaml")
    assert resolved_config(rerun)["eval_scenarios"] == config["eval_scenarios"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"eval_scenarios": {"shifted": {"scenario": "default", "point_estimat": True}}},
            r"eval_scenarios\.shifted\.point_estimat",
        ),
        ({"scenario": "default"}, r"train_scenario and scenario: give one form"),
        ({"train_scenario": None}, r"eval_scenarios: .*train_scenario., which is missing"),
        (
            {"eval_scenarios": {IN_DISTRIBUTION: "default"}},
            rf"eval_scenarios\.{IN_DISTRIBUTION}: a reserved label",
        ),
        (
            {"eval_scenarios": {"other-shape": "tabular"}},
            r"field eval_scenarios\.other-shape: .* its observation differs",
        ),
        ({"train_scenario": "no-such-market"}, r"field train_scenario: 'no-such-market'"),
    ],
)
def test_a_bad_generalisation_experiment_is_refused_naming_the_field(
    tmp_path: Path, changes: dict, message: str
):
    path = write_experiment(tmp_path, **changes)
    with pytest.raises(ExperimentError, match=message) as error:
        load_experiment(path)
    assert str(path) in str(error.value)


def test_a_distribution_as_scenario_says_to_train_on_it(tmp_path: Path):
    path = write_experiment(tmp_path, scenario="default-uncertain")
    data = yaml.safe_load(path.read_text())
    del data["train_scenario"], data["eval_scenarios"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ExperimentError, match=r"field scenario: .*as `train_scenario:`"):
        load_experiment(path)


def test_a_distribution_runs_with_the_default_experiments_agents():
    experiment = load_experiment("default-uncertain")
    assert experiment.is_generalisation and not experiment.eval_scenarios
    assert experiment.train_scenario == "default-uncertain"


def test_an_agent_built_on_a_distribution_learns_on_it_and_saves_it(tmp_path: Path):
    agent = make("qlearning", "default-uncertain", seed=0)
    assert agent.distribution.uncertain and agent.scenario == agent.distribution.mean()
    agent.learn(50)
    restored = load(agent.save(tmp_path / "q"))
    assert restored.distribution.uncertain
    assert restored.distribution.names == agent.distribution.names
    assert evaluate(restored, episodes=2).equals(evaluate(agent, episodes=2))


def test_the_bundled_generalisation_experiment_compares_every_kind_of_agent():
    experiment = load_experiment("generalisation")
    assert experiment.train_scenario == "default-uncertain"
    assert list(experiment.eval_scenarios or {}) == ["shifted", "point-estimate"]
    agents = {entry.agent for entry in experiment.agents}
    assert {"planner", "planner_mean", "dqn", "ppo", "qlearning", "greedy", "lp"} <= agents
    assert experiment.seeds == 10
    shifted = experiment.evaluation_distributions()["shifted"]
    assert shifted.names == experiment.training_distribution().names  # the same fields, moved
