"""How sure the calibration is: a bootstrap, its intervals and its draws.

Each draw refits the calibration on resampled data:

- the response on a **moving-block bootstrap of periods** (blocks of
  :func:`block_length` consecutive periods drawn with replacement until the
  history is covered), as weights on the periods' residuals: the history is
  still replayed in order, so carry-over runs through it as it happened, and
  each draw starts from the point estimate;
- churn and revenue (and the gross margin, when a customer column gives
  it) per segment on the segment's **customers drawn with replacement**
  (churn events over exposure, mean revenue, as in the point estimate);
- the demand shocks from the refit's residuals, with the same period
  weights (:mod:`gtmgym.calibration.shocks`).

Intervals are the draws' 5% and 95% quantiles (90% intervals). The refits
run in worker processes (``jobs``), the resamples drawn beforehand so that
the draws do not depend on how many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from gtmgym.calibration.response import Response
from gtmgym.calibration.segments import SegmentFacts, churn_and_revenue, gross_margins
from gtmgym.calibration.shocks import Shocks
from gtmgym.calibration.workers import forked_map

INTERVAL = (0.05, 0.95)


@dataclass
class Draw:
    """One bootstrap replicate of the calibration."""

    facts: SegmentFacts
    response: Response
    weights: np.ndarray  # (T,) how often each period was drawn
    shocks: Shocks | None = None


def block_length(periods: int) -> int:
    """Periods per block: the cube root of the history's length (the usual
    order for a moving-block bootstrap), at least 4 so that carry-over stays
    inside a block."""
    return max(4, round(periods ** (1 / 3)))


def period_weights(periods: int, rng: np.random.Generator) -> np.ndarray:
    """How often each period is drawn in one moving-block bootstrap sample."""
    length = min(block_length(periods), periods)
    counts = np.zeros(periods)
    while counts.sum() < periods:
        first = int(rng.integers(0, periods - length + 1))
        counts[first : first + length] += 1
    return counts


def bootstrap(
    draws: int,
    seed: int,
    customers: pd.DataFrame,
    facts: SegmentFacts,
    response: Response,
    fit: Callable[[SegmentFacts, np.ndarray, Response], Response],
    jobs: int = 1,
    margin_column: str | None = None,
) -> list[Draw]:
    """``draws`` replicates of the calibration.

    Args:
        customers: the customer table (its rows in the order of ``facts.labels``).
        facts, response: the point estimates.
        fit: refits the response for resampled facts, period weights and a start.
        jobs: worker processes for the refits (forked; 1: in this process).
            Every resample is drawn here first, so the draws are the same
            for any number of jobs.
        margin_column: the customer table's gross-margin column, when the
            segments' margins are estimated from it (resampled with the
            customers, like churn and revenue).
    """
    rng = np.random.default_rng(seed)
    periods = facts.customers.shape[0] - 1
    resamples = []
    for _ in range(draws):
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(facts.labels == i), size=int((facts.labels == i).sum()))
             for i in range(len(facts.churn))]
        )  # fmt: skip
        churn, events, exposure, revenue = churn_and_revenue(
            customers.iloc[chosen], facts.labels[chosen], len(facts.churn), periods
        )
        drawn = replace(facts, churn=churn, churn_events=events, exposure=exposure,
                        revenue=revenue)  # fmt: skip
        if margin_column is not None:  # estimated from the same resampled customers
            margin = gross_margins(
                customers.iloc[chosen], facts.labels[chosen], len(facts.churn), margin_column
            )
            drawn = replace(drawn, margin=margin)
        resamples.append((drawn, period_weights(periods, rng)))
    refits = forked_map(lambda k: fit(*resamples[k], response), len(resamples), jobs)
    return [
        Draw(drawn, refit, weights)
        for (drawn, weights), refit in zip(resamples, refits, strict=True)
    ]


def intervals(draws: list[Draw]) -> dict[str, np.ndarray]:
    """(low, high) arrays of every fitted parameter, by name, over the draws."""
    values = {
        "churn": [d.facts.churn for d in draws],
        "revenue": [d.facts.revenue for d in draws],
        "decay": [d.response.decay for d in draws],
        "half_saturation": [d.response.half_saturation for d in draws],
        "slope": [d.response.slope for d in draws],
        "effectiveness": [d.response.effectiveness for d in draws],
    }
    if draws and draws[0].facts.margin is not None:
        values["gross_margin"] = [d.facts.margin for d in draws]
    if draws and draws[0].shocks is not None:
        values["shock_sigma"] = [d.shocks.sigma for d in draws]
        values["shock_persistence"] = [d.shocks.persistence for d in draws]
        for field in ("probability", "cut", "duration"):
            values[f"event_{field}"] = [d.shocks.event_field(field) for d in draws]
    return {name: np.quantile(np.stack(v), INTERVAL, axis=0) for name, v in values.items()}
