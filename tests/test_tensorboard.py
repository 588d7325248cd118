"""`gtmgym run --tensorboard DIR`: SB3's own scalars and Q-learning's, read
back with TensorBoard's EventAccumulator; results and resumes unchanged."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from gtmgym.agents import make
from gtmgym.cli import main

pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install -e '.[tensorboard]'")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from test_experiments import write_experiment  # noqa: E402

TINY_PPO = {"n_steps": 64, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}
QLEARNING_TAGS = {
    "rollout/ep_rew_mean",
    "rollout/exploration_rate",
    "train/td_error",
}


def scalar_tags(folder: Path) -> set[str]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return set(events.Tags()["scalars"])


def scalar_steps(folder: Path, tag: str) -> list[int]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return [event.step for event in events.Scalars(tag)]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    agents = [
        {"agent": "qlearning"},
        {"agent": "ppo", "hyperparameters": TINY_PPO},
        {"agent": "equal"},
    ]
    folder = tmp_path_factory.mktemp("experiment")
    return write_experiment(
        folder, seeds=1, agents=agents, scenario="tabular", train_steps=256, checkpoints=2,
        eval_episodes=1, scenario_overrides={},
    )  # fmt: skip


@pytest.fixture(scope="module")
def logged_run(experiment, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("logged")
    out, logs = root / "out", root / "logs"
    arguments = ["run", str(experiment), "--out", str(out), "--jobs", "1", "--no-progress"]
    assert main([*arguments, "--tensorboard", str(logs)]) == 0
    return out, logs


def test_a_folder_per_learning_run_with_the_expected_scalars(logged_run):
    _, logs = logged_run
    assert sorted(p.name for p in logs.iterdir()) == ["tabular__ppo__0", "tabular__qlearning__0"]
    assert QLEARNING_TAGS <= scalar_tags(logs / "tabular__qlearning__0")
    # tabular has 8 periods: 256 steps in two checkpoints of 128 are 32
    # episodes, a point every 4
    points = scalar_steps(logs / "tabular__qlearning__0", "train/td_error")
    assert points == list(range(32, 257, 32))
    ppo_tags = scalar_tags(logs / "tabular__ppo__0")
    assert {"rollout/ep_rew_mean", "train/loss", "train/entropy_loss", "time/fps"} <= ppo_tags
    assert max(scalar_steps(logs / "tabular__ppo__0", "train/loss")) == 256


def test_logging_changes_no_result_and_no_resume(experiment, logged_run, tmp_path):
    out, logs = logged_run
    plain = tmp_path / "plain"
    arguments = ["run", str(experiment), "--jobs", "1", "--no-progress"]
    assert main([*arguments, "--out", str(plain)]) == 0
    for table in ("episodes", "curves"):
        pd.testing.assert_frame_equal(
            pd.read_csv(out / f"{table}.csv"), pd.read_csv(plain / f"{table}.csv")
        )
    # resumes across the option either way: it is not part of the experiment
    assert main([*arguments, "--out", str(out)]) == 0
    (plain / "units" / "tabular__qlearning__0").rename(tmp_path / "set-aside")
    resumed_logs = tmp_path / "resumed-logs"
    assert main([*arguments, "--out", str(plain), "--tensorboard", str(resumed_logs)]) == 0
    assert [p.name for p in resumed_logs.iterdir()] == ["tabular__qlearning__0"]
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "episodes.csv"), pd.read_csv(plain / "episodes.csv")
    )


def test_an_attempt_after_an_interrupted_one_gets_its_own_folder(tmp_path):
    for _ in range(2):  # the first attempt's folder is there when the second starts
        agent = make("qlearning", "tabular", seed=0)
        agent.log_training(tmp_path, "tabular__qlearning__0")
        agent.learn(16)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tabular__qlearning__0",
        "tabular__qlearning__0_2",
    ]


def test_an_agent_that_logs_still_pickles(tmp_path):
    agent = make("qlearning", "tabular", seed=0)
    agent.log_training(tmp_path, "run")
    agent.learn(16)
    restored = pickle.loads(pickle.dumps(agent))
    restored.learn(16)  # opens its own writer on the same folder
    # two episodes each time, written when the writer closes
    assert scalar_steps(tmp_path / "run", "rollout/ep_rew_mean") == [16, 32]
