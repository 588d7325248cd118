"""``gtmgym calibrate``: a validated scenario from a customer table and a spend history.

:func:`calibrate` reads the calibration file and its two tables, finds the
segments and what their customers tell (:mod:`gtmgym.calibration.segments`),
fits the channels' response (:mod:`gtmgym.calibration.response`) and writes a
scenario that :func:`gtmgym.load_scenario` accepts, headed by a comment
naming the source files with their sha256, the date, the gtmgym version and
the fit quality. The scenario starts where the history ends: its initial
customers are those held at the end of the history.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gtmgym.calibration.config import (
    RFM_FEATURES,
    Calibration,
    CalibrationError,
    load_calibration,
)
from gtmgym.calibration.profile import profile_intervals
from gtmgym.calibration.report import ResponseCurves, write_report
from gtmgym.calibration.response import (
    Response,
    ResponseProblem,
    fit_response,
    r_squared,
    replay,
    response_curves,
)
from gtmgym.calibration.rfm import with_rfm
from gtmgym.calibration.segments import (
    SegmentFacts,
    gross_margins,
    segment_customers,
    wins_by_channel,
)
from gtmgym.calibration.shocks import Shocks, demand_shocks, smoothed_demand
from gtmgym.calibration.tables import (
    SpendHistory,
    customers_table,
    market_growth,
    spend_history,
)
from gtmgym.calibration.uncertainty import Draw, bootstrap, intervals
from gtmgym.envs.loader import ScenarioError, load_scenario
from gtmgym.experiments.store import write_atomic

# parameters fitted per channel (decay, half-saturation, slope) and pair
# (effectiveness): each needs periods of varied spend
PERIODS_PER_PARAMETER = 2


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found, beside the scenario it wrote."""

    scenario: dict[str, Any]
    facts: SegmentFacts
    response: Response
    customer_ids: pd.Series
    draws: list[Draw]
    shocks: Shocks  # the demand shocks read from the fit's residuals
    # every parameter's 90% interval (low, high) by name, with draws: the
    # bootstrap's, the profile likelihood's for half-saturation and effectiveness
    intervals: dict[str, np.ndarray] | None = None


