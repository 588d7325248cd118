"""What a run's report says: its settings, the normalised scores, a beaten yardstick.

Every test reads a real run folder written by :func:`run_experiment` on a
small experiment; nothing here builds tables by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_experiments import FAST_PLANNER, write_experiment

from gtmgym.experiments.config import load_experiment
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
