"""Reading and checking the customer and spend tables (CSV or Parquet).

Every problem is a :class:`CalibrationError` naming the file, the column and
the first offending row (counted from 1, after the header), so an analyst can
find it in the export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gtmgym.calibration.config import CalibrationError

CUSTOMER_COLUMNS = (
    "customer_id",
    "acquired_period",
    "acquired_channel",
    "churned_period",
    "revenue_per_period",
)
SPEND_COLUMNS = ("period", "channel", "segment", "spend", "customers_won")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame."""
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, keep_default_na=True, na_values=[""])
    except (OSError, ValueError, ImportError) as error:
        raise CalibrationError(f"{path}: cannot read the table: {error}") from None


def customers_table(path: Path, features: list[str]) -> pd.DataFrame:
    """The customers, checked: periods are integers, churn after acquisition."""
    table = read_table(path)
    _require(table, path, [*CUSTOMER_COLUMNS, *features])
    for column in ("acquired_period", "churned_period", "revenue_per_period", *features):
        table[column] = _numbers(table, path, column, allow_missing=column == "churned_period")
    _whole(table, path, "acquired_period")
    _whole(table, path, "churned_period")
    churned = table["churned_period"]
    early = churned.notna() & (churned <= table["acquired_period"])
    _refuse(early, path, "churned_period", "is not after acquired_period (churned before won)")
    _refuse(table["revenue_per_period"] < 0, path, "revenue_per_period", "is negative")
    table["acquired_channel"] = table["acquired_channel"].fillna("").astype(str)
    return table


def spend_table(path: Path, channels: list[str], segments: list[str]) -> pd.DataFrame:
    """The spend history in long form (a wide table, one spend column per
    channel, is not read yet), checked against the calibration file's names."""
    table = read_table(path)
    _require(table, path, list(SPEND_COLUMNS))
    for column in ("period", "spend", "customers_won"):
        table[column] = _numbers(table, path, column)
    _whole(table, path, "period")
    _refuse(table["spend"] < 0, path, "spend", "is negative")
    _refuse(table["customers_won"] < 0, path, "customers_won", "is negative")
    for column, known in (("channel", channels), ("segment", segments)):
        unknown = ~table[column].astype(str).isin(known)
        _refuse(unknown, path, column, f"is not a {column} the calibration file names ({known})")
    return table


def _require(table: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise CalibrationError(
            f"{path}: missing column(s) {', '.join(missing)} (it has: {', '.join(table.columns)})"
        )


def _numbers(table: pd.DataFrame, path: Path, column: str, allow_missing: bool = False):
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() & (table[column].notna() if allow_missing else True)
    bad |= ~np.isfinite(values.fillna(0.0))
    _refuse(bad, path, column, "is not a number")
    return values


def _whole(table: pd.DataFrame, path: Path, column: str) -> None:
    values = table[column]
    _refuse(values.notna() & (values != values.round()), path, column, "is not a whole period")


def _refuse(bad: pd.Series, path: Path, column: str, problem: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CalibrationError(
            f"{path}: column {column}, row {row + 1}: {problem}; {int(bad.sum())} such row(s)"
        )