def calibrate(
    calibration_file: str | Path,
    out: str | Path,
    report: str | Path | None = None,
    draws: int = 0,
    seed: int = 0,
    jobs: int | None = None,
) -> CalibrationResult:
    """Write the calibrated scenario to ``out``.

    Args:
        report: a folder for ``report.md``, ``fit.png`` and ``segments.csv``.
        draws: also fit this many bootstrap replicates
            (:mod:`gtmgym.calibration.uncertainty`) and write each as a
            scenario, ``<out stem>-draws/draw-01.yaml`` ...; the report then
            gives every parameter's 90% interval.
        seed: seeds the bootstrap.
        jobs: worker processes for the fit's starts and the bootstrap's
            refits (default: the cores this process may use); the results
            are the same for any.

    Raises:
        CalibrationError: the file, its tables or the fit are unusable (the
            message names the file, column and first offending row); nothing
            is written then.
    """
    calibration, folder = load_calibration(calibration_file)
    market = calibration.market
    segments = [segment.name for segment in market.segments]
    channels = [channel.name for channel in market.channels]
    segmentation = calibration.segmentation
    customers_path = folder / calibration.customers
    spend_path = folder / calibration.spend.file
    history = spend_history(spend_path, calibration.spend, channels, segments)
    periods, spend, won = history.periods, history.spend, history.won
    sources = [customers_path, spend_path]
    margin = calibration.gross_margin_column
    if segmentation.rfm is None:
        customers = customers_table(customers_path, segmentation.features, history.dates, margin)
    else:
        from_customers = [name for name in segmentation.features if name not in RFM_FEATURES]
        customers = customers_table(customers_path, from_customers, history.dates, margin)
        transactions_path = folder / segmentation.rfm.file
        customers = with_rfm(customers, customers_path, transactions_path, segmentation.rfm)
        sources.append(transactions_path)
    if calibration.market_sizes is not None:
        sizes_path = folder / calibration.market_sizes.file
        growth = market_growth(sizes_path, calibration.market_sizes, segments, history.dates)
        calibration = _with_growth(calibration, growth)
        sources.append(sizes_path)
    available = _available(calibration, spend)
    facts = segment_customers(
        customers, won, segmentation.features, segments, channels, periods,
        k=segmentation.k, k_range=segmentation.k_range, log_features=segmentation.log_features,
    )  # fmt: skip
    if margin is not None:
        facts = replace(facts, margin=gross_margins(customers, facts.labels, len(segments), margin))
    _check_held_fit_markets(calibration, facts)
    if calibration.spend.wins_by_channel == "customers":
        won = wins_by_channel(customers, customers_path, facts.labels, channels, won.shape)
        history = replace(history, won=won)
    needed = PERIODS_PER_PARAMETER * (3 * len(channels) + int(available.sum()))
    if periods < needed:
        raise CalibrationError(
            f"{spend_path}: {periods} periods of history for {3 * len(channels)} channel and "
            f"{int(available.sum())} pair parameters; at least {needed} periods are needed"
        )

    ceiling = max(float(spend.sum(axis=(1, 2)).max()), 1e-6)  # every historic spend possible

    def replay_scenario(response: Response) -> dict[str, Any]:
        return scenario_data(calibration, facts, response, available, periods, ceiling)

    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    observed = won if won.ndim == 2 else won.sum(axis=2)  # per period and segment
    rivals = np.array([segment.competitor_share for segment in market.segments])

    def residual_shocks(
        drawn: SegmentFacts,
        estimate: Response,
        weights: np.ndarray | None = None,
        durations: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Shocks, np.ndarray]:
        """The replay at the expected demand, the shocks (and adverse events,
        of the given ``durations`` if any) its residuals show, and the
        prospects' share of the reachable market."""
        leverage = np.empty(observed.shape)
        replayed = scenario_data(calibration, drawn, estimate, available, periods, ceiling)
        fitted = replay(replayed, spend, facts.customers, leverage)
        shocks = demand_shocks(observed, fitted.sum(axis=2), leverage, rivals, weights,
                               durations=durations)  # fmt: skip
        return fitted, shocks, leverage

    # the response at the expected demand, then (where the residuals show
    # demand shocks) refitted at the demand they read (docs/calibration.md,
    # Demand in the replay)
    def demand_of(
        drawn: SegmentFacts,
        estimate: Response,
        weights: np.ndarray | None = None,
        durations: np.ndarray | None = None,
    ) -> np.ndarray | None:
        fitted, shocks, leverage = residual_shocks(drawn, estimate, weights, durations)
        demand = smoothed_demand(observed, fitted.sum(axis=2), leverage, shocks)
        return demand if demand.any() else None

    expected = fit_response(replay_scenario, spend, won, facts.customers, available, jobs=jobs)
    demand = demand_of(facts, expected)
    response = expected
    if demand is not None:
        response = fit_response(replay_scenario, spend, won, facts.customers, available,
                                jobs=jobs, demand=demand)  # fmt: skip
    fitted, shocks, _ = residual_shocks(facts, response)
    # a draw searches only the adverse events' durations found here (a
    # scenario distribution's draws may differ only in numbers that vary)
    durations = shocks.event_field("duration").astype(int)

    def refit(drawn: SegmentFacts, weights: np.ndarray, start: Response) -> Response:
        """A draw's two fits, as the point's: at the expected demand (started
        from the point's fit there), then at the demand the draw's own
        residuals read (started from the point's estimate, ``start``).
        Reading the draw's demand from the point's first fit instead halves
        a draw's time but narrows the draws' spread: the intervals then held
        the truth for 61 of 156 half-saturation and effectiveness
        parameters (seeds 0-3 of the bundled markets), against 121."""

        def replay_drawn(candidate: Response) -> dict[str, Any]:
            return scenario_data(calibration, drawn, candidate, available, periods, ceiling)

        at_expected = fit_response(replay_drawn, spend, won, facts.customers, available, weights,
                                   expected)  # fmt: skip
        drawn_demand = demand_of(drawn, at_expected, weights, durations)
        if drawn_demand is None:
            return at_expected
        return fit_response(replay_drawn, spend, won, facts.customers, available, weights, start,
                            demand=drawn_demand)  # fmt: skip

    replicates = (
        bootstrap(draws, seed, customers, facts, response, refit, jobs, margin) if draws else []
    )

    # the fit quality reported: of the replay at the expected demand, not at
    # the demand read from the same wins
    response = replace(response, r_squared=r_squared(fitted, won, available))
    replicates = [replace(d, shocks=residual_shocks(d.facts, d.response, d.weights, durations)[1])
                  for d in replicates]  # fmt: skip
    # a segment's shock (and adverse event) is written in every scenario if
    # in any, so that the draws differ only in numbers (a distribution's `draws:` needs that)
    shocked = np.logical_or.reduce([shocks.sigma > 0, *(d.shocks.sigma > 0 for d in replicates)])
    every = (shocks, *(d.shocks for d in replicates))
    eventful = np.logical_or.reduce([s.event_field("duration") > 0 for s in every])
    scenario = _valid(scenario_data(calibration, facts, response, available, periods,
                                    shocks=shocks, shocked=shocked, eventful=eventful))  # fmt: skip
    drawn = [
        _valid(scenario_data(calibration, d.facts, d.response, available, periods,
                             shocks=d.shocks, shocked=shocked, eventful=eventful))  # fmt: skip
        for d in replicates
    ]
    header = _header(calibration, sources, response, periods, history)
    bands = None
    if replicates:
        problem = ResponseProblem(
            replay_scenario, spend, won, facts.customers, available, demand=demand
        )
        profiles = profile_intervals(problem, response, [d.response for d in replicates], jobs)
        bands = intervals(replicates) | profiles
    if report is not None:
        curves = _curves(calibration, facts, response, replicates, available, periods, spend)
        write_report(Path(report), customers["customer_id"], facts, response, segments,
                     channels, won, fitted, bands, curves,
                     customers[segmentation.features], shocks)  # fmt: skip
    out = Path(out)
    try:  # as --report DIR is made: a scenario path in a folder not yet there
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CalibrationError(f"{out}: cannot make its folder ({error})") from None
    if drawn:
        folder_of_draws = draws_folder(out)
        folder_of_draws.mkdir(parents=True, exist_ok=True)
        for number, data in enumerate(drawn, start=1):
            data = data | {"name": f"{calibration.name}-draw-{number:02d}"}
            text = f"# Bootstrap draw {number} of {len(drawn)} of {out.name}\n" + header
            write_atomic(folder_of_draws / f"draw-{number:02d}.yaml",
                         text + yaml.safe_dump(data, sort_keys=False))  # fmt: skip
    write_atomic(out, header + yaml.safe_dump(scenario, sort_keys=False))
    return CalibrationResult(
        scenario, facts, response, customers["customer_id"], replicates, shocks, bands
    )


