"""Figures a paper can use: one look per agent in every figure, the IQM with
bands from step 0, legends outside the data, where the money went (no
unavailable pair, every cost, the money held back), profit per segment that
adds up to the episode's, column-sized PNGs with a PDF beside each.

Every test reads one real run folder (a small experiment on
`channel-allocation`, where each channel reaches one market only) and draws
from its tables as the report does.
"""

from __future__ import annotations

import struct
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from test_experiments import FAST_PLANNER, write_experiment

from gtmgym.agents.registry import AGENTS
from gtmgym.experiments import plots
from gtmgym.experiments.config import load_experiment
from gtmgym.experiments.runner import run_experiment
from gtmgym.experiments.statistics import iqm
from gtmgym.experiments.styles import PLANNER_STYLE, agent_styles

AGENTS_RUN = ["planner", "greedy", "qlearning", "ansoff", "equal", "random"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("figures")
    agents = [
        {"agent": "planner", "action_mode": "continuous", "hyperparameters": FAST_PLANNER},
        {"agent": "greedy", "action_mode": "continuous"},
        {"agent": "qlearning"},
        {"agent": "ansoff", "action_mode": "continuous"},
        {"agent": "equal"},
        {"agent": "random"},
    ]
    path = write_experiment(
        folder,
        agents=agents,
        scenario="channel-allocation",
        scenario_overrides={"periods": 4},
        train_steps=80,
        checkpoints=2,
    )
    run_experiment(load_experiment(path), folder / "out", jobs=1)
    return folder / "out"


def tables(run: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(run / f"{name}.csv")
        for name in ("curves", "summary", "allocations", "episodes", "money", "profit_by_segment")
    }


def lines_by_label(figure: plt.Figure) -> dict[str, object]:
    return {
        line.get_label(): line
        for axes in figure.axes
        for line in axes.get_lines()
        if not line.get_label().startswith("_")
    }


def look(line) -> tuple:
    return (line.get_color(), line.get_marker(), line.get_linestyle())


def test_an_agent_looks_the_same_in_every_figure_and_every_report(run):
    data = tables(run)
    curves = lines_by_label(plots.learning_curves(data["curves"], data["summary"]))
    customers = lines_by_label(plots.customers_over_time(data["allocations"]))
    assert set(curves) == set(AGENTS_RUN)
    for agent in AGENTS_RUN:
        assert look(curves[agent]) == look(customers[agent]), agent
    # another report with fewer agents, in another order, draws greedy the same
    fewer = data["summary"][data["summary"]["agent"].isin(["random", "greedy"])].iloc[::-1]
    alone = lines_by_label(plots.learning_curves(pd.DataFrame(), fewer))
    assert look(alone["greedy"]) == look(curves["greedy"])
    assert curves["planner"].get_color() == PLANNER_STYLE.colour == "#000000"
    assert curves["planner"].get_linestyle() == "-"
    plt.close("all")


def test_no_two_agents_of_the_registry_look_alike():
    styles = agent_styles([*AGENTS, "mine", "yours"])
    markers = [style.marker for style in styles.values()]
    pairs = [(style.colour, str(style.line_style)) for style in styles.values()]
    assert len(set(markers)) >= len(AGENTS)  # every registry agent has its own marker
    assert len(set(pairs)) == len(pairs)
    assert sum(style.line_style == "-" for style in styles.values()) == 1  # the planner's
    assert agent_styles(["yours", "mine"]) == {k: styles[k] for k in ("yours", "mine")}


def test_learning_curves_draw_the_iqm_from_step_0_with_a_band_and_the_legend_outside(run):
    data = tables(run)
    figure = plots.learning_curves(data["curves"], data["summary"], unit="my unit")
    line = lines_by_label(figure)["qlearning"]
    of_agent = data["curves"][data["curves"]["agent"] == "qlearning"]
    steps = sorted(of_agent["step"].unique())
    assert steps[0] == 0 and list(line.get_xdata()) == steps
    expected = [iqm(of_agent.loc[of_agent["step"] == s, "return"].to_numpy()) for s in steps]
    np.testing.assert_allclose(line.get_ydata(), expected)
    axes = figure.axes[0]
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and len(axes.patches) == len(AGENTS_RUN) - 1  # spans: the others
    assert "my unit" in axes.get_ylabel() and "steps" in axes.get_xlabel()
    figure.canvas.draw()
    legend = figure.legends[0].get_window_extent()
    assert not legend.overlaps(axes.get_window_extent())
    assert figure.get_size_inches()[0] == pytest.approx(plots.COLUMN)
    plt.close(figure)


def test_where_the_money_went_has_every_cost_and_no_unavailable_pair(run):
    data = tables(run)
    money, allocations = data["money"], data["allocations"]
    unavailable = allocations.loc[~allocations["available"], ["segment", "channel"]]
    assert len(unavailable.drop_duplicates()) == 6, "channel-allocation: one channel per market"
    spend = money[money["kind"] == "spend"]
    shown = set(zip(spend["segment"], spend["channel"], strict=True))
    assert shown == {("A", "channel-A"), ("B", "channel-B"), ("C", "channel-C")}
    assert set(money["kind"]) == {"spend", "payout", "entry", "operating", "held back"}
    # the spend drawn is all the spend: unavailable pairs got none
    per_agent = spend.groupby("agent")["money"].sum()
    episodes = data["episodes"].groupby("agent")["spend"].mean()
    np.testing.assert_allclose(per_agent.sort_index(), episodes.sort_index(), atol=1e-9)
    assert (money["ci_low"] <= money["money"] + 1e-9).all()
    assert (money["money"] <= money["ci_high"] + 1e-9).all()

    figure = plots.where_the_money_went(money)
    axes = figure.axes[0]
    labels = [tick.get_text() for tick in axes.get_xticklabels()]
    assert "B · channel-A" not in labels and "A · channel-A" in labels and "held back" in labels
    assert "seeds × episodes" in axes.get_title()
    width, height = figure.get_size_inches()
    assert width == pytest.approx(plots.WIDE) and height < 4
    plt.close(figure)


def test_profit_per_segment_adds_up_to_each_agents_profit(run):
    data = tables(run)
    profits = data["profit_by_segment"]
    steps = profits[["gross_margin", "partner_payout", "spend", "entry_costs", "operating_costs"]]
    np.testing.assert_allclose(
        profits["profit"], steps["gross_margin"] - steps.drop(columns="gross_margin").sum(axis=1)
    )
    total = profits.groupby("agent")["profit"].sum().sort_index()
    episodes = data["episodes"].groupby("agent")["profit"].mean().sort_index()
    np.testing.assert_allclose(total, episodes, rtol=1e-9, atol=1e-6)
    figure = plots.profit_waterfall(profits, ["planner", "greedy"])
    assert len(figure.axes) == 2 * 3  # a row per agent, a panel per market
    assert [len(axes.patches) for axes in figure.axes] == [6] * 6
    plt.close(figure)


def test_customers_per_segment_have_a_band_per_agent(run):
    figure = plots.customers_over_time(tables(run)["allocations"])
    assert [axes.get_title() for axes in figure.axes] == ["A", "B", "C"]
    for axes in figure.axes:
        bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
        assert len(bands) == len(AGENTS_RUN) == len(axes.get_lines())
        assert len({look(line) for line in axes.get_lines()}) == len(AGENTS_RUN)
    plt.close(figure)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def test_every_figure_fits_a_paper_and_has_a_pdf_beside_it(run):
    pngs = sorted(run.glob("*.png"))
    assert {p.name for p in pngs} == {
        "learning_curves.png",
        "final_scores.png",
        "where_the_money_went.png",
        "customers_per_segment.png",
        "profit_waterfall.png",
    }
    for png in pngs:
        assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-", png.name
        width, height = png_size(png)
        assert width / plots.PNG_DPI in (plots.COLUMN, plots.WIDE), png.name
        assert height / plots.PNG_DPI < 6, png.name
