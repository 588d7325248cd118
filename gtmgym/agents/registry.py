"""The agents by name: ``names()``, ``make(name, scenario, ...)``, ``load(path)``.

Tuned defaults for each bundled scenario live in ``gtmgym/agents/defaults/
<agent>.yaml`` (a mapping from scenario name to hyperparameters, with a
``_default`` entry for every other scenario); ``make`` starts from them and
applies the caller's keywords on top. Defaults adapt rather than refuse: an
agent asked for no action mode acts in the scenario's if it can, else in its
own (:func:`default_action_mode`), and a tuned setting too large for a short
training budget is scaled to it (:func:`fitted_to_budget`).
"""

from __future__ import annotations

from importlib import import_module, resources
from pathlib import Path
from typing import Any

import yaml

from gtmgym.agents.base import AGENT_FILE, Agent
from gtmgym.envs.distribution import ScenarioDistribution
from gtmgym.envs.market_expansion import ScenarioSource, configured_distribution
from gtmgym.envs.scenario import ActionMode, Scenario

# name -> "module:Class"; imported on use so heavy libraries (torch) load only when needed
AGENTS: dict[str, str] = {
    "random": "gtmgym.agents.random_agent:RandomAgent",
    "equal": "gtmgym.agents.equal:EqualAgent",
    "planner": "gtmgym.agents.planner:Planner",
    "planner_mean": "gtmgym.agents.planner:CertaintyEquivalentPlanner",
    "proportional": "gtmgym.agents.proportional:ProportionalAgent",
    "greedy": "gtmgym.agents.greedy:GreedyAgent",
    "lp": "gtmgym.agents.linear_program:LinearProgramAgent",
    "ansoff": "gtmgym.agents.ansoff:AnsoffAgent",
    "qlearning": "gtmgym.agents.qlearning:QLearningAgent",
    "dqn": "gtmgym.agents.stable_baselines:DQNAgent",
    "ppo": "gtmgym.agents.stable_baselines:PPOAgent",
    "a2c": "gtmgym.agents.stable_baselines:A2CAgent",
    "maskable_ppo": "gtmgym.agents.stable_baselines:MaskablePPOAgent",
}

# agents that share another's tuned defaults (the same implementation)
DEFAULTS_OF = {"planner_mean": "planner"}


def names() -> list[str]:
    """Every agent ``make`` knows."""
    return sorted(AGENTS)


def agent_class(name: str) -> type[Agent]:
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(names())}")
    module, _, attribute = AGENTS[name].partition(":")
    return getattr(import_module(module), attribute)


def tuned_defaults(name: str, scenario_name: str) -> dict[str, Any]:
    """The hyperparameters tuned for ``scenario_name`` (or ``_default``)."""
    table_name = DEFAULTS_OF.get(name, name)
    path = resources.files("gtmgym.agents").joinpath("defaults", f"{table_name}.yaml")
    if not path.is_file():
        return {}
    table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(table.get(scenario_name, table.get("_default", {})) or {})


def default_action_mode(name: str, scenario: Scenario) -> ActionMode:
    """The mode agent ``name`` acts in when none is asked for: the scenario's,
    or the first the agent supports if it cannot act in the scenario's (DQN
    and Q-learning use the discrete catalogue of a continuous scenario)."""
    supported = agent_class(name).action_modes
    mode = scenario.actions.mode
    return mode if mode in supported else supported[0]


def fitted_to_budget(
    name: str, scenario_name: str, total_steps: int, given: dict[str, Any]
) -> dict[str, Any]:
    """Tuned defaults of ``name`` that do not fit ``total_steps`` of training,
    with values that do; settings in ``given`` (the caller's own) are left
    alone, so an impossible one is still refused.

    A tuned ``learning_starts`` at or beyond the budget (DQN's 1,000 against a
    300-step smoke run) becomes a tenth of the budget.
    """
    starts = tuned_defaults(name, scenario_name).get("learning_starts")
    if "learning_starts" in given or starts is None or starts < total_steps:
        return {}
    return {"learning_starts": total_steps // 10}


def make(
    name: str,
    scenario: ScenarioSource | ScenarioDistribution = "default",
    seed: int = 0,
    action_mode: str | None = None,
    **hyperparameters: Any,
) -> Agent:
    """Build agent ``name`` for ``scenario`` (on a distribution: tuned
    defaults and action mode of its mean scenario).

    Args:
        action_mode: the mode to act in; ``None``: :func:`default_action_mode`.

    Raises:
        ValueError: unknown agent, unsupported action mode, or invalid
            hyperparameters (the message names them).
    """
    cls = agent_class(name)
    distribution = configured_distribution(scenario, None)
    resolved = distribution.mean()
    settings = tuned_defaults(name, resolved.name) | hyperparameters
    mode = action_mode or default_action_mode(name, resolved)
    try:
        return cls(distribution, action_mode=mode, seed=seed, **settings)
    except TypeError as error:
        raise ValueError(f"agent {name!r}: {error}") from None


def load(path: str | Path) -> Agent:
    """Restore an agent saved with :meth:`Agent.save` to identical actions."""
    folder = Path(path)
    description_file = folder / AGENT_FILE
    if not description_file.is_file():
        raise ValueError(f"{folder}: not a saved agent (no {AGENT_FILE})")
    description = yaml.safe_load(description_file.read_text(encoding="utf-8"))
    agent = agent_class(description["agent"])(
        description["scenario"],
        action_mode=description["action_mode"],
        seed=description["seed"],
        **description["hyperparameters"],
    )
    agent.load_learnt(folder)
    agent.restore_rng(folder)
    return agent
