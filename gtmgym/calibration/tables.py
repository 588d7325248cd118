"""Reading and checking the customer, spend and transactions tables.

A table is CSV (``.csv``, compressed ``.csv.gz`` ...) or Parquet
(``.parquet``, ``.pq``), by its file name. Every problem is a
:class:`CalibrationError` naming the file, the column and the first
offending row (counted from 1, after the header), so an analyst can find it
in the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gtmgym.calibration.config import CalibrationError, MarketSizes, SpendTable

CUSTOMER_COLUMNS = (
    "customer_id",
    "acquired_period",
    "acquired_channel",
    "churned_period",
    "revenue_per_period",
)
SPEND_COLUMNS = ("period", "channel", "segment", "spend", "customers_won")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".csv.zst")


@dataclass
class SpendHistory:
    """The spend table as arrays, in the calibration file's segment and channel order."""

    spend: np.ndarray  # (T, S, C) money spent per period and pair
    # customers won per period: (T, S, C) by pair (long form), or (T, S) over
    # all channels (wide form: a marketing-mix table does not split them)
    won: np.ndarray
    dates: pd.DatetimeIndex | None  # the first day of each period, when dated

    @property
    def periods(self) -> int:
        return self.spend.shape[0]

    @property
    def by_channel(self) -> bool:
        return self.won.ndim == 3


def table_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"``, from the file name."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise CalibrationError(
        f"{path}: not a table file name: CSV ends in .csv (or .csv.gz, ...), Parquet in "
        ".parquet or .pq"
    )


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (empty CSV cells are missing values)."""
    form = table_format(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    try:
        if form == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, keep_default_na=True, na_values=[""])
    except Exception as error:  # noqa: BLE001 - pandas and pyarrow raise many kinds
        kind = "Parquet" if form == "parquet" else "CSV"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CalibrationError(f"{path}: cannot read it as a {kind} table: {reason}") from None


def customers_table(
    path: Path,
    features: list[str],
    dates: pd.DatetimeIndex | None = None,
    margin: str | None = None,
) -> pd.DataFrame:
    """The customers, checked: periods are whole numbers (or dates, when the
    spend history is dated), churn after acquisition.

    Args:
        features: the feature columns the table must have.
        dates: the spend history's period starts; acquisition and churn
            dates are then turned into periods of it.
        margin: the column of each customer's gross margin, if any (a share
            of revenue, in [0, 1]).
    """
    table = read_table(path)
    margins = [] if margin is None else [margin]
    require_columns(table, path, [*CUSTOMER_COLUMNS, *features, *margins])
    for column in ("acquired_period", "churned_period"):
        table[column] = _customer_periods(table, path, column, dates)
    for column in ("revenue_per_period", *features, *margins):
        table[column] = number_column(table, path, column)
    for column in margins:
        outside = (table[column] < 0) | (table[column] > 1)
        refuse(outside, path, column, "is outside [0, 1] (a gross margin is a share of revenue)")
    churned = table["churned_period"]
    early = churned.notna() & (churned <= table["acquired_period"])
    refuse(early, path, "churned_period", "is not after acquired_period (churned before won)")
    refuse(table["revenue_per_period"] < 0, path, "revenue_per_period", "is negative")
    refuse(table["customer_id"].isna(), path, "customer_id", "is empty")
    refuse(table["customer_id"].duplicated(), path, "customer_id", "repeats an earlier id")
    table["acquired_channel"] = table["acquired_channel"].fillna("").astype(str)
    return table


def spend_history(
    path: Path, form: SpendTable, channels: list[str], segments: list[str]
) -> SpendHistory:
    """The spend history in the form and with the column names ``form`` gives,
    checked against the calibration file's channel and segment names."""
    table = read_table(path)
    require_columns(table, path, form.columns())
    periods, dates = _periods(table, path, form.period)
    n_periods = int(periods.max()) + 1 if len(periods) else 0
    if n_periods == 0:
        raise CalibrationError(f"{path}: no rows")
    segment_of = (
        _names(table, path, form.segment, segments, "segment")
        if form.segment is not None
        else np.zeros(len(table), dtype=int)
    )
    spend = np.zeros((n_periods, len(segments), len(channels)))
    won_column = _count(table, path, form.customers_won)
    if form.form == "long":
        channel_of = _names(table, path, form.channel, channels, "channel")
        amount = _count(table, path, form.spend)
        won = np.zeros_like(spend)
        np.add.at(spend, (periods, segment_of, channel_of), amount)
        np.add.at(won, (periods, segment_of, channel_of), won_column)
        return SpendHistory(spend, won, dates)
    key = pd.DataFrame({"period": periods, "segment": segment_of})
    again = "repeats an earlier row's period" + (" and segment" if form.segment else "")
    refuse(key.duplicated(), path, form.period, again)
    for name, column in form.channels.items():
        spend[periods, segment_of, channels.index(name)] = _count(table, path, column)
    won = np.zeros(spend.shape[:2])
    won[periods, segment_of] = won_column
    return SpendHistory(spend, won, dates)


