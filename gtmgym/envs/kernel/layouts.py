"""The model's three records, declared once: parameters, state and figures.

Each is a :class:`~gtmgym.envs.kernel.record.Record`: one float64 row per
market, read by name from Python (``state.customers`` is ``(N, S, C + 1)``).
Compiled code unpacks a row into a named view once, with :func:`params_view`,
:func:`state_view` and :func:`figures_view`, and then reads ``p.churn[i]``,
``s.customers[i, k]`` or writes ``f.won[i, j]``. Field ``k`` of ``FIELDS``
lies in columns ``offsets[k]:offsets[k + 1]`` of a row; the view functions
name each field beside its number, and ``tests/test_kernel.py`` checks every
field of every view against the record's own reader.

In the views, a per-segment field is an ``(S,)`` array, per channel ``(C,)``,
per pair ``(S, C)``, customers by source ``(S, C + 1)``; a single number of
the state or figures is a one-element array (it is written to), of the
parameters a float or bool (they are only read). Flags of the state and
figures are stored as 0.0 / 1.0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.core import cgutils
from numba.extending import intrinsic

from gtmgym.envs.kernel.record import Field, Record

Array = np.ndarray
OBJECTIVES = ("profit", "market_share", "lifetime_value")  # Params.objective numbers them


class Params(Record):
    """The model's parameters, one row per market (docs/model.md, Notation).

    A batch of markets may hold one row (every market shares it) or one row
    per market (markets with different values, of one shape).

    Per segment ``(S,)``: ``population`` and ``initial_customers`` at start,
    ``open_at_start``, ``growth``, ``churn``, ``revenue`` per customer,
    ``margin``, ``entry_cost``, ``entry_delay``, ``operating_cost``, the
    rival's ``competitor_share`` / ``_response`` / ``_speed``, the demand
    shock's ``shock_sigma`` and ``shock_persistence``, the adverse event's
    ``event_probability``, ``event_cut`` and ``event_duration``.
    Per channel ``(C,)``: ``decay``, ``half_saturation``, its power
    ``half_saturation_pow`` (``k ** slope``), ``slope``, ``revenue_share``,
    ``min_spend``, ``max_spend``. Per pair: ``effectiveness`` ``(S, C)`` and
    ``lifetime_value`` ``(S, C + 1)`` of a customer by source.
    Budget and objective: ``budget_per_period``, ``budget_total`` (inf: no
    total), ``carry_over``, ``tracks_cash``, ``initial_cash``,
    ``bankruptcy_penalty``, ``shrinks`` (a segment's population falls),
    ``periods``, ``objective`` (a number of :data:`OBJECTIVES`),
    ``discount_rate`` per period (Rewards).
    """

    FIELDS = (
        Field("population", "S"),
        Field("initial_customers", "S"),
        Field("open_at_start", "S", bool),
        Field("growth", "S"),
        Field("churn", "S"),
        Field("revenue", "S"),
        Field("margin", "S"),
        Field("entry_cost", "S"),
        Field("entry_delay", "S", int),
        Field("operating_cost", "S"),
        Field("competitor_share", "S"),
        Field("competitor_response", "S"),
        Field("competitor_speed", "S"),
        Field("shock_sigma", "S"),
        Field("shock_persistence", "S"),
        Field("event_probability", "S"),
        Field("event_cut", "S"),
        Field("event_duration", "S", int),
        Field("decay", "C"),
        Field("half_saturation", "C"),
        Field("half_saturation_pow", "C"),
        Field("slope", "C"),
        Field("revenue_share", "C"),
        Field("min_spend", "C"),
        Field("max_spend", "C"),
        Field("effectiveness", "SC"),
        Field("lifetime_value", "SC+1"),
        Field("budget_per_period", "one"),
        Field("budget_total", "one"),
        Field("carry_over", "one", bool),
        Field("tracks_cash", "one", bool),
        Field("initial_cash", "one"),
        Field("bankruptcy_penalty", "one"),
        Field("shrinks", "one", bool),
        Field("periods", "one", int),
        Field("objective", "one", int),
        Field("discount_rate", "one"),
    )
    __slots__ = ()

    @property
    def n_segments(self) -> int:
        return self.layout.shapes["population"][0]

    @property
    def n_channels(self) -> int:
        return self.layout.shapes["decay"][0]


class MarketState(Record):
    """Everything the next period depends on, for ``N`` markets at once.

    ``customers`` has one column per channel that won them plus a last column
    for customers held before the episode began, so that a partner's revenue
    share is paid on exactly the customers the partner brought in.

    - ``period`` (N,) int: periods already played
    - ``population`` (N, S): addressable population
    - ``customers`` (N, S, C + 1): our customers by source
    - ``entered`` (N, S) bool: open at start or entry decided
    - ``countdown`` (N, S) int: periods of entry delay left
    - ``adstock`` (N, S, C): carried-over spend
    - ``competitor`` (N, S): share of population the rival holds
    - ``log_shock`` (N, S): log of the demand-shock multiplier
    - ``event_left`` (N, S) int: periods of adverse event left
    - ``demand`` (N, S): demand multiplier of the last period
    - ``bank`` (N,): unspent budget carried over
    - ``budget_left`` (N,): what is left of the episode's total budget
    - ``cash`` (N,): initial cash (0 if untracked) + profit so far
    """

    FIELDS = (
        Field("period", "one", int),
        Field("population", "S"),
        Field("customers", "SC+1"),
        Field("entered", "S", bool),
        Field("countdown", "S", int),
        Field("adstock", "SC"),
        Field("competitor", "S"),
        Field("log_shock", "S"),
        Field("event_left", "S", int),
        Field("demand", "S"),
        Field("bank", "one"),
        Field("budget_left", "one"),
        Field("cash", "one"),
    )
    __slots__ = ()

    @property
    def selling(self) -> np.ndarray:
        """(N, S) segments that can sell this period: the rule of section 1
        (:func:`~gtmgym.envs.kernel.period.segment_entry`) with no entry decided."""
        from gtmgym.envs.kernel.advance import entry_batch  # advance imports this module

        entered = self.entered
        no_entry = np.zeros(entered.shape, dtype=np.bool_)
        countdown = self.countdown.astype(np.float64)
        return entry_batch(entered, countdown, np.zeros(entered.shape), no_entry)[3]

    def total_customers(self) -> np.ndarray:
        """(N, S) customers per segment."""
        return self.customers.sum(axis=-1)


class PeriodFigures(Record):
    """What happened in one period for ``N`` markets, in raw units.

    - ``available`` (N,): money the agent could spend
    - ``requested`` (N, S, C): money the decision asked to spend
    - ``spend`` (N, S, C): money actually spent
    - ``blocked`` (N, S, C): asked for but not spent (see docs/model.md)
    - ``unspent`` (N,): available minus spent
    - ``spent`` (N,): total money spent on channels
    - ``entered_now`` (N, S) bool: entry paid this period
    - ``won`` (N, S, C): customers won, by channel
    - ``segment_won`` (N, S): customers won, all channels
    - ``churned`` (N, S): customers lost
    - ``customers`` (N, S): customers at the end of the period
    - ``population`` (N, S): addressable population this period
    - ``demand`` (N, S): demand multiplier this period
    - ``revenue``, ``gross_margin``, ``partner_payout``, ``entry_costs``,
      ``operating_costs`` (N, S)
    - ``profit`` (N,)
    - ``market_share`` (N,): our customers over the total addressable population
    - ``bankrupt`` (N,) bool: cash fell below zero
    """

    FIELDS = (
        Field("available", "one"),
        Field("requested", "SC"),
        Field("spend", "SC"),
        Field("blocked", "SC"),
        Field("unspent", "one"),
        Field("spent", "one"),
        Field("entered_now", "S", bool),
        Field("won", "SC"),
        Field("segment_won", "S"),
        Field("churned", "S"),
        Field("customers", "S"),
        Field("population", "S"),
        Field("demand", "S"),
        Field("revenue", "S"),
        Field("gross_margin", "S"),
        Field("partner_payout", "S"),
        Field("entry_costs", "S"),
        Field("operating_costs", "S"),
        Field("profit", "one"),
        Field("market_share", "one"),
        Field("bankrupt", "one", bool),
    )
    __slots__ = ()


class ParamsView(NamedTuple):
    """One market's :class:`Params` row, by name, in compiled code."""

    population: Array
    initial_customers: Array
    open_at_start: Array
    growth: Array
    churn: Array
    revenue: Array
    margin: Array
    entry_cost: Array
    entry_delay: Array
    operating_cost: Array
    competitor_share: Array
    competitor_response: Array
    competitor_speed: Array
    shock_sigma: Array
    shock_persistence: Array
    event_probability: Array
    event_cut: Array
    event_duration: Array
    decay: Array
    half_saturation: Array
    half_saturation_pow: Array
    slope: Array
    revenue_share: Array
    min_spend: Array
    max_spend: Array
    effectiveness: Array
    lifetime_value: Array
    budget_per_period: float
    budget_total: float
    carry_over: bool
    tracks_cash: bool
    initial_cash: float
    bankruptcy_penalty: float
    shrinks: bool
    periods: float
    objective: float
    discount_rate: float


class StateView(NamedTuple):
    """One market's :class:`MarketState` row, by name, in compiled code."""

    period: Array
    population: Array
    customers: Array
    entered: Array
    countdown: Array
    adstock: Array
    competitor: Array
    log_shock: Array
    event_left: Array
    demand: Array
    bank: Array
    budget_left: Array
    cash: Array


class FiguresView(NamedTuple):
    """One market's :class:`PeriodFigures` row, by name, in compiled code."""

    available: Array
    requested: Array
    spend: Array
    blocked: Array
    unspent: Array
    spent: Array
    entered_now: Array
    won: Array
    segment_won: Array
    churned: Array
    customers: Array
    population: Array
    demand: Array
    revenue: Array
    gross_margin: Array
    partner_payout: Array
    entry_costs: Array
    operating_costs: Array
    profit: Array
    market_share: Array
    bankrupt: Array


@intrinsic
def borrowed(typingctx, array):
    """``array`` without its reference count: the same data, shape and
    strides, no memory owner. The named views are slices of the rows a
    compiled call was given, which outlive the call, so they need no count;
    counted, each view's creation and each field read paid an atomic
    increment and decrement (about 460 per market and period, 2 us of a
    3 us period of a one-segment market)."""

    def codegen(context, builder, signature, arguments):
        given = context.make_array(signature.args[0])(context, builder, value=arguments[0])
        view = context.make_array(signature.return_type)(context, builder)
        for name in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, name, getattr(given, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return array(array), codegen


@njit(cache=True, inline="always")
def params_view(row: Array, o: Array, n_segments: int, n_channels: int) -> ParamsView:
    """A :class:`Params` row as a :class:`ParamsView` (``o``: the layout's offsets)."""
    row = borrowed(row)
    pairs, by_source = (n_segments, n_channels), (n_segments, n_channels + 1)
    return ParamsView(
        population=row[o[0] : o[1]],
        initial_customers=row[o[1] : o[2]],
        open_at_start=row[o[2] : o[3]],
        growth=row[o[3] : o[4]],
        churn=row[o[4] : o[5]],
        revenue=row[o[5] : o[6]],
        margin=row[o[6] : o[7]],
        entry_cost=row[o[7] : o[8]],
        entry_delay=row[o[8] : o[9]],
        operating_cost=row[o[9] : o[10]],
        competitor_share=row[o[10] : o[11]],
        competitor_response=row[o[11] : o[12]],
        competitor_speed=row[o[12] : o[13]],
        shock_sigma=row[o[13] : o[14]],
        shock_persistence=row[o[14] : o[15]],
        event_probability=row[o[15] : o[16]],
        event_cut=row[o[16] : o[17]],
        event_duration=row[o[17] : o[18]],
        decay=row[o[18] : o[19]],
        half_saturation=row[o[19] : o[20]],
        half_saturation_pow=row[o[20] : o[21]],
        slope=row[o[21] : o[22]],
        revenue_share=row[o[22] : o[23]],
        min_spend=row[o[23] : o[24]],
        max_spend=row[o[24] : o[25]],
        effectiveness=row[o[25] : o[26]].reshape(pairs),
        lifetime_value=row[o[26] : o[27]].reshape(by_source),
        budget_per_period=row[o[27]],
        budget_total=row[o[28]],
        carry_over=row[o[29]] != 0.0,
        tracks_cash=row[o[30]] != 0.0,
        initial_cash=row[o[31]],
        bankruptcy_penalty=row[o[32]],
        shrinks=row[o[33]] != 0.0,
        periods=row[o[34]],
        objective=row[o[35]],
        discount_rate=row[o[36]],
    )


@njit(cache=True, inline="always")
def state_view(row: Array, o: Array, n_segments: int, n_channels: int) -> StateView:
    """A :class:`MarketState` row as a :class:`StateView` (writes go to the row)."""
    row = borrowed(row)
    return StateView(
        period=row[o[0] : o[1]],
        population=row[o[1] : o[2]],
        customers=row[o[2] : o[3]].reshape((n_segments, n_channels + 1)),
        entered=row[o[3] : o[4]],
        countdown=row[o[4] : o[5]],
        adstock=row[o[5] : o[6]].reshape((n_segments, n_channels)),
        competitor=row[o[6] : o[7]],
        log_shock=row[o[7] : o[8]],
        event_left=row[o[8] : o[9]],
        demand=row[o[9] : o[10]],
        bank=row[o[10] : o[11]],
        budget_left=row[o[11] : o[12]],
        cash=row[o[12] : o[13]],
    )


@njit(cache=True, inline="always")
def figures_view(row: Array, o: Array, n_segments: int, n_channels: int) -> FiguresView:
    """A :class:`PeriodFigures` row as a :class:`FiguresView` (writes go to the row)."""
    row = borrowed(row)
    pairs = (n_segments, n_channels)
    return FiguresView(
        available=row[o[0] : o[1]],
        requested=row[o[1] : o[2]].reshape(pairs),
        spend=row[o[2] : o[3]].reshape(pairs),
        blocked=row[o[3] : o[4]].reshape(pairs),
        unspent=row[o[4] : o[5]],
        spent=row[o[5] : o[6]],
        entered_now=row[o[6] : o[7]],
        won=row[o[7] : o[8]].reshape(pairs),
        segment_won=row[o[8] : o[9]],
        churned=row[o[9] : o[10]],
        customers=row[o[10] : o[11]],
        population=row[o[11] : o[12]],
        demand=row[o[12] : o[13]],
        revenue=row[o[13] : o[14]],
        gross_margin=row[o[14] : o[15]],
        partner_payout=row[o[15] : o[16]],
        entry_costs=row[o[16] : o[17]],
        operating_costs=row[o[17] : o[18]],
        profit=row[o[18] : o[19]],
        market_share=row[o[19] : o[20]],
        bankrupt=row[o[20] : o[21]],
    )


def initial_state(params: Params, num_envs: int, noise: bool) -> MarketState:
    """The state every episode starts from (the start is not random).

    ``params`` holds one row (every market starts alike) or ``num_envs``.
    """
    s, c = params.n_segments, params.n_channels
    n = num_envs

    def per_market(values: np.ndarray) -> np.ndarray:
        return np.broadcast_to(values, (n, *values.shape[1:]))

    customers = np.zeros((n, s, c + 1))
    start = params.initial_customers
    customers[:, :, c] = np.floor(start) if noise else start
    return MarketState.from_fields(
        s,
        c,
        period=np.zeros(n),
        population=per_market(params.population),
        customers=customers,
        entered=per_market(params.open_at_start),
        countdown=np.zeros((n, s)),
        adstock=np.zeros((n, s, c)),
        competitor=per_market(params.competitor_share),
        log_shock=np.zeros((n, s)),
        event_left=np.zeros((n, s)),
        demand=np.ones((n, s)),
        bank=np.zeros(n),
        budget_left=per_market(params.budget_total),
        cash=per_market(params.initial_cash),
    )
