"""gtmgym: train and benchmark budget-allocation policies for market expansion.

``import gtmgym`` registers ``gtmgym/MarketExpansion-v0`` with Gymnasium.
"""

from gtmgym.envs import (
    ENV_ID,
    InvalidActionError,
    MarketExpansionEnv,
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
    "Scenario",
    "ScenarioError",
    "__version__",
    "bundled_scenarios",
    "load_scenario",
]
