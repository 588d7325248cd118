"""RFM (recency, frequency, monetary) features from a transactions table.

Per customer, from one row per purchase (customer, date, amount):

- ``recency``: days from the customer's last purchase to ``as_of`` (by
  default the latest date in the table; periods, when dates are period
  numbers);
- ``frequency``: the number of purchases;
- ``monetary``: the total amount bought;
- ``recency_score``, ``frequency_score``, ``monetary_score``: quintile scores
  1 to 5, 5 for the most recent, most frequent, largest buyers:
  ``1 + floor(5 * (rank - 1) / n)`` with ``rank`` the customer's rank among
  the ``n`` customers (1 for the least recent, least frequent, smallest),
  tied customers sharing the lowest rank of their tie, so equal values get
  equal scores.

These are columns to cluster on like any other feature
(``segmentation.features``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from gtmgym.calibration.config import RFM_FEATURES, CalibrationError, Transactions
from gtmgym.calibration.tables import (
    date_column,
    number_column,
    read_table,
    refuse,
    require_columns,
)

SCORE_LEVELS = 5  # quintiles


def rfm_features(transactions: pd.DataFrame, as_of: date | float | None = None) -> pd.DataFrame:
    """RFM columns (:data:`RFM_FEATURES`) per customer, indexed by customer.

    Args:
        transactions: columns ``customer``, ``date`` (datetimes or period
            numbers) and ``amount``, one row per purchase.
        as_of: the day (or period) recency counts to; default the latest date.
    """
    dated = pd.api.types.is_datetime64_any_dtype(transactions["date"])
    by_customer = transactions.groupby("customer", sort=False)
    last = by_customer["date"].max()
    if as_of is None:
        end = transactions["date"].max()
    else:
        end = pd.Timestamp(as_of) if dated else float(as_of)
    recency = (end - last).dt.days if dated else end - last
    table = pd.DataFrame(
        {
            "recency": recency.astype(float),
            "frequency": by_customer.size().astype(float),
            "monetary": by_customer["amount"].sum().astype(float),
        }
    )
    table["recency_score"] = quintile_scores(-table["recency"])
    table["frequency_score"] = quintile_scores(table["frequency"])
    table["monetary_score"] = quintile_scores(table["monetary"])
    return table[list(RFM_FEATURES)]


def quintile_scores(values: pd.Series) -> pd.Series:
    """1 to 5 by rank, higher for larger values; ties share a score."""
    rank = values.rank(method="min").to_numpy()
    scores = 1 + np.floor(SCORE_LEVELS * (rank - 1) / len(values))
    return pd.Series(scores, index=values.index)


def transactions_table(path: Path, spec: Transactions) -> pd.DataFrame:
    """The transactions (columns renamed to customer, date, amount), checked."""
    table = read_table(path)
    require_columns(table, path, [spec.customer, spec.date, spec.amount])
    refuse(table[spec.customer].isna(), path, spec.customer, "is empty")
    numbers = pd.to_numeric(table[spec.date], errors="coerce")
    dated = pd.api.types.is_datetime64_any_dtype(table[spec.date]) or numbers.notna().mean() < 0.5
    if dated:
        when = date_column(table[spec.date], path, spec.date)
    else:
        when = number_column(table, path, spec.date)
    if spec.as_of is not None:
        if dated != isinstance(spec.as_of, date):
            raise CalibrationError(
                f"segmentation.rfm.as_of: {spec.as_of!r} is a "
                f"{'date' if isinstance(spec.as_of, date) else 'number'}, and the column "
                f"{spec.date} of {path} holds {'dates' if dated else 'period numbers'}"
            )
        end = pd.Timestamp(spec.as_of) if dated else float(spec.as_of)
        refuse(when > end, path, spec.date, f"is after segmentation.rfm.as_of ({spec.as_of})")
    return pd.DataFrame(
        {
            "customer": table[spec.customer].astype(str),
            "date": when,
            "amount": number_column(table, path, spec.amount),
        }
    )


def with_rfm(
    customers: pd.DataFrame, customers_path: Path, path: Path, spec: Transactions
) -> pd.DataFrame:
    """The customer table with the RFM columns, every customer having bought.

    Raises:
        CalibrationError: a customer has no purchase, a purchase names no
            customer of the customer table, or the customer table already
            has an RFM column's name.
    """
    clash = [name for name in RFM_FEATURES if name in customers.columns]
    if clash:
        raise CalibrationError(
            f"{customers_path}: column {clash[0]} is also an RFM feature computed from "
            f"{path}; rename the column"
        )
    transactions = transactions_table(path, spec)
    ids = customers["customer_id"].astype(str)
    stranger = ~transactions["customer"].isin(set(ids))
    refuse(stranger, path, spec.customer, f"is not a customer_id of {customers_path}")
    features = rfm_features(transactions, spec.as_of)
    missing = ~ids.isin(features.index)
    refuse(missing, customers_path, "customer_id", f"has no purchase in {path} (RFM needs one)")
    rows = features.loc[ids.to_numpy()].set_index(customers.index)
    return pd.concat([customers, rows], axis=1)
