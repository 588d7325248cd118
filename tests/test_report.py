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
from test_experiments import FAST_PLANNER, write_experiment

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