def market_growth(
    path: Path, form: MarketSizes, segments: list[str], dates: pd.DatetimeIndex | None
) -> dict[str, float]:
    """Growth per period of each segment the market-size table lists: the
    slope of log size against period, by least squares (``numpy.polyfit``).

    Periods are numbers of the spend history's periods or, when the history
    is dated, dates (turned into periods of its spacing, fractions allowed).
    """
    table = read_table(path)
    require_columns(table, path, [form.period, form.segment, form.size])
    size = number_column(table, path, form.size)
    refuse(size <= 0, path, form.size, "is not positive")
    segment_of = _names(table, path, form.segment, segments, "segment")
    values = table[form.period]
    numbers = pd.to_numeric(values, errors="coerce")
    if dates is not None and (
        pd.api.types.is_datetime64_any_dtype(values) or numbers.notna().mean() < 0.5
    ):
        days = date_column(values, path, form.period)
        step = np.median(np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(float))
        period = ((days - dates[0]).dt.days / step).to_numpy()
    else:
        period = number_column(table, path, form.period).to_numpy()
    growth = {}
    for index, name in enumerate(segments):
        rows = segment_of == index
        if not rows.any():
            continue
        if len(np.unique(period[rows])) < 2:
            raise CalibrationError(
                f"{path}: segment {name}: sizes at one period only; growth needs two or more"
            )
        slope = np.polyfit(period[rows], np.log(size.to_numpy()[rows]), 1)[0]
        growth[name] = float(np.expm1(slope))
    return growth


def _periods(
    table: pd.DataFrame, path: Path, column: str
) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """Period numbers from 0, and each period's first day when the column
    holds dates (each distinct date a period, in order, evenly spaced)."""
    values = table[column]
    numbers = pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(values) or numbers.notna().mean() < 0.5:
        days = date_column(values, path, column)
        starts = pd.DatetimeIndex(np.unique(days.to_numpy()))
        _evenly_spaced(starts, days, path, column)
        return np.searchsorted(starts.to_numpy(), days.to_numpy()), starts
    not_numbers = numbers.isna() | ~np.isfinite(numbers.fillna(0.0))
    refuse(not_numbers, path, column, "is not a number or a date")
    refuse(numbers != numbers.round(), path, column, "is not a whole period")
    refuse(numbers < 0, path, column, "is negative (periods count from 0)")
    return numbers.astype(int).to_numpy(), None


def date_column(
    values: pd.Series, path: Path, column: str, allow_missing: bool = False
) -> pd.Series:
    """Dates (days, no time zone) from a column of dates or date strings."""
    if pd.api.types.is_datetime64_any_dtype(values):
        days = values
    else:
        days = pd.to_datetime(values.astype("string"), errors="coerce")
    bad = days.isna() & (values.notna() if allow_missing else True)
    refuse(bad, path, column, "is not a date (one format throughout, e.g. 2025-01-06)")
    days = days.dt.tz_localize(None) if days.dt.tz is not None else days
    return days.dt.normalize()


def _evenly_spaced(starts: pd.DatetimeIndex, days: pd.Series, path: Path, column: str) -> None:
    """Refuse dated periods with a gap: equal steps in days (weekly, daily)
    or in calendar months on the same day of the month."""
    if len(starts) < 3:
        return
    steps = np.diff(starts.to_numpy()).astype("timedelta64[D]").astype(int)
    months = np.diff(starts.year * 12 + starts.month)
    if (steps == steps[0]).all() or ((months == months[0]).all() and starts.day.nunique() == 1):
        return
    usual = int(np.median(steps))
    odd = int(np.flatnonzero(steps != usual)[0]) + 1  # the first period after an odd gap
    bad = days == starts[odd]
    refuse(bad, path, column,
           f"{starts[odd].date()} is {steps[odd - 1]} days after the period before it, where "
           f"periods are {usual} days apart (a missing period?)")  # fmt: skip


def _customer_periods(
    table: pd.DataFrame, path: Path, column: str, dates: pd.DatetimeIndex | None
) -> pd.Series:
    """Whole periods of the history (acquired -1: held before it), or dates
    turned into the period of the history they fall in."""
    values = table[column]
    given = values.notna()
    if dates is not None and (
        pd.api.types.is_datetime64_any_dtype(values)
        or pd.to_numeric(values[given], errors="coerce").notna().mean() < 0.5
    ):
        days = date_column(values, path, column, allow_missing=True)
        period = np.searchsorted(dates.to_numpy(), days.to_numpy(), side="right") - 1
        result = pd.Series(np.where(given, period, np.nan), index=table.index)
        if column == "churned_period":
            before = given & (result < 0)
            refuse(before, path, column, "is before the spend history's first period")
        return result
    numbers = number_column(table, path, column, allow_missing=column == "churned_period")
    refuse(numbers.notna() & (numbers != numbers.round()), path, column, "is not a whole period")
    return numbers


def _names(table: pd.DataFrame, path: Path, column: str, known: list[str], kind: str) -> np.ndarray:
    names = table[column].astype(str)
    unknown = ~names.isin(known)
    refuse(unknown, path, column, f"is not a {kind} the calibration file names ({known})")
    return names.map({name: index for index, name in enumerate(known)}).to_numpy()


def _count(table: pd.DataFrame, path: Path, column: str) -> np.ndarray:
    """A non-negative number column (spend, customers won)."""
    values = number_column(table, path, column)
    refuse(values < 0, path, column, "is negative")
    return values.to_numpy(dtype=float)


def require_columns(table: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = list(dict.fromkeys(column for column in columns if column not in table.columns))
    if missing:
        raise CalibrationError(
            f"{path}: missing column(s) {', '.join(missing)} (it has: "
            f"{', '.join(map(str, table.columns))})"
        )


def number_column(table: pd.DataFrame, path: Path, column: str, allow_missing: bool = False):
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() & (table[column].notna() if allow_missing else True)
    bad |= ~np.isfinite(values.fillna(0.0).astype(float))
    refuse(bad, path, column, "is not a number")
    return values.astype(float)


def refuse(bad: pd.Series, path: Path, column: str, problem: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(np.asarray(bad))[0])
        raise CalibrationError(
            f"{path}: column {column}, row {row + 1}: {problem}; {int(bad.sum())} such row(s)"
        )
