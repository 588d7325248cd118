"""Summary, report and plots, rebuilt from an output folder's tidy tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gtmgym.experiments import plots
from gtmgym.experiments.reference import RandomReference, random_reference
from gtmgym.experiments.store import CONFIG, OutputError, write_atomic
from gtmgym.experiments.summary import PLANNER, TIE, summarise

PLOTS = {
    "learning_curves": "learning_curves.png",
    "final_scores": "final_scores.png",
    "spend": "spend_heatmap.png",
    "customers": "customers_per_segment.png",
}


def read_table(run_dir: Path, table: str) -> pd.DataFrame:
    path = run_dir / f"{table}.csv"
    if not path.is_file():
        raise OutputError(f"{run_dir}: no {table}.csv here; is this a gtmgym run folder?")
    if path.stat().st_size <= 1:
        return pd.DataFrame()
    return pd.read_csv(path)


def build_report(run_dir: str | Path) -> pd.DataFrame:
    """Write ``summary.csv``, ``report.md`` and the PNG plots; return the summary."""
    run_dir = Path(run_dir)
    episodes = read_table(run_dir, "episodes")
    if episodes.empty:
        raise OutputError(f"{run_dir}: episodes.csv has no runs yet")
    curves = read_table(run_dir, "curves")
    allocations = read_table(run_dir, "allocations")
    config = read_config(run_dir)
    reference = random_reference(config, episodes)
    summary = summarise(episodes, random_returns=reference.returns)
    write_atomic(run_dir / "summary.csv", summary.to_csv(index=False))
    figures = {
        "learning_curves": plots.learning_curves(
            curves, summary, run_dir / PLOTS["learning_curves"]
        ),
        "final_scores": plots.final_scores(summary, run_dir / PLOTS["final_scores"]),
    }
    if not allocations.empty:
        figures["spend"] = plots.spend_heatmaps(allocations, run_dir / PLOTS["spend"])
        figures["customers"] = plots.customers_over_time(allocations, run_dir / PLOTS["customers"])
    write_atomic(run_dir / "report.md", _markdown(run_dir, config, summary, figures, reference))
    return summary


def _markdown(
    run_dir: Path,
    config: dict[str, Any],
    summary: pd.DataFrame,
    figures: dict[str, Path],
    reference: RandomReference,
) -> str:
    warning, note = yardstick_warning(summary), yardstick_note(summary)
    lines = [
        f"# {config.get('name', run_dir.name)}",
        "",
        *([f"> **Warning.** {warning}", ""] if warning else []),
        *([f"> Note. {note}", ""] if note else []),
        _settings(config),
        "",
        "Scores are mean evaluation returns per run (seed); intervals are 95% stratified "
        "bootstrap intervals over seeds; percent of planner compares mean returns.",
        "",
        "The normalised score (summary.csv) is (R - R_random) / (R_planner - R_random) on "
        f"mean returns. {reference.source}",
        "",
        format_table(summary, markdown=True),
        "",
    ]
    titles = {
        "learning_curves": "Learning curves",
        "final_scores": "Final scores",
        "spend": "Where the money went",
        "customers": "Customers per segment",
    }
    for key, path in figures.items():
        lines += [f"## {titles[key]}", "", f"![{titles[key]}]({path.name})", ""]
    return "\n".join(lines + _provenance(config)) + "\n"


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved experiment of ``config.yaml`` (empty when there is none)."""
    path = run_dir / CONFIG
    if not path.is_file():
        return {}
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    return config if isinstance(config, dict) else {}


def _settings(config: dict[str, Any]) -> str:
    scenario = config.get("scenario", "?")
    if isinstance(scenario, dict):
        scenario = scenario.get("name", "?")
    return (
        f"Scenario `{scenario}`; {config.get('seeds', '?')} seeds; "
        f"{config.get('train_steps', '?')} training steps; "
        f"{config.get('eval_episodes', '?')} evaluation episodes per run."
    )


