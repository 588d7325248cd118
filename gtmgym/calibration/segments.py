"""Segments from the customer table, and what each one's customers tell.

- **Segments**: K-means (scikit-learn) on the standardised feature columns;
  each cluster is then matched to a segment named in the spend table by the
  customers it won, period by period and channel by channel (the assignment
  that makes the two tables' counts agree best, by
  ``scipy.optimize.linear_sum_assignment``).
- **Churn** per period, censoring handled: churn events over periods at risk,
  where a customer won in period ``a`` is at risk from ``a + 1`` to the
  period it churned in, or to the last period if still active.
- **Revenue** per customer per period: the mean over the segment's customers.
- **Customers** per segment and acquiring channel at the end of each period.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from gtmgym.calibration.config import CalibrationError
from gtmgym.calibration.tables import refuse


@dataclass
class SegmentFacts:
    """What the customer table says, per segment (in the calibration file's order)."""

    labels: np.ndarray  # (customers,) segment index of each customer
    churn: np.ndarray  # (S,) per period
    churn_events: np.ndarray  # (S,)
    exposure: np.ndarray  # (S,) customer-periods at risk
    revenue: np.ndarray  # (S,) per customer per period
    customers: np.ndarray  # (T + 1, S, C + 1) at the end of period t - 1 (row 0: the start)
    margin: np.ndarray | None = None  # (S,) gross margin from the table; None: given


def segment_customers(
    customers: pd.DataFrame,
    won: np.ndarray,
    features: list[str],
    segments: list[str],
    channels: list[str],
    periods: int,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 10),
    log_features: list[str] | None = None,
    seed: int = 0,
) -> SegmentFacts:
    """Cluster, name the clusters, and estimate churn and revenue per segment.

    Args:
        customers: the customer table, with the feature columns.
        won: customers won per period, segment and channel (T, S, C), or per
            period and segment (T, S), from the spend table.
        k: the number of clusters; ``None``: the best silhouette in ``k_range``.
        log_features: features clustered on ``log(1 + x)``.
    """
    given = k
    table = customers[features].astype(float)
    for name in log_features or []:
        if (table[name] <= -1).any():
            raise CalibrationError(f"segmentation.log_features: {name} has values <= -1")
        table[name] = np.log1p(table[name])
    scaled = StandardScaler().fit_transform(table.to_numpy())
    if k is None:
        k = best_cluster_count(scaled, k_range, seed)
    if k != len(segments):
        raise CalibrationError(
            f"segmentation: {k} clusters{' (by silhouette)' if given is None else ''} for "
            f"{len(segments)} segments in market.segments; give as many segments as clusters"
        )
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(scaled)
    labels = _named(clusters, customers, won, channels)
    for index, name in enumerate(segments):
        if not (labels == index).any():
            raise CalibrationError(f"segment {name!r}: no customers in the customer table")
    churn, events, exposure, revenue = churn_and_revenue(customers, labels, len(segments), periods)
    return SegmentFacts(
        labels=labels,
        churn=churn,
        churn_events=events,
        exposure=exposure,
        revenue=revenue,
        customers=customers_over_time(customers, labels, len(segments), channels, periods),
    )


