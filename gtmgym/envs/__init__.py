"""The market-expansion environment: scenario model, dynamics, Gymnasium API."""

# first: numba's cache must know the model's files before any is compiled
# (importing it installs its locators)
from gtmgym.envs import compiled_cache  # noqa: F401  # isort: skip
from gtmgym.envs.actions import InvalidActionError
from gtmgym.envs.loader import ScenarioError, bundled_scenarios, load_scenario
from gtmgym.envs.market_expansion import MarketExpansionEnv
from gtmgym.envs.scenario import Scenario
from gtmgym.envs.transition import NonFiniteStateError

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
