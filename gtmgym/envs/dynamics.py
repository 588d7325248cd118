"""One period of the market model, for a batch of markets at once.

:func:`step` is a pure function of (parameters, state, decision, random
generator) on arrays with a leading environment axis; the scalar and the vector
environment both call it, so they cannot drift apart. The equations, in the
order the code applies them, are in ``docs/model.md``; the section numbers in
the comments below refer to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gtmgym.envs.params import MarketParams
from gtmgym.envs.state import MarketState

COMPETITOR_CAP = 0.99  # the rival never holds the whole market


@dataclass(frozen=True, eq=False)
class PeriodFigures:
    """What happened in one period, in raw units (currency, customers)."""

    available: np.ndarray  # (N,) money the agent could spend
    requested: np.ndarray  # (N, S, C) money the decision asked to spend
    spend: np.ndarray  # (N, S, C) money actually spent
    blocked: np.ndarray  # (N, S, C) asked for but not spent (see docs)
    unspent: np.ndarray  # (N,) available minus spent
    entered_now: np.ndarray  # (N, S) bool: entry paid this period
    won: np.ndarray  # (N, S, C) customers won, by channel
    churned: np.ndarray  # (N, S) customers lost
    customers: np.ndarray  # (N, S) customers at the end of the period
    population: np.ndarray  # (N, S) addressable population this period
    demand: np.ndarray  # (N, S) demand multiplier this period
    revenue: np.ndarray  # (N, S)
    gross_margin: np.ndarray  # (N, S) revenue x margin
    partner_payout: np.ndarray  # (N, S) revenue shares paid to channels
    entry_costs: np.ndarray  # (N, S)
    operating_costs: np.ndarray  # (N, S)
    profit: np.ndarray  # (N,)
    bankrupt: np.ndarray  # (N,) bool: cash fell below zero

    @property
    def spent(self) -> np.ndarray:
        """(N,) total money spent on channels."""
        return self.spend.sum(axis=(1, 2))


def entry(
    params: MarketParams, state: MarketState, enter: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Section 1: (entered now, entered, countdown, selling), each (N, S)."""
    entered_now = enter & ~state.entered
    entered = state.entered | entered_now
    countdown = np.where(entered_now, params.entry_delay, state.countdown)
    return entered_now, entered, countdown, entered & (countdown == 0)


def available_money(params: MarketParams, state: MarketState) -> np.ndarray:
    """Section 2: (N,) the money the agent can spend this period."""
    return np.minimum(
        params.budget_per_period + (state.bank if params.carry_over else 0.0),
        state.budget_left,
    )


