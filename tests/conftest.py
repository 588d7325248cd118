"""Shared fixtures: every bundled scenario, every action mode."""

from __future__ import annotations

import pytest

import gtmgym

SCENARIOS = gtmgym.bundled_scenarios()
ACTION_MODES = ("continuous", "discrete", "multidiscrete")


@pytest.fixture(params=SCENARIOS)
def scenario_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=ACTION_MODES)
def action_mode(request: pytest.FixtureRequest) -> str:
    return request.param
