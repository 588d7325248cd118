"""`gtmgym record`: Minari datasets of any agent, read back with Minari and
checked against a replay of the same seeds."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import gtmgym
import gtmgym.offline
from gtmgym.cli import main
from gtmgym.envs import ENV_ID

minari = pytest.importorskip("minari", reason="the offline extra: pip install -e '.[offline]'")

FAST_PLANNER = {"iterations": 5, "replan_iterations": 1, "entry_sweeps": 1}
SEED = 5


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Three episodes of the planner with epsilon-noise on tabular, read back
    through MINARI_DATASETS_PATH as a Minari user would."""
    out = tmp_path_factory.mktemp("datasets")
    made = gtmgym.record(
        "tabular", "planner", 3, out, seed=SEED, epsilon=0.3, hyperparameters=FAST_PLANNER
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINARI_DATASETS_PATH", str(out))
        loaded = minari.load_dataset(made.spec.dataset_id)
    return out, loaded


def test_dataset_is_named_and_counted(recorded):
    out, dataset = recorded
    assert dataset.spec.dataset_id == "gtmgym/tabular/planner-eps0_3-v0"
    assert (out / "gtmgym/tabular/planner-eps0_3-v0/data/main_data.hdf5").is_file()
    assert dataset.total_episodes == 3
    assert dataset.total_steps == 3 * gtmgym.load_scenario("tabular").periods
    assert dataset.recover_environment().spec.id == ENV_ID


def test_replaying_the_actions_from_the_stored_seeds_gives_the_data_back(recorded):
    _, dataset = recorded
    env = gym.make(ENV_ID, scenario="tabular")
    seeds = [meta["seed"] for meta in dataset.storage.get_episode_metadata(range(3))]
    assert seeds == [SEED, SEED + 1, SEED + 2]
    for episode, seed in zip(dataset.iterate_episodes(), seeds, strict=True):
        observation, info = env.reset(seed=int(seed))
        np.testing.assert_array_equal(episode.observations[0], observation)
        np.testing.assert_array_equal(episode.infos["action_mask"][0], info["action_mask"] != 0)
        assert np.isnan(episode.infos["profit"][0])  # no period played at the reset
        for t, action in enumerate(episode.actions):
            observation, reward, terminated, truncated, info = env.step(int(action))
            np.testing.assert_array_equal(episode.observations[t + 1], observation)
            assert episode.rewards[t] == reward
            assert episode.terminations[t] == terminated and episode.truncations[t] == truncated
            assert episode.infos["profit"][t + 1] == info["profit"]
            np.testing.assert_array_equal(episode.infos["spend"][t + 1], info["spend"])
            np.testing.assert_array_equal(episode.infos["entered"][t + 1], info["entered"])
            np.testing.assert_array_equal(
                episode.infos["action_mask"][t + 1], info["action_mask"] != 0
            )
        assert terminated
        assert "state" not in episode.infos


def test_the_same_seeds_record_the_same_episodes_and_noise_changes_actions(recorded, tmp_path):
    _, dataset = recorded
    again = gtmgym.record(
        "tabular", "planner", 3, tmp_path, seed=SEED, epsilon=0.3, hyperparameters=FAST_PLANNER
    )
    expert = gtmgym.record(
        "tabular", "planner", 3, tmp_path, seed=SEED, hyperparameters=FAST_PLANNER
    )
    changed = 0
    for first, second, clean in zip(
        dataset.iterate_episodes(), again.iterate_episodes(), expert.iterate_episodes(), strict=True
    ):
        np.testing.assert_array_equal(first.actions, second.actions)
        np.testing.assert_array_equal(first.observations, second.observations)
        np.testing.assert_array_equal(first.rewards, second.rewards)
        changed += int((first.actions != clean.actions).sum())
    assert changed > 0  # about 30% of 24 actions are random, some of them unlike the planner's


def test_a_saved_agent_is_recorded_on_its_own_scenario(tmp_path):
    agent = gtmgym.agents.make("qlearning", "tabular", seed=0)
    agent.learn(200)
    folder = agent.save(tmp_path / "agent")
    code = main(["record", "tabular", "--load", str(folder), "--episodes", "1",
                 "--out", str(tmp_path / "data")])  # fmt: skip
    assert code == 0
    dataset = minari.MinariDataset(tmp_path / "data/gtmgym/tabular/qlearning-v0/data")
    assert dataset.total_episodes == 1
    with pytest.raises(gtmgym.offline.RecordError, match="recorded as it is"):
        gtmgym.record(None, agent, 1, tmp_path / "data", train_steps=100, force=True)
    with pytest.raises(gtmgym.offline.RecordError, match="built for scenario 'tabular'"):
        gtmgym.record("default", agent, 1, tmp_path / "data", force=True)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--agent", "nobody"], "unknown agent 'nobody'"),
        (["--episodes", "0"], "episodes must be a whole number of at least 1, got 0"),
        (["--epsilon", "2"], "epsilon must be in [0, 1], got 2.0"),
        (["--agent", "dqn"], "agent 'dqn' learns before it acts"),
        (["--dataset-id", "no id"], "'no id' is no Minari dataset id"),
        (["--agent", "equal", "--train-steps", "100"], "agent 'equal' learns nothing"),
        (["--train-steps", "-1"], "train_steps must be 0 or more, got -1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    code = main(["record", "tabular", "--out", str(tmp_path), *arguments])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("gtmgym record: ") and message in error
    assert error.count("\n") == 1 and "Traceback" not in error


def test_an_existing_dataset_is_kept_unless_forced(tmp_path, capsys):
    arguments = ["record", "tabular", "--agent", "equal", "--episodes", "1", "--out", str(tmp_path)]
    assert main(arguments) == 0
    capsys.readouterr()
    assert main([*arguments, "--episodes", "2"]) == 2
    error = capsys.readouterr().err
    assert "already holds a dataset; --force replaces it" in error and error.count("\n") == 1
    assert main([*arguments, "--episodes", "2", "--force"]) == 0
    root = tmp_path / "gtmgym/tabular/equal-v0/data"
    assert minari.MinariDataset(root).total_episodes == 2


def test_record_has_help(capsys):
    with pytest.raises(SystemExit) as shown:
        main(["record", "--help"])
    assert shown.value.code == 0 and "usage: gtmgym record" in capsys.readouterr().out


def test_a_bad_count_ends_the_process_with_2_and_one_line(tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "gtmgym", "record", "tabular", "--episodes", "-3",
         "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2
    expected = "gtmgym record: episodes must be a whole number of at least 1, got -3\n"
    assert refused.stderr == expected
