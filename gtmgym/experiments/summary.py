"""One row per agent: scores over seeds with intervals, relative to the planner.

A run's score is its mean evaluation return; an agent's statistics are over
its runs (one per seed). ``pct_of_planner`` is 100 x the agent's mean return
over the planner's; ``normalised_score`` is (R - R_random) / (R_planner -
R_random) on mean returns, with R_random from the experiment's random agent or,
when it did not run, from a reference evaluated on the same episodes (see
:mod:`gtmgym.experiments.reference`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gtmgym.experiments.statistics import bootstrap_interval, iqm, mean

PLANNER, RANDOM = "planner", "random"

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
    summary = summary.sort_values("iqm_return", ascending=False, kind="stable")
    return summary[SUMMARY_COLUMNS].reset_index(drop=True)


def _relative_to_planner(
    summary: pd.DataFrame, random_returns: Mapping[str, float]
) -> pd.DataFrame:
    summary["pct_of_planner"] = np.nan
    summary["normalised_score"] = np.nan
    for scenario, group in summary.groupby("scenario"):
        by_agent = group.set_index("agent")["mean_return"]
        if PLANNER not in by_agent or by_agent[PLANNER] == 0:
            continue
        planner = by_agent[PLANNER]
        summary.loc[group.index, "pct_of_planner"] = 100.0 * group["mean_return"] / planner
        floor = by_agent[RANDOM] if RANDOM in by_agent else random_returns.get(scenario)
        if floor is not None and planner != floor:
            summary.loc[group.index, "normalised_score"] = (group["mean_return"] - floor) / (
                planner - floor
            )
    return summary
