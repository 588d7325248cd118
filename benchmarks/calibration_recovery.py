"""Parameter recovery and the decision test of calibration, by history length.

`python benchmarks/calibration_recovery.py [--periods 26 52 104 156] [--spend-form wide]
[--seeds 0 1 2] [--generated 0 1 2]` synthesizes data from each scenario (or from
``random_scenario(seed, noise=True)`` for each ``--generated`` seed), once per
history seed (default 0), calibrates it and prints, per scenario, seed and
history length: the clustering's adjusted Rand index, the largest relative
error of churn and of revenue per customer, the largest absolute error of
decay, the median relative error of half-saturation and of effectiveness,
the fit's R^2, and the decision ratio (the planner on the calibrated
scenario, acting in the true one with noise off, over the planner that knows
the truth). The table in docs/calibration.md is its output.

With ``--parameters K`` it instead prints, per scenario, seed and history
length, every fitted parameter beside the truth with its 90% interval from K
bootstrap draws, and whether the interval holds the truth.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

import gtmgym
from gtmgym.agents import evaluate, make
from gtmgym.calibration import CalibrationError, calibrate, synthesize
from gtmgym.scenarios import random_scenario

SCENARIOS = ("default", "channel-allocation", "cross-border-ecommerce")


def recovery(
    name: str, periods: int, spend_form: str = "long", seed: int = 0, without: tuple = ()
) -> str:
    truth = gtmgym.load_scenario(market(name, without))
    with tempfile.TemporaryDirectory() as folder:
        data = synthesize(market(name, without), periods, seed=seed, out=Path(folder) / "data",
                          spend_form=spend_form)  # fmt: skip
        started = time.perf_counter()
        try:
            result = calibrate(data / "calibration.yaml", Path(folder) / "fitted.yaml",
                               report=Path(folder) / "report")  # fmt: skip
        except CalibrationError as error:
            return f"| {name} | {seed} | {periods} | refused: {str(error).split(';')[-1].strip()} |"
        seconds = time.perf_counter() - started
        fitted = gtmgym.load_scenario(Path(folder) / "fitted.yaml")
        customers = pd.read_csv(data / "customers.csv")  # true_segment
        segments = pd.read_csv(Path(folder) / "report" / "segments.csv")
    ari = adjusted_rand_score(customers["true_segment"], segments["segment"])
    segments_pairs = list(zip(fitted.segments, truth.segments, strict=True))
    channel_pairs = list(zip(fitted.channels, truth.channels, strict=True))
    churn = max(abs(f.churn / t.churn - 1) for f, t in segments_pairs)
    revenue = max(abs(f.revenue_per_customer / t.revenue_per_customer - 1)
                  for f, t in segments_pairs)  # fmt: skip
    decay = max(abs(f.decay - t.decay) for f, t in channel_pairs)
    saturation = np.median([abs(f.half_saturation / t.half_saturation - 1)
                            for f, t in channel_pairs])  # fmt: skip
    effects = [
        abs(found / true - 1)
        for f, t in channel_pairs
        for found, true in zip(f.effectiveness, t.effectiveness, strict=True)
        if true > 0
    ]
    knows = evaluate(make("planner", truth, action_mode="continuous"), episodes=1, noise=False)
    # planner_mean plans on the scenario it is built on (the estimates);
    # `planner` would plan on the market it plays, the truth
    decided = evaluate(make("planner_mean", fitted, action_mode="continuous"), scenario=truth,
                       episodes=1, noise=False)  # fmt: skip
    ratio = decided["return"].iloc[0] / knows["return"].iloc[0]
    return (
        f"| {name} | {seed} | {periods} | {ari:.3f} | {100 * churn:.1f}% | {100 * revenue:.1f}% | "
        f"{decay:.3f} | {100 * saturation:.0f}% | {100 * np.median(effects):.0f}% | "
        f"{result.response.r_squared:.3f} | **{100 * ratio:.1f}%** | {seconds:.0f} s |"
    )


def parameters(name: str, periods: int, seed: int, draws: int, without: tuple = ()) -> list[str]:
    """Rows of every fitted parameter: truth, estimate [90% interval], inside;
    then a line on the issue's criterion for half-saturation and effectiveness."""
    truth = gtmgym.load_scenario(market(name, without))
    with tempfile.TemporaryDirectory() as folder:
        data = synthesize(market(name, without), periods, seed=seed, out=Path(folder) / "data")
        result = calibrate(data / "calibration.yaml", Path(folder) / "fitted.yaml", draws=draws)
    bands = result.intervals
    facts, response, shocks = result.facts, result.response, result.shocks
    criterion: list[tuple[bool, bool]] = []  # (truth inside, within 25%)
    removed = f", without {', '.join(without)}" if without else ""
    rows = [f"**{name}**{removed}, seed {seed}, {periods} periods, {draws} draws:", "",
            "| parameter | truth | estimate [90% interval] | truth inside |", "|---|---|---|---|"]

    def row(label: str, true: float, found: float, band: str, *index: int) -> None:
        low, high = bands[band][(0, *index)], bands[band][(1, *index)]
        inside = "yes" if low - 1e-12 <= true <= high + 1e-12 else "no"
        if band in ("half_saturation", "effectiveness"):
            criterion.append((inside == "yes", abs(found / true - 1.0) <= 0.25))
        rows.append(f"| {label} | {true:.4g} | {found:.4g} [{low:.4g}, {high:.4g}] | {inside} |")

    for i, segment in enumerate(truth.segments):
        row(f"{segment.name} churn", segment.churn, facts.churn[i], "churn", i)
        row(f"{segment.name} revenue", segment.revenue_per_customer, facts.revenue[i], "revenue", i)
        shock = segment.demand_shock
        row(f"{segment.name} shock sigma", shock.sigma if shock else 0.0, shocks.sigma[i],
            "shock_sigma", i)  # fmt: skip
        row(f"{segment.name} shock persistence", shock.persistence if shock else 0.0,
            shocks.persistence[i], "shock_persistence", i)  # fmt: skip
        event = segment.adverse_event
        for field, label, true in (("probability", "event probability", "probability"),
                                   ("cut", "event demand cut", "demand_cut"),
                                   ("duration", "event duration", "duration")):  # fmt: skip
            row(f"{segment.name} {label}", getattr(event, true) if event.probability > 0 else 0.0,
                shocks.event_field(field)[i], f"event_{field}", i)  # fmt: skip
    for c, channel in enumerate(truth.channels):
        row(f"{channel.name} decay", channel.decay, response.decay[c], "decay", c)
        row(f"{channel.name} half-saturation", channel.half_saturation,
            response.half_saturation[c], "half_saturation", c)  # fmt: skip
        row(f"{channel.name} slope", channel.slope, response.slope[c], "slope", c)
        for i, segment in enumerate(truth.segments):
            if channel.effectiveness[i] > 0:
                row(f"{channel.name} effectiveness in {segment.name}", channel.effectiveness[i],
                    response.effectiveness[i, c], "effectiveness", i, c)  # fmt: skip
    held = sum(inside for inside, _ in criterion)
    missed = sum(not (inside or close) for inside, close in criterion)
    rows += ["", f"Half-saturation and effectiveness: truth inside the interval {held} of "
             f"{len(criterion)}; within 25% or inside: {len(criterion) - missed} "
             f"(missed: {missed})."]  # fmt: skip
    return rows


