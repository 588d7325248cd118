"""The calibration file: which tables to read, how to segment, and what the
data cannot tell (validated like scenarios: unknown keys are errors that name
the field)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gtmgym.envs.loader import YamlFileError, read_yaml, validation_problems
from gtmgym.envs.scenario import Actions, Budget, Objective

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class CalibrationError(ValueError):
    """The calibration file or its data are unusable; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


RFM_FEATURES = (
    "recency",
    "frequency",
    "monetary",
    "recency_score",
    "frequency_score",
    "monetary_score",
)


class Transactions(_Strict):
    """A transactions table (one row per purchase) for RFM features.

    ``customer``, ``date`` and ``amount`` name its columns; ``as_of`` is the
    day recency is counted to (default: the latest date in the table).
    Dates may also be period numbers, recency then counting periods.
    """

    file: Annotated[str, Field(min_length=1)]
    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"
    as_of: datetime.date | float | None = None


class Segmentation(_Strict):
    """Segments by K-means (scikit-learn) on standardised feature columns.

    ``k`` clusters; when it is not given, the ``k`` in ``k_range`` with the
    best silhouette. Either way the clusters are matched to the segments of
    ``market``, so there must be as many. ``log_features`` (a subset of
    ``features``) are clustered on ``log(1 + x)``. With ``rfm``, the
    features may include the RFM columns computed from a transactions table
    (:data:`RFM_FEATURES`); the others are columns of the customer table.
    """

    @model_validator(mode="after")
    def _logs_are_features(self) -> Segmentation:
        extra = sorted(set(self.log_features) - set(self.features))
        if extra:
            raise ValueError(f"log_features {extra} are not in features")
        if self.rfm is not None and not set(self.features) & set(RFM_FEATURES):
            raise ValueError(
                f"rfm is given but features name none of its columns {list(RFM_FEATURES)}"
            )
        return self

    features: Annotated[list[str], Field(min_length=1)]
    # features clustered on their logarithm (sizes, revenues: skewed, positive)
    log_features: list[str] = []
    k: Annotated[int, Field(ge=1, le=50)] | None = None
    k_range: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(le=50)]] = (2, 10)
    rfm: Transactions | None = None


class MarketSegment(_Strict):
    """What a company knows of a segment and its data cannot tell."""

    name: Annotated[str, Field(min_length=1)]
    population: Annotated[float, Field(gt=0.0)]  # the market's size today
    growth: Annotated[float, Field(gt=-1.0, le=1.0)] = 0.0
    # the share of the population rivals hold today, taken as fixed
    competitor_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    # a share of revenue; None: estimated from the customer table's
    # gross_margin_column (revenue-weighted over the segment's customers)
    gross_margin: Fraction | None = None
    open_at_start: bool = True
    entry_cost: Annotated[float, Field(ge=0.0)] = 0.0
    entry_delay: Annotated[int, Field(ge=0, le=1000)] = 0
    operating_cost: Annotated[float, Field(ge=0.0)] = 0.0


class MarketChannel(_Strict):
    """A channel's terms; its response is fitted from the spend table."""

    name: Annotated[str, Field(min_length=1)]
    revenue_share: Fraction = 0.0
    min_spend: Annotated[float, Field(ge=0.0)] = 0.0
    max_spend: Annotated[float, Field(gt=0.0)] | None = None
    available: list[bool] | None = None  # per segment; None: where it was spent


class Market(_Strict):
    periods: Annotated[int, Field(ge=1, le=10_000)]
    objective: Objective = "profit"
    budget: Budget
    actions: Actions = Actions()
    segments: Annotated[list[MarketSegment], Field(min_length=1)]
    channels: Annotated[list[MarketChannel], Field(min_length=1)]