def churn_and_revenue(
    customers: pd.DataFrame, labels: np.ndarray, n_segments: int, periods: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(churn per period, churn events, periods at risk, revenue per customer
    and period), per segment; see the module docstring for the censoring."""
    acquired = customers["acquired_period"].clip(lower=-1).to_numpy()
    churned = customers["churned_period"]
    active = churned.isna().to_numpy()
    # won in a: at risk from a + 1 to the period of churn, or to the last period
    at_risk = np.where(active, periods - 1, churned.fillna(0).to_numpy()) - acquired
    at_risk = np.clip(at_risk, 0, None)
    events = np.bincount(labels, weights=(~active).astype(float), minlength=n_segments)
    exposure = np.bincount(labels, weights=at_risk, minlength=n_segments)
    revenue_sum = np.bincount(
        labels, weights=customers["revenue_per_period"].to_numpy(), minlength=n_segments
    )
    counts = np.bincount(labels, minlength=n_segments)
    churn = events / np.maximum(exposure, 1.0)
    return churn, events, exposure, revenue_sum / np.maximum(counts, 1)


def gross_margins(
    customers: pd.DataFrame, labels: np.ndarray, n_segments: int, column: str
) -> np.ndarray:
    """(S,) each segment's gross margin: its customers' margins weighted by
    their revenue (the share of the segment's revenue kept), or their plain
    mean where the segment's customers earn nothing."""
    margin = customers[column].to_numpy(dtype=float)
    revenue = customers["revenue_per_period"].to_numpy(dtype=float)
    kept = np.bincount(labels, weights=margin * revenue, minlength=n_segments)
    earned = np.bincount(labels, weights=revenue, minlength=n_segments)
    plain = np.bincount(labels, weights=margin, minlength=n_segments) / np.maximum(
        np.bincount(labels, minlength=n_segments), 1
    )
    return np.where(earned > 0, kept / np.where(earned > 0, earned, 1.0), plain)


SILHOUETTE_SAMPLE = 5_000  # customers the silhouette is computed on (it is quadratic)


def best_cluster_count(scaled: np.ndarray, k_range: tuple[int, int], seed: int) -> int:
    """The number of K-means clusters in ``k_range`` with the best silhouette
    (scikit-learn's ``silhouette_score``, on a sample of customers)."""
    low, high = k_range
    scores = {}
    for k in range(low, min(high, len(scaled) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(scaled)
        scores[k] = silhouette_score(
            scaled, labels, sample_size=min(SILHOUETTE_SAMPLE, len(scaled)), random_state=seed
        )
    return max(scores, key=scores.get)


def _named(
    clusters: np.ndarray, customers: pd.DataFrame, won: np.ndarray, channels: list[str]
) -> np.ndarray:
    """Segment index per customer: each cluster takes the segment whose wins,
    per period (and channel, when the spend table splits them), its own
    acquisitions match best."""
    periods, n_segments = won.shape[:2]
    channel_index = {name: c for c, name in enumerate(channels)}
    period = customers["acquired_period"].to_numpy()
    channel = customers["acquired_channel"].map(channel_index).to_numpy()
    counted = (period >= 0) & (period < periods)
    if won.ndim == 3:
        counted &= ~pd.isna(channel)
    by_cluster = np.zeros((n_segments, *won.shape[:1], *won.shape[2:]))
    where = (clusters[counted], period[counted].astype(int))
    if won.ndim == 3:
        where += (channel[counted].astype(int),)
    np.add.at(by_cluster, where, 1.0)
    by_segment = np.moveaxis(won, 1, 0)
    cost = np.abs(by_cluster[:, None] - by_segment[None]).reshape(n_segments, n_segments, -1)
    cluster_of, segment_of = linear_sum_assignment(cost.sum(axis=2))
    mapping = np.empty(n_segments, dtype=int)
    mapping[cluster_of] = segment_of
    return mapping[clusters]


def wins_by_channel(
    customers: pd.DataFrame,
    path: Path,
    labels: np.ndarray,
    channels: list[str],
    shape: tuple[int, int],
) -> np.ndarray:
    """(T, S, C) customers won per period, segment and channel, counted in
    the customer table (for a wide spend table, whose wins are per segment).

    Raises:
        CalibrationError: a customer won during the history has no channel
            the calibration file names (the first such row).
    """
    periods, n_segments = shape
    channel_index = {name: c for c, name in enumerate(channels)}
    period = customers["acquired_period"].to_numpy()
    during = (period >= 0) & (period < periods)
    channel = customers["acquired_channel"].map(channel_index)
    refuse(pd.Series(during) & channel.isna().to_numpy(), path, "acquired_channel",
           f"names no channel of the calibration file ({channels}) for a customer won during "
           "the history; spend.wins_by_channel: customers needs every win's channel")  # fmt: skip
    won = np.zeros((periods, n_segments, len(channels)))
    where = (period[during].astype(int), labels[during], channel.to_numpy()[during].astype(int))
    np.add.at(won, where, 1.0)
    return won


def customers_over_time(
    customers: pd.DataFrame, labels: np.ndarray, n_segments: int, channels: list[str], periods: int
) -> np.ndarray:
    """(T + 1, S, C + 1): customers held at the start (row 0) and at the end
    of each period, by segment and acquiring channel (last column: held
    before the history or with no channel given)."""
    channel_index = {name: c for c, name in enumerate(channels)}
    column = np.array(
        [channel_index.get(name, len(channels)) for name in customers["acquired_channel"]]
    )
    acquired = customers["acquired_period"].to_numpy()
    churned = customers["churned_period"].fillna(periods + 1).to_numpy()
    held = np.zeros((periods + 1, n_segments, len(channels) + 1))
    for row in range(periods + 1):
        end_of = row - 1  # row t holds the end of period t - 1
        active = (acquired <= end_of) & (churned > end_of)
        np.add.at(held[row], (labels[active], column[active]), 1.0)
    return held