CURVE_LEVELS = 41  # spend levels a response curve is drawn at


def _curves(
    calibration: Calibration,
    facts: SegmentFacts,
    response: Response,
    replicates: list[Draw],
    available: np.ndarray,
    periods: int,
    spend: np.ndarray,
) -> ResponseCurves:
    """Each channel's response curve, from 0 to 1.5 times the most it spent on
    a segment in a period, for the estimate and every bootstrap draw."""
    top = 1.5 * np.maximum(spend.max(axis=(0, 1)), 1e-6)
    levels = np.linspace(0.0, 1.0, CURVE_LEVELS)[None, :] * top[:, None]

    def curve(drawn: SegmentFacts, estimate: Response) -> np.ndarray:
        scenario = scenario_data(calibration, drawn, estimate, available, periods, top.max())
        return response_curves(scenario, levels)

    return ResponseCurves(
        levels=levels,
        estimate=curve(facts, response),
        draws=np.array([curve(d.facts, d.response) for d in replicates]),
        observed_top=spend.max(axis=(0, 1)),
        available=available,
    )


def _with_growth(calibration: Calibration, growth: dict[str, float]) -> Calibration:
    """The calibration with each segment's growth estimated from market sizes."""
    segments = [
        segment.model_copy(update={"growth": growth[segment.name]})
        if segment.name in growth
        else segment
        for segment in calibration.market.segments
    ]
    for segment in segments:
        if not -1.0 < segment.growth <= 1.0:
            raise CalibrationError(
                f"{calibration.market_sizes.file}: segment {segment.name}: estimated growth "
                f"{segment.growth:.3g} per period is outside (-1, 1]"
            )
    market = calibration.market.model_copy(update={"segments": segments})
    return calibration.model_copy(update={"market": market})


def _check_held_fit_markets(calibration: Calibration, facts: SegmentFacts) -> None:
    """Refuse segments holding more customers today than their market has."""
    for index, segment in enumerate(calibration.market.segments):
        held = float(facts.customers[-1, index].sum())
        if held > segment.population:
            raise CalibrationError(
                f"market.segments[{index}] ({segment.name}): {held:.0f} customers held today "
                f"exceed its population ({segment.population:g}); check the population, or "
                "the segmentation: K-means can merge small segments and split one far "
                "larger (see the report's segments.csv)"
            )


def draws_folder(out: Path) -> Path:
    """Where the bootstrap draws of the scenario written to ``out`` go."""
    return out.parent / f"{out.stem}-draws"


def _valid(scenario: dict[str, Any]) -> dict[str, Any]:
    try:
        load_scenario(scenario)
    except ScenarioError as error:
        raise CalibrationError(f"the calibrated scenario is not valid: {error}") from None
    return scenario


