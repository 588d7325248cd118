"""The market-expansion environment: scenarios, the model's kernel, the Gymnasium API."""

from gtmgym.envs.actions import InvalidActionError
from gtmgym.envs.kernel import NonFiniteStateError
from gtmgym.envs.loader import ScenarioError, bundled_scenarios, load_scenario
from gtmgym.envs.market_expansion import MarketExpansionEnv
from gtmgym.envs.scenario import Scenario

ENV_ID = "gtmgym/MarketExpansion-v0"

__all__ = [
    "ENV_ID",
    "InvalidActionError",
    "MarketExpansionEnv",
    "NonFiniteStateError",
    "Scenario",
    "ScenarioError",
    "bundled_scenarios",
    "load_scenario",
]
