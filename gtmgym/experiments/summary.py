"""One row per agent: scores over seeds with intervals, relative to the planner.

A run's score is its mean evaluation return; an agent's statistics are over
its runs (one per seed). ``pct_of_planner`` is 100 x the agent's mean return
over the planner's; ``normalised_score`` is (R - R_random) / (R_planner -
R_random) on mean returns, with R_random from the experiment's random agent or,
when it did not run, from a reference evaluated on the same episodes (see
:mod:`gtmgym.experiments.reference`).

The planner is the yardstick only while no agent beats it: the last columns
count, per agent, the evaluation episodes it shares with the planner (same
seed, same environment seed) and those on which it scored more, with the
largest margin in percent of the planner's return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gtmgym.experiments.statistics import bootstrap_interval, iqm, mean

PLANNER, RANDOM = "planner", "random"
# a beat is a margin above this share of the planner's return (at least 1): the
# same allocation decoded in two action modes can score a few ulps apart
TIE = 1.0e-9
BEAT_COLUMNS = ["episodes_vs_planner", "episodes_beating_planner", "largest_beat_pct"]

SUMMARY_COLUMNS = [
    "agent",
    "scenario",
    "n_seeds",
    "n_episodes",
    "mean_return",
    "mean_ci_low",
    "mean_ci_high",
    "iqm_return",
    "ci_low",
    "ci_high",
    "pct_of_planner",
    "normalised_score",
    "mean_profit",
    "mean_market_share",
    *BEAT_COLUMNS,
]


def run_scores(episodes: pd.DataFrame) -> pd.DataFrame:
    """Mean evaluation return (and profit, share) of each run."""
    return (
        episodes.groupby(["scenario", "agent", "seed"], sort=False)
        .agg(
            score=("return", "mean"),
            profit=("profit", "mean"),
            market_share=("market_share", "mean"),
            n_episodes=("episode", "count"),
        )
        .reset_index()
    )


def summarise(
    episodes: pd.DataFrame, seed: int = 0, random_returns: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The summary table, ranked by IQM return (best first).

    Args:
        episodes: evaluation episodes, one row each.
        seed: seeds the bootstrap.
        random_returns: R_random per scenario, for scenarios whose episodes
            have no random agent.
    """
    scores = run_scores(episodes)
    rows = []
    for (scenario, agent), runs in scores.groupby(["scenario", "agent"], sort=False):
        values = runs["score"].to_numpy()
        mean_interval = bootstrap_interval([values], mean, seed=seed)
        iqm_interval = bootstrap_interval([values], iqm, seed=seed)
        rows.append(
            {
                "agent": agent,
                "scenario": scenario,
                "n_seeds": len(values),
                "n_episodes": int(runs["n_episodes"].sum()),
                "mean_return": mean_interval.estimate,
                "mean_ci_low": mean_interval.low,
                "mean_ci_high": mean_interval.high,
                "iqm_return": iqm_interval.estimate,
                "ci_low": iqm_interval.low,
                "ci_high": iqm_interval.high,
                "mean_profit": float(runs["profit"].mean()),
                "mean_market_share": float(runs["market_share"].mean()),
            }
        )
    summary = _relative_to_planner(pd.DataFrame(rows), random_returns or {})
    summary = summary.merge(planner_beats(episodes), on=["scenario", "agent"], how="left")
    summary = summary.sort_values("iqm_return", ascending=False, kind="stable")
    return summary[SUMMARY_COLUMNS].reset_index(drop=True)


def _relative_to_planner(
    summary: pd.DataFrame, random_returns: Mapping[str, float]
) -> pd.DataFrame:
    summary["pct_of_planner"] = np.nan
    summary["normalised_score"] = np.nan
    references = yardsticks(summary, random_returns)
    for scenario, group in summary.groupby("scenario"):
        if scenario not in references or references[scenario][0] == 0:
            continue
        planner, floor = references[scenario]
        summary.loc[group.index, "pct_of_planner"] = 100.0 * group["mean_return"] / planner
        if floor is not None and planner != floor:
            summary.loc[group.index, "normalised_score"] = normalised(
                group["mean_return"], planner, floor
            )
    return summary


def yardsticks(
    summary: pd.DataFrame, random_returns: Mapping[str, float]
) -> dict[str, tuple[float, float | None]]:
    """(R_planner, R_random) per scenario of a summary that has the planner:
    their mean returns, R_random from ``random_returns`` when the random agent
    did not run (``None`` when neither has it)."""
    references = {}
    for scenario, group in summary.groupby("scenario", sort=False):
        by_agent = group.set_index("agent")["mean_return"]
        if PLANNER in by_agent:
            floor = by_agent[RANDOM] if RANDOM in by_agent else random_returns.get(scenario)
            references[scenario] = (float(by_agent[PLANNER]), floor)
    return references


def normalised(returns: Any, planner: float, floor: float) -> Any:
    """(R - R_random) / (R_planner - R_random): 0 for random, 1 for the planner."""
    return (returns - floor) / (planner - floor)


def planner_beats(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and agent other than the planner: :data:`BEAT_COLUMNS`.

    An agent beats the planner on an evaluation episode when it scores more
    on the same episode (same scenario, seed, episode and environment seed).
    """
    key = ["scenario", "seed", "episode", *(["env_seed"] if "env_seed" in episodes else [])]
    planner = episodes.loc[episodes["agent"] == PLANNER, [*key, "return"]]
    others = episodes.loc[episodes["agent"] != PLANNER, [*key, "agent", "return"]]
    paired = others.merge(planner, on=key, suffixes=("", "_planner"))
    if paired.empty:
        return pd.DataFrame(columns=["scenario", "agent", *BEAT_COLUMNS])
    yardstick = paired["return_planner"]
    margin = paired["return"] - yardstick
    beat = margin > TIE * np.maximum(1.0, yardstick.abs())
    paired = paired.assign(beat=beat, beat_pct=(100.0 * margin / yardstick.abs()).where(beat))
    beats = paired.groupby(["scenario", "agent"], sort=False).agg(
        episodes_vs_planner=("beat", "size"),
        episodes_beating_planner=("beat", "sum"),
        largest_beat_pct=("beat_pct", "max"),
    )
    counts = {"episodes_vs_planner": "Int64", "episodes_beating_planner": "Int64"}
    return beats.astype(counts).reset_index()
