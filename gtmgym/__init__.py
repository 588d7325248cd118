"""gtmgym: train and benchmark budget-allocation policies for market expansion.

``import gtmgym`` registers ``gtmgym/MarketExpansion-v0`` with Gymnasium.
``gtmgym.evaluate`` is :func:`gtmgym.agents.evaluate`, the one evaluation
loop every agent is scored by; ``gtmgym.calibrate`` and ``gtmgym.synthesize``
turn a company's data into a scenario and a scenario into such data
(:mod:`gtmgym.calibration`). All three are imported on first use (they bring
pandas and scikit-learn), and so is ``gtmgym.record``, which writes an agent's
episodes as a Minari dataset (:mod:`gtmgym.offline`, the offline extra).
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
    "calibrate",
    "evaluate",
    "load_scenario",
    "record",
    "synthesize",
]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from gtmgym.agents.evaluation import evaluate

        return evaluate
    if name in ("calibrate", "synthesize"):
        from gtmgym import calibration

        return getattr(calibration, name)
    if name == "record":
        from gtmgym.offline import record

        return record
    raise AttributeError(f"module 'gtmgym' has no attribute {name!r}")
