"""In- and out-of-distribution returns of a generalisation experiment, and the gap.

A generalisation experiment (docs/uncertainty.md) evaluates every run (agent,
seed) on its train scenario, ``in-distribution`` (held-out episodes), and on
each eval scenario, with the same episode seeds. A run's **generalisation
gap** on an eval scenario is its mean return there minus its mean return
in-distribution, so it is paired by run: negative when the agent does worse
away from what it learnt on. An agent's gap is the mean over its runs, with a
95% bootstrap interval over seeds, as the returns' are.
"""

from __future__ import annotations

import pandas as pd

from gtmgym.experiments.config import IN_DISTRIBUTION
from gtmgym.experiments.statistics import bootstrap_interval, mean
from gtmgym.experiments.summary import run_scores

RUN_COLUMNS = ["agent", "seed", "eval_scenario", "in_distribution", "eval_return", "gap"]
TABLE_COLUMNS = [
    "agent",
    "eval_scenario",
    "n_seeds",
    "in_distribution",
    "in_ci_low",
    "in_ci_high",
    "eval_return",
    "eval_ci_low",
    "eval_ci_high",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
]


def generalisation_runs(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per (agent, seed, eval scenario other than in-distribution):
    the run's mean return in-distribution and there, and the gap."""
    scores = run_scores(episodes)
    inside = scores.loc[scores["scenario"] == IN_DISTRIBUTION, ["agent", "seed", "score"]]
    outside = scores.loc[
        scores["scenario"] != IN_DISTRIBUTION, ["agent", "seed", "scenario", "score"]
    ]
    runs = outside.merge(inside, on=["agent", "seed"], suffixes=("", "_in"))
    runs = runs.rename(
        columns={"scenario": "eval_scenario", "score": "eval_return", "score_in": "in_distribution"}
    )
    runs["gap"] = runs["eval_return"] - runs["in_distribution"]
    return runs[RUN_COLUMNS].reset_index(drop=True)


def generalisation_table(runs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per agent and eval scenario: mean returns in and out of distribution
    and the mean gap, each with a 95% bootstrap interval over seeds.

    Args:
        runs: :func:`generalisation_runs`.
        seed: seeds the bootstrap.
    """
    rows = []
    for (agent, label), group in runs.groupby(["agent", "eval_scenario"], sort=False):
        row = {"agent": agent, "eval_scenario": label, "n_seeds": len(group)}
        for column, prefix in (("in_distribution", "in"), ("eval_return", "eval"), ("gap", "gap")):
            interval = bootstrap_interval([group[column].to_numpy()], mean, seed=seed)
            row[column] = interval.estimate
            row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"] = interval.low, interval.high
        rows.append(row)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def generalisation_markdown(table: pd.DataFrame, labels: list[str]) -> list[str]:
    """The report's section: per agent, in-distribution and each eval
    scenario's return side by side, each followed by its gap."""
    if table.empty:
        return []
    header = ["agent", IN_DISTRIBUTION]
    for label in labels:
        header += [label, f"gap ({label})"]
    lines = [
        "## Generalisation",
        "",
        "Mean return per run (seed) in-distribution (the train scenario, held-out "
        "episodes) and on each eval scenario; the gap is eval minus in-distribution, "
        "paired by run. Brackets: 95% bootstrap intervals over seeds.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    ranked = table.sort_values("in_distribution", ascending=False, kind="stable")
    for agent, group in ranked.groupby("agent", sort=False):
        by_label = group.set_index("eval_scenario")
        first = group.iloc[0]
        cells = [agent, _interval(first, "in_distribution", "in")]
        for label in labels:
            if label in by_label.index:
                row = by_label.loc[label]
                cells += [_interval(row, "eval_return", "eval"), _interval(row, "gap", "gap")]
            else:
                cells += ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _interval(row: pd.Series, column: str, prefix: str) -> str:
    return f"{row[column]:.3f} [{row[f'{prefix}_ci_low']:.3f}, {row[f'{prefix}_ci_high']:.3f}]"
