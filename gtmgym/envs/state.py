"""The market's state, batched over a leading environment axis ``N``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from gtmgym.envs.params import MarketParams


@dataclass(frozen=True, eq=False)
class MarketState:
    """Everything the next period depends on, for ``N`` markets at once.

    ``customers`` has one column per channel that won them plus a last column
    for customers held before the episode began, so that a partner's revenue
    share is paid on exactly the customers the partner brought in.
    """

    period: np.ndarray  # (N,) periods already played
    population: np.ndarray  # (N, S) addressable population
    customers: np.ndarray  # (N, S, C + 1) our customers by source
    entered: np.ndarray  # (N, S) bool: open at start or entry decided
    countdown: np.ndarray  # (N, S) int: periods of entry delay left
    adstock: np.ndarray  # (N, S, C) carried-over spend
    competitor: np.ndarray  # (N, S) share of population the rival holds
    log_shock: np.ndarray  # (N, S) log of the demand-shock multiplier
    event_left: np.ndarray  # (N, S) int: periods of adverse event left
    demand: np.ndarray  # (N, S) demand multiplier of the last period
    bank: np.ndarray  # (N,) unspent budget carried over
    budget_left: np.ndarray  # (N,) what is left of the episode's total budget
    cash: np.ndarray  # (N,) cash: initial cash (0 if untracked) + profit so far

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MarketState):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment] - mutable arrays inside

    @property
    def num_envs(self) -> int:
        return self.period.shape[0]

    @property
    def selling(self) -> np.ndarray:
        """(N, S) segments that can sell this period: entered, delay over."""
        return self.entered & (self.countdown == 0)

    def total_customers(self) -> np.ndarray:
        """(N, S) customers per segment."""
        return self.customers.sum(axis=-1)

    def where(self, mask: np.ndarray, other: MarketState) -> MarketState:
        """This state, with the environments in ``mask`` taken from ``other``."""
        values = {}
        for field in fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            shaped = mask.reshape(mask.shape + (1,) * (mine.ndim - 1))
            values[field.name] = np.where(shaped, theirs, mine)
        return replace(self, **values)

    def index(self, env: int) -> MarketState:
        """The state of environment ``env`` as a batch of one."""
        return replace(self, **{f.name: getattr(self, f.name)[env : env + 1] for f in fields(self)})


def initial_state(params: MarketParams, num_envs: int) -> MarketState:
    """The state every episode starts from (the start is not random)."""
    n, s, c = num_envs, params.n_segments, params.n_channels
    customers = np.zeros((n, s, c + 1))
    customers[:, :, c] = (
        np.floor(params.initial_customers) if params.noise else params.initial_customers
    )
    return MarketState(
        period=np.zeros(n, dtype=np.int64),
        population=np.broadcast_to(params.population, (n, s)).copy(),
        customers=customers,
        entered=np.broadcast_to(params.open_at_start, (n, s)).copy(),
        countdown=np.zeros((n, s), dtype=np.int64),
        adstock=np.zeros((n, s, c)),
        competitor=np.broadcast_to(params.competitor_share, (n, s)).copy(),
        log_shock=np.zeros((n, s)),
        event_left=np.zeros((n, s), dtype=np.int64),
        demand=np.ones((n, s)),
        bank=np.zeros(n),
        budget_left=np.full(n, params.budget_total),
        cash=np.full(n, params.initial_cash),
    )