def step(
    params: MarketParams,
    state: MarketState,
    shares: np.ndarray,
    enter: np.ndarray,
    rng: np.random.Generator | None,
) -> tuple[MarketState, PeriodFigures]:
    """Play one period.

    Args:
        params: the model.
        state: the state at the start of the period, ``N`` environments.
        shares: (N, S, C) share of the available money aimed at each segment
            and channel; non-negative, summing to at most 1 per environment.
        enter: (N, S) bool, the decision to enter each segment.
        rng: the generator for the random draws; ``None`` plays the expected
            (noise-free) model.

    Returns:
        The state at the end of the period and the period's figures.
    """
    noisy = rng is not None

    # 1. Entry: a segment entered now starts its delay; entry is paid once.
    entered_now, entered, countdown, selling = entry(params, state, enter)

    # 2. Budget: what can be spent, and what of the request is spent.
    available = available_money(params, state)
    requested = shares * available[:, None, None]
    spend = np.where(selling[:, :, None] & params.available, requested, 0.0)
    spend = np.minimum(spend, params.max_spend)
    spend = np.where(spend >= params.min_spend, spend, 0.0)
    blocked = requested - spend
    spent = spend.sum(axis=(1, 2))
    unspent = available - spent

    # 3. Adstock and Hill response.
    adstock = params.decay * state.adstock + spend
    contribution = params.effectiveness * params.response(adstock)
    win_rate = 1.0 - np.prod(1.0 - contribution, axis=-1)

    # 4. Demand: population growth, shocks, adverse events, the rival's hold.
    population = state.population * (1.0 + params.growth)
    log_shock, event_left = state.log_shock, state.event_left
    if noisy:
        log_shock = params.shock_persistence * log_shock + params.shock_sigma * (
            rng.standard_normal(log_shock.shape)
        )
        starts = (event_left == 0) & (rng.random(event_left.shape) < params.event_probability)
        event_left = np.where(starts, params.event_duration, event_left)
    demand = np.exp(log_shock) * np.where(event_left > 0, 1.0 - params.event_cut, 1.0)
    before = state.customers.sum(-1)
    held, customers = before, state.customers
    if params.shrinks:  # a shrinking market takes customers with it
        kept = np.minimum(1.0, np.divide(population, held, out=np.ones_like(held), where=held > 0))
        customers = customers * kept[:, :, None]
        customers = np.floor(customers) if noisy else customers
        held = customers.sum(-1)
    shrunk = before - held

    # 5. Churn, then wins among the prospects (churned customers included),
    # attributed to channels in proportion to their contributions.
    if noisy:
        churn = rng.binomial(customers.astype(np.int64), params.churn[:, None]).astype(float)
    else:
        churn = customers * params.churn[:, None]
    customers = customers - churn
    held = customers.sum(-1)
    # a positive demand shock can bring more of the population into the market, never more
    reachable = np.minimum(population * (1.0 - state.competitor) * demand, population)
    prospects = np.maximum(reachable - held, 0.0)
    prospects = np.where(selling, prospects, 0.0)
    total_contribution = contribution.sum(axis=-1, keepdims=True)
    attribution = np.divide(
        contribution,
        total_contribution,
        out=np.zeros_like(contribution),
        where=total_contribution > 0,
    )
    win_probability = attribution * win_rate[:, :, None]
    if noisy:
        outcome = np.concatenate(
            [win_probability, np.maximum(1.0 - win_probability.sum(-1, keepdims=True), 0.0)],
            axis=-1,
        )
        won = rng.multinomial(np.floor(prospects).astype(np.int64), outcome)[..., :-1]
        won = won.astype(float)
    else:
        won = prospects[:, :, None] * win_probability
    customers[:, :, :-1] += won
    held = customers.sum(-1)

    # 6. Money: revenue, partner shares, costs, profit and cash.
    revenue = params.revenue * held
    gross_margin = params.margin * revenue
    partner_payout = params.revenue * (customers[:, :, :-1] @ params.revenue_share)
    entry_costs = np.where(entered_now, params.entry_cost, 0.0)
    operating_costs = np.where(entered, params.operating_cost, 0.0)
    profit = (gross_margin - partner_payout - entry_costs - operating_costs).sum(-1) - spent
    cash = state.cash + profit
    bankrupt = (cash < 0.0) if params.tracks_cash else np.zeros_like(cash, dtype=bool)

    # 7. The rival responds to our share; delays and events run down.
    our_share = held / population
    competitor = state.competitor + params.competitor_speed * (
        params.competitor_share + params.competitor_response * our_share - state.competitor
    )
    competitor = np.clip(competitor, 0.0, COMPETITOR_CAP)

    next_state = MarketState(
        period=state.period + 1,
        population=population,
        customers=customers,
        entered=entered,
        countdown=np.maximum(countdown - 1, 0),
        adstock=adstock,
        competitor=competitor,
        log_shock=log_shock,
        event_left=np.maximum(event_left - 1, 0),
        demand=demand,
        bank=unspent if params.carry_over else np.zeros_like(unspent),
        budget_left=state.budget_left - spent,
        cash=cash,
    )
    figures = PeriodFigures(
        available=available,
        requested=requested,
        spend=spend,
        blocked=blocked,
        unspent=unspent,
        entered_now=entered_now,
        won=won,
        churned=churn.sum(-1) + shrunk,
        customers=held,
        population=population,
        demand=demand,
        revenue=revenue,
        gross_margin=gross_margin,
        partner_payout=partner_payout,
        entry_costs=entry_costs,
        operating_costs=operating_costs,
        profit=profit,
        bankrupt=bankrupt,
    )
    return next_state, figures
