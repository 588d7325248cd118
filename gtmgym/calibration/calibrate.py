"""``gtmgym calibrate``: a validated scenario from a customer table and a spend history.

:func:`calibrate` reads the calibration file and its two tables, finds the
segments and what their customers tell (:mod:`gtmgym.calibration.segments`),
fits the channels' response to the history
(:mod:`gtmgym.calibration.history_fit`) and writes the scenario the
estimates make (:mod:`gtmgym.calibration.fitted_scenario`), which
:func:`gtmgym.load_scenario` accepts, headed by a comment
naming the source files with their sha256, the date, the gtmgym version and
the fit quality. The scenario starts where the history ends: its initial
customers are those held at the end of the history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
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
from gtmgym.calibration.fitted_scenario import (
    available_pairs,
    header,
    scenario_data,
    valid_scenario,
)
from gtmgym.calibration.history_fit import HistoryFit
from gtmgym.calibration.profile import profile_intervals
from gtmgym.calibration.report import ResponseCurves, write_report
from gtmgym.calibration.response import Response, r_squared, response_curves
from gtmgym.calibration.rfm import with_rfm
from gtmgym.calibration.segments import (
    SegmentFacts,
    gross_margins,
    segment_customers,
    wins_by_channel,
)
from gtmgym.calibration.shocks import Shocks
from gtmgym.calibration.tables import (
    SpendHistory,
    customers_table,
    market_growth,
    spend_history,
)
from gtmgym.calibration.uncertainty import Draw, bootstrap, intervals
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
    data = _read(calibration_file)
    calibration, history, facts = data.calibration, data.history, data.facts
    customers = data.customers
    periods, spend, won, available = history.periods, history.spend, history.won, data.available
    segments = [segment.name for segment in calibration.market.segments]
    channels = [channel.name for channel in calibration.market.channels]
    margin = calibration.gross_margin_column
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    history_fit = HistoryFit(calibration, facts, spend, won, available, jobs)
    point = history_fit.fit_point()
    replicates = (
        bootstrap(draws, seed, customers, facts, point.response, history_fit.refit, jobs, margin)
        if draws
        else []
    )
    # the fit quality reported: of the replay at the expected demand, not at
    # the demand read from the same wins
    shocks, fitted = point.shocks, point.wins
    response = replace(point.response, r_squared=r_squared(fitted, won, available))
    replicates = [
        replace(d, shocks=history_fit.residual_shocks(d.facts, d.response, d.weights,
                                                      history_fit.durations)[1])  # fmt: skip
        for d in replicates
    ]
    # a segment's shock (and adverse event) is written in every scenario if
    # in any, so that the draws differ only in numbers (a distribution's `draws:` needs that)
    every = (shocks, *(d.shocks for d in replicates))
    shocked = np.logical_or.reduce([s.sigma > 0 for s in every])
    eventful = np.logical_or.reduce([s.event_field("duration") > 0 for s in every])
    scenario = valid_scenario(scenario_data(calibration, facts, response, available, periods,
                                            shocks=shocks, shocked=shocked,
                                            eventful=eventful))  # fmt: skip
    drawn = [
        valid_scenario(scenario_data(calibration, d.facts, d.response, available, periods,
                                     shocks=d.shocks, shocked=shocked,
                                     eventful=eventful))  # fmt: skip
        for d in replicates
    ]
    text = header(calibration, data.sources, response, periods, history)
    bands = None
    if replicates:
        refits = [d.response for d in replicates]
        profiles = profile_intervals(history_fit.problem(), response, refits, jobs)
        bands = intervals(replicates) | profiles
    if report is not None:
        curves = _curves(calibration, facts, response, replicates, available, periods, spend)
        write_report(Path(report), customers["customer_id"], facts, response, segments,
                     channels, won, fitted, bands, curves,
                     customers[calibration.segmentation.features], shocks)  # fmt: skip
    _write(Path(out), text, scenario, drawn, calibration.name)
    return CalibrationResult(
        scenario, facts, response, customers["customer_id"], replicates, shocks, bands
    )


def _write(
    out: Path, text: str, scenario: dict[str, Any], drawn: list[dict[str, Any]], name: str
) -> None:
    """The scenario to ``out`` and each draw into :func:`draws_folder`,
    each file headed by ``text`` and written whole or not at all."""
    try:  # as --report DIR is made: a scenario path in a folder not yet there
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CalibrationError(f"{out}: cannot make its folder ({error})") from None
    if drawn:
        folder_of_draws = draws_folder(out)
        folder_of_draws.mkdir(parents=True, exist_ok=True)
        for number, data in enumerate(drawn, start=1):
            data = data | {"name": f"{name}-draw-{number:02d}"}
            named = f"# Bootstrap draw {number} of {len(drawn)} of {out.name}\n" + text
            write_atomic(folder_of_draws / f"draw-{number:02d}.yaml",
                         named + yaml.safe_dump(data, sort_keys=False))  # fmt: skip
    write_atomic(out, text + yaml.safe_dump(scenario, sort_keys=False))


@dataclass
class _Data:
    """What the calibration file and its tables hold, read and checked."""

    calibration: Calibration  # with growth estimated, if market sizes are given
    history: SpendHistory
    customers: pd.DataFrame
    facts: SegmentFacts
    available: np.ndarray  # (S, C) bool
    sources: list[Path]  # the tables read, for the scenario's header


def _read(calibration_file: str | Path) -> _Data:
    """Read the calibration file and its tables, find the segments and what
    their customers tell, and refuse a history too short to fit."""
    calibration, folder = load_calibration(calibration_file)
    segments = [segment.name for segment in calibration.market.segments]
    channels = [channel.name for channel in calibration.market.channels]
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
    available = available_pairs(calibration, spend)
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
    return _Data(calibration, history, customers, facts, available, sources)


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


