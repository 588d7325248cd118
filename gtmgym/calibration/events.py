"""Adverse events in what the fitted response leaves unexplained.

The model's adverse event (docs/model.md, section 4) cuts a segment's demand
by a fraction :math:`\\delta` for :math:`L` consecutive periods, and starts
with probability :math:`q` in any period none is running. In the log
multipliers :math:`y_t` read from the fit's residuals
(:mod:`gtmgym.calibration.shocks`) an event is a box of depth
:math:`d = \\log(1 - \\delta)` on top of the AR(1) shock:

.. math:: y_t = a + d\\, x_t + z_t + e_t, \\qquad x_t = 1 \\text{ in an event, else } 0,

:math:`z` the AR(1) of innovations :math:`\\sigma` and persistence
:math:`\\rho`, :math:`e_t` the reading's sampling noise (variance
:math:`v_t`). With :math:`(\\sigma, \\rho)` given, this is a regression
whose errors have a known covariance, and the events are found as Chen and
Liu (1993, JASA 88(421)) find outliers in a time series: for each duration
:math:`L` up to :data:`MAX_DURATION`, boxes are added one at a time, each the
one whose addition most lowers the generalised least squares' residual sum
of squares, while the fall is at least :data:`EVENT_T` squared (the box's
t-value) and the depth they share stays negative. The duration kept is the
one whose boxes lower the sum most, less :data:`EVENT_T` squared a box.

Then :math:`\\hat\\delta = 1 - e^{\\hat d}` and :math:`\\hat q` the events
over the periods in which one could have started (the read periods not
inside an event, plus each event's first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import solve_triangular

EVENT_T = 4.0  # the box's t-value to be read as an event (see find_events)
MAX_DURATION = 12  # periods an event may last
MAX_CUT = 0.95  # a cut read as deeper is reported at this
MAD_TO_SD = 1.4826  # a normal's sd over its median absolute deviation


@dataclass
class Events:
    """One segment's adverse events as read (none found: no period
    ``in_event``, and ``duration`` 0, or the one searched for)."""

    in_event: np.ndarray  # (T,) bool
    starts: int  # events found (each event's first read period)
    duration: int
    probability: float
    cut: float
    level: float  # a: the readings' mean outside events
    depth: float  # d = log(1 - cut), unclipped


NONE_FOUND = 0


def no_events(periods: int) -> Events:
    """A segment in which no event was read."""
    return Events(np.zeros(periods, dtype=bool), 0, NONE_FOUND, 0.0, 0.0, 0.0, 0.0)


def find_events(
    y: np.ndarray,
    noise: np.ndarray,
    read: np.ndarray,
    sigma: float,
    persistence: float,
    weights: np.ndarray | None = None,
    duration: int | None = None,
) -> Events:
    """The adverse events in one segment's log multipliers.

    Args:
        y: (T,) the log multipliers read from the wins.
        noise: (T,) their sampling variance (read periods only).
        read: (T,) bool, the periods with enough expected wins to read.
        sigma, persistence: the segment's AR(1) demand shock.
        weights: (T,) how often each period counts (a bootstrap's draw),
            for the probability.
        duration: search only events of this duration (a bootstrap draw
            keeps the point estimate's: a scenario distribution's draws may
            differ only in numbers that may vary, and a duration is an
            integer); the events returned have it even if none is found.
    """
    periods = len(y)
    whiten = _Whitening(read, noise, sigma, persistence)
    best = np.zeros(periods, dtype=bool)
    best_score, best_duration = 0.0, NONE_FOUND
    durations = range(1, MAX_DURATION + 1) if duration is None else [duration]
    for length in durations:
        in_event, fall, boxes = _forward_selection(whiten, y, length)
        score = fall - EVENT_T**2 * boxes
        if boxes and score > best_score:
            best, best_score, best_duration = in_event, score, length
    if not best.any():
        none = no_events(periods)
        return none if duration is None else replace(none, duration=duration)
    level, depth = whiten.coefficients(y, best)
    counts = np.ones(periods) if weights is None else np.asarray(weights, dtype=float)
    first = best & ~np.concatenate([[False], best[:-1]]) & read
    possible = float((counts * read * (~best | first)).sum())
    started = float((counts * first).sum())
    cut = min(1.0 - float(np.exp(depth)), MAX_CUT)
    probability = started / possible if possible > 0 else 0.0
    return Events(best, int(first.sum()), best_duration, probability, cut, level, depth)


def first_shock(y: np.ndarray, noise: np.ndarray, read: np.ndarray) -> tuple[float, float]:
    """(sigma, persistence) for the first search: from the median absolute
    deviations of the readings and of their changes (less the sampling
    noise), which the few periods of an event barely move, where the
    variance an event inflates would hide the others."""
    rows = np.flatnonzero(read)
    if len(rows) < 3:
        return 0.0, 0.0
    level = y[rows] - np.median(y[rows])
    consecutive = np.diff(rows) == 1
    changes = np.diff(y[rows])[consecutive]
    sampling = float(np.median(noise[rows]))
    spread = max((MAD_TO_SD * float(np.median(np.abs(level)))) ** 2 - sampling, 0.0)
    if spread <= 0.0 or not len(changes):
        return 0.0, 0.0
    of_changes = (MAD_TO_SD * float(np.median(np.abs(changes)))) ** 2
    spread_of_changes = max(of_changes - 2.0 * sampling, 0.0)
    persistence = float(np.clip(1.0 - spread_of_changes / (2.0 * spread), 0.0, 0.99))
    return float(np.sqrt(spread * (1.0 - persistence**2))), persistence


def _forward_selection(
    whiten: _Whitening, y: np.ndarray, duration: int
) -> tuple[np.ndarray, float, int]:
    """Boxes of ``duration`` periods added while each lowers the residual
    sum of squares by at least EVENT_T squared: (the periods they cover,
    the fall, how many)."""
    periods = len(y)
    target = whiten.residual(whiten.matrix @ y[whiten.rows])
    starts = np.arange(-duration + 1, periods)
    first, last = np.maximum(starts, 0), np.minimum(starts + duration, periods)
    box_columns = whiten.cumulative[:, last] - whiten.cumulative[:, first]
    in_event = np.zeros(periods, dtype=bool)
    covered = np.zeros(len(whiten.rows))  # whitened x of the boxes so far
    fall, boxes = 0.0, 0
    while True:
        taken = np.concatenate([[0], np.cumsum(in_event)])
        free = taken[last] == taken[first]
        candidates = whiten.residual(covered[:, None] + box_columns)
        along = candidates.T @ target
        size = np.einsum("ij,ij->j", candidates, candidates)
        usable = free & (along < 0) & (size > 1e-12)
        falls = np.where(usable, along**2 / np.where(usable, size, 1.0), -np.inf)
        k = int(np.argmax(falls))
        if falls[k] - fall < EVENT_T**2:
            return in_event, fall, boxes
        in_event[first[k] : last[k]] = True
        covered = covered + box_columns[:, k]
        fall, boxes = float(falls[k]), boxes + 1


class _Whitening:
    """The read periods' error covariance (AR(1) plus sampling noise) as
    its inverse Cholesky factor, with the whitened constant and the
    whitened cumulative sums of unit boxes."""

    def __init__(
        self, read: np.ndarray, noise: np.ndarray, sigma: float, persistence: float
    ) -> None:
        self.rows = np.flatnonzero(read)
        time = self.rows.astype(float)
        lag = np.abs(time[:, None] - time[None, :])
        stationary = sigma**2 / max(1.0 - persistence**2, 1e-6)
        covariance = stationary * persistence**lag + np.diag(noise[self.rows])
        factor = np.linalg.cholesky(covariance)
        self.matrix = solve_triangular(factor, np.eye(len(self.rows)), lower=True)
        full = np.zeros((len(self.rows), len(read) + 1))
        full[:, self.rows + 1] = self.matrix
        self.cumulative = np.cumsum(full, axis=1)  # column t: whitened 1 over periods < t
        self.constant = self.matrix.sum(axis=1)

    def residual(self, whitened: np.ndarray) -> np.ndarray:
        """Whitened vectors (columns) less their projection on the constant."""
        c = self.constant
        along = c @ whitened / (c @ c)
        return whitened - np.multiply.outer(c, along)

    def coefficients(self, y: np.ndarray, in_event: np.ndarray) -> tuple[float, float]:
        """The level a and depth d of the generalised least squares."""
        design = np.stack([self.constant, self.matrix @ in_event[self.rows].astype(float)], 1)
        (level, depth), *_ = np.linalg.lstsq(design, self.matrix @ y[self.rows], rcond=None)
        return float(level), float(depth)
