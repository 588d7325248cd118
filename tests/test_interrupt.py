"""Ctrl-C or SIGTERM during `gtmgym run`: one friendly message, the finished
runs kept, and a printed command that completes the rest."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_experiments import write_experiment

from gtmgym.cli.experiments import resume_command

SEEDS = 2
# `python -m gtmgym` with Ctrl-C's default handling, as a terminal starts it:
# a process started in the background (`nohup ... &`, as CI may run) inherits
# SIGINT ignored, and Python keeps it ignored
AS_FROM_A_TERMINAL = [
    sys.executable,
    "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from gtmgym.cli import main; sys.exit(main(sys.argv[1:]))",
]


def finished_units(folder: Path) -> dict[str, int]:
    """The runs written under ``folder/units``, with their modification times."""
    units = folder / "units"
    if not units.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in units.iterdir() if not p.name.startswith(".")}


def interrupted_run(tmp_path: Path, signum: int) -> subprocess.CompletedProcess:
    """`gtmgym run` of an experiment whose `equal` runs end in a moment and
    whose Q-learning runs train for seconds (about 5 each, so a starved poll
    of a loaded machine still signals mid-way; 80,000 steps took under 2 s
    after the kernel's borrowed views, and a CI run finished before its
    signal), signalled (its whole process group, as a terminal does) once
    the first run is written."""
    experiment = write_experiment(
        tmp_path,
        seeds=SEEDS,
        agents=[{"agent": "equal"}, {"agent": "qlearning"}],
        scenario_overrides={"periods": 12},
        train_steps=250_000,  # seconds per run: the signal lands mid-way on a loaded machine too
    )
    process = subprocess.Popen(
        [*AS_FROM_A_TERMINAL, "run", experiment.name, "--jobs", "2", "--no-progress"],
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if any(finished_units(folder) for folder in tmp_path.glob("runs/*")):
            break
        time.sleep(0.05)
    os.killpg(process.pid, signum)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_keeps_finished_runs_and_prints_the_command_to_complete_them(tmp_path, signum):
    result = interrupted_run(tmp_path, signum)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert "leaked semaphore" not in result.stderr
    assert "interrupted" in result.stderr
    resume = [line for line in result.stderr.splitlines() if line.strip().startswith("gtmgym run ")]
    assert len(resume) == 1, result.stderr
    words = shlex.split(resume[0])
    folder = tmp_path / words[words.index("--out") + 1]
    (used,) = tmp_path.glob("runs/*")  # the timestamped folder the run made
    assert folder == used
    kept = finished_units(folder)
    assert 1 <= len(kept) < 2 * SEEDS, "the signal should land mid-way"

    completed = subprocess.run(
        [sys.executable, "-m", *words],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    after = finished_units(folder)
    assert len(after) == 2 * SEEDS
    assert all(after[name] == mtime for name, mtime in kept.items())  # kept, not rerun


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "x.yaml"], "gtmgym run x.yaml --out 'runs/x y'"),
        (
            ["run", "x.yaml", "--out", "old", "--jobs", "2"],
            "gtmgym run x.yaml --out 'runs/x y' --jobs 2",
        ),
        (["run", "--out=old", "x.yaml"], "gtmgym run --out 'runs/x y' x.yaml"),
        (["run", "x.yaml", "--ou", "old"], "gtmgym run x.yaml --out 'runs/x y'"),
    ],
)
def test_resume_command_names_the_folder_used(argv, expected):
    assert resume_command(argv, Path("runs/x y")) == expected
