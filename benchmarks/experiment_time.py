"""Benchmarks 6 and 7: the bundled experiment's wall time, and learning quality."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from timing import Figure

QUALITY_SCENARIOS = ("default", "tabular", "channel-allocation", "global-expansion")


def _gtmgym_run(*arguments: str) -> tuple[float, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gtmgym", "run", *arguments, "--out", folder, "--no-progress"],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        return seconds, pd.read_csv(Path(folder) / "summary.csv")


QUICK = ["--seeds", "1", "--steps", "500", "--eval-episodes", "1"]  # runs, figures meaningless


def bundled_experiment(quick: bool) -> Figure:
    options = QUICK if quick else []
    seconds, _ = _gtmgym_run(*options)
    label = "quick version" if quick else "bundled default, 2 cores"
    return Figure(
        f"6. gtmgym run wall time ({label})", seconds / 60, "min", "<= 10 min", seconds <= 600
    )


def learning_quality(quick: bool) -> list[Figure]:
    figures = []
    # quick: the smallest market's (its planner's episode is the shortest)
    scenarios = ("tabular",) if quick else QUALITY_SCENARIOS
    # the protocol is the bundled `learning-quality` experiment (10 seeds,
    # 100,000 steps, 10 evaluation episodes, tuned defaults) on each scenario
    options = QUICK if quick else []
    for scenario in scenarios:
        _, summary = _gtmgym_run("learning-quality", "--scenario", scenario, *options)
        rows = summary.set_index("agent")
        heuristics = rows.drop(
            index=[a for a in ("planner", "dqn", "qlearning") if a in rows.index]
        )
        for agent, row in rows.iterrows():
            target, met = "-", None
            if agent == "dqn" and scenario == "default":
                target = ">= 90%"
                met = bool(
                    row.pct_of_planner >= 90 and row.mean_return > heuristics.mean_return.max()
                )
            if agent == "qlearning" and scenario == "tabular":
                target, met = ">= 80%", bool(row.pct_of_planner >= 80)
            figures.append(
                Figure(
                    f"7. {scenario}: {agent} % of planner",
                    row.pct_of_planner,
                    "%",
                    target,
                    met,
                    f"IQM {row.iqm_return:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}], "
                    f"normalised {row.normalised_score:.2f}",
                )
            )
    return figures
