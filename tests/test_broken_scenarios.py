"""Every broken scenario file is refused with the file, the field and the value named.

Each file in tests/data/broken_scenarios/ starts with `# expect: a | b | ...`,
the parts the error message must contain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gtmgym

BROKEN = sorted((Path(__file__).parent / "data" / "broken_scenarios").glob("*.yaml"))


def expected_parts(path: Path) -> list[str]:
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# expect: "), path
    return [part.strip() for part in first_line.removeprefix("# expect: ").split("|")]


def test_there_is_a_broken_file_for_every_kind_of_mistake():
    assert len(BROKEN) >= 20


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_scenario_is_refused_with_a_clear_message(path):
    with pytest.raises(gtmgym.ScenarioError) as raised:
        gtmgym.load_scenario(path)
    message = str(raised.value)
    assert str(path) in message
    for part in expected_parts(path):
        assert part in message, f"{part!r} not in:\n{message}"
    assert isinstance(raised.value, ValueError)


def test_missing_file_names_the_file_and_the_bundled_scenarios():
    with pytest.raises(gtmgym.ScenarioError, match="nowhere.yaml: no such scenario file"):
        gtmgym.load_scenario("nowhere.yaml")


def test_python_tags_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(gtmgym.ScenarioError):
        gtmgym.load_scenario(path)
    assert not marker.exists()


def test_floats_in_exponent_form_are_read_as_numbers(tmp_path):
    # PyYAML reads `1e-4` (no dot) as a string; the validator coerces it to the number
    source = gtmgym.envs.loader.scenario_path("tabular").read_text()
    path = tmp_path / "exponent.yaml"
    path.write_text(source.replace("churn: 0.1", "churn: 1e-1", 1))
    scenario = gtmgym.load_scenario(path)
    assert scenario.segments[0].churn == pytest.approx(0.1)


def test_overrides_are_validated_too():
    with pytest.raises(gtmgym.ScenarioError, match=r"budget.per_period.*-1"):
        gtmgym.load_scenario("default", {"budget": {"per_period": -1}})
    assert gtmgym.load_scenario("default", {"periods": 6}).periods == 6


def test_env_refuses_an_invalid_scenario_mapping():
    with pytest.raises(gtmgym.ScenarioError, match="periods"):
        import gymnasium as gym

        gym.make(gtmgym.ENV_ID, scenario={"name": "x", "periods": 0})
