"""Families of markets with numbered levels: fixed train and test sets of tasks.

A family is a market structure (the number of segments and channels, which
segments start closed and how long entry takes, which channels keep a revenue
share or have spend bounds, whether a segment has a competitor or demand
shocks) drawn from the family's seed. Each **level** of the family is one
market of that structure whose numbers (population, churn, response curves,
costs, ...) are drawn from the level's own seed, from the ranges
:func:`~gtmgym.scenarios.random_scenario` draws from. Levels are to this
benchmark what Procgen's levels are to its games: train on one set of levels,
test on levels never seen (docs/uncertainty.md, Families of markets).

:func:`scenario_family` returns a scenario distribution whose ``draws`` are
the levels (each episode plays one, chosen by the environment's generator),
so every environment, agent and experiment takes it like any other
distribution; every level has the same shape, so a vector env batches them.
A scenario file names a family in a few lines::

    family: {seed: 0, levels: {start: 0, count: 200}, segments: 3, channels: 3}

and :func:`expand_family` turns such a file into the distribution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gtmgym.envs.scenario import MAX_PERIODS, ActionMode, Objective
from gtmgym.scenarios import generator as ranges

BUDGET = 100.0  # per period, as in random_scenario
# keys a family file may set beside ``family`` (the rest comes from the family)
FILE_KEYS = ("name", "description", "noise", "discount_rate", "observe_parameters")


class LevelRange(BaseModel):
    """Levels ``start, start + 1, ..., start + count - 1`` (Procgen's
    ``start_level`` and ``num_levels``)."""

    model_config = ConfigDict(extra="forbid")
    start: Annotated[int, Field(ge=0)] = 0
    count: Annotated[int, Field(ge=1, le=100_000)]


class Family(BaseModel):
    """The ``family`` mapping of a scenario file (arguments of :func:`scenario_family`)."""

    model_config = ConfigDict(extra="forbid")
    seed: Annotated[int, Field(ge=0)]
    levels: LevelRange | Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
    segments: Annotated[int, Field(ge=1, le=16)] = 3
    channels: Annotated[int, Field(ge=1, le=5)] = 3
    periods: Annotated[int, Field(ge=1, le=MAX_PERIODS)] = 12
    objective: Objective = "profit"
    action_mode: ActionMode = "discrete"

    @field_validator("levels", mode="wrap")
    @classmethod
    def _one_message(cls, value: Any, handler: Any) -> Any:
        """One message for a malformed ``levels``, not one per form it could take."""
        try:
            return handler(value)
        except ValidationError:
            if isinstance(value, Mapping):
                LevelRange.model_validate(value)  # its own message names the key
            raise ValueError(
                "levels is {start: <first level>, count: <how many>} or a non-empty list "
                "of distinct level seeds (integers >= 0)"
            ) from None

    def level_seeds(self) -> list[int]:
        if isinstance(self.levels, LevelRange):
            return list(range(self.levels.start, self.levels.start + self.levels.count))
        return list(self.levels)


def scenario_family(
    seed: int,
    levels: range | list[int],
    segments: int = 3,
    channels: int = 3,
    periods: int = 12,
    objective: Objective = "profit",
    action_mode: ActionMode = "discrete",
    noise: bool = False,
) -> dict[str, Any]:
    """The scenario distribution of a family's levels.

    Args:
        seed: the family: fixes the market structure.
        levels: the level seeds, one market each (e.g. ``range(200)`` to
            train and ``range(10_000, 10_200)`` to test). The same level of
            the same family is always the same market.
        segments: segments per market (at most 16).
        channels: channels per market (at most 5, so that the channels'
            spend floors fit in the budget).
        periods: the horizon.
        objective: the reward.
        action_mode: the action mode (an experiment may set it per agent).
        noise: the scenario's noise switch.

    Returns:
        A distribution mapping (docs/uncertainty.md) named
        ``family-<seed>``: the first level's market, and ``draws`` listing
        every level's segments, channels and budget, of which each episode
        plays one. Load it with :func:`gtmgym.load_distribution` or pass it
        to ``gymnasium.make(..., scenario=...)``.
    """
    seeds = list(levels)
    if not seeds:
        raise ValueError("a family needs at least one level")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"levels repeats a level: {seeds}")
    structure = _Structure(np.random.default_rng(seed), segments, channels, objective)
    markets = [structure.market(np.random.default_rng([seed, level]), periods) for level in seeds]
    first = markets[0]
    return {
        "name": f"family-{seed}",
        "description": (
            f"scenario_family(seed={seed}): {len(seeds)} levels of {segments} segments "
            f"x {channels} channels x {periods} periods"
        ),
        "periods": periods,
        "noise": noise,
        "objective": objective,
        **first,
        "actions": structure.actions(action_mode),
        "draws": markets,
    }


def expand_family(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """A scenario file's ``family`` mapping (with the keys beside it) as
    the distribution mapping :func:`scenario_family` returns.

    Raises:
        ValueError: naming ``origin`` and the field, for an unknown or
            invalid family field, or a key beside ``family`` that the family
            itself decides (segments, channels, budget, ...).
    """
    from gtmgym.envs.loader import ScenarioError, validation_problems

    others = [key for key in data if key != "family" and key not in FILE_KEYS]
    if others:
        raise ScenarioError(
            f"{origin}: {', '.join(map(str, others))} cannot be set beside family "
            f"(the family draws them); allowed beside it: {', '.join(FILE_KEYS)}"
        )
    try:
        family = _FamilyField.model_validate({"family": data["family"]}).family
    except ValidationError as error:
        problems = validation_problems(error, "docs/uncertainty.md")
        raise ScenarioError(f"{origin}: invalid family\n{problems}") from None
    try:
        mapping = scenario_family(
            family.seed,
            family.level_seeds(),
            family.segments,
            family.channels,
            family.periods,
            family.objective,
            family.action_mode,
        )
    except ValueError as error:  # a repeated level: the field is family.levels
        raise ScenarioError(f"{origin}: family.{error}") from None
    return mapping | {key: data[key] for key in FILE_KEYS if key in data}


class _FamilyField(BaseModel):
    """So that messages name the field from the file's top: ``family.levels.count``."""

    family: Family


