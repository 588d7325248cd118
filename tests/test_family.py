"""Families of markets: one structure, numbered levels, fixed train and test
sets (gtmgym/scenarios/family.py, docs/uncertainty.md)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

from gtmgym.agents import evaluate, make
from gtmgym.cli import main
from gtmgym.envs import ENV_ID
from gtmgym.envs.distribution import _leaves, load_distribution
from gtmgym.envs.loader import ScenarioError, load_scenario, scenario_path
from gtmgym.envs.params import KERNEL_FIELDS, field_key
from gtmgym.experiments.config import load_experiment
from gtmgym.scenarios.family import Family, scenario_family

FAST = {"iterations": 8, "replan_iterations": 1, "restarts": 1, "entry_sweeps": 1}


def level(family: dict, index: int) -> dict:
    """The complete scenario mapping of the family's ``index``-th level."""
    return {key: value for key, value in family.items() if key != "draws"} | family["draws"][index]


def structure(scenario: dict) -> dict:
    """What may not vary within a family: every field but the numbers that may."""
    scenario = load_scenario(scenario).model_dump()
    kept = {}
    for key, value in _leaves(scenario).items():
        if field_key(key) not in KERNEL_FIELDS and key[0] not in ("name", "description"):
            kept[key] = value
    return kept


@pytest.mark.parametrize("seed", range(30))
def test_every_level_of_every_family_is_a_valid_market_of_the_family_structure(seed: int):
    objective = ("profit", "lifetime_value", "market_share")[seed % 3]
    shape = {"segments": 1 + seed % 4, "channels": 1 + seed % 5, "periods": 3 + seed % 10}
    family = scenario_family(seed, range(12), objective=objective, **shape)
    first = structure(level(family, 0))
    for index in range(12):
        assert structure(level(family, index)) == first  # only the numbers differ
    distribution = load_distribution(family)
    assert distribution.draw_count == 12
    assert distribution.uncertain  # the levels are different markets


def test_a_level_is_the_same_market_whatever_other_levels_are_listed():
    alone = scenario_family(7, [5])
    among = scenario_family(7, range(10))
    assert alone["draws"][0] == among["draws"][5]
    assert scenario_family(7, range(10)) == among  # and the same on every call
    assert scenario_family(8, [5])["draws"][0] != alone["draws"][0]  # another family


def test_the_bundled_test_levels_are_other_markets_of_the_training_family():
    train, test = (
        yaml.safe_load(scenario_path(name).read_text()) for name in ("family-train", "family-test")
    )
    assert train["family"] | {"levels": None} == test["family"] | {"levels": None}
    train_seeds, test_seeds = (
        Family.model_validate(f["family"]).level_seeds() for f in (train, test)
    )
    assert len(train_seeds) == len(test_seeds) == 200 and not set(train_seeds) & set(test_seeds)
    trained, held_out = load_distribution("family-train"), load_distribution("family-test")
    assert trained.names == held_out.names  # the same fields vary, over other values
    assert structure(trained.mean()) == structure(held_out.mean())
    assert trained.mean() != held_out.mean()


def test_the_vector_env_plays_a_level_per_market_as_scalar_envs_with_the_matching_seeds():
    family = scenario_family(3, range(50), segments=2, channels=2, periods=5, noise=True)
    envs = gym.make_vec(
        ENV_ID, num_envs=4, vectorization_mode="vector_entry_point", scenario=family
    )
    singles = [gym.make(ENV_ID, scenario=family) for _ in range(4)]
    observations, _ = envs.reset(seed=11)
    for index, single in enumerate(singles):
        observation, _ = single.reset(seed=11 + index)
        np.testing.assert_array_equal(observations[index], observation)
    envs.single_action_space.seed(0)
    for _ in range(4):
        actions = np.stack([envs.single_action_space.sample() for _ in range(4)])
        observations, rewards, *_ = envs.step(actions)
        for index, single in enumerate(singles):
            observation, reward, *_ = single.step(actions[index])
            np.testing.assert_array_equal(observations[index], observation)
            assert rewards[index] == reward
    envs.close()


def test_knowing_the_level_scores_at_least_the_family_point_estimate():
    family = scenario_family(
        2, range(40), segments=2, channels=2, periods=6, action_mode="continuous"
    )
    oracle = make("planner", load_distribution(family).mean(), **FAST)
    estimate = make("planner_mean", load_distribution(family).mean(), **FAST)
    ours = evaluate(oracle, family, episodes=10, seed=0, noise=False)["return"]
    theirs = evaluate(estimate, family, episodes=10, seed=0, noise=False)["return"]
    assert ours.mean() >= theirs.mean()
    assert (ours.to_numpy() != theirs.to_numpy()).any()  # they planned on different markets


@pytest.mark.parametrize(
    ("family", "message"),
    [
        (
            {"seed": 2, "levels": {"count": 0}},
            r"family\.levels\.count: .*greater than or equal to 1",
        ),
        ({"seed": 2, "levels": [1, 1]}, r"family\.levels repeats a level"),
        ({"seed": 2, "levels": 5}, r"family\.levels: levels is \{start"),
        ({"seed": 2, "levels": [1], "segmnts": 3}, r"family\.segmnts: unknown field"),
        ({"seed": 2, "levels": [1], "channels": 6}, r"family\.channels: .*less than or equal to 5"),
        ({"levels": [1]}, r"family\.seed: Field required"),
    ],
)
def test_a_bad_family_is_refused_naming_the_file_and_field(
    family: dict, message: str, tmp_path: Path, capsys
):
    path = tmp_path / "family.yaml"
    path.write_text(yaml.safe_dump({"family": family}))
    with pytest.raises(ScenarioError, match=message) as error:
        load_distribution(path)
    assert str(path) in str(error.value)
    assert main(["validate", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_family_decides_its_markets_so_they_cannot_be_set_beside_it(tmp_path: Path):
    path = tmp_path / "family.yaml"
    path.write_text(
        yaml.safe_dump({"family": {"seed": 1, "levels": [0]}, "budget": {"per_period": 5}})
    )
    with pytest.raises(ScenarioError, match=r"budget cannot be set beside family"):
        load_distribution(path)
    path.write_text(
        yaml.safe_dump({"family": {"seed": 1, "levels": [0]}, "noise": True, "name": "mine"})
    )
    distribution = load_distribution(path)
    assert distribution.mean().noise and distribution.mean().name == "mine"


def test_the_bundled_family_experiment_trains_on_the_train_levels_and_tests_on_the_others():
    experiment = load_experiment("generalisation-family")
    assert experiment.train_scenario == "family-train"
    assert list(experiment.eval_scenarios or {}) == ["test-levels", "point-estimate"]
    agents = {entry.agent for entry in experiment.agents}
    assert {"planner", "planner_mean", "dqn", "ppo", "qlearning", "greedy", "lp"} <= agents
    held_out = experiment.evaluation_distributions()["test-levels"]
    assert held_out.names == experiment.training_distribution().names
