"""The figures of a report, sized for a paper (matplotlib, no screen needed).

Each function here builds one figure from a run folder's tidy tables and
returns it; :func:`save` writes it as a PNG and, beside it, a PDF (vector).
Figures are one column of a two-column paper wide (:data:`COLUMN`, 3.5 in)
or the page's width (:data:`WIDE`, 7 in), with 7-8 pt text. Every agent is
drawn with its own style from :mod:`gtmgym.experiments.styles`, the same in
every figure; every mean or IQM drawn carries its 95% bootstrap interval over
seeds, and legends sit below the axes, outside the data.

Money is in the scenario's currency, per evaluation episode, averaged over
seeds x evaluation episodes. What the allocation table's columns mean:
:func:`gtmgym.agents.evaluation.evaluate_with_periods`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gtmgym.experiments.statistics import (  # noqa: E402
    Profile,
    bootstrap_bands,
    iqm_columns,
    mean_columns,
)
from gtmgym.experiments.styles import AgentStyle, agent_styles  # noqa: E402

COLUMN, WIDE = 3.5, 7.0  # inches: one column, and the width of a page
PNG_DPI = 300
PAPER = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text for the journal
}
# what an episode's return is, by the scenario's objective (gtmgym/envs/kernel/reward.py)
RETURN_UNITS = {
    "profit": "profit in per-period budgets",
    "market_share": "sum of period market shares",
    "lifetime_value": "customer value less costs, in per-period budgets",
}
MONEY = "money per episode (scenario currency)"
# the allocation table's per-segment money columns, as the money figure names them
SEGMENT_MONEY = {
    "segment_partner_payout": "payout",
    "segment_entry_costs": "entry",
    "segment_operating_costs": "operating",
}
HELD_BACK = "held back"
WATERFALL_STEPS = {
    "gross_margin": "gross margin",
    "partner_payout": "partner payout",
    "spend": "channel spend",
    "entry_costs": "entry costs",
    "operating_costs": "operating costs",
    "profit": "profit",
}
RISE, FALL, TOTAL = "#009E73", "#D55E00", "#555555"
RUN = ["agent", "seed", "episode"]


def return_unit(objective: str | None) -> str:
    """How an axis names a return under ``objective`` ("return" when unknown)."""
    return RETURN_UNITS.get(objective or "", "return")


def save(figure: plt.Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` (PNG) and a PDF beside it; return ``path``."""
    figure.savefig(path, dpi=PNG_DPI)
    figure.savefig(path.with_suffix(".pdf"), metadata={"CreationDate": None})
    plt.close(figure)
    return path


def _styles(
    agents: Sequence[str], styles: Mapping[str, AgentStyle] | None
) -> Mapping[str, AgentStyle]:
    if styles is None:
        return agent_styles(agents)
    missing = [agent for agent in agents if agent not in styles]
    if missing:
        raise ValueError(f"no style for agents {missing}; styles has {sorted(styles)}")
    return styles


def _legend_below(figure: plt.Figure, axes: plt.Axes, columns: int = 3) -> None:
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=columns, frameon=False)