class _Structure:
    """What every level of a family shares, drawn once from the family's seed."""

    def __init__(
        self, rng: np.random.Generator, segments: int, channels: int, objective: Objective
    ) -> None:
        self.objective = objective
        self.magnitude = rng.choice(ranges.POPULATION_MAGNITUDES, size=segments)
        self.lasting = rng.random(segments) < 0.85  # else one-period customers (churn 1)
        if objective == "lifetime_value":
            self.lasting[:] = True
        self.closed = (rng.random(segments) < 0.5) & (np.arange(segments) > 0)
        self.entry_delay = rng.integers(*ranges.ENTRY_DELAY, size=segments)
        self.competitor = rng.random(segments) < 0.5
        self.shock = rng.random(segments) < 0.3
        self.reaches = rng.random((channels, segments)) >= 0.2
        for segment in range(segments):  # every segment reachable by at least one channel
            if not self.reaches[:, segment].any():
                self.reaches[int(rng.integers(channels)), segment] = True
        self.carries_over = rng.random(channels) < 0.5  # adstock decay above 0
        self.s_shaped = rng.random(channels) < 0.5
        self.revenue_share = rng.random(channels) < 0.3
        self.min_spend = rng.random(channels) < 0.25
        self.max_spend = rng.random(channels) < 0.25
        self.total_budget = bool(rng.random() < 0.25)
        self.carry_over = bool(rng.random() < 0.5)
        self.spend_levels = sorted({0.5, 1.0, round(float(rng.uniform(0.1, 0.9)), 2)})
        self.multidiscrete_levels = int(rng.integers(2, 6))

    def actions(self, mode: ActionMode) -> dict[str, Any]:
        return {
            "mode": mode,
            "spend_levels": self.spend_levels,
            "multidiscrete_levels": self.multidiscrete_levels,
        }

    def market(self, rng: np.random.Generator, periods: int) -> dict[str, Any]:
        """One level's segments, channels and budget."""
        segments = [self._segment(rng, index) for index in range(len(self.magnitude))]
        channels = [self._channel(rng, index) for index in range(len(self.carries_over))]
        budget: dict[str, Any] = {"per_period": BUDGET}
        if self.total_budget:
            share = rng.uniform(*ranges.TOTAL_BUDGET_SHARE)
            budget["total"] = round(BUDGET * periods * float(share), 2)
            budget["carry_over"] = self.carry_over
        return {"segments": segments, "channels": channels, "budget": budget}

    def _segment(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        population = float(self.magnitude[index]) * float(rng.uniform(*ranges.POPULATION_SCALE))
        floor = 0.01 if self.objective == "lifetime_value" else 0.0
        churn = float(rng.uniform(floor, ranges.CHURN_HIGH)) if self.lasting[index] else 1.0
        segment: dict[str, Any] = {
            "name": f"segment-{index}",
            "population": round(population, 1),
            "growth": round(float(rng.uniform(*ranges.GROWTH)), 4),
            "initial_customers": 0.0,
            "revenue_per_customer": BUDGET * float(rng.uniform(*ranges.MARGIN_PER_BUDGET))
            / population,
            "gross_margin": round(float(rng.uniform(*ranges.GROSS_MARGIN)), 3),
            "churn": max(round(churn, 4), floor),
            "open_at_start": not bool(self.closed[index]),
        }
        if self.closed[index]:
            segment["entry_cost"] = round(BUDGET * float(rng.uniform(*ranges.ENTRY_COST)), 2)
            segment["entry_delay"] = int(self.entry_delay[index])
            cost = ranges.OPERATING_COST_CLOSED
        else:
            share = float(rng.uniform(*ranges.INITIAL_SHARE))
            segment["initial_customers"] = round(population * share, 1)
            cost = ranges.OPERATING_COST_OPEN
        segment["operating_cost"] = round(BUDGET * float(rng.uniform(*cost)), 2)
        if self.competitor[index]:
            segment["competitor"] = {
                "share": round(float(rng.uniform(*ranges.COMPETITOR_SHARE)), 3),
                "response": round(float(rng.uniform(*ranges.COMPETITOR_RESPONSE)), 3),
                "speed": round(float(rng.uniform(*ranges.COMPETITOR_SPEED)), 3),
            }
        if self.shock[index]:
            segment["demand_shock"] = {
                "sigma": round(float(rng.uniform(*ranges.SHOCK_SIGMA)), 3),
                "persistence": round(float(rng.uniform(*ranges.SHOCK_PERSISTENCE)), 3),
            }
        return segment

    def _channel(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        slope = ranges.SLOPE_S_SHAPED if self.s_shaped[index] else ranges.SLOPE_CONCAVE
        channel: dict[str, Any] = {
            "name": f"channel-{index}",
            "effectiveness": [
                round(float(rng.uniform(*ranges.EFFECTIVENESS)), 4) if reaches else 0.0
                for reaches in self.reaches[index]
            ],
            "decay": round(float(rng.uniform(*ranges.DECAY)), 3)
            if self.carries_over[index]
            else 0.0,
            "half_saturation": round(BUDGET * float(rng.uniform(*ranges.HALF_SATURATION)), 2),
            "slope": round(float(rng.uniform(*slope)), 3),
        }
        if self.revenue_share[index]:
            channel["revenue_share"] = round(float(rng.uniform(*ranges.REVENUE_SHARE)), 3)
        if self.min_spend[index]:
            channel["min_spend"] = round(BUDGET * float(rng.uniform(*ranges.MIN_SPEND)), 2)
        if self.max_spend[index]:
            channel["max_spend"] = round(BUDGET * float(rng.uniform(*ranges.MAX_SPEND)), 2)
            channel["min_spend"] = min(channel.get("min_spend", 0.0), channel["max_spend"])
        return channel