# what --without takes out of a bundled scenario's segments
REMOVABLE = ("shocks", "events", "rival-response")


def market(name: str, without: tuple = ()) -> str | dict:
    """A bundled scenario's name, or ``random-<seed>``'s mapping; ``without``
    some of :data:`REMOVABLE`: the bundled scenario's mapping without them."""
    if name.startswith("random-"):
        return random_scenario(int(name.removeprefix("random-")), noise=True)
    if not without:
        return name
    data = gtmgym.load_scenario(name).model_dump(mode="json", exclude_none=True)
    for segment in data["segments"]:
        if "shocks" in without:
            segment.pop("demand_shock", None)
        if "events" in without:
            segment.pop("adverse_event", None)
        if "rival-response" in without and "competitor" in segment:
            segment["competitor"]["response"] = 0.0
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, nargs="+", default=[26, 52, 104, 156])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument(
        "--spend-form", choices=("long", "wide"), default="long",
        help="wide: the spend table a marketing-mix model reads (wins over all channels)",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="history seeds")
    parser.add_argument("--generated", type=int, nargs="*", default=[],
                        help="random_scenario seeds, in place of --scenarios")  # fmt: skip
    parser.add_argument("--parameters", type=int, metavar="DRAWS",
                        help="print every parameter beside the truth, with DRAWS bootstrap "
                        "draws for its interval")  # fmt: skip
    parser.add_argument("--without", nargs="+", choices=REMOVABLE, default=[],
                        help="synthesize from the bundled scenarios without these")  # fmt: skip
    arguments = parser.parse_args()
    without = tuple(arguments.without)
    names = [f"random-{seed}" for seed in arguments.generated] or arguments.scenarios
    if arguments.parameters:
        for name in names:
            for seed in arguments.seeds:
                for periods in arguments.periods:
                    rows = parameters(name, periods, seed, arguments.parameters, without)
                    print("\n".join(rows) + "\n", flush=True)
        return 0
    print("| scenario | seed | history | ARI | churn (max error) | revenue (max error) | decay "
          "(max error) | half-saturation (median error) | effectiveness (median error) | R^2 "
          "| decision ratio | calibration time |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for seed in arguments.seeds:
            for periods in arguments.periods:
                print(recovery(name, periods, arguments.spend_form, seed, without), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
