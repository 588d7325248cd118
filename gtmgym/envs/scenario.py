"""Typed, validated description of one market-expansion scenario.

A scenario is data: it is written in YAML (see ``gtmgym/scenarios/``) and
validated here by pydantic models that forbid unknown keys, NaN and infinite
numbers, so that a misspelt key or an impossible value is an error naming the
field rather than a silently ignored line. The meaning of every field is given
in ``docs/model.md``; the arrays the dynamics run on are derived from a
scenario once, in :mod:`gtmgym.envs.params`.

Numbers are also bounded to ranges no real company's scenario reaches but
inside which every figure stays finite in float64 over any allowed horizon
(``docs/model.md``, Allowed ranges, says why each bound is where it is): an
amount of money at most :data:`MONEY_MAX`, a population at most
:data:`POPULATION_MAX` at the start and within :data:`POPULATION_RANGE` after
growing for every period of the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MAX_PERIODS = 10_000
MONEY_MAX = 1.0e12  # any amount of money, and the bankruptcy penalty (in budgets)
SMALLEST_DIVISOR = 1.0e-6  # the least budget and half-saturation: the model divides by them
POPULATION_MAX = 1.0e12  # at the start
POPULATION_RANGE = (1.0e-100, 1.0e15)  # over the horizon, as it grows or shrinks
LIFETIME_CHURN_MIN = 1.0e-6  # churn under the lifetime_value objective (divides by it)
PERSISTENCE_MAX = 0.999  # a demand shock's AR(1) coefficient (keeps exp(shock) finite)


@dataclass(frozen=True)
class Within:
    """A numerical range, checked after the field's own sign or domain.

    The field's ``Field(gt=..., le=...)`` constraints say what makes sense
    (a budget above 0, a churn of at most 1) and keep their own messages;
    this says how far the number may go for float64 to stay finite, and its
    message names the whole allowed range.
    """

    low: float
    high: float
    low_open: bool = False  # the range excludes ``low``

    def __call__(self, value: float) -> float:
        above = value > self.low if self.low_open else value >= self.low
        if not (above and value <= self.high):
            raise ValueError(
                f"must be within {self.text}, the allowed range (docs/model.md, Allowed ranges)"
            )
        return value

    @property
    def text(self) -> str:
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Amount = Annotated[float, Field(ge=0.0), AfterValidator(Within(0.0, MONEY_MAX))]
PositiveAmount = Annotated[
    float, Field(gt=0.0), AfterValidator(Within(0.0, MONEY_MAX, low_open=True))
]
Divisor = Annotated[float, Field(gt=0.0), AfterValidator(Within(SMALLEST_DIVISOR, MONEY_MAX))]
Cash = Annotated[float, AfterValidator(Within(-MONEY_MAX, MONEY_MAX))]
Population = Annotated[
    float, Field(gt=0.0), AfterValidator(Within(0.0, POPULATION_MAX, low_open=True))
]

# what a numeric field may be written as instead of a number (gtmgym.envs.distribution)
DISTRIBUTION_KINDS = ("uniform", "normal", "lognormal", "choice")

ActionMode = Literal["continuous", "discrete", "multidiscrete"]
Objective = Literal["profit", "market_share", "lifetime_value"]


class _Strict(BaseModel):
    """Base model: unknown keys, NaN and infinities are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Competitor(_Strict):
    """A rival that holds part of a segment's addressable market.

    Its share moves each period a fraction ``speed`` of the way towards
    ``share + response * our_share``: a positive ``response`` defends the
    market as we grow.
    """

    share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    response: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0
    speed: Fraction = 0.0


class DemandShock(_Strict):
    """Lognormal AR(1) multiplier on a segment's addressable demand."""

    sigma: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    persistence: Annotated[
        float, Field(ge=0.0, lt=1.0), AfterValidator(Within(0.0, PERSISTENCE_MAX))
    ] = 0.0


class AdverseEvent(_Strict):
    """A random shock (e.g. new regulation) that cuts demand for a while."""

    probability: Fraction = 0.0
    demand_cut: Fraction = 0.5
    duration: Annotated[int, Field(ge=1, le=1000)] = 1


class Segment(_Strict):
    """One market: the home market, a foreign region, an industry."""

    name: Annotated[str, Field(min_length=1)]
    population: Population
    growth: Annotated[float, Field(gt=-1.0, le=1.0)] = 0.0
    initial_customers: Annotated[float, Field(ge=0.0)] = 0.0  # at most the population
    revenue_per_customer: Amount
    gross_margin: Fraction
    churn: Fraction
    open_at_start: bool = True
    entry_cost: Amount = 0.0
    entry_delay: Annotated[int, Field(ge=0, le=1000)] = 0
    operating_cost: Amount = 0.0
    competitor: Competitor = Competitor()
    demand_shock: DemandShock = DemandShock()
    adverse_event: AdverseEvent = AdverseEvent()

    @model_validator(mode="after")
    def _customers_fit_the_market(self) -> Segment:
        if self.initial_customers > self.population:
            raise ValueError(
                f"initial_customers ({self.initial_customers:g}) exceeds "
                f"population ({self.population:g})"
            )
        if not self.open_at_start and self.initial_customers > 0:
            raise ValueError("a segment that is not open at start cannot have initial_customers")
        return self