def scenario_data(
    calibration: Calibration,
    facts: SegmentFacts,
    response: Response,
    available: np.ndarray,
    periods: int,
    history_budget: float | None = None,
    shocks: Shocks | None = None,
    shocked: np.ndarray | None = None,
    eventful: np.ndarray | None = None,
) -> dict[str, Any]:
    """The scenario the estimates make: starting today, with the demand
    ``shocks`` on the ``shocked`` segments and their adverse events on the
    ``eventful`` ones (default: where found), or, given the
    ``history_budget`` per period to replay the history with, over the
    history, every segment open, noise off."""
    history = history_budget is not None
    market = calibration.market
    segments = []
    for index, segment in enumerate(market.segments):
        population = segment.population
        if history:  # the market size at the history's start, grown to today's
            population /= (1.0 + segment.growth) ** periods
        held = 0.0 if history else float(facts.customers[-1, index].sum())
        segments.append(
            {
                "name": segment.name,
                "population": float(population),
                "growth": segment.growth,
                "initial_customers": held,
                "revenue_per_customer": float(facts.revenue[index]),
                "gross_margin": (
                    segment.gross_margin if facts.margin is None else float(facts.margin[index])
                ),
                "churn": float(facts.churn[index]),
                # a segment with customers today is open, whatever it was
                "open_at_start": history or held > 0 or segment.open_at_start,
                "entry_cost": segment.entry_cost,
                "entry_delay": 0 if history else segment.entry_delay,
                "operating_cost": segment.operating_cost,
                "competitor": {"share": segment.competitor_share},
            }
        )
        if shocks is not None and not history and (
            shocks.sigma[index] > 0 if shocked is None else shocked[index]
        ):
            segments[-1]["demand_shock"] = {
                "sigma": float(shocks.sigma[index]),
                "persistence": float(shocks.persistence[index]),
            }
        duration = 0 if shocks is None else int(shocks.event_field("duration")[index])
        if shocks is not None and not history and (
            duration > 0 if eventful is None else eventful[index]
        ):
            segments[-1]["adverse_event"] = {
                "probability": float(shocks.event_field("probability")[index]),
                "demand_cut": float(shocks.event_field("cut")[index]),
                "duration": max(duration, 1),  # none in this draw: probability 0
            }
    channels = []
    for c, channel in enumerate(market.channels):
        data: dict[str, Any] = {
            "name": channel.name,
            "effectiveness": [float(e) for e in response.effectiveness[:, c] * available[:, c]],
            "decay": float(response.decay[c]),
            "half_saturation": float(response.half_saturation[c]),
            "slope": float(response.slope[c]),
            "revenue_share": channel.revenue_share,
        }
        if not history:
            data |= {"min_spend": channel.min_spend, "max_spend": channel.max_spend}
        channels.append(data)
    budget = market.budget.model_dump(exclude_none=True)
    if history:
        budget = {"per_period": history_budget}
    return {
        "name": calibration.name,
        "description": f"Calibrated by gtmgym calibrate from {calibration.customers} and "
        f"{calibration.spend.file} ({periods} periods of history).",
        "periods": periods if history else market.periods,
        "noise": not history,
        "objective": market.objective,
        "segments": segments,
        "channels": channels,
        "budget": budget,
        "actions": {"mode": "continuous"} if history else market.actions.model_dump(),
    }


def _available(calibration: Calibration, spend: np.ndarray) -> np.ndarray:
    """(S, C): where the calibration file says a channel is available, else
    where it was spent on."""
    columns = []
    for c, channel in enumerate(calibration.market.channels):
        given = channel.available
        if given is not None and len(given) != len(calibration.market.segments):
            raise CalibrationError(
                f"market.channels[{c}].available: {len(given)} entries for "
                f"{len(calibration.market.segments)} segments"
            )
        columns.append(np.array(given) if given is not None else spend[:, :, c].sum(axis=0) > 0)
    return np.stack(columns, axis=1)


def _header(
    calibration: Calibration,
    sources: list[Path],
    response: Response,
    periods: int,
    history: SpendHistory,
) -> str:
    from gtmgym import __version__

    dated = (
        f" ({history.dates[0].date()} to {history.dates[-1].date()})"
        if history.dates is not None
        else ""
    )
    pairs = "period, segment and channel" if history.by_channel else "period and segment"
    lines = [
        f"# Calibrated by gtmgym {__version__} on {date.today().isoformat()} from "
        f"{periods} periods of history{dated}:",
        *[f"#   {path.name} sha256 {_sha256(path)}" for path in sources],
        f"# Fit: R^2 {response.r_squared:.3f} of customers won per {pairs} "
        "(replayed through the model, customers held as observed).",
    ]
    return "\n".join(lines) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
