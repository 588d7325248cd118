"""Across the scenarios of a suite: one row per agent, as rliable aggregates
(Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS).

Each run's score (its mean evaluation return) is normalised on its scenario:
(R_run - R_random) / (R_planner - R_random), with R_planner and R_random the
mean returns of the planner's and the random agent's runs there, R_random from
:mod:`gtmgym.experiments.reference` when the random agent did not run (the
mean of an agent's normalised runs on a scenario is the summary's
``normalised_score``). Over every run of every scenario:

- the IQM and the mean of the normalised scores, each with a 95% stratified
  bootstrap interval (strata = scenarios: runs are resampled within each);
- performance profiles: the fraction of runs scoring above each threshold
  tau, with 95% pointwise bands from the same bootstrap;
- the probability of improvement P(X > Y) of every agent over every agent
  ranked below it, averaged over the scenarios both ran, with a 95% interval
  (each agent's runs resampled independently within each scenario).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gtmgym.experiments.statistics import (
    Profile,
    bootstrap_interval,
    improvement_interval,
    iqm,
    mean,
    performance_profile,
)
from gtmgym.experiments.summary import normalised, run_scores, yardsticks

AGGREGATE_COLUMNS = [
    "agent",
    "n_scenarios",
    "n_runs",
    "iqm_normalised",
    "ci_low",
    "ci_high",
    "mean_normalised",
    "mean_ci_low",
    "mean_ci_high",
]
IMPROVEMENT_COLUMNS = ["agent_x", "agent_y", "n_scenarios", "probability", "ci_low", "ci_high"]
PROFILE_THRESHOLDS = 101


@dataclass
class SuiteAggregate:
    """The aggregate tables of a suite, and what was left out of them."""

    scores: pd.DataFrame  # one row per run: scenario, agent, seed, score, normalised
    table: pd.DataFrame  # AGGREGATE_COLUMNS, best first
    improvement: pd.DataFrame  # IMPROVEMENT_COLUMNS, X ranked above Y
    profiles: dict[str, Profile] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # scenarios, and why

    def profile_rows(self) -> pd.DataFrame:
        """The profiles as a tidy table: agent, threshold, fraction, low, high."""
        frames = [
            pd.DataFrame(
                {
                    "agent": agent,
                    "threshold": profile.thresholds,
                    "fraction_above": profile.estimate,
                    "low": profile.low,
                    "high": profile.high,
                }
            )
            for agent, profile in self.profiles.items()
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def normalised_runs(
    episodes: pd.DataFrame, summary: pd.DataFrame, random_returns: Mapping[str, float]
) -> tuple[pd.DataFrame, list[str]]:
    """Every run's normalised score, on the scenarios where it is defined.

    Returns:
        The runs (scenario, agent, seed, score, normalised), and one sentence
        per scenario left out (no planner, no R_random, or R_planner =
        R_random).
    """
    scores = run_scores(episodes)
    references = yardsticks(summary, random_returns)
    kept, left_out = [], []
    for scenario, runs in scores.groupby("scenario", sort=False):
        planner, floor = references.get(scenario, (None, None))
        if planner is None:
            left_out.append(f"`{scenario}` (the planner did not run on it)")
        elif floor is None:
            left_out.append(f"`{scenario}` (no R_random for it)")
        elif planner == floor:
            left_out.append(f"`{scenario}` (the planner's mean return equals random's)")
        else:
            kept.append(runs.assign(normalised=normalised(runs["score"], planner, floor)))
    columns = ["scenario", "agent", "seed", "score", "normalised"]
    runs = pd.concat(kept, ignore_index=True)[columns] if kept else pd.DataFrame(columns=columns)
    return runs, left_out


def aggregate(
    episodes: pd.DataFrame,
    summary: pd.DataFrame,
    random_returns: Mapping[str, float],
    seed: int = 0,
) -> SuiteAggregate:
    """The suite's aggregate over every scenario with normalised scores.

    Args:
        episodes: evaluation episodes of every scenario, one row each.
        summary: :func:`gtmgym.experiments.summary.summarise` of them.
        random_returns: R_random per scenario without a random agent.
        seed: seeds every bootstrap.
    """
    scores, left_out = normalised_runs(episodes, summary, random_returns)
    strata = {
        agent: [runs["normalised"].to_numpy() for _, runs in rows.groupby("scenario", sort=False)]
        for agent, rows in scores.groupby("agent", sort=False)
    }
    rows = []
    for agent, arrays in strata.items():
        middle = bootstrap_interval(arrays, iqm, seed=seed)
        average = bootstrap_interval(arrays, mean, seed=seed)
        rows.append(
            {
                "agent": agent,
                "n_scenarios": len(arrays),
                "n_runs": sum(a.size for a in arrays),
                "iqm_normalised": middle.estimate,
                "ci_low": middle.low,
                "ci_high": middle.high,
                "mean_normalised": average.estimate,
                "mean_ci_low": average.low,
                "mean_ci_high": average.high,
            }
        )
    table = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    table = table.sort_values("iqm_normalised", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    ranked = list(table["agent"])
    return SuiteAggregate(
        scores=scores,
        table=table,
        improvement=_improvement(scores, ranked, seed),
        profiles=_profiles(scores, strata, ranked, seed),
        left_out=left_out,
    )


def _improvement(scores: pd.DataFrame, ranked: list[str], seed: int) -> pd.DataFrame:
    """P(X > Y) for each X ranked above Y, over the scenarios both ran (no row
    for a pair without one)."""
    by_run = {
        key: runs["normalised"].to_numpy() for key, runs in scores.groupby(["agent", "scenario"])
    }
    scenarios = list(dict.fromkeys(scores["scenario"]))
    rows = []
    for position, x in enumerate(ranked):
        for y in ranked[position + 1 :]:
            shared = [s for s in scenarios if (x, s) in by_run and (y, s) in by_run]
            if not shared:  # a report of a suite still running: nothing to compare yet
                continue
            interval = improvement_interval(
                [by_run[x, s] for s in shared], [by_run[y, s] for s in shared], seed=seed
            )
            rows.append(
                {
                    "agent_x": x,
                    "agent_y": y,
                    "n_scenarios": len(shared),
                    "probability": interval.estimate,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                }
            )
    return pd.DataFrame(rows, columns=IMPROVEMENT_COLUMNS)


def _profiles(
    scores: pd.DataFrame, strata: dict[str, list[np.ndarray]], ranked: list[str], seed: int
) -> dict[str, Profile]:
    """Each agent's profile on one grid of thresholds, a margin beyond 0 and 1
    and beyond every score, so every curve starts at 1 and ends at 0."""
    if scores.empty:
        return {}
    low = min(0.0, float(scores["normalised"].min()))
    high = max(1.0, float(scores["normalised"].max()))
    margin = 0.05 * (high - low)
    thresholds = np.linspace(low - margin, high + margin, PROFILE_THRESHOLDS)
    return {agent: performance_profile(strata[agent], thresholds, seed=seed) for agent in ranked}
