"""The market's state, batched over a leading environment axis ``N``."""

from __future__ import annotations

import numpy as np

from gtmgym.envs.params import MarketParams
from gtmgym.envs.record import Field, Record


class MarketState(Record):
    """Everything the next period depends on, for ``N`` markets at once.

    ``customers`` has one column per channel that won them plus a last column
    for customers held before the episode began, so that a partner's revenue
    share is paid on exactly the customers the partner brought in.

    Fields (read by name; stored side by side in ``data``, see
    :mod:`gtmgym.envs.record`):

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
        """(N, S) segments that can sell this period: entered, delay over."""
        return self.entered & (self.countdown == 0)

    def total_customers(self) -> np.ndarray:
        """(N, S) customers per segment."""
        return self.customers.sum(axis=-1)


# Field numbers, by name, for the compiled code that reads rows of MarketState
_NUMBER = {field.name: number for number, field in enumerate(MarketState.FIELDS)}
PERIOD = _NUMBER["period"]
POPULATION = _NUMBER["population"]
CUSTOMERS = _NUMBER["customers"]
ENTERED = _NUMBER["entered"]
COUNTDOWN = _NUMBER["countdown"]
ADSTOCK = _NUMBER["adstock"]
COMPETITOR = _NUMBER["competitor"]
LOG_SHOCK = _NUMBER["log_shock"]
EVENT_LEFT = _NUMBER["event_left"]
DEMAND = _NUMBER["demand"]
BANK = _NUMBER["bank"]
BUDGET_LEFT = _NUMBER["budget_left"]
CASH = _NUMBER["cash"]


def initial_state(params: MarketParams, num_envs: int) -> MarketState:
    """The state every episode starts from (the start is not random)."""
    n, s, c = num_envs, params.n_segments, params.n_channels
    customers = np.zeros((n, s, c + 1))
    customers[:, :, c] = (
        np.floor(params.initial_customers) if params.noise else params.initial_customers
    )
    return MarketState.from_fields(
        s,
        c,
        period=np.zeros(n),
        population=np.broadcast_to(params.population, (n, s)),
        customers=customers,
        entered=np.broadcast_to(params.open_at_start, (n, s)),
        countdown=np.zeros((n, s)),
        adstock=np.zeros((n, s, c)),
        competitor=np.broadcast_to(params.competitor_share, (n, s)),
        log_shock=np.zeros((n, s)),
        event_left=np.zeros((n, s)),
        demand=np.ones((n, s)),
        bank=np.zeros(n),
        budget_left=np.full(n, params.budget_total),
        cash=np.full(n, params.initial_cash),
    )