class Channel(_Strict):
    """One way of winning customers: direct sales, partners, digital.

    ``effectiveness`` has one entry per segment, in the order the segments are
    listed: the largest fraction of a segment's open prospects the channel
    wins in a period at full saturation (0 = not available there).
    """

    name: Annotated[str, Field(min_length=1)]
    effectiveness: list[Fraction]
    decay: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    half_saturation: Divisor
    slope: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    revenue_share: Fraction = 0.0
    min_spend: Amount = 0.0
    max_spend: PositiveAmount | None = None

    @model_validator(mode="after")
    def _spend_bounds_ordered(self) -> Channel:
        if self.max_spend is not None and self.min_spend > self.max_spend:
            raise ValueError(
                f"min_spend ({self.min_spend:g}) exceeds max_spend ({self.max_spend:g})"
            )
        return self


class Budget(_Strict):
    """Money for marketing and sales, and optionally the company's cash."""

    per_period: Divisor
    total: PositiveAmount | None = None
    carry_over: bool = False
    initial_cash: Cash | None = None
    bankruptcy_penalty: Amount = 10.0


class Actions(_Strict):
    """How the agent's action is written (see ``docs/model.md``, Actions)."""

    mode: ActionMode = "discrete"
    spend_levels: Annotated[list[Annotated[float, Field(gt=0.0, le=1.0)]], Field(min_length=1)] = [
        1.0
    ]
    multidiscrete_levels: Annotated[int, Field(ge=1, le=20)] = 4


class Scenario(_Strict):
    """A complete market-expansion scenario."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    periods: Annotated[int, Field(ge=1, le=MAX_PERIODS)]
    noise: bool = True
    objective: Objective = "profit"
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # per period
    segments: Annotated[list[Segment], Field(min_length=1)]
    channels: Annotated[list[Channel], Field(min_length=1)]
    budget: Budget
    actions: Actions = Actions()

    @model_validator(mode="after")
    def _tables_match_segments(self) -> Scenario:
        n_segments = len(self.segments)
        names = [segment.name for segment in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        channel_names = [channel.name for channel in self.channels]
        if len(set(channel_names)) != len(channel_names):
            raise ValueError(f"channel names must be unique, got {channel_names}")
        for index, channel in enumerate(self.channels):
            if len(channel.effectiveness) != n_segments:
                raise ValueError(
                    f"channels[{index}].effectiveness has {len(channel.effectiveness)} "
                    f"entries but there are {n_segments} segments {names}; "
                    "give one entry per segment, in order"
                )
        if self.discount_rate > 0 and self.objective == "market_share":
            raise ValueError(
                "discount_rate applies to the profit and lifetime_value objectives "
                "(money); market_share is not discounted: set discount_rate to 0"
            )
        if not any(segment.open_at_start for segment in self.segments):
            raise ValueError("at least one segment must be open_at_start")
        if self.objective == "lifetime_value":
            for index, segment in enumerate(self.segments):
                if segment.churn == 0.0:
                    raise ValueError(
                        f"segments[{index}].churn is 0, so the lifetime value of a "
                        "customer is infinite; the lifetime_value objective needs churn > 0"
                    )
                if segment.churn < LIFETIME_CHURN_MIN:
                    raise ValueError(
                        f"segments[{index}].churn is {segment.churn:g}; the lifetime_value "
                        f"objective divides by it and needs it within "
                        f"[{LIFETIME_CHURN_MIN:g}, 1], the allowed range "
                        "(docs/model.md, Allowed ranges)"
                    )
        for index, segment in enumerate(self.segments):
            _check_population_over_horizon(index, segment, self.periods)
        return self

    @property
    def segment_names(self) -> list[str]:
        return [segment.name for segment in self.segments]

    @property
    def channel_names(self) -> list[str]:
        return [channel.name for channel in self.channels]


def _check_population_over_horizon(index: int, segment: Segment, periods: int) -> None:
    """Refuse a population that grows past, or shrinks below,
    :data:`POPULATION_RANGE` within the horizon (compared in logarithms, so
    that the check itself cannot overflow)."""
    low, high = POPULATION_RANGE
    log_end = math.log10(segment.population) + periods * math.log1p(segment.growth) / math.log(10)
    if math.log10(low) <= log_end <= math.log10(high):
        return
    raise ValueError(
        f"segments[{index}].population ({segment.population:g}) with "
        f"segments[{index}].growth ({segment.growth:g}) per period becomes "
        f"10^{log_end:.0f} after periods ({periods}); the population must stay within "
        f"[{low:g}, {high:g}] over the horizon, the allowed range "
        "(docs/model.md, Allowed ranges): lower the growth or the periods"
    )
