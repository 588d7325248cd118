"""The scenario the estimates make, as :func:`gtmgym.load_scenario` reads it.

:func:`scenario_data` builds it from the calibration file's market, the
customers' facts (:mod:`gtmgym.calibration.segments`), the fitted response
(:mod:`gtmgym.calibration.response`) and the demand shocks and adverse
events (:mod:`gtmgym.calibration.shocks`): starting where the history ends,
or, to replay the history, over it. :func:`header` is the comment that
heads the file written.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from gtmgym.calibration.config import Calibration, CalibrationError
from gtmgym.calibration.response import Response
from gtmgym.calibration.segments import SegmentFacts
from gtmgym.calibration.shocks import Shocks
from gtmgym.calibration.tables import SpendHistory
from gtmgym.envs.loader import ScenarioError, load_scenario


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
        if (
            shocks is not None
            and not history
            and (shocks.sigma[index] > 0 if shocked is None else shocked[index])
        ):
            segments[-1]["demand_shock"] = {
                "sigma": float(shocks.sigma[index]),
                "persistence": float(shocks.persistence[index]),
            }
        duration = 0 if shocks is None else int(shocks.event_field("duration")[index])
        if (
            shocks is not None
            and not history
            and (duration > 0 if eventful is None else eventful[index])
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


def available_pairs(calibration: Calibration, spend: np.ndarray) -> np.ndarray:
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


def valid_scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    try:
        load_scenario(scenario)
    except ScenarioError as error:
        raise CalibrationError(f"the calibrated scenario is not valid: {error}") from None
    return scenario


def header(
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
