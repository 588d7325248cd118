"""The floor of the normalised score when the experiment did not run ``random``.

``normalised_score`` is (R - R_random) / (R_planner - R_random). When the
random agent is not among an experiment's agents, the report evaluates it as
a run of the experiment would have: on the scenario of ``config.yaml``, seed
``s`` seeding the agent and its evaluation episodes (``eval_seed + 1000 s +
k``). :func:`~gtmgym.experiments.unit.run_unit` is a pure function of its
unit, so these are the very episodes a run with ``random`` writes; the random
agent does not learn, so this costs a few evaluation episodes per seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from gtmgym.experiments.config import Experiment
from gtmgym.experiments.summary import PLANNER, RANDOM, run_scores
from gtmgym.experiments.unit import run_unit, units_of


@dataclass(frozen=True)
class RandomReference:
    """R_random per scenario, and a sentence of the report on where it came from."""

    source: str
    returns: dict[str, float] = field(default_factory=dict)


def random_reference(config: dict[str, Any], episodes: pd.DataFrame) -> RandomReference:
    """R_random for the normalised scores of a run folder's ``episodes``.

    Args:
        config: the resolved experiment of the folder's ``config.yaml``.
        episodes: the folder's evaluation episodes, every agent.

    Returns:
        No returns when the experiment ran ``random`` (the summary uses its
        runs), or when there is no planner to normalise to, or when
        ``config`` does not say what to evaluate; ``source`` says which.
    """
    agents = set(episodes["agent"])
    if RANDOM in agents:
        return RandomReference("R_random is the mean return of this experiment's random agent.")
    if PLANNER not in agents:
        return RandomReference(
            "normalised_score is empty: it is relative to the planner, which did not run."
        )
    experiment = _random_experiment(config)
    if isinstance(experiment, str):
        return RandomReference(f"normalised_score is empty: {experiment}")
    seeds = sorted({int(seed) for seed in episodes["seed"]})
    units = [unit for unit in units_of(experiment) if unit.seed in seeds]
    scores = run_scores(pd.concat([run_unit(unit).episodes for unit in units]))
    returns = scores.groupby("scenario")["score"].mean().to_dict()
    shown = ", ".join(f"{value:.3f}" for value in returns.values())
    return RandomReference(
        f"The random agent was not among the agents, so R_random ({shown}) is its mean "
        f"return evaluated when this report was built, on the runs' evaluation episodes "
        f"(seeds {_span(seeds)}, {experiment.eval_episodes} episodes each).",
        returns,
    )


def _random_experiment(config: dict[str, Any]) -> Experiment | str:
    """The folder's experiment with the random agent alone, or why there is none."""
    alone: dict[str, Any] = {"agents": [{"agent": RANDOM}]}
    if isinstance(config.get("scenarios"), list):  # a suite: every scenario inline
        suite = config["scenarios"]
        inline = all(isinstance(e, dict) and isinstance(e.get("scenario"), dict) for e in suite)
        alone["scenarios"] = [{"scenario": e["scenario"]} for e in suite] if inline else None
    elif "train_scenario" in config:  # a generalisation: train and eval scenarios inline
        inline = isinstance(config["train_scenario"], dict)
    else:
        inline = isinstance(config.get("scenario"), dict)
    if not inline:
        return (
            "the random agent did not run, and config.yaml does not hold the resolved "
            "scenario to evaluate it on (missing, or written by an earlier gtmgym)."
        )
    try:
        return Experiment.model_validate(config | alone)
    except ValidationError as error:
        return f"the random agent did not run, and config.yaml cannot be read: {error}"


def _span(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))
