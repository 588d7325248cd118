"""The scenario turned into the arrays the model runs on.

Every derived quantity (e.g. ``half_saturation ** slope`` or a customer's
lifetime value) is computed here, once, so the kernel, the action catalogue
and the agents that plan on the model all read the same numbers.
:attr:`MarketParams.kernel` is the kernel's one-row
:class:`~gtmgym.envs.kernel.layouts.Params` record of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gtmgym.envs.kernel.layouts import OBJECTIVES, Params
from gtmgym.envs.kernel.record import Layout
from gtmgym.envs.scenario import Scenario

FloatArray = np.ndarray


@dataclass(frozen=True, eq=False)
class MarketParams:
    """A scenario's model parameters: ``S`` segments, ``C`` channels.

    The model's parameters are the fields of the kernel's one-row record
    :attr:`kernel` (:class:`~gtmgym.envs.kernel.layouts.Params`, which lists
    them), read here as attributes of one market: ``params.churn`` is an
    ``(S,)`` array, ``params.effectiveness`` ``(S, C)``,
    ``params.budget_per_period`` a float, ``params.periods`` an int; arrays
    are read-only. Beside them: the objective by name, which pairs a channel
    reaches, and what the action catalogue and the agents derive. Money is in
    the scenario's currency.
    """

    n_segments: int
    n_channels: int
    noise: bool
    objective: str
    kernel: Params  # one read-only row
    available: np.ndarray  # (S, C) bool: the channel reaches the segment
    customer_value: FloatArray  # (S, C + 1): what a customer earns per period, by source
    value_weight: FloatArray  # (S, C): how "by value" catalogue entries split money

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> MarketParams:
        """Compile a validated scenario into arrays."""
        segments, channels, budget = scenario.segments, scenario.channels, scenario.budget

        revenue = np.array([s.revenue_per_customer for s in segments])
        margin = np.array([s.gross_margin for s in segments])
        churn = np.array([s.churn for s in segments])
        revenue_share = np.array([c.revenue_share for c in channels])
        half_saturation = np.array([c.half_saturation for c in channels])
        slope = np.array([c.slope for c in channels])
        effectiveness = np.array([c.effectiveness for c in channels]).T
        customer_value, lifetime_value = customer_values(
            revenue, margin, churn, revenue_share, scenario.discount_rate
        )
        # How the catalogue's "by value" entries split money over the pairs: a
        # channel's reach at half saturation (effectiveness x half-saturation
        # spend), discounted by the revenue share it keeps (docs/model.md).
        value_weight = (
            effectiveness
            * half_saturation[None, :]
            * np.maximum(margin[:, None] - revenue_share[None, :], 0.0)
            / np.where(margin > 0, margin, 1.0)[:, None]
        )
        values = {  # every field of the kernel's Params, by name
            "population": [s.population for s in segments],
            "initial_customers": [s.initial_customers for s in segments],
            "open_at_start": [s.open_at_start for s in segments],
            "growth": [s.growth for s in segments],
            "churn": churn,
            "revenue": revenue,
            "margin": margin,
            "entry_cost": [s.entry_cost for s in segments],
            "entry_delay": [s.entry_delay for s in segments],
            "operating_cost": [s.operating_cost for s in segments],
            "competitor_share": [s.competitor.share for s in segments],
            "competitor_response": [s.competitor.response for s in segments],
            "competitor_speed": [s.competitor.speed for s in segments],
            "shock_sigma": [s.demand_shock.sigma for s in segments],
            "shock_persistence": [s.demand_shock.persistence for s in segments],
            "event_probability": [s.adverse_event.probability for s in segments],
            "event_cut": [s.adverse_event.demand_cut for s in segments],
            "event_duration": [s.adverse_event.duration for s in segments],
            "decay": [c.decay for c in channels],
            "half_saturation": half_saturation,
            "half_saturation_pow": hill_power(half_saturation, slope),
            "slope": slope,
            "revenue_share": revenue_share,
            "min_spend": [c.min_spend for c in channels],
            "max_spend": [np.inf if c.max_spend is None else c.max_spend for c in channels],
            "effectiveness": effectiveness,
            "lifetime_value": lifetime_value,
            "budget_per_period": budget.per_period,
            "budget_total": np.inf if budget.total is None else budget.total,
            "carry_over": budget.carry_over,
            "tracks_cash": budget.initial_cash is not None,
            "initial_cash": 0.0 if budget.initial_cash is None else budget.initial_cash,
            "bankruptcy_penalty": budget.bankruptcy_penalty,
            "shrinks": shrinks(np.array([s.growth for s in segments])),
            "periods": scenario.periods,
            "objective": OBJECTIVES.index(scenario.objective),
            "discount_rate": scenario.discount_rate,
        }
        kernel = Params.from_fields(
            len(segments),
            len(channels),
            **{name: np.asarray(value, dtype=float)[None] for name, value in values.items()},
        )
        kernel.data.setflags(write=False)
        return cls(
            n_segments=len(segments),
            n_channels=len(channels),
            noise=scenario.noise,
            objective=scenario.objective,
            kernel=kernel,
            available=_frozen(effectiveness > 0),
            customer_value=_frozen(customer_value),
            value_weight=_frozen(value_weight),
        )


def _one_market(name: str) -> cached_property:
    """The attribute ``name`` of :class:`MarketParams`: the kernel's field of
    that name for its one market (a read-only array, or a Python number)."""

    def read(params: MarketParams) -> object:
        value = getattr(params.kernel, name)[0]
        if value.ndim == 0:
            return value.item()
        return _frozen(value)

    read.__name__ = name
    read.__doc__ = f"the kernel's ``{name}`` of this market"
    attribute = cached_property(read)
    attribute.__set_name__(MarketParams, name)
    return attribute


for _field in Params.FIELDS:
    if _field.name != "objective":  # by name here, by number in the kernel
        setattr(MarketParams, _field.name, _one_market(_field.name))


def customer_values(
    revenue: FloatArray,
    margin: FloatArray,
    churn: FloatArray,
    revenue_share: FloatArray,
    discount_rate: float | FloatArray = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """(customer value, lifetime value), each ``(..., S, C + 1)``, from
    per-segment ``(..., S)`` and per-channel ``(..., C)`` arrays and the
    discount rate per period (a number, or ``(...,)``).

    Per period, what a customer won by each channel (last column: a customer
    the company had before the episode) earns after the partner's revenue
    share; over its lifetime, the sum of that over the periods it stays,
    discounted: ``value * (1 + r) / (r + churn)``, ``value / churn``
    undiscounted (infinite at churn 0).
    """
    shares = np.concatenate([revenue_share, np.zeros((*revenue_share.shape[:-1], 1))], axis=-1)
    customer_value = revenue[..., :, None] * (margin[..., :, None] - shares[..., None, :])
    rate = np.asarray(discount_rate, dtype=float)[..., None, None]
    leaving = rate + churn[..., :, None]
    with np.errstate(divide="ignore"):
        lifetime_value = np.where(
            leaving > 0,
            customer_value * (1.0 + rate) / np.maximum(leaving, 1e-300),
            np.inf,
        )
    return customer_value, lifetime_value


def hill_power(half_saturation: FloatArray, slope: FloatArray) -> FloatArray:
    """``k ** slope`` per channel, the Hill curve's constant (docs/model.md, 3)."""
    return half_saturation**slope


