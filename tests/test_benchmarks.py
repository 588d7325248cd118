"""The benchmarks still run (quick mode); their figures are not asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).parents[1] / "benchmarks" / "run.py"


def test_quick_benchmarks_run_and_print_every_figure():
    result = subprocess.run(
        [sys.executable, str(RUNNER), "--quick"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    for number in range(1, 10):
        assert f"\n{number}." in result.stdout, f"benchmark {number} printed nothing"
    assert "target" in result.stdout


def test_the_trajectory_check_finds_a_run_that_changed(tmp_path):
    """benchmarks/trajectories.py: a record compares equal to itself, and a
    run whose numbers moved by one ulp is named."""
    import numpy as np

    script = Path(__file__).parents[1] / "benchmarks" / "trajectories.py"
    record = tmp_path / "before.npz"

    def run(action: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(script), action, str(record)]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    assert run("record").returncode == 0
    same = run("compare")
    assert same.returncode == 0 and "75 of 75 runs identical" in same.stdout, same.stdout
    runs = dict(np.load(record))
    moved_run = runs["default/discrete/noise=True"]
    moved_run[5] = np.nextafter(moved_run[5], np.inf)
    np.savez(record, **runs)
    moved = run("compare")
    assert moved.returncode == 1
    assert "differs: default/discrete/noise=True" in moved.stdout and "74 of 75" in moved.stdout
