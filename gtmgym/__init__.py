"""gtmgym: train and benchmark budget-allocation policies for market expansion.

``import gtmgym`` registers ``gtmgym/MarketExpansion-v0`` with Gymnasium.
``gtmgym.evaluate`` is :func:`gtmgym.agents.evaluate`, the one evaluation
loop every agent is scored by (imported on first use: it brings pandas).
"""

from typing import Any

from gtmgym.envs import (
    ENV_ID,
    InvalidActionError,
    MarketExpansionEnv,
    NonFiniteStateError,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
)
from gtmgym.registration import register_envs

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENV_ID",
    "InvalidActionError",
    "MarketExpansionEnv",
    "NonFiniteStateError",
    "Scenario",
    "ScenarioError",
    "__version__",
    "bundled_scenarios",
    "evaluate",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from gtmgym.agents.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'gtmgym' has no attribute {name!r}")