def _provenance(config: dict[str, Any]) -> list[str]:
    provenance = config.get("provenance") or {}
    versions = provenance.get("versions")
    if not versions:
        return []
    lines = ["## Provenance", ""]
    lines += [f"- {name}: {version}" for name, version in versions.items()]
    if provenance.get("python"):
        lines.append(f"- python: {provenance['python']}")
    if provenance.get("git_commit"):
        lines.append(f"- git commit: {provenance['git_commit']}")
    return lines


def yardstick_warning(summary: pd.DataFrame) -> str | None:
    """What to say when an agent scores more than the planner on average.

    Percent of planner reads as a share of the best achievable only while the
    planner is the best; an agent whose mean return is higher says it is not
    on this scenario (counts and largest margin per episode from
    :func:`gtmgym.experiments.summary.planner_beats`). Without noise every
    episode of a seed is the same, so one beaten episode is a beaten mean.
    ``None`` when no agent beat it, or the summary predates the beat columns.
    """
    beats = _beats(summary, on_average=True)
    if beats is None:
        return None
    return (
        f"The yardstick was beaten: the planner is not an upper bound on this scenario "
        f"({beats}). Percent of planner is then not a share of the best achievable: the "
        "planner has not converged here (give it more iterations or restarts)."
    )


def yardstick_note(summary: pd.DataFrame) -> str | None:
    """What to say when an agent beat the planner on single episodes only.

    With noise on, the planner plans on the expected market, and an episode's
    draws can favour another policy; below the planner on average, that is
    not a beaten yardstick, but the counts are worth knowing.
    """
    beats = _beats(summary, on_average=False)
    if beats is None:
        return None
    return (
        f"Some agents scored more than the planner on single evaluation episodes ({beats}), "
        "though less on average: the planner plans on the expected market, so with noise "
        "on an episode's draws can favour another policy."
    )


def _beats(summary: pd.DataFrame, on_average: bool) -> str | None:
    """The beats, agent by agent, of the agents that beat the planner on some
    episode and whose mean return is above the planner's (``on_average``) or
    not; ``None`` if there are none."""
    if "episodes_beating_planner" not in summary or PLANNER not in set(summary["agent"]):
        return None
    planner = summary.loc[summary["agent"] == PLANNER, "mean_return"].iloc[0]
    above = summary["mean_return"] > planner + TIE * max(1.0, abs(planner))
    some = summary["episodes_beating_planner"].fillna(0) > 0
    beaten = summary[some & (above if on_average else ~above)]
    if beaten.empty:
        return None
    beaten = beaten.sort_values("episodes_beating_planner", ascending=False, kind="stable")
    return "; ".join(_beat(row) for row in beaten.itertuples(index=False))


def _beat(row: Any) -> str:
    margin = (
        f"by up to {row.largest_beat_pct:.1f}%"
        if np.isfinite(row.largest_beat_pct)
        else "over a planner's return of 0"
    )
    return (
        f"{row.agent} beat it in {int(row.episodes_beating_planner)} of "
        f"{int(row.episodes_vs_planner)} evaluation episodes, {margin}"
    )


SUMMARY_HEADER = ["rank", "agent", "IQM return [95% CI]", "mean return", "% of planner", "seeds"]


def summary_rows(summary: pd.DataFrame) -> list[list[str]]:
    """The ranked summary as rows of text, under :data:`SUMMARY_HEADER`."""
    rows = []
    for rank, row in enumerate(summary.itertuples(index=False), start=1):
        pct = "" if pd.isna(row.pct_of_planner) else f"{row.pct_of_planner:.1f}%"
        rows.append(
            [
                str(rank),
                row.agent,
                f"{row.iqm_return:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]",
                f"{row.mean_return:.3f}",
                pct,
                str(row.n_seeds),
            ]
        )
    return rows


def format_table(summary: pd.DataFrame, markdown: bool = False) -> str:
    """The ranked summary as text (markdown table when asked)."""
    header, rows = SUMMARY_HEADER, summary_rows(summary)
    if markdown:
        return "\n".join(
            ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(r) + " |" for r in rows]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *rows]
    )
