"""Summary, report and plots, rebuilt from an output folder's tidy tables.

The figures (:mod:`gtmgym.experiments.plots`) are PNGs with a PDF beside
each; ``report.html`` is ``report.md`` with them embedded
(:mod:`gtmgym.experiments.html_report`). The money they draw is in
``money.csv`` (where it went, per agent and item) and
``profit_by_segment.csv`` (the waterfall's steps), with a ``scenario``
column.

A suite's report has a section per scenario (its ranked table and figures,
named ``<figure>__<scenario>.png``), then the aggregate across scenarios
(:mod:`gtmgym.experiments.aggregate`): ``aggregate.csv``, ``improvement.csv``,
``profiles.csv``, ``aggregate_scores.png`` and ``performance_profiles.png``.

A generalisation experiment's eval scenarios are reported as a suite's
scenarios (``in-distribution`` first), after a section with its returns in
and out of distribution side by side and the gaps
(:mod:`gtmgym.experiments.generalisation`, ``generalisation.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gtmgym.experiments import plots
from gtmgym.experiments.aggregate import SuiteAggregate, aggregate
from gtmgym.experiments.config import IN_DISTRIBUTION
from gtmgym.experiments.generalisation import (
    generalisation_markdown,
    generalisation_runs,
    generalisation_table,
)
from gtmgym.experiments.html_report import markdown_to_html
from gtmgym.experiments.reference import RandomReference, random_reference
from gtmgym.experiments.store import CONFIG, OutputError, write_atomic
from gtmgym.experiments.styles import AgentStyle, agent_styles
from gtmgym.experiments.summary import PLANNER, TIE, summarise

PLOTS = {
    "learning_curves": "learning_curves.png",
    "final_scores": "final_scores.png",
    "money": "where_the_money_went.png",
    "customers": "customers_per_segment.png",
    "waterfall": "profit_waterfall.png",
}
SUITE_PLOTS = {"aggregate": "aggregate_scores.png", "profiles": "performance_profiles.png"}
TITLES = {
    "learning_curves": "Learning curves",
    "final_scores": "Final scores",
    "money": "Where the money went",
    "customers": "Customers per segment",
    "waterfall": "Profit per segment",
    "aggregate": "Aggregate normalised scores",
    "profiles": "Performance profiles",
}
# the tables behind the money figures, every scenario's rows in one file
MONEY_TABLES = {"money": "money.csv", "waterfall": "profit_by_segment.csv"}


def read_table(run_dir: Path, table: str) -> pd.DataFrame:
    path = run_dir / f"{table}.csv"
    if not path.is_file():
        raise OutputError(f"{run_dir}: no {table}.csv here; is this a gtmgym run folder?")
    if path.stat().st_size <= 1:
        return pd.DataFrame()
    return pd.read_csv(path)


def build_report(run_dir: str | Path) -> pd.DataFrame:
    """Write ``summary.csv``, ``report.md``, the same as a self-contained
    ``report.html``, the plots (and a suite's aggregate tables); return the
    summary."""
    run_dir = Path(run_dir)
    episodes = read_table(run_dir, "episodes")
    if episodes.empty:
        raise OutputError(f"{run_dir}: episodes.csv has no runs yet")
    curves = read_table(run_dir, "curves")
    allocations = read_table(run_dir, "allocations")
    config = read_config(run_dir)
    reference = random_reference(config, episodes)
    summary = summarise(episodes, random_returns=reference.returns)
    scenarios = scenario_order(config, summary)
    suite = isinstance(config.get("scenarios"), list) or len(scenarios) > 1
    if suite:  # by scenario, in the suite's order; by IQM within each
        position = {name: index for index, name in enumerate(scenarios)}
        summary = summary.sort_values("scenario", key=lambda s: s.map(position), kind="stable")
        summary = summary.reset_index(drop=True)
    write_atomic(run_dir / "summary.csv", summary.to_csv(index=False))
    generalisation = _generalisation(run_dir, config, episodes)
    drawing = Drawing(
        styles=agent_styles(summary["agent"]),
        units={name: plots.return_unit(o) for name, o in objectives(config).items()},
    )
    if suite:
        tables = {"episodes": episodes, "curves": curves, "allocations": allocations}
        text = _suite_report(
            run_dir, config, tables, summary, scenarios, reference, drawing, generalisation
        )
    else:
        figures = _figures(run_dir, curves, summary, allocations, "", drawing)
        text = _markdown(run_dir, config, summary, figures, reference, generalisation)
    _write_money_tables(run_dir, drawing)
    write_atomic(run_dir / "report.md", text)
    write_atomic(run_dir / "report.html", markdown_to_html(text, run_dir))
    return summary


@dataclass
class Drawing:
    """What every figure of a report shares: each agent's style, each
    scenario's unit of return; and the money tables as they are drawn."""

    styles: dict[str, AgentStyle]
    units: dict[str, str]
    money: dict[str, list[pd.DataFrame]] = field(
        default_factory=lambda: {key: [] for key in MONEY_TABLES}
    )


def objectives(config: dict[str, Any]) -> dict[str, str]:
    """Each scenario's objective, from the resolved scenarios of config.yaml
    (of a generalisation experiment: each eval scenario's, by label)."""
    entries = [config.get("scenario")] + [
        entry.get("scenario") for entry in config.get("scenarios") or [] if isinstance(entry, dict)
    ]
    found = {
        entry["name"]: entry.get("objective", "profit")
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
    evaluated = {IN_DISTRIBUTION: config.get("train_scenario")} | {
        label: entry.get("scenario") if isinstance(entry, dict) else None
        for label, entry in (config.get("eval_scenarios") or {}).items()
    }
    for label, scenario in evaluated.items():
        if isinstance(scenario, dict):
            found[label] = scenario.get("objective", "profit")
    return found


def _generalisation(run_dir: Path, config: dict[str, Any], episodes: pd.DataFrame) -> list[str]:
    """A generalisation experiment's ``generalisation.csv`` and report section."""
    if "train_scenario" not in config:
        return []
    table = generalisation_table(generalisation_runs(episodes))
    write_atomic(run_dir / "generalisation.csv", table.to_csv(index=False))
    return generalisation_markdown(table, list(config.get("eval_scenarios") or {}))


def _write_money_tables(run_dir: Path, drawing: Drawing) -> None:
    for key, name in MONEY_TABLES.items():
        frames = drawing.money[key]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        write_atomic(run_dir / name, table.to_csv(index=False))


def _suite_report(
    run_dir: Path,
    config: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    summary: pd.DataFrame,
    scenarios: list[str],
    reference: RandomReference,
    drawing: Drawing,
    generalisation: list[str],
) -> str:
    """Each scenario's figures, the aggregate's tables and figures; the report.

    A generalisation experiment's agents learn in-distribution only: its
    other sections have no learning curves."""
    learnt_on = [IN_DISTRIBUTION] if "train_scenario" in config else scenarios
    sections = {
        scenario: _figures(
            run_dir,
            _of(tables["curves"], scenario) if scenario in learnt_on else None,
            _of(summary, scenario),
            _of(tables["allocations"], scenario),
            f"__{scenario}",
            drawing,
        )
        for scenario in scenarios
    }
    suite = aggregate(tables["episodes"], summary, reference.returns)
    figures = _write_aggregate(run_dir, suite, drawing)
    return _suite_markdown(
        run_dir, config, summary, sections, suite, figures, reference, generalisation
    )


def scenario_order(config: dict[str, Any], summary: pd.DataFrame) -> list[str]:
    """The scenarios of the summary, in the suite's order where config.yaml
    gives one, then any others in the summary's order."""
    listed = [IN_DISTRIBUTION, *(config.get("eval_scenarios") or {})]
    for entry in config.get("scenarios") or []:
        inline = entry.get("scenario") if isinstance(entry, dict) else None
        if isinstance(inline, dict) and isinstance(inline.get("name"), str):
            listed.append(inline["name"])
    present = list(dict.fromkeys(summary["scenario"]))
    return [name for name in listed if name in present] + [
        name for name in present if name not in listed
    ]


def _of(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    if frame.empty or "scenario" not in frame:
        return frame
    return frame[frame["scenario"] == scenario].reset_index(drop=True)


def _figures(
    run_dir: Path,
    curves: pd.DataFrame | None,
    summary: pd.DataFrame,
    allocations: pd.DataFrame,
    suffix: str,
    drawing: Drawing,
) -> dict[str, Path]:
    """One scenario's figures, ``suffix`` before ``.png`` in their names
    (each with a PDF beside it); its money tables join ``drawing``'s.
    ``curves`` None: no learning curves (the agents did not learn there)."""

    def path(key: str) -> Path:
        return run_dir / PLOTS[key].replace(".png", f"{suffix}.png")

    scenario = summary["scenario"].iloc[0]
    unit, styles = drawing.units.get(scenario, "return"), drawing.styles
    figures = {}
    if curves is not None:
        figures["learning_curves"] = plots.save(
            plots.learning_curves(curves, summary, styles, unit), path("learning_curves")
        )
    figures["final_scores"] = plots.save(
        plots.final_scores(summary, styles, unit), path("final_scores")
    )
    if allocations.empty:
        return figures
    ranked = [agent for agent in summary["agent"] if agent in set(allocations["agent"])]
    money = plots.money_table(allocations)
    figures["money"] = plots.save(plots.where_the_money_went(money, ranked), path("money"))
    figures["customers"] = plots.save(
        plots.customers_over_time(allocations, styles), path("customers")
    )
    drawing.money["money"].append(money.assign(scenario=scenario))
    profits = plots.segment_profits(allocations)
    if not profits.empty:
        shown = waterfall_agents(ranked)
        figures["waterfall"] = plots.save(plots.profit_waterfall(profits, shown), path("waterfall"))
        drawing.money["waterfall"].append(profits.assign(scenario=scenario))
    return figures


def waterfall_agents(ranked: list[str]) -> list[str]:
    """Whose profit the waterfall breaks down: the planner and the best of
    the others (the first two by IQM without a planner)."""
    others = [agent for agent in ranked if agent != PLANNER]
    return [PLANNER, *others[:1]] if PLANNER in ranked else others[:2]


def _write_aggregate(run_dir: Path, suite: SuiteAggregate, drawing: Drawing) -> dict[str, Path]:
    """The aggregate's tables and figures; no figures when nothing is normalised."""
    write_atomic(run_dir / "aggregate.csv", suite.table.to_csv(index=False))
    write_atomic(run_dir / "improvement.csv", suite.improvement.to_csv(index=False))
    write_atomic(run_dir / "profiles.csv", suite.profile_rows().to_csv(index=False))
    if suite.table.empty:
        return {}
    styles = drawing.styles
    return {
        "aggregate": plots.save(
            plots.aggregate_scores(suite.table, styles), run_dir / SUITE_PLOTS["aggregate"]
        ),
        "profiles": plots.save(
            plots.performance_profiles(suite.profiles, styles), run_dir / SUITE_PLOTS["profiles"]
        ),
    }


def _markdown(
    run_dir: Path,
    config: dict[str, Any],
    summary: pd.DataFrame,
    figures: dict[str, Path],
    reference: RandomReference,
    generalisation: list[str],
) -> str:
    lines = [
        *_preamble(run_dir, config, summary, reference),
        *generalisation,
        format_table(summary, markdown=True),
        "",
    ]
    for key, path in figures.items():
        lines += [f"## {TITLES[key]}", "", f"![{TITLES[key]}]({path.name})", ""]
    return "\n".join(lines + _provenance(config)) + "\n"


def _preamble(
    run_dir: Path, config: dict[str, Any], summary: pd.DataFrame, reference: RandomReference
) -> list[str]:
    """Title, the yardstick's warning and note, settings, how to read the scores."""
    warning, note = yardstick_warning(summary), yardstick_note(summary)
    return [
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
    ]


def _suite_markdown(
    run_dir: Path,
    config: dict[str, Any],
    summary: pd.DataFrame,
    sections: dict[str, dict[str, Path]],
    suite: SuiteAggregate,
    figures: dict[str, Path],
    reference: RandomReference,
    generalisation: list[str],
) -> str:
    """Per scenario its table and figures, then the aggregate across them."""
    lines = _preamble(run_dir, config, summary, reference) + generalisation
    for scenario, scenario_figures in sections.items():
        lines += [
            f"## Scenario `{scenario}`",
            "",
            format_table(_of(summary, scenario), markdown=True),
            "",
        ]
        for key, path in scenario_figures.items():
            lines += [f"### {TITLES[key]}", "", f"![{TITLES[key]}: {scenario}]({path.name})", ""]
    lines += _aggregate_markdown(suite, figures, list(sections))
    return "\n".join(lines + _provenance(config)) + "\n"


def _aggregate_markdown(
    suite: SuiteAggregate, figures: dict[str, Path], order: list[str]
) -> list[str]:
    scenarios = [name for name in order if name in set(suite.scores["scenario"])]
    lines = [
        "## Across scenarios",
        "",
        "Each run's mean evaluation return R is normalised on its scenario, "
        "(R - R_random) / (R_planner - R_random), with R_planner and R_random the mean "
        "returns of the planner and the random agent there; the aggregates pool every run "
        f"of the {len(scenarios)} scenarios ({', '.join(f'`{s}`' for s in scenarios)}) "
        "as rliable does (Agarwal et al. 2021, Deep Reinforcement Learning at the Edge of "
        "the Statistical Precipice). Intervals are 95% percentile intervals of a stratified "
        "bootstrap: strata are scenarios, runs are resampled within each (2,000 replicates).",
        "",
    ]
    if suite.left_out:
        lines += [f"Left out of the aggregate: {'; '.join(suite.left_out)}.", ""]
    if suite.table.empty:
        return lines + ["No scenario has normalised scores, so there is no aggregate.", ""]
    lines += [
        f"### {TITLES['aggregate']}",
        "",
        format_aggregate(suite.table, markdown=True),
        "",
        f"![{TITLES['aggregate']}]({figures['aggregate'].name})",
        "",
        f"### {TITLES['profiles']}",
        "",
        "The fraction of runs whose normalised score is above each threshold tau, with "
        "95% pointwise bands (profiles.csv); a curve above another everywhere is "
        "stochastically dominant.",
        "",
        f"![{TITLES['profiles']}]({figures['profiles'].name})",
        "",
        "### Probability of improvement",
        "",
        "P(X > Y): the probability that a run of X scores more than a run of Y on the same "
        "scenario (ties count one half), averaged over the scenarios both ran; intervals "
        "resample each agent's runs independently within each scenario (improvement.csv). "
        "P(Y > X) = 1 - P(X > Y).",
        "",
        format_improvement(suite.improvement, markdown=True),
        "",
    ]
    return lines


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved experiment of ``config.yaml`` (empty when there is none)."""
    path = run_dir / CONFIG
    if not path.is_file():
        return {}
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    return config if isinstance(config, dict) else {}


def _settings(config: dict[str, Any]) -> str:
    if isinstance(config.get("scenarios"), list):
        names = [_scenario_name(entry.get("scenario")) for entry in config["scenarios"]]
        where = f"Scenarios {', '.join(f'`{name}`' for name in names)}"
    elif "train_scenario" in config:
        evaluated = ", ".join(f"`{label}`" for label in config.get("eval_scenarios") or {})
        where = (
            f"Trained on `{_scenario_name(config['train_scenario'])}`, evaluated on it "
            f"(`{IN_DISTRIBUTION}`, held-out episodes)"
            + (f" and on {evaluated}" if evaluated else "")
        )
    else:
        where = f"Scenario `{_scenario_name(config.get('scenario', '?'))}`"
    return (
        f"{where}; {config.get('seeds', '?')} seeds; "
        f"{config.get('train_steps', '?')} training steps; "
        f"{config.get('eval_episodes', '?')} evaluation episodes per run."
    )


def _scenario_name(scenario: Any) -> str:
    return scenario.get("name", "?") if isinstance(scenario, dict) else str(scenario)


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
    planners = summary[summary["agent"] == PLANNER].set_index("scenario")["mean_return"]
    planner = summary["scenario"].map(planners)  # each row's own scenario's planner
    above = summary["mean_return"] > planner + TIE * np.maximum(1.0, planner.abs())
    some = summary["episodes_beating_planner"].fillna(0) > 0
    beaten = summary[some & (above if on_average else ~above)]
    if beaten.empty:
        return None
    beaten = beaten.sort_values("episodes_beating_planner", ascending=False, kind="stable")
    several = summary["scenario"].nunique() > 1  # a suite: say on which scenario
    return "; ".join(_beat(row, several) for row in beaten.itertuples(index=False))


def _beat(row: Any, name_scenario: bool = False) -> str:
    margin = (
        f"by up to {row.largest_beat_pct:.1f}%"
        if np.isfinite(row.largest_beat_pct)
        else "over a planner's return of 0"
    )
    where = f" on {row.scenario}" if name_scenario else ""
    return (
        f"{row.agent} beat it{where} in {int(row.episodes_beating_planner)} of "
        f"{int(row.episodes_vs_planner)} evaluation episodes, {margin}"
    )


SUMMARY_HEADER = ["rank", "agent", "IQM return [95% CI]", "mean return", "% of planner", "seeds"]
# the terminal's, to fit 80 columns (tests/test_report.py prints every agent's name in it)
SHORT_SUMMARY_HEADER = ["rank", "agent", "IQM return [95% CI]", "mean", "% planner", "seeds"]


def summary_rows(summary: pd.DataFrame, decimals: int = 3) -> list[list[str]]:
    """The ranked summary as rows of text, under :data:`SUMMARY_HEADER`,
    returns with ``decimals`` digits after the point."""
    rows = []
    for rank, row in enumerate(summary.itertuples(index=False), start=1):
        pct = "" if pd.isna(row.pct_of_planner) else f"{row.pct_of_planner:.1f}%"
        rows.append(
            [
                str(rank),
                row.agent,
                f"{row.iqm_return:.{decimals}f} "
                f"[{row.ci_low:.{decimals}f}, {row.ci_high:.{decimals}f}]",
                f"{row.mean_return:.{decimals}f}",
                pct,
                str(row.n_seeds),
            ]
        )
    return rows


def significant_decimals(values: Any, digits: int = 4) -> int:
    """Decimals that give the largest of ``values`` ``digits`` significant
    digits (3 for 3.349, 1 for 123.4, 0 from 1000 on), one for every row of a
    table so that its numbers line up."""
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    largest = float(finite.max()) if finite.size else 0.0
    if largest < 1.0:
        return digits - 1
    return int(max(0, digits - 1 - np.floor(np.log10(largest))))


AGGREGATE_HEADER = ["rank", "agent", "IQM [95% CI]", "mean [95% CI]", "runs"]
IMPROVEMENT_HEADER = ["X", "Y", "P(X > Y) [95% CI]", "scenarios"]


def aggregate_rows(table: pd.DataFrame) -> list[list[str]]:
    """A suite's aggregate as rows of text, under :data:`AGGREGATE_HEADER`."""
    return [
        [
            str(rank),
            row.agent,
            f"{row.iqm_normalised:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]",
            f"{row.mean_normalised:.3f} [{row.mean_ci_low:.3f}, {row.mean_ci_high:.3f}]",
            str(row.n_runs),
        ]
        for rank, row in enumerate(table.itertuples(index=False), start=1)
    ]


def improvement_rows(improvement: pd.DataFrame) -> list[list[str]]:
    """P(X > Y) of every pair as rows of text, under :data:`IMPROVEMENT_HEADER`."""
    return [
        [
            row.agent_x,
            row.agent_y,
            f"{row.probability:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]",
            str(row.n_scenarios),
        ]
        for row in improvement.itertuples(index=False)
    ]


def format_aggregate(table: pd.DataFrame, markdown: bool = False) -> str:
    """A suite's aggregate as text (markdown table when asked)."""
    return _text_table(AGGREGATE_HEADER, aggregate_rows(table), markdown)


def format_improvement(improvement: pd.DataFrame, markdown: bool = False) -> str:
    """The probabilities of improvement as text (markdown table when asked)."""
    return _text_table(IMPROVEMENT_HEADER, improvement_rows(improvement), markdown)


def format_table(summary: pd.DataFrame, markdown: bool = False) -> str:
    """The ranked summary as text (markdown table when asked)."""
    return _text_table(SUMMARY_HEADER, summary_rows(summary), markdown)


def _text_table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
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
