"""The work unit of an experiment: one agent, one seed, on one scenario.

:func:`run_unit` is a pure function of its :class:`Unit` (everything it needs
travels in it, the scenario included), so the same unit gives the same rows in
this process, in a worker process or as a Ray task on another machine.

Evaluation seeds: the run with seed ``s`` is evaluated on episodes reset with
``eval_seed + 1000 * s + k``, ``k = 0 .. eval_episodes - 1``, so every agent
with seed ``s`` faces the same draws; checkpoints during training use the
same episodes.

A generalisation experiment's unit trains on its train scenario and is
evaluated on each of its eval scenarios (:attr:`Unit.eval_scenarios`, the
train scenario itself first as ``in-distribution``) on those same episode
seeds; its rows' ``scenario`` is the eval scenario's label. Learning uses
the agent's own seeds, so the in-distribution episodes are held out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gtmgym.agents.evaluation import evaluate, evaluate_with_periods
from gtmgym.agents.registry import make
from gtmgym.experiments.config import IN_DISTRIBUTION, AgentEntry, Experiment, inline_source

SEED_STRIDE = 1000

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Unit:
    """One run: ``scenario__label__seed``."""

    scenario_name: str
    scenario: dict[str, Any]
    label: str
    agent: str
    seed: int
    train_steps: int
    eval_episodes: int
    checkpoints: int
    eval_seed: int
    action_mode: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # a generalisation unit: label -> scenario (inline) to evaluate on, in order
    eval_scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    # where to write TensorBoard logs of learning; not part of the experiment
    # (results and resumes do not depend on it)
    tensorboard: str | None = None

    @property
    def run_name(self) -> str:
        return f"{self.scenario_name}__{self.label}__{self.seed}"

    @property
    def first_eval_seed(self) -> int:
        return self.eval_seed + SEED_STRIDE * self.seed


@dataclass
class UnitResult:
    """The tidy rows of one run."""

    run_name: str
    episodes: pd.DataFrame
    curves: pd.DataFrame
    allocations: pd.DataFrame


def units_of(experiment: Experiment) -> list[Unit]:
    """Every run of the experiment: scenario by scenario (a suite has
    several), agent by agent, seed by seed."""
    if experiment.is_generalisation:
        evaluated = experiment.evaluation_distributions()
        targets = {label: inline_source(found) for label, found in evaluated.items()}
        name = evaluated[IN_DISTRIBUTION].mean().name
        return _units(experiment, name, targets[IN_DISTRIBUTION], experiment.agents, targets)
    units = []
    for scenario, entries in experiment.per_scenario():
        units += _units(experiment, scenario.name, scenario.model_dump(mode="json"), entries)
    return units


def _units(
    experiment: Experiment,
    name: str,
    scenario: dict[str, Any],
    entries: list[AgentEntry],
    eval_scenarios: dict[str, dict[str, Any]] | None = None,
) -> list[Unit]:
    """The runs of ``entries`` on one (train) scenario, agent by agent, seed by seed."""
    return [
        Unit(
            scenario_name=name,
            scenario=scenario,
            label=entry.name,
            agent=entry.agent,
            seed=seed,
            train_steps=experiment.train_steps,
            eval_episodes=experiment.eval_episodes,
            checkpoints=experiment.checkpoints,
            eval_seed=experiment.eval_seed,
            action_mode=entry.action_mode,
            hyperparameters=dict(entry.hyperparameters),
            eval_scenarios=dict(eval_scenarios or {}),
        )
        for entry in entries
        for seed in range(experiment.seeds)
    ]


def run_unit(unit: Unit, progress: Progress | None = None) -> UnitResult:
    """Train (if the agent learns), evaluate before training, at checkpoints
    and at the end; ``progress`` hears the fraction done, period by period
    in the final evaluation (where a planner spends its time)."""
    agent = make(
        unit.agent,
        unit.scenario,
        seed=unit.seed,
        action_mode=unit.action_mode,
        **unit.hyperparameters,
    )
    if unit.tensorboard is not None and agent.learns and unit.train_steps > 0:
        agent.log_training(unit.tensorboard, unit.run_name)
    report = progress or (lambda fraction: None)
    curve_rows = []
    trains = agent.learns and unit.train_steps > 0
    if trains:
        agent.check_budget(unit.train_steps)
        done = 0
        for checkpoint in range(unit.checkpoints + 1):  # 0: the untrained agent
            target = unit.train_steps * checkpoint // unit.checkpoints
            if target > done:
                agent.learn(target - done)
            done = target
            scores = evaluate(agent, episodes=unit.eval_episodes, seed=unit.first_eval_seed)
            curve_rows.append({"step": done, "return": float(scores["return"].mean())})
            report(0.9 * checkpoint / unit.checkpoints)
    start = 0.9 if trains else 0.0  # the rest of the bar, period by period
    # a plain unit plays its own scenario (None: the agent's), keyed by its name
    targets: dict[str, dict[str, Any] | None] = dict(unit.eval_scenarios) or {
        unit.scenario_name: None
    }
    share = (1.0 - start) / len(targets)
    played, spent = [], []
    for position, (label, scenario) in enumerate(targets.items()):
        episodes, allocations = evaluate_with_periods(
            agent,
            scenario,
            episodes=unit.eval_episodes,
            seed=unit.first_eval_seed,
            progress=lambda fraction, at=start + position * share: report(at + share * fraction),
        )
        keys = {"scenario": label, "agent": unit.label, "seed": unit.seed}
        played.append(_keyed(episodes.rename(columns={"seed": "env_seed"}), keys))
        spent.append(_keyed(allocations, keys))
    curve_scenario = IN_DISTRIBUTION if unit.eval_scenarios else unit.scenario_name
    keys = {"scenario": curve_scenario, "agent": unit.label, "seed": unit.seed}
    curves = pd.DataFrame(curve_rows, columns=["step", "return"])
    return UnitResult(
        run_name=unit.run_name,
        episodes=pd.concat(played, ignore_index=True),
        curves=_keyed(curves, keys),
        allocations=pd.concat(spent, ignore_index=True),
    )


def _keyed(frame: pd.DataFrame, keys: dict[str, Any]) -> pd.DataFrame:
    for position, (column, value) in enumerate(keys.items()):
        frame.insert(position, column, value)
    return frame
