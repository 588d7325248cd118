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