class SpendTable(_Strict):
    """The spend history's file, its form and its column names.

    **long** (the default): one row per period, channel and segment, with
    columns ``period``, ``channel``, ``segment``, ``spend`` and
    ``customers_won``. **wide** (marketing-mix-model style): one row per
    period (and segment, when ``segment`` names a column), a spend column
    per channel (``channels``: channel name -> column) and one column of
    the customers won that period, over all channels. Without a segment
    column a wide table describes a one-segment market. ``period`` holds
    whole periods from 0 or evenly spaced dates.
    """

    @model_validator(mode="before")
    @classmethod
    def _wide_defaults(cls, data: Any) -> Any:
        # a wide table has no segment column unless one is named
        if isinstance(data, dict) and data.get("form") == "wide":
            return {"segment": None} | data
        return data

    @model_validator(mode="after")
    def _fields_of_the_form(self) -> SpendTable:
        if self.form == "wide":
            if self.channels is None:
                raise ValueError(
                    "a wide spend table needs channels: the spend column of each channel "
                    "(e.g. {search: search_spend})"
                )
            given = sorted({"channel", "spend"} & self.model_fields_set)
            if given:
                raise ValueError(
                    f"field {' and '.join(given)} is for the long form only (form: long); a "
                    "wide table names each channel's spend column in channels"
                )
        else:
            if self.channels is not None or self.wins_by_channel is not None:
                given = "channels" if self.channels is not None else "wins_by_channel"
                raise ValueError(f"field {given} is for the wide form only (form: wide)")
            if self.segment is None:
                raise ValueError("field segment: the long form needs a segment column")
        return self

    file: Annotated[str, Field(min_length=1)]
    form: Literal["long", "wide"] = "long"
    period: Annotated[str, Field(min_length=1)] = "period"
    segment: Annotated[str, Field(min_length=1)] | None = "segment"
    customers_won: Annotated[str, Field(min_length=1)] = "customers_won"
    channel: Annotated[str, Field(min_length=1)] = "channel"  # long form
    spend: Annotated[str, Field(min_length=1)] = "spend"  # long form
    # wide form: channel name -> its spend column
    channels: Annotated[dict[str, str], Field(min_length=1)] | None = None
    # wide form: "customers" splits each period's wins over channels by the
    # customer table's acquired_channel; null fits the wins over all channels
    wins_by_channel: Literal["customers"] | None = None

    def columns(self) -> list[str]:
        """The columns the table must have."""
        if self.form == "wide":
            segment = [self.segment] if self.segment is not None else []
            return [self.period, *segment, *self.channels.values(), self.customers_won]
        return [self.period, self.channel, self.segment, self.spend, self.customers_won]


class MarketSizes(_Strict):
    """Market sizes over time (one row per period and segment, not every
    period needed), from which each listed segment's growth is estimated."""

    file: Annotated[str, Field(min_length=1)]
    period: Annotated[str, Field(min_length=1)] = "period"
    segment: Annotated[str, Field(min_length=1)] = "segment"
    size: Annotated[str, Field(min_length=1)] = "size"


class Calibration(_Strict):
    """A calibration file (see docs/calibration.md)."""

    @model_validator(mode="before")
    @classmethod
    def _spend_file_alone(cls, data: Any) -> Any:
        # `spend: spend.csv` is a long table with the standard column names
        if isinstance(data, dict) and isinstance(data.get("spend"), str):
            return data | {"spend": {"file": data["spend"]}}
        return data

    @model_validator(mode="after")
    def _spend_names_the_market(self) -> Calibration:
        spend, market = self.spend, self.market
        if spend.channels is not None:
            known = [channel.name for channel in market.channels]
            unknown = [name for name in spend.channels if name not in known]
            if unknown:
                raise ValueError(
                    f"spend.channels.{unknown[0]}: not a channel of market.channels ({known})"
                )
        if spend.form == "wide" and spend.segment is None and len(market.segments) > 1:
            raise ValueError(
                f"spend.segment: a wide spend table without a segment column describes one "
                f"segment, and market.segments has {len(market.segments)}; name the column "
                "that gives each row's segment (one row per period and segment)"
            )
        return self

    @model_validator(mode="after")
    def _gross_margin_given_once(self) -> Calibration:
        for index, segment in enumerate(self.market.segments):
            if self.gross_margin_column is None and segment.gross_margin is None:
                raise ValueError(
                    f"market.segments[{index}].gross_margin: missing; give it, or "
                    "gross_margin_column to estimate every segment's from the customer table"
                )
            if self.gross_margin_column is not None and segment.gross_margin is not None:
                raise ValueError(
                    f"market.segments[{index}].gross_margin: given, and gross_margin_column "
                    f"({self.gross_margin_column}) estimates it too; leave one out"
                )
        return self

    @model_validator(mode="after")
    def _growth_given_once(self) -> Calibration:
        if self.market_sizes is not None:
            for index, segment in enumerate(self.market.segments):
                if "growth" in segment.model_fields_set:
                    raise ValueError(
                        f"market.segments[{index}].growth: given, and market_sizes estimates "
                        "growth too; leave one out"
                    )
        return self

    name: Annotated[str, Field(min_length=1)]
    customers: Annotated[str, Field(min_length=1)]
    # a customer-table column of each customer's gross margin (a share of
    # its revenue, in [0, 1]); each segment's is then estimated from it
    gross_margin_column: Annotated[str, Field(min_length=1)] | None = None
    spend: SpendTable
    segmentation: Segmentation
    market: Market
    market_sizes: MarketSizes | None = None


def load_calibration(path: str | Path) -> tuple[Calibration, Path]:
    """The calibration file at ``path`` and its folder (data paths are relative to it).

    Raises:
        CalibrationError: the file cannot be read or is invalid (naming the field).
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such calibration file")
    try:
        data: Any = read_yaml(path)
    except YamlFileError as error:
        raise CalibrationError(str(error)) from None
    try:
        calibration = Calibration.model_validate(data)
    except ValidationError as error:
        problems = validation_problems(error, "docs/calibration.md")
        raise CalibrationError(f"{path}: invalid calibration file\n{problems}") from None
    return calibration, path.parent
