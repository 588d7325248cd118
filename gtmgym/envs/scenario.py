"""Typed, validated description of one market-expansion scenario.

A scenario is data: it is written in YAML (see ``gtmgym/scenarios/``) and
validated here by pydantic models that forbid unknown keys, NaN and infinite
numbers, so that a misspelt key or an impossible value is an error naming the
field rather than a silently ignored line. The meaning of every field is given
in ``docs/model.md``; the arrays the dynamics run on are derived from a
scenario once, in :mod:`gtmgym.envs.params`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]

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
    persistence: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class AdverseEvent(_Strict):
    """A random shock (e.g. new regulation) that cuts demand for a while."""

    probability: Fraction = 0.0
    demand_cut: Fraction = 0.5
    duration: Annotated[int, Field(ge=1, le=1000)] = 1


class Segment(_Strict):
    """One market: the home market, a foreign region, an industry."""

    name: Annotated[str, Field(min_length=1)]
    population: Positive
    growth: Annotated[float, Field(gt=-1.0, le=1.0)] = 0.0
    initial_customers: NonNegative = 0.0
    revenue_per_customer: NonNegative
    gross_margin: Fraction
    churn: Fraction
    open_at_start: bool = True
    entry_cost: NonNegative = 0.0
    entry_delay: Annotated[int, Field(ge=0, le=1000)] = 0
    operating_cost: NonNegative = 0.0
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
    half_saturation: Positive
    slope: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    revenue_share: Fraction = 0.0
    min_spend: NonNegative = 0.0
    max_spend: Positive | None = None

    @model_validator(mode="after")
    def _spend_bounds_ordered(self) -> Channel:
        if self.max_spend is not None and self.min_spend > self.max_spend:
            raise ValueError(
                f"min_spend ({self.min_spend:g}) exceeds max_spend ({self.max_spend:g})"
            )
        return self


class Budget(_Strict):
    """Money for marketing and sales, and optionally the company's cash."""

    per_period: Positive
    total: Positive | None = None
    carry_over: bool = False
    initial_cash: float | None = None
    bankruptcy_penalty: NonNegative = 10.0


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
    periods: Annotated[int, Field(ge=1, le=10_000)]
    noise: bool = True
    objective: Objective = "profit"
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
        if not any(segment.open_at_start for segment in self.segments):
            raise ValueError("at least one segment must be open_at_start")
        if self.objective == "lifetime_value":
            for index, segment in enumerate(self.segments):
                if segment.churn == 0.0:
                    raise ValueError(
                        f"segments[{index}].churn is 0, so the lifetime value of a "
                        "customer is infinite; the lifetime_value objective needs churn > 0"
                    )
        return self

    @property
    def segment_names(self) -> list[str]:
        return [segment.name for segment in self.segments]

    @property
    def channel_names(self) -> list[str]:
        return [channel.name for channel in self.channels]