def shrinks(growth: FloatArray) -> FloatArray:
    """Whether some segment's population falls, per market (``growth`` ``(..., S)``)."""
    return (growth < 0).any(axis=-1)


# Where each numeric scenario field that may vary (docs/uncertainty.md) lies
# among the kernel's parameters, by its path without list indices.
KERNEL_FIELDS = {
    ("segments", "population"): "population",
    ("segments", "growth"): "growth",
    ("segments", "initial_customers"): "initial_customers",
    ("segments", "revenue_per_customer"): "revenue",
    ("segments", "gross_margin"): "margin",
    ("segments", "churn"): "churn",
    ("segments", "entry_cost"): "entry_cost",
    ("segments", "operating_cost"): "operating_cost",
    ("segments", "competitor", "share"): "competitor_share",
    ("segments", "competitor", "response"): "competitor_response",
    ("segments", "competitor", "speed"): "competitor_speed",
    ("segments", "demand_shock", "sigma"): "shock_sigma",
    ("segments", "demand_shock", "persistence"): "shock_persistence",
    ("segments", "adverse_event", "probability"): "event_probability",
    ("segments", "adverse_event", "demand_cut"): "event_cut",
    ("channels", "effectiveness"): "effectiveness",
    ("channels", "decay"): "decay",
    ("channels", "half_saturation"): "half_saturation",
    ("channels", "slope"): "slope",
    ("channels", "revenue_share"): "revenue_share",
    ("channels", "min_spend"): "min_spend",
    ("channels", "max_spend"): "max_spend",
    ("budget", "per_period"): "budget_per_period",
    ("budget", "total"): "budget_total",
    ("budget", "initial_cash"): "initial_cash",
    ("budget", "bankruptcy_penalty"): "bankruptcy_penalty",
    ("discount_rate",): "discount_rate",
}


def field_key(path: tuple[str | int, ...]) -> tuple[str, ...]:
    """A field path without its list indices: the key of :data:`KERNEL_FIELDS`."""
    return tuple(part for part in path if isinstance(part, str))


def kernel_column(path: tuple[str | int, ...], layout: Layout) -> int:
    """The column of a Params row (of ``layout``) that holds the scenario field
    at ``path``, e.g. ``("channels", 2, "effectiveness", 0)``: one of
    :data:`KERNEL_FIELDS`, whose per-pair parameters are (segment, channel)."""
    name = KERNEL_FIELDS[field_key(path)]
    indices = [part for part in path if isinstance(part, int)]
    if name == "effectiveness":  # channels[j].effectiveness[i] is pair (i, j)
        channel, segment = indices
        return layout.starts[name] + segment * layout.shapes[name][1] + channel
    return layout.starts[name] + (indices[0] if indices else 0)


def kernel_rows(
    base: Params, columns: np.ndarray, values: np.ndarray, n_segments: int, n_channels: int
) -> Params:
    """``len(values)`` Params rows: ``base``'s one row with ``values[m]`` in
    ``columns``, and the derived parameters worked out again from them (as
    :meth:`MarketParams.from_scenario` works them out)."""
    data = np.repeat(base.data, len(values), axis=0)
    data[:, columns] = values
    rows = Params.wrap(data, base.layout)
    where = base.layout.starts
    _, lifetime = customer_values(
        rows.revenue, rows.margin, rows.churn, rows.revenue_share, rows.discount_rate
    )
    pairs = n_segments * (n_channels + 1)
    data[:, where["lifetime_value"] : where["lifetime_value"] + pairs] = lifetime.reshape(-1, pairs)
    power = where["half_saturation_pow"]
    data[:, power : power + n_channels] = hill_power(rows.half_saturation, rows.slope)
    data[:, where["shrinks"]] = shrinks(rows.growth)
    return rows


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
