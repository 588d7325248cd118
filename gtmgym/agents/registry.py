"""The agents by name: ``names()``, ``make(name, scenario, ...)``, ``load(path)``.

Tuned defaults for each bundled scenario live in ``gtmgym/agents/defaults/
<agent>.yaml`` (a mapping from scenario name to hyperparameters, with a
``_default`` entry for every other scenario); ``make`` starts from them and
applies the caller's keywords on top.
"""

from __future__ import annotations

from importlib import import_module, resources
from pathlib import Path
from typing import Any

import yaml

from gtmgym.agents.base import AGENT_FILE, Agent
from gtmgym.envs.market_expansion import ScenarioSource, configured_scenario

# name -> "module:Class"; imported on use so heavy libraries (torch) load only when needed
AGENTS: dict[str, str] = {
    "random": "gtmgym.agents.random_agent:RandomAgent",
    "equal": "gtmgym.agents.equal:EqualAgent",
    "planner": "gtmgym.agents.planner:Planner",
    "proportional": "gtmgym.agents.proportional:ProportionalAgent",
    "greedy": "gtmgym.agents.greedy:GreedyAgent",
    "lp": "gtmgym.agents.linear_program:LinearProgramAgent",
    "ansoff": "gtmgym.agents.ansoff:AnsoffAgent",
    "qlearning": "gtmgym.agents.qlearning:QLearningAgent",
    "dqn": "gtmgym.agents.stable_baselines:DQNAgent",
    "ppo": "gtmgym.agents.stable_baselines:PPOAgent",
    "a2c": "gtmgym.agents.stable_baselines:A2CAgent",
}


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
    path = resources.files("gtmgym.agents").joinpath("defaults", f"{name}.yaml")
    if not path.is_file():
        return {}
    table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(table.get(scenario_name, table.get("_default", {})) or {})


def make(
    name: str,
    scenario: ScenarioSource = "default",
    seed: int = 0,
    action_mode: str | None = None,
    **hyperparameters: Any,
) -> Agent:
    """Build agent ``name`` for ``scenario``.

    Raises:
        ValueError: unknown agent, unsupported action mode, or invalid
            hyperparameters (the message names them).
    """
    cls = agent_class(name)
    resolved = configured_scenario(scenario, None)
    settings = tuned_defaults(name, resolved.name) | hyperparameters
    try:
        return cls(resolved, action_mode=action_mode, seed=seed, **settings)
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
