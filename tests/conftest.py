"""Shared fixtures: every bundled scenario, every action mode."""

from __future__ import annotations

import os

# numba's OpenMP threads wait for work by spinning unless told to sleep; with
# one pytest worker per core, spinning threads take the cores the other
# workers need (planner tests ran 2x slower). Set before any thread starts,
# and inherited by the processes the tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

import gtmgym  # noqa: E402

SCENARIOS = gtmgym.bundled_scenarios()
ACTION_MODES = ("continuous", "discrete", "multidiscrete")


@pytest.fixture(params=SCENARIOS)
def scenario_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=ACTION_MODES)
def action_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def wide_market():
    """A factory of user-sized markets: ``wide_market(segments, mode)`` is the
    default scenario with home open and ``segments - 1`` copies of its first
    foreign market, in action mode ``mode``, as a mapping."""

    def build(segments: int, mode: str = "discrete") -> dict:
        scenario = gtmgym.load_scenario("default").model_dump(mode="json")
        home, abroad = scenario["segments"][:2]
        scenario["segments"] = [home] + [
            dict(abroad, name=f"market-{index}") for index in range(1, segments)
        ]
        for channel in scenario["channels"]:
            home_effect, abroad_effect = channel["effectiveness"][:2]
            channel["effectiveness"] = [home_effect] + [abroad_effect] * (segments - 1)
        scenario["name"] = f"wide-{segments}"
        scenario["actions"]["mode"] = mode
        return scenario

    return build
