"""``gtmgym list``, ``describe`` and ``validate``: the bundled and your own scenarios."""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym

from gtmgym.envs import ENV_ID
from gtmgym.envs.distribution import ScenarioDistribution, load_distribution
from gtmgym.envs.loader import (
    ScenarioError,
    bundled_distributions,
    bundled_scenarios,
    scenario_path,
)
from gtmgym.envs.market_expansion import MarketExpansionEnv


def register(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("list", help="list the bundled scenarios")
    listing.set_defaults(handler=list_scenarios)

    describe = commands.add_parser(
        "describe", help="parameters, spaces and action catalogue of a scenario"
    )
    describe.add_argument("scenario", help="bundled scenario name or YAML path")
    describe.add_argument(
        "--action-mode", choices=["continuous", "discrete", "multidiscrete"], default=None
    )
    describe.set_defaults(handler=describe_scenario)

    validate = commands.add_parser("validate", help="check scenario files (exit 2 if invalid)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(handler=validate_files)


def list_scenarios(arguments: argparse.Namespace) -> int:
    rows = []
    for name in bundled_scenarios() + bundled_distributions():
        distribution = load_distribution(name)
        scenario = distribution.mean()
        size = f"{len(scenario.segments)} x {len(scenario.channels)}"
        summary = scenario.description.split(". ")[0].strip()
        if distribution.uncertain:
            summary = f"(uncertain: {len(distribution.fields)} parameters drawn) {summary}"
        rows.append((name, size, str(scenario.periods), scenario.actions.mode, summary))
    header = ("scenario", "segments x channels", "periods", "mode", "description")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4])
    return 0


def describe_scenario(arguments: argparse.Namespace) -> int:
    env = gym.make(ENV_ID, scenario=arguments.scenario, action_mode=arguments.action_mode)
    model = env.unwrapped
    scenario = model.scenario
    print(f"scenario {scenario.name}: {scenario.description}".strip())
    print(f"source: {scenario_path(arguments.scenario)}")
    discount = f", discount rate {scenario.discount_rate:g}" if scenario.discount_rate else ""
    print(
        f"periods {scenario.periods}, noise {'on' if scenario.noise else 'off'}, "
        f"objective {scenario.objective}{discount}"
    )
    budget = scenario.budget
    print(
        f"budget: {budget.per_period:g} per period, total "
        f"{'none' if budget.total is None else f'{budget.total:g}'}, carry-over "
        f"{'yes' if budget.carry_over else 'no'}, cash "
        f"{'not tracked' if budget.initial_cash is None else f'{budget.initial_cash:g}'}"
    )
    _print_segments(scenario)
    _print_channels(scenario)
    _print_distributions(model.distribution)
    space = model.observation_space
    print(f"\nobservation: {space.shape[0]} features, {space.dtype}")
    for index, name in enumerate(model.feature_names):
        print(f"  {index:3d}  {name:<40} [{space.low[index]:g}, {space.high[index]:g}]")
    print(f"\naction space ({model.action_mode}): {model.action_space}")
    for line in model.codec.describe():
        print(f"  {line}")
    print(f"discrete catalogue of {_catalogue_size(arguments.scenario, model)} allocations")
    return 0


def _catalogue_size(scenario: str, model: MarketExpansionEnv) -> int:
    """The number of entries of the scenario's discrete catalogue, read from the
    env's space (built in the discrete mode when ``model`` is in another)."""
    if model.action_mode == "discrete":
        return int(model.action_space.n)
    return int(gym.make(ENV_ID, scenario=scenario, action_mode="discrete").action_space.n)


def _print_segments(scenario) -> None:
    print("\nsegments (money per period; operating cost while open):")
    print(
        f"  {'name':<16}{'population':>12}{'growth':>9}{'customers':>11}{'revenue':>11}"
        f"{'margin':>8}{'churn':>8}{'open':>6}{'entry cost':>12}{'delay':>7}{'operating':>11}"
    )
    for s in scenario.segments:
        print(
            f"  {s.name:<16}{_cell(s.population, 12)}{_cell(s.growth, 9)}"
            f"{_cell(s.initial_customers, 11)}{_cell(s.revenue_per_customer, 11)}"
            f"{_cell(s.gross_margin, 8)}{_cell(s.churn, 8)}"
            f"{'yes' if s.open_at_start else 'no':>6}{_cell(s.entry_cost, 12)}{s.entry_delay:>7d}"
            f"{_cell(s.operating_cost, 11)}"
        )


def _cell(value: float, width: int) -> str:
    """``value`` right-aligned in ``width`` characters, at most 6 significant
    digits, and never touching its left neighbour (a mean of drawn values
    has many digits)."""
    return " " + f"{value:.6g}".rjust(width - 1)


def _print_channels(scenario) -> None:
    print("\nchannels:")
    print(
        f"  {'name':<16}{'decay':>8}{'half-saturation':>17}{'slope':>8}"
        f"{'revenue share':>15}{'min spend':>11}{'max spend':>11}"
    )
    for c in scenario.channels:
        ceiling = "none" if c.max_spend is None else f"{c.max_spend:.6g}"
        print(
            f"  {c.name:<16}{_cell(c.decay, 8)}{_cell(c.half_saturation, 17)}{_cell(c.slope, 8)}"
            f"{_cell(c.revenue_share, 15)}{_cell(c.min_spend, 11)}{ceiling:>11}"
        )
    names = scenario.segment_names
    widths = [max(8, len(name)) for name in names]
    print("\neffectiveness (channel x segment; 0 = not available there):")
    print(f"  {'':<16}" + "".join(f"{n:>{w + 2}}" for n, w in zip(names, widths, strict=True)))
    for c in scenario.channels:
        cells = zip(c.effectiveness, widths, strict=True)
        print(f"  {c.name:<16}" + "".join(_cell(e, w + 2) for e, w in cells))


def _print_distributions(distribution: ScenarioDistribution) -> None:
    if not distribution.uncertain:
        return
    shown = "observed" if distribution.observe_parameters else "not observed"
    print(
        f"\nuncertain parameters, drawn at each reset ({shown}; the tables above "
        "show their means, docs/uncertainty.md):"
    )
    for line in distribution.describe():
        print(f"  {line}")


def validate_files(arguments: argparse.Namespace) -> int:
    failures = 0
    for path in arguments.files:
        try:
            distribution = load_distribution(path)
        except ScenarioError as error:
            print(error, file=sys.stderr)
            failures += 1
            continue
        scenario = distribution.mean()
        uncertain = len(distribution.fields)
        varying = f", {uncertain} uncertain parameters" if uncertain else ""
        print(
            f"{path}: valid ({len(scenario.segments)} segments x "
            f"{len(scenario.channels)} channels, {scenario.periods} periods{varying})"
        )
    return 2 if failures else 0
