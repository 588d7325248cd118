"""What a run's report says: its settings, the normalised scores, a beaten yardstick.

Every test reads a real run folder written by :func:`run_experiment` on a
small experiment; nothing here builds tables by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_experiments import FAST_PLANNER, gtmgym_cli, write_experiment

from gtmgym.experiments.config import load_experiment
from gtmgym.experiments.report import build_report
from gtmgym.experiments.runner import run_experiment


@pytest.fixture(scope="module")
def without_random(tmp_path_factory) -> Path:
    """A finished run of the planner and `equal` (two seeds, two episodes), no `random`."""
    folder = tmp_path_factory.mktemp("without-random")
    agents = [{"agent": "planner", "hyperparameters": FAST_PLANNER}, {"agent": "equal"}]
    run_experiment(load_experiment(write_experiment(folder, agents=agents)), folder / "out", jobs=1)
    return folder / "out"


def test_report_states_the_settings_and_provenance_of_the_run(without_random):
    report = (without_random / "report.md").read_text()
    assert report.startswith("# tiny\n")
    assert "Scenario `default`; 2 seeds; 0 training steps; 2 evaluation episodes" in report
    assert "?" not in report.split("\n")[2]
    assert "## Provenance" in report and "- gymnasium: " in report


def test_normalised_score_without_random_equals_the_score_with_it(without_random, tmp_path):
    summary = pd.read_csv(without_random / "summary.csv").set_index("agent")
    assert np.isfinite(summary["normalised_score"]).all()
    assert summary.loc["planner", "normalised_score"] == pytest.approx(1.0)
    assert "evaluated when this report was built" in (without_random / "report.md").read_text()
    agents = [
        {"agent": "planner", "hyperparameters": FAST_PLANNER},
        {"agent": "equal"},
        {"agent": "random"},
    ]
    experiment = load_experiment(write_experiment(tmp_path, agents=agents))
    run_experiment(experiment, tmp_path / "out", jobs=1)
    with_random = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("agent")
    assert summary.loc["equal", "normalised_score"] == pytest.approx(
        with_random.loc["equal", "normalised_score"], rel=1e-12
    )


def test_report_says_why_a_normalised_score_is_missing(without_random, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(without_random, copy)
    (copy / "config.yaml").unlink()
    summary = build_report(copy)
    assert summary["normalised_score"].isna().all()
    assert "normalised_score is empty" in (copy / "report.md").read_text()
    assert "config.yaml does not hold the resolved scenario" in (copy / "report.md").read_text()


@pytest.fixture(scope="module")
def weak_planner(tmp_path_factory) -> Path:
    """A run in which one planning step in the discrete mode, against the
    continuous `greedy`, leaves the planner beaten on every episode."""
    folder = tmp_path_factory.mktemp("weak-planner")
    weak = {"iterations": 1, "replan_iterations": 1, "restarts": 1, "baselines": []}
    agents = [
        {"agent": "planner", "action_mode": "discrete", "hyperparameters": weak},
        {"agent": "greedy", "action_mode": "continuous"},
        {"agent": "equal"},
    ]
    path = write_experiment(
        folder,
        agents=agents,
        scenario="channel-allocation",
        scenario_overrides={"periods": 6, "noise": False},
    )
    run_experiment(load_experiment(path), folder / "out", jobs=1)
    return folder / "out"


def test_a_beaten_yardstick_is_flagged_with_counts_and_margin(weak_planner):
    episodes = pd.read_csv(weak_planner / "episodes.csv")
    returns = episodes.pivot(index=["seed", "episode"], columns="agent", values="return")
    margins = 100.0 * (returns["greedy"] - returns["planner"]) / returns["planner"].abs()
    assert (margins > 0).all(), "the setup should leave the planner beaten"
    report = (weak_planner / "report.md").read_text()
    before_table = report.split("| rank |")[0]
    assert "The yardstick was beaten" in before_table
    assert f"greedy beat it in 4 of 4 evaluation episodes, by up to {margins.max():.1f}%" in report
    assert "equal beat" not in report
    summary = pd.read_csv(weak_planner / "summary.csv").set_index("agent")
    assert summary.loc["greedy", "pct_of_planner"] > 100.0
    assert summary.loc["greedy", "episodes_beating_planner"] == 4
    assert summary.loc["equal", "episodes_beating_planner"] == 0
    printed = gtmgym_cli("report", str(weak_planner))
    assert printed.returncode == 0, printed.stderr
    assert "The yardstick was beaten" in " ".join(printed.stdout.split())


def test_a_planner_no_agent_beat_is_not_flagged(without_random):
    summary = pd.read_csv(without_random / "summary.csv").set_index("agent")
    assert summary.loc["equal", "episodes_vs_planner"] == 4
    assert summary.loc["equal", "episodes_beating_planner"] == 0
    assert "yardstick" not in (without_random / "report.md").read_text()


def test_single_noisy_episodes_above_the_planner_are_a_note_not_a_warning(tmp_path):
    # channel-allocation with noise: the myopic greedy is near the planner, and
    # some episodes' draws favour it, though the planner is ahead on average
    agents = [
        {"agent": "planner", "action_mode": "continuous"},
        {"agent": "greedy", "action_mode": "continuous"},
    ]
    path = write_experiment(
        tmp_path,
        agents=agents,
        scenario="channel-allocation",
        scenario_overrides={},
        seeds=2,
        eval_episodes=6,
    )
    run_experiment(load_experiment(path), tmp_path / "out", jobs=1)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("agent")
    assert summary.loc["greedy", "episodes_beating_planner"] > 0, "the setup should give beats"
    assert summary.loc["greedy", "mean_return"] < summary.loc["planner", "mean_return"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "The yardstick was beaten" not in report
    beats = int(summary.loc["greedy", "episodes_beating_planner"])
    assert f"greedy beat it in {beats} of 12 evaluation episodes" in report
    assert "though less on average" in report.split("| rank |")[0]


@pytest.mark.parametrize("scale", [1.0, -1.0e3, 1.0e6])
def test_the_printed_table_fits_80_columns_with_every_agents_name(without_random, scale):
    import io

    from rich.console import Console

    from gtmgym.agents.registry import AGENTS
    from gtmgym.cli.experiments import summary_table

    real = pd.read_csv(without_random / "summary.csv")
    # the run's rows under every registry name, returns scaled up to the widest
    # numbers a scenario gives (a lifetime value in the millions of budgets)
    rows = real.iloc[np.arange(len(AGENTS)) % len(real)].assign(agent=list(AGENTS))
    money = ["iqm_return", "ci_low", "ci_high", "mean_return"]
    rows[money] = rows[money] * scale
    rows["pct_of_planner"] = rows["pct_of_planner"] * -10  # -1000.0%
    stream = io.StringIO()
    console = Console(file=stream, width=80, record=True)
    console.print(summary_table(rows, "a title as long as an experiment's name on a scenario"))
    lines = stream.getvalue().splitlines()
    assert max(map(len, lines)) <= 80
    for agent in AGENTS:  # each row on one line, its interval whole
        (line,) = [text for text in lines if text.split()[1:2] == [agent]]
        interval = line.split(agent, 1)[1].split("]")[0] + "]"
        assert interval.count("[") == 1 and ", " in interval, line
