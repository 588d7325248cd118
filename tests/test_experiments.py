"""`gtmgym run` end to end: output files, resume after a kill, Ray == local, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gtmgym.experiments.config import load_experiment
from gtmgym.experiments.runner import run_experiment

FAST_PLANNER = {"iterations": 5, "replan_iterations": 1, "entry_sweeps": 1}


def write_experiment(folder: Path, seeds: int = 2, agents: list | None = None, **extra) -> Path:
    experiment = {
        "name": "tiny",
        "scenario": "default",
        "scenario_overrides": {"periods": 6},
        "agents": agents
        or [
            {"agent": "planner", "hyperparameters": FAST_PLANNER},
            {"agent": "equal"},
            {"agent": "random"},
        ],
        "seeds": seeds,
        "train_steps": 0,
        "eval_episodes": 2,
        "checkpoints": 1,
    } | extra
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(experiment))
    return path


def gtmgym_cli(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmgym", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_run_writes_every_output_file(tmp_path):
    out = tmp_path / "out"
    agents = [
        {"agent": "planner", "hyperparameters": FAST_PLANNER},
        {"agent": "equal"},
        {"agent": "qlearning"},
    ]
    experiment = write_experiment(tmp_path, agents=agents, train_steps=120, checkpoints=2)
    result = gtmgym_cli("run", str(experiment), "--out", str(out), "--jobs", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    for name in (
        "config.yaml",
        "episodes.csv",
        "curves.csv",
        "allocations.csv",
        "summary.csv",
        "report.md",
        "final_scores.png",
        "learning_curves.png",
        "where_the_money_went.png",
        "where_the_money_went.pdf",
        "customers_per_segment.png",
        "profit_waterfall.png",
        "money.csv",
        "profit_by_segment.csv",
    ):
        assert (out / name).is_file(), name
    episodes = pd.read_csv(out / "episodes.csv")
    assert {"scenario", "agent", "seed", "episode", "return", "profit", "market_share"} <= set(
        episodes.columns
    )
    assert len(episodes) == 3 * 2 * 2
    assert not episodes.duplicated(["agent", "seed", "episode"]).any()
    summary = pd.read_csv(out / "summary.csv")
    assert {
        "agent",
        "scenario",
        "n_seeds",
        "mean_return",
        "iqm_return",
        "ci_low",
        "ci_high",
        "pct_of_planner",
    } <= set(summary.columns)
    assert (summary["n_seeds"] == 2).all()
    assert summary.set_index("agent").loc["planner", "pct_of_planner"] == pytest.approx(100.0)
    assert (summary["ci_low"] <= summary["iqm_return"]).all()
    assert (summary["iqm_return"] <= summary["ci_high"]).all()
    allocations = pd.read_csv(out / "allocations.csv")
    assert {
        "agent",
        "seed",
        "episode",
        "period",
        "segment",
        "channel",
        "spend",
        "segment_customers",
    } <= set(allocations.columns)
    assert len(allocations) == 3 * 2 * 2 * 6 * 3 * 3
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["name"] == "tiny"
    assert config["scenario"]["periods"] == 6
    assert "gymnasium" in config["provenance"]["versions"]
    assert "planner" in (out / "report.md").read_text()
    assert "planner" in result.stdout
    curves = pd.read_csv(out / "curves.csv")
    assert {"scenario", "agent", "seed", "step", "return"} <= set(curves.columns)
    assert set(curves["agent"]) == {"qlearning"}  # only agents that learn have curves
    assert sorted(curves["step"].unique()) == [0, 60, 120]  # 0: before training
    assert len(curves) == 2 * 3


def test_report_rebuilds_and_compare_lists_runs(tmp_path):
    out = tmp_path / "out"
    run_experiment(load_experiment(write_experiment(tmp_path)), out, jobs=1)
    before = pd.read_csv(out / "summary.csv")
    (out / "summary.csv").unlink()
    (out / "report.md").unlink()
    result = gtmgym_cli("report", str(out))
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), before)
    assert (out / "report.md").is_file()
    result = gtmgym_cli("compare", str(out), str(out))
    assert result.returncode == 0, result.stderr
    assert "planner" in result.stdout and "equal" in result.stdout


def test_scenario_option_runs_the_experiments_agents_elsewhere(tmp_path):
    out = tmp_path / "out"
    result = gtmgym_cli(
        "run", "learning-quality", "--scenario", "tabular", "--agents", "equal,random",
        "--seeds", "1", "--eval-episodes", "1", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["name"] == "learning-quality"
    assert config["provenance"]["scenario"] == "tabular"
    assert config["scenario"]["name"] == "tabular"
    assert set(pd.read_csv(out / "episodes.csv")["scenario"]) == {"tabular"}
    result = gtmgym_cli("run", "learning-quality", "--scenario", "nowhere", cwd=tmp_path)
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr


def test_learning_quality_protocol_keeps_tuned_defaults():
    protocol = load_experiment("learning-quality")
    assert (protocol.seeds, protocol.train_steps, protocol.eval_episodes) == (10, 100_000, 10)
    assert all(entry.hyperparameters == {} for entry in protocol.agents)
    bundled = load_experiment("default")
    too_slow_for_default = ["maskable_ppo"]  # 10 seeds would take `gtmgym run` past 10 minutes
    names = [e.name for e in protocol.agents]
    assert [name for name in names if name not in too_slow_for_default] == [
        e.name for e in bundled.agents
    ]
    assert set(too_slow_for_default) <= set(names)


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    experiment = write_experiment(tmp_path, seeds=4)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "gtmgym",
        "run",
        str(experiment),
        "--out",
        str(out),
        "--jobs",
        "1",
        "--no-progress",
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    units = out / "units"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        finished = (
            [p for p in units.glob("*") if not p.name.startswith(".")] if units.exists() else []
        )
        if len(finished) >= 2:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    survivors = {
        p.name: p.stat().st_mtime_ns for p in units.iterdir() if not p.name.startswith(".")
    }
    assert 2 <= len(survivors) < 12, "the kill should land mid-way"

    result = gtmgym_cli(*command[3:])
    assert result.returncode == 0, result.stderr
    episodes = pd.read_csv(out / "episodes.csv")
    assert len(episodes) == 3 * 4 * 2
    assert not episodes.duplicated(["agent", "seed", "episode"]).any()
    for name, mtime in survivors.items():  # finished runs were kept, not re-run
        assert (units / name).stat().st_mtime_ns == mtime
    assert not list(units.glob(".partial-*"))

    fresh = tmp_path / "fresh"
    run_experiment(load_experiment(experiment), fresh, jobs=1)
    key = ["agent", "seed", "episode"]
    pd.testing.assert_frame_equal(
        episodes.sort_values(key).reset_index(drop=True),
        pd.read_csv(fresh / "episodes.csv").sort_values(key).reset_index(drop=True),
    )


def test_ray_executor_gives_the_same_numbers_as_local(tmp_path):
    import ray  # an optional extra of the package; the test setup installs it

    experiment = load_experiment(
        write_experiment(tmp_path, agents=[{"agent": "equal"}, {"agent": "random"}])
    )
    run_experiment(experiment, tmp_path / "local", executor="local", jobs=2)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        run_experiment(experiment, tmp_path / "ray", executor="ray")
    finally:
        ray.shutdown()
    key = ["agent", "seed", "episode"]
    local = pd.read_csv(tmp_path / "local" / "episodes.csv").sort_values(key)
    remote = pd.read_csv(tmp_path / "ray" / "episodes.csv").sort_values(key)
    pd.testing.assert_frame_equal(local.reset_index(drop=True), remote.reset_index(drop=True))


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["run", "no-such-experiment.yaml"], "no such experiment file"),
        (["run", "default", "--agents", "nobody"], "nobody"),
        (["run", "default", "--seeds", "0"], "--seeds"),
        (["report", "no-such-folder"], "no such run folder"),
    ],
)
def test_bad_run_input_exits_2_without_traceback(tmp_path, arguments, expected):
    result = gtmgym_cli(*arguments, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_experiment_file_names_the_field(tmp_path):
    path = write_experiment(tmp_path, agents=[{"agent": "nobody"}])
    result = gtmgym_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "agents[0].agent" in result.stderr and "nobody" in result.stderr
    path = write_experiment(tmp_path, seedz=3)
    result = gtmgym_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "seedz" in result.stderr
    path = write_experiment(
        tmp_path, agents=[{"agent": "planner", "hyperparameters": {"iterationz": 3}}]
    )
    result = gtmgym_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "iterationz" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_folder_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = gtmgym_cli("run", str(write_experiment(tmp_path)), "--out", str(blocker / "out"))
    assert result.returncode == 2
    assert "cannot write the output folder" in result.stderr
    assert blocker.read_text() == "not a folder"


def test_output_folder_of_another_experiment_is_not_mixed(tmp_path):
    out = tmp_path / "out"
    run_experiment(
        load_experiment(write_experiment(tmp_path, agents=[{"agent": "equal"}])), out, jobs=1
    )
    before = (out / "episodes.csv").read_text()
    other = write_experiment(tmp_path, agents=[{"agent": "random"}])
    result = gtmgym_cli("run", str(other), "--out", str(out))
    assert result.returncode == 2 and "different experiment" in result.stderr
    assert (out / "episodes.csv").read_text() == before


@pytest.mark.parametrize(
    "command", ["list", "describe", "validate", "simulate", "run", "report", "compare"]
)
def test_every_command_has_help(command):
    result = gtmgym_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: gtmgym " + command in result.stdout


def test_a_planners_progress_moves_period_by_period(tmp_path):
    from gtmgym.experiments.unit import run_unit, units_of

    agents = [{"agent": "planner", "hyperparameters": FAST_PLANNER}]
    experiment = load_experiment(write_experiment(tmp_path, agents=agents, seeds=1))
    (unit,) = units_of(experiment)
    fractions: list[float] = []
    run_unit(unit, fractions.append)
    periods = experiment.resolved_scenario().periods
    assert len(fractions) >= unit.eval_episodes * periods  # not one jump at the end
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0.0 < fractions[0] <= 1.0 / (unit.eval_episodes * periods) + 1e-12
