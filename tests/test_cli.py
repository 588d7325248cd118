"""What every `gtmgym` command shares: help, and user mistakes ending in exit 2.

The behaviour of each command is tested beside its room (`test_cli_scenarios.py`
for list, describe, validate, simulate; `test_experiments.py` for run, report,
compare); here the rules that hold for all of them, through the real command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from gtmgym.cli import build_parser
from gtmgym.envs.loader import scenario_path


def gtmgym_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmgym", *arguments], capture_output=True, text=True, timeout=300
    )


def command_names() -> list[str]:
    parser = build_parser()
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    return sorted(subparsers.choices)


def test_help_of_the_whole_tool_lists_every_command():
    # each command's own --help is tested with the experiment commands
    assert {"list", "describe", "validate", "simulate"} <= set(command_names())
    result = gtmgym_cli("--help")
    assert result.returncode == 0
    for command in command_names():
        assert command in result.stdout


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ([], "required: COMMAND"),
        (["no-such-command"], "invalid choice"),
        (["simulate", "default", "--action-mode", "sideways"], "--action-mode: invalid choice"),
        (["describe", "default", "--action-mode", "sideways"], "--action-mode: invalid choice"),
        (["simulate", "default", "--seed", "-1"], "seed must be 0 or more"),
        (["simulate", "default", "--seed", "one"], "seed must be a whole number"),
        (["simulate", "default", "--policy", "dqn", "--action-mode", "continuous"], "dqn"),
        (["validate"], "FILE"),
        (["simulate", "tabular", "--policy", "qlearning"], "learns before it acts"),
    ],
)
def test_user_mistakes_exit_2_with_a_message_and_no_traceback(arguments, expected):
    result = gtmgym_cli(*arguments)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_every_file_and_fails_if_any_is_invalid(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(scenario_path("default").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments: []\n")
    result = gtmgym_cli("validate", str(good), str(bad))
    assert result.returncode == 2
    assert f"{good}: valid" in result.stdout
    assert str(bad) in result.stderr and "Traceback" not in result.stderr
