"""The channels' response fitted to one history, and read again at its demand.

:class:`HistoryFit` holds what a fit needs of the history (the spend, the
wins, the customers held, which pairs a channel reaches) and fits the
response twice (docs/calibration.md, Demand in the replay): at the expected
demand, then, where its residuals show demand shocks or adverse events
(:mod:`gtmgym.calibration.shocks`), at the demand they read. A bootstrap
draw (:mod:`gtmgym.calibration.uncertainty`) does the same from its own
resample, through :meth:`HistoryFit.refit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gtmgym.calibration.config import Calibration
from gtmgym.calibration.fitted_scenario import scenario_data
from gtmgym.calibration.response import Response, ResponseProblem, fit_response, replay
from gtmgym.calibration.segments import SegmentFacts
from gtmgym.calibration.shocks import Shocks, demand_shocks, smoothed_demand


@dataclass
class PointFit:
    """The point estimate: the response at the expected demand, the final
    response, the demand it was fitted at (None: none read), the shocks and
    events its residuals show, and its replay at the expected demand."""

    expected: Response
    response: Response
    demand: np.ndarray | None
    shocks: Shocks
    wins: np.ndarray  # (T, S, C) replayed


@dataclass
class HistoryFit:
    """The fits of one history's wins (:func:`~gtmgym.calibration.response.fit_response`)."""

    calibration: Calibration
    facts: SegmentFacts
    spend: np.ndarray  # (T, S, C)
    won: np.ndarray  # (T, S, C), or (T, S) from a wide table
    available: np.ndarray  # (S, C) bool
    jobs: int = 1

    def __post_init__(self) -> None:
        self.periods = len(self.spend)
        # a replay's budget: every historic spend possible
        self.ceiling = max(float(self.spend.sum(axis=(1, 2)).max()), 1e-6)
        self.observed = self.won if self.won.ndim == 2 else self.won.sum(axis=2)
        segments = self.calibration.market.segments
        self.rivals = np.array([segment.competitor_share for segment in segments])
        self.point: PointFit | None = None

    def replayed(self, facts: SegmentFacts, response: Response) -> dict[str, Any]:
        """The scenario that replays the history under ``response``."""
        return scenario_data(self.calibration, facts, response, self.available, self.periods,
                             self.ceiling)  # fmt: skip

    def residual_shocks(
        self,
        facts: SegmentFacts,
        estimate: Response,
        weights: np.ndarray | None = None,
        durations: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Shocks, np.ndarray]:
        """The replay at the expected demand, the shocks (and adverse events,
        of the given ``durations`` if any) its residuals show, and the
        prospects' share of the reachable market."""
        leverage = np.empty(self.observed.shape)
        fitted = replay(self.replayed(facts, estimate), self.spend, self.facts.customers, leverage)
        shocks = demand_shocks(self.observed, fitted.sum(axis=2), leverage, self.rivals, weights,
                               durations=durations)  # fmt: skip
        return fitted, shocks, leverage

    def demand_of(
        self,
        facts: SegmentFacts,
        estimate: Response,
        weights: np.ndarray | None = None,
        durations: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """(T, S) the log demand multipliers the residuals of ``estimate``
        read (None: none)."""
        fitted, shocks, leverage = self.residual_shocks(facts, estimate, weights, durations)
        demand = smoothed_demand(self.observed, fitted.sum(axis=2), leverage, shocks)
        return demand if demand.any() else None

    def fit(
        self,
        facts: SegmentFacts,
        weights: np.ndarray | None = None,
        start: Response | None = None,
        demand: np.ndarray | None = None,
        jobs: int = 1,
    ) -> Response:
        return fit_response(lambda response: self.replayed(facts, response), self.spend,
                            self.won, self.facts.customers, self.available, weights, start,
                            jobs=jobs, demand=demand)  # fmt: skip

    def fit_point(self) -> PointFit:
        """The point estimate, from the fit's several starts."""
        expected = self.fit(self.facts, jobs=self.jobs)
        demand = self.demand_of(self.facts, expected)
        response = expected
        if demand is not None:
            response = self.fit(self.facts, demand=demand, jobs=self.jobs)
        wins, shocks, _ = self.residual_shocks(self.facts, response)
        self.point = PointFit(expected, response, demand, shocks, wins)
        return self.point

    def problem(self) -> ResponseProblem:
        """The point's least-squares problem, at the demand it was fitted at
        (for :func:`~gtmgym.calibration.profile.profile_intervals`)."""
        return ResponseProblem(
            lambda response: self.replayed(self.facts, response), self.spend, self.won,
            self.facts.customers, self.available, demand=self.point.demand,
        )  # fmt: skip

    @property
    def durations(self) -> np.ndarray:
        """(S,) the adverse events' durations of the point estimate, the only
        ones a draw searches for (a scenario distribution's draws may differ
        only in numbers that may vary)."""
        return self.point.shocks.event_field("duration").astype(int)

    def refit(self, drawn: SegmentFacts, weights: np.ndarray, start: Response) -> Response:
        """A draw's two fits, as the point's: at the expected demand (started
        from the point's fit there), then at the demand the draw's own
        residuals read (started from the point's estimate, ``start``).
        Reading the draw's demand from the point's first fit instead halves
        a draw's time but narrows the draws' spread: the intervals then held
        the truth for 61 of 156 half-saturation and effectiveness
        parameters (seeds 0-3 of the bundled markets), against 121."""
        at_expected = self.fit(drawn, weights, self.point.expected)
        drawn_demand = self.demand_of(drawn, at_expected, weights, self.durations)
        if drawn_demand is None:
            return at_expected
        return self.fit(drawn, weights, start, demand=drawn_demand)
