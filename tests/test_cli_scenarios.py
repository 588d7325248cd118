"""`gtmgym list`, `describe`, `validate` and `simulate` through the real command."""

from __future__ import annotations

import re
import subprocess
import sys

import gymnasium as gym
import pytest

import gtmgym
from gtmgym.cli import main


def gtmgym_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmgym", *arguments], capture_output=True, text=True, timeout=300
    )


def test_list_shows_every_bundled_scenario():
    result = gtmgym_cli("list")
    assert result.returncode == 0
    for name in gtmgym.bundled_scenarios():
        assert name in result.stdout


def test_describe_prints_parameters_spaces_and_catalogue():
    result = gtmgym_cli("describe", "default")
    assert result.returncode == 0, result.stderr
    model = gtmgym.MarketExpansionEnv("default", action_mode="discrete")
    for entry in model.codec.describe():
        assert entry in result.stdout
    for name in model.feature_names:
        assert name in result.stdout
    assert "north-america" in result.stdout and "half-saturation" in result.stdout


# every way describe (or a scenario's description) may state the catalogue's size
CATALOGUE_SIZE = re.compile(r"catalogue of (\d+)|(\d+)[- ]entr(?:y|ies) catalogue")


@pytest.mark.parametrize("action_mode", [None, "continuous"])
@pytest.mark.parametrize("scenario", gtmgym.bundled_scenarios())
def test_describe_counts_the_catalogue_of_the_action_space(scenario, action_mode, capsys):
    options = [] if action_mode is None else ["--action-mode", action_mode]
    assert main(["describe", scenario, *options]) == 0
    printed = capsys.readouterr().out
    stated = {int(a or b) for a, b in CATALOGUE_SIZE.findall(printed)}
    env = gym.make(gtmgym.ENV_ID, scenario=scenario, action_mode="discrete")
    assert stated == {env.action_space.n}


def test_validate_accepts_a_valid_file_and_refuses_an_invalid_one(tmp_path):
    source = gtmgym.envs.loader.scenario_path("default").read_text()
    valid = tmp_path / "valid.yaml"
    valid.write_text(source)
    result = gtmgym_cli("validate", str(valid))
    assert result.returncode == 0
    assert "valid (3 segments x 3 channels, 24 periods)" in result.stdout

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(source.replace("churn: 0.03", "churn: 1.5"))
    result = gtmgym_cli("validate", str(invalid))
    assert result.returncode == 2
    assert str(invalid) in result.stderr
    assert "segments[0].churn" in result.stderr and "1.5" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_prints_every_period_reproducibly():
    first = gtmgym_cli("simulate", "default", "--policy", "equal", "--seed", "0")
    assert first.returncode == 0, first.stderr
    periods = gtmgym.load_scenario("default").periods
    rows = [line for line in first.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == periods
    assert "return" in first.stdout.splitlines()[-1]
    again = gtmgym_cli("simulate", "default", "--policy", "equal", "--seed", "0")
    assert again.stdout == first.stdout


def test_simulate_random_policy_depends_on_the_seed():
    one = gtmgym_cli("simulate", "default", "--policy", "random", "--seed", "1")
    two = gtmgym_cli("simulate", "default", "--policy", "random", "--seed", "2")
    assert one.returncode == two.returncode == 0
    assert one.stdout != two.stdout


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["simulate", "no-such-scenario"], "no such scenario file"),
        (["simulate", "default", "--policy", "nobody"], "unknown agent 'nobody'"),
        (["describe", "no-such-scenario"], "no such scenario file"),
        (["validate", "missing.yaml"], "no such scenario file"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(arguments, expected):
    result = gtmgym_cli(*arguments)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
