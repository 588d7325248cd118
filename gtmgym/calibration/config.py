"""The calibration file: which tables to read, how to segment, and what the
data cannot tell (validated like scenarios: unknown keys are errors that name
the field)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gtmgym.envs.loader import YamlFileError, read_yaml, validation_problems
from gtmgym.envs.scenario import Actions, Budget, Objective

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class CalibrationError(ValueError):
    """The calibration file or its data are unusable; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Segmentation(_Strict):
    """Segments by K-means (scikit-learn) on standardised feature columns.

    ``k`` clusters; when it is not given, the ``k`` in ``k_range`` with the
    best silhouette. Either way the clusters are matched to the segments of
    ``market``, so there must be as many. ``log_features`` (a subset of
    ``features``) are clustered on ``log(1 + x)``.
    """

    @model_validator(mode="after")
    def _logs_are_features(self) -> Segmentation:
        extra = sorted(set(self.log_features) - set(self.features))
        if extra:
            raise ValueError(f"log_features {extra} are not in features")
        return self

    features: Annotated[list[str], Field(min_length=1)]
    # features clustered on their logarithm (sizes, revenues: skewed, positive)
    log_features: list[str] = []
    k: Annotated[int, Field(ge=1, le=50)] | None = None
    k_range: tuple[Annotated[int, Field(ge=2)], Annotated[int, Field(le=50)]] = (2, 10)


class MarketSegment(_Strict):
    """What a company knows of a segment and its data cannot tell."""

    name: Annotated[str, Field(min_length=1)]
    population: Annotated[float, Field(gt=0.0)]  # the market's size today
    growth: Annotated[float, Field(gt=-1.0, le=1.0)] = 0.0
    # the share of the population rivals hold today, taken as fixed
    competitor_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    gross_margin: Fraction
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


class Calibration(_Strict):
    """A calibration file (see docs/calibration.md)."""

    name: Annotated[str, Field(min_length=1)]
    customers: str
    spend: str
    segmentation: Segmentation
    market: Market


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