def _legend_rows(count: int, columns: int = 3) -> int:
    return -(-count // columns)


# --- learning curves and final scores ----------------------------------------


def learning_curves(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    styles: Mapping[str, AgentStyle] | None = None,
    unit: str = "return",
) -> plt.Figure:
    """Evaluation return during training: the IQM over seeds at each
    checkpoint (step 0 is the untrained agent) with its 95% bootstrap band;
    agents that do not learn are horizontal lines at their IQM, banded by
    their interval."""
    learners = [] if curves.empty else list(dict.fromkeys(curves["agent"]))
    references = summary[~summary["agent"].isin(learners)]
    styles = _styles([*learners, *references["agent"]], styles)
    with plt.rc_context(PAPER):
        count = len(learners) + len(references)
        figure = plt.figure(
            figsize=(COLUMN, 2.3 + 0.16 * _legend_rows(count)), layout="constrained"
        )
        axes = figure.add_subplot()
        steps = np.array([0.0, 1.0])
        for agent in learners:
            table = curves[curves["agent"] == agent].pivot_table(
                index="seed", columns="step", values="return"
            )
            table = table.dropna(axis=1)  # a step some seeds lack (an older run) is not drawn
            steps = np.union1d(steps, table.columns.to_numpy(dtype=float))
            estimate, low, high = bootstrap_bands(table.to_numpy(), iqm_columns)
            style = styles[agent]
            axes.plot(table.columns, estimate, label=agent, **style.line())
            axes.fill_between(table.columns, low, high, color=style.colour, alpha=0.2, lw=0)
        span = np.array([steps.min(), steps.max()])
        for row in references.itertuples(index=False):
            style = styles[row.agent]
            axes.plot(span, [row.iqm_return] * 2, label=row.agent, markevery=[1], **style.line())
            axes.axhspan(row.ci_low, row.ci_high, color=style.colour, alpha=0.08, lw=0)
        axes.set_xlim(span)
        axes.set_xlabel("training steps (environment steps)")
        axes.set_ylabel(f"IQM return\n({unit})")
        axes.set_title("Learning curves: IQM over seeds, 95% bootstrap band")
        axes.grid(alpha=0.3)
        _legend_below(figure, axes)
    return figure


def final_scores(
    summary: pd.DataFrame, styles: Mapping[str, AgentStyle] | None = None, unit: str = "return"
) -> plt.Figure:
    """IQM return of each agent with its 95% interval, best at the top."""
    ordered = summary.iloc[::-1].reset_index(drop=True)
    styles = _styles(list(ordered["agent"]), styles)
    with plt.rc_context(PAPER):
        figure, axes = plt.subplots(
            figsize=(COLUMN, 0.2 * len(ordered) + 1.0), layout="constrained"
        )
        for position, row in enumerate(ordered.itertuples(index=False)):
            style = styles[row.agent]
            errors = [[max(row.iqm_return - row.ci_low, 0)], [max(row.ci_high - row.iqm_return, 0)]]
            axes.errorbar(
                [row.iqm_return],
                [position],
                xerr=errors,
                fmt=style.marker,
                color=style.colour,
                capsize=3,
                label=row.agent,
            )
        axes.set_yticks(range(len(ordered)), ordered["agent"])
        axes.set_xlabel(f"IQM return over seeds, 95% bootstrap CI\n({unit})")
        axes.set_title("Final scores")
        axes.grid(axis="x", alpha=0.3)
    return figure


# --- where the money went ------------------------------------------------------


def money_per_episode(allocations: pd.DataFrame) -> pd.DataFrame:
    """Each evaluation episode's money by where it went: one row per agent,
    seed, episode and item, with columns ``kind`` (``spend``, a cost of
    :data:`SEGMENT_MONEY`, or :data:`HELD_BACK`), ``segment``, ``channel``
    (spend only) and ``money``. Spend is on the pairs the channel reaches
    (``available``; every pair for a table without that column)."""
    reachable = allocations
    if "available" in allocations:
        reachable = allocations[allocations["available"].astype(bool)]
    spend = (
        reachable.groupby([*RUN, "segment", "channel"], sort=False)["spend"]
        .sum()
        .reset_index(name="money")
        .assign(kind="spend")
    )
    parts = [spend]
    segments = allocations.drop_duplicates([*RUN, "period", "segment"])
    for column, kind in SEGMENT_MONEY.items():
        if column in allocations:
            money = segments.groupby([*RUN, "segment"], sort=False)[column].sum()
            parts.append(money.reset_index(name="money").assign(kind=kind, channel=""))
    if "period_held_back" in allocations:
        periods = allocations.drop_duplicates([*RUN, "period"])
        held = periods.groupby(RUN, sort=False)["period_held_back"].sum()
        parts.append(held.reset_index(name="money").assign(kind=HELD_BACK, segment="", channel=""))
    return pd.concat(parts, ignore_index=True)[[*RUN, "kind", "segment", "channel", "money"]]


def money_table(allocations: pd.DataFrame) -> pd.DataFrame:
    """Where the money went, per agent: the mean per episode over seeds x
    episodes of each item of :func:`money_per_episode`, with a 95% bootstrap
    interval over seeds; items ordered segment by segment (its channels'
    spend, then its costs), the money held back last."""
    if allocations.empty:
        return pd.DataFrame(columns=["agent", "item", "kind", "segment", "channel", "money"])
    money = money_per_episode(allocations)
    segments = list(dict.fromkeys(allocations["segment"]))
    channels = list(dict.fromkeys(allocations["channel"]))
    kinds = ["spend", *SEGMENT_MONEY.values(), HELD_BACK]
    money["item"] = np.where(
        money["kind"] == HELD_BACK,
        HELD_BACK,
        money["segment"]
        + " · "
        + np.where(money["kind"] == "spend", money["channel"], money["kind"]),
    )
    order = {
        item: (
            segments.index(segment) if segment else len(segments),
            kinds.index(kind),
            channels.index(channel) if channel else 0,
        )
        for item, kind, segment, channel in money[["item", "kind", "segment", "channel"]]
        .drop_duplicates()
        .itertuples(index=False)
    }
    items = sorted(order, key=order.get)
    described = money.drop_duplicates("item").set_index("item")[["kind", "segment", "channel"]]
    rows = []
    for agent, runs in money.groupby("agent", sort=False):
        by_seed = runs.pivot_table(index="seed", columns="item", values="money", aggfunc="mean")
        by_seed = by_seed.reindex(columns=[item for item in items if item in by_seed])
        estimate, low, high = bootstrap_bands(by_seed.to_numpy(), mean_columns)
        for k, item in enumerate(by_seed.columns):
            rows.append(
                {"agent": agent, "item": item, **described.loc[item].to_dict()}
                | {"money": estimate[k], "ci_low": low[k], "ci_high": high[k]}
            )
    return pd.DataFrame(rows)


def where_the_money_went(table: pd.DataFrame, agents: Sequence[str] | None = None) -> plt.Figure:
    """:func:`money_table` as a heat map: an agent per row, an item per
    column, each cell annotated with its mean."""
    agents = list(agents) if agents is not None else list(dict.fromkeys(table["agent"]))
    items = list(dict.fromkeys(table["item"]))
    grid = table.pivot(index="agent", columns="item", values="money").reindex(
        index=agents, columns=items
    )
    values = grid.to_numpy(dtype=float)
    with plt.rc_context(PAPER):
        figure, axes = plt.subplots(figsize=(WIDE, 0.22 * len(agents) + 1.9), layout="constrained")
        top = np.nanmax(values) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1.0
        image = axes.imshow(values, aspect="auto", cmap="cividis", vmin=0, vmax=top)
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                shade = "black" if value > 0.6 * top else "white"
                axes.text(
                    column, row, _short(value), ha="center", va="center", fontsize=5, color=shade
                )
        segment_of = table.drop_duplicates("item").set_index("item")["segment"]
        for column in range(1, len(items)):  # a white rule between segments
            if segment_of[items[column]] != segment_of[items[column - 1]]:
                axes.axvline(column - 0.5, color="white", linewidth=1.5)
        axes.set_yticks(range(len(agents)), agents)
        axes.set_xticks(range(len(items)), items, rotation=60, ha="right", rotation_mode="anchor")
        axes.tick_params(axis="x", labelsize=6)
        axes.set_title("Where the money went: mean per episode over seeds × episodes")
        figure.colorbar(image, ax=axes, label=MONEY, shrink=0.9, pad=0.01)
    return figure


def _short(value: float) -> str:
    if abs(value) < 0.005:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


# --- customers and profit per segment ----------------------------------------


def customers_over_time(
    allocations: pd.DataFrame, styles: Mapping[str, AgentStyle] | None = None
) -> plt.Figure:
    """Customers per segment at the end of each period: the mean over seeds
    x episodes with a 95% bootstrap band over seeds, a panel per segment."""
    segments = list(dict.fromkeys(allocations["segment"]))
    agents = list(dict.fromkeys(allocations["agent"]))
    styles = _styles(agents, styles)
    per_run = (
        allocations.drop_duplicates([*RUN, "period", "segment"])
        .groupby(["agent", "segment", "seed", "period"], sort=False)["segment_customers"]
        .mean()  # over episodes
        .sort_index()
    )
    with plt.rc_context(PAPER):
        figure, panels = plt.subplots(
            1,
            len(segments),
            figsize=(WIDE, 2.1 + 0.16 * _legend_rows(len(agents), 5)),
            squeeze=False,
            layout="constrained",
        )
        for axes, segment in zip(panels[0], segments, strict=True):
            for agent in agents:
                table = per_run.loc[agent, segment].unstack("period")
                periods = table.columns.to_numpy() + 1  # the end of period t
                estimate, low, high = bootstrap_bands(table.to_numpy(), mean_columns)
                style = styles[agent]
                every = max(1, len(periods) // 6)
                axes.plot(periods, estimate, label=agent, markevery=every, **style.line())
                axes.fill_between(periods, low, high, color=style.colour, alpha=0.15, lw=0)
            axes.set_title(segment)
            axes.set_xlabel("end of period")
            axes.grid(alpha=0.3)
        panels[0, 0].set_ylabel("customers\n(mean over seeds, 95% band)")
        figure.suptitle("Customers per segment", fontsize=8)
        _legend_below(figure, panels[0, 0], columns=5)
    return figure


def segment_profits(allocations: pd.DataFrame) -> pd.DataFrame:
    """Per agent and segment, the mean per episode over seeds x episodes of
    each step of :data:`WATERFALL_STEPS` (profit = gross margin - partner
    payout - channel spend - entry costs - operating costs, so the segments'
    profits sum to the episode's), with the profit's 95% bootstrap interval
    over seeds. Empty for a table without the segments' money columns."""
    needed = ["segment_gross_margin", "segment_partner_payout", "segment_entry_costs"]
    if allocations.empty or not set(needed) <= set(allocations):
        return pd.DataFrame(columns=["agent", "segment", *WATERFALL_STEPS])
    spend = allocations.groupby([*RUN, "segment"], sort=False)["spend"].sum()
    segments = allocations.drop_duplicates([*RUN, "period", "segment"])
    columns = {
        step: f"segment_{step}" for step in WATERFALL_STEPS if step not in ("spend", "profit")
    }
    money = segments.groupby([*RUN, "segment"], sort=False)[list(columns.values())].sum()
    money = money.rename(columns={v: k for k, v in columns.items()}).assign(spend=spend)
    money["profit"] = money["gross_margin"] - money[
        ["partner_payout", "spend", "entry_costs", "operating_costs"]
    ].sum(axis=1)
    by_seed = money.groupby(level=["agent", "segment", "seed"], sort=False).mean()
    rows = []
    for (agent, segment), runs in by_seed.groupby(level=["agent", "segment"], sort=False):
        table = runs[list(WATERFALL_STEPS)].to_numpy()
        estimate, low, high = bootstrap_bands(table, mean_columns)
        rows.append(
            {
                "agent": agent,
                "segment": segment,
                **dict(zip(WATERFALL_STEPS, estimate, strict=True)),
            }
            | {"profit_ci_low": low[-1], "profit_ci_high": high[-1]}
        )
    return pd.DataFrame(rows)


def profit_waterfall(table: pd.DataFrame, agents: Sequence[str]) -> plt.Figure:
    """:func:`segment_profits` as waterfalls: a row per agent, a panel per
    segment, from gross margin down through each cost to profit (with its
    95% interval over seeds)."""
    segments = list(dict.fromkeys(table["segment"]))
    rows = table.set_index(["agent", "segment"])
    with plt.rc_context(PAPER):
        figure, panels = plt.subplots(
            len(agents),
            len(segments),
            figsize=(WIDE, 1.7 * len(agents) + 0.5),
            squeeze=False,
            sharey="row",
            layout="constrained",
        )
        for line, agent in zip(panels, agents, strict=True):
            for axes, segment in zip(line, segments, strict=True):
                _waterfall(axes, rows.loc[(agent, segment)])
                axes.set_title(f"{agent}: {segment}")
            # room above the tallest bar (a bar's ends stop matplotlib's margins)
            low, high = line[0].get_ylim()
            span = high - low
            line[0].set_ylim(low - 0.05 * span if low < 0 else low, high + 0.08 * span)
            line[0].set_ylabel(f"{MONEY.split(' (')[0]}\n(currency)")
        figure.suptitle(
            "Profit per segment: mean per episode over seeds × episodes (95% CI on profit)",
            fontsize=8,
        )
    return figure


def _waterfall(axes: plt.Axes, row: pd.Series) -> None:
    steps = list(WATERFALL_STEPS)
    level = 0.0
    for position, step in enumerate(steps):
        value = float(row[step])
        if step == "profit":
            low, high = row["profit_ci_low"], row["profit_ci_high"]
            errors = [[max(value - low, 0)], [max(high - value, 0)]]
            axes.bar(position, value, color=TOTAL, yerr=errors, capsize=2, error_kw={"lw": 0.8})
        elif step == "gross_margin":
            axes.bar(position, value, color=RISE)
            level = value
        else:
            axes.bar(position, -value, bottom=level, color=FALL)
            level -= value
    axes.axhline(0.0, color="black", linewidth=0.6)
    labels = [WATERFALL_STEPS[step].replace(" ", "\n", 1) for step in steps]
    axes.set_xticks(range(len(steps)), labels, fontsize=5.5)
    axes.grid(axis="y", alpha=0.3)


# --- a suite's aggregate -------------------------------------------------------


def performance_profiles(
    profiles: dict[str, Profile], styles: Mapping[str, AgentStyle] | None = None
) -> plt.Figure:
    """Per agent, the fraction of runs (every scenario of a suite) whose
    normalised score is above tau, with its 95% stratified bootstrap band."""
    styles = _styles(list(profiles), styles)
    with plt.rc_context(PAPER):
        figure = plt.figure(
            figsize=(COLUMN, 2.4 + 0.16 * _legend_rows(len(profiles))), layout="constrained"
        )
        axes = figure.add_subplot()
        for agent, profile in profiles.items():
            style = styles[agent]
            every = max(1, len(profile.thresholds) // 8)
            axes.plot(
                profile.thresholds, profile.estimate, label=agent, markevery=every, **style.line()
            )
            axes.fill_between(
                profile.thresholds, profile.low, profile.high, color=style.colour, alpha=0.15, lw=0
            )
        for reference in (0.0, 1.0):
            axes.axvline(reference, color="grey", linewidth=0.6, linestyle=":")
        axes.set_xlabel("normalised score τ (0 = random, 1 = planner)")
        axes.set_ylabel("fraction of runs with score > τ")
        axes.set_ylim(-0.02, 1.02)
        axes.set_title("Performance profiles across scenarios (95% bands)")
        axes.grid(alpha=0.3)
        _legend_below(figure, axes)
    return figure


def aggregate_scores(
    table: pd.DataFrame, styles: Mapping[str, AgentStyle] | None = None
) -> plt.Figure:
    """IQM and mean normalised score of each agent across a suite's scenarios,
    with their 95% stratified bootstrap intervals, best at the top."""
    ordered = table.iloc[::-1].reset_index(drop=True)
    styles = _styles(list(ordered["agent"]), styles)
    with plt.rc_context(PAPER):
        figure, panels = plt.subplots(
            1, 2, figsize=(WIDE, 0.2 * len(ordered) + 1.1), sharey=True, layout="constrained"
        )
        for axes, (estimate, low, high, title) in zip(
            panels,
            [
                ("iqm_normalised", "ci_low", "ci_high", "IQM"),
                ("mean_normalised", "mean_ci_low", "mean_ci_high", "mean"),
            ],
            strict=True,
        ):
            for position, row in ordered.iterrows():
                style = styles[row["agent"]]
                errors = [[max(row[estimate] - row[low], 0)], [max(row[high] - row[estimate], 0)]]
                axes.errorbar(
                    [row[estimate]],
                    [position],
                    xerr=errors,
                    fmt=style.marker,
                    color=style.colour,
                    capsize=3,
                )
            axes.set_xlabel(f"{title} normalised score, 95% CI (0 = random, 1 = planner)")
            axes.grid(axis="x", alpha=0.3)
        panels[0].set_yticks(range(len(ordered)), ordered["agent"])
        figure.suptitle("Across scenarios", fontsize=8)
    return figure
