"""One period of the market model, for a batch of markets at once.

:func:`step` is a pure function of (parameters, state, decision, random
generator) on arrays with a leading environment axis; the scalar and the vector
environment, the planner and the agents that look ahead all call it, so they
cannot drift apart. It runs compiled (numba): :func:`play_period` plays one
environment's period, written once, and the batch is a loop over it. The
equations, in the order the code applies them, are in ``docs/model.md``; the
section numbers in the comments below refer to it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gtmgym.envs import figures as fig
from gtmgym.envs import randomness
from gtmgym.envs import state as st
from gtmgym.envs.figures import PeriodFigures
from gtmgym.envs.params import (
    BUDGET_PER_PERIOD,
    CARRY_OVER,
    CHURN,
    COMPETITOR_RESPONSE,
    COMPETITOR_SHARE,
    COMPETITOR_SPEED,
    DECAY,
    ENTRY_COST,
    ENTRY_DELAY,
    EVENT_CUT,
    EVENT_DURATION,
    EVENT_PROBABILITY,
    GROWTH,
    HALF_SATURATION_POW,
    MARGIN,
    MAX_SPEND,
    MIN_SPEND,
    OPERATING_COST,
    REVENUE,
    REVENUE_SHARE,
    SHOCK_PERSISTENCE,
    SHOCK_SIGMA,
    SHRINKS,
    SLOPE,
    TRACKS_CASH,
    MarketParams,
)
from gtmgym.envs.state import MarketState

COMPETITOR_CAP = 0.99  # the rival never holds the whole market
NO_KEY = np.ones(randomness.KEY_WORDS, dtype=np.uint64)  # the stream of a noise-free step


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
    s, c = params.n_segments, params.n_channels
    figures_layout = PeriodFigures.layout_for(s, c)
    key = randomness.stream_key(rng) if rng is not None else NO_KEY
    next_state, figures = play_batch(
        *params.tables,
        state.layout.offsets,
        figures_layout.offsets,
        state.data,
        np.ascontiguousarray(shares, dtype=np.float64),
        np.ascontiguousarray(enter, dtype=np.bool_),
        rng is not None,
        key,
    )
    return MarketState.wrap(next_state, state.layout), PeriodFigures.wrap(figures, figures_layout)


def entry(
    params: MarketParams, state: MarketState, enter: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Section 1: (entered now, entered, countdown, selling), each (N, S)."""
    return _entry_batch(
        state.entered, state.countdown.astype(float), params.tables[0][ENTRY_DELAY], enter
    )


def available_money(params: MarketParams, state: MarketState) -> np.ndarray:
    """Section 2: (N,) the money the agent can spend this period."""
    settings = params.tables[4]
    return np.array(
        [
            money_available(settings[BUDGET_PER_PERIOD], settings[CARRY_OVER], bank, left)
            for bank, left in zip(state.bank.tolist(), state.budget_left.tolist(), strict=True)
        ]
    )


@njit(cache=True)
def segment_entry(
    entered: bool, countdown: float, delay: float, enter: bool
) -> tuple[bool, bool, float, bool]:
    """Section 1 for one segment: (entered now, entered, countdown, selling).

    A segment entered now starts its delay; it sells once entered with no
    delay left.
    """
    now = enter and not entered
    countdown = delay if now else countdown
    entered = entered or now
    return now, entered, countdown, entered and countdown == 0.0


@njit(cache=True)
def money_available(
    budget_per_period: float, carry_over: float, bank: float, budget_left: float
) -> float:
    """Section 2: the period's budget, plus the bank if unspent money carries
    over, capped by what is left of the total budget."""
    return min(budget_per_period + (bank if carry_over != 0.0 else 0.0), budget_left)


@njit(cache=True)
def _entry_batch(
    entered: np.ndarray, countdown: np.ndarray, delay: np.ndarray, enter: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    num_envs, n_segments = entered.shape
    entered_now = np.empty((num_envs, n_segments), dtype=np.bool_)
    entered_after = np.empty((num_envs, n_segments), dtype=np.bool_)
    countdown_after = np.empty((num_envs, n_segments), dtype=np.int64)
    selling = np.empty((num_envs, n_segments), dtype=np.bool_)
    for n in range(num_envs):
        for i in range(n_segments):
            now, is_in, left, sells = segment_entry(
                entered[n, i], countdown[n, i], delay[i], enter[n, i]
            )
            entered_now[n, i], entered_after[n, i], selling[n, i] = now, is_in, sells
            countdown_after[n, i] = int(left)
    return entered_now, entered_after, countdown_after, selling


@njit(cache=True, inline="always")
def _block(row: np.ndarray, offsets: np.ndarray, field: int) -> np.ndarray:
    """The columns of field number ``field`` in a record row."""
    return row[offsets[field] : offsets[field + 1]]


@njit(cache=True)
def play_batch(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    effectiveness: np.ndarray,
    lifetime_value: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    figure_offsets: np.ndarray,
    state: np.ndarray,
    shares: np.ndarray,
    enter: np.ndarray,
    noisy: bool,
    key: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every environment's period: (next state data, figures data)."""
    num_envs = state.shape[0]
    stream = key.copy()
    next_state = np.empty_like(state)
    figures = np.empty((num_envs, figure_offsets[-1]))
    for n in range(num_envs):
        play_period(
            segment_table,
            channel_table,
            effectiveness,
            settings,
            state_offsets,
            figure_offsets,
            state[n],
            shares[n],
            enter[n],
            noisy,
            stream,
            next_state[n],
            figures[n],
        )
    return next_state, figures


@njit(cache=True)
def play_period(
    segment_table: np.ndarray,
    channel_table: np.ndarray,
    effectiveness: np.ndarray,
    settings: np.ndarray,
    state_offsets: np.ndarray,
    figure_offsets: np.ndarray,
    state: np.ndarray,
    shares: np.ndarray,
    enter: np.ndarray,
    noisy: bool,
    stream: np.ndarray,
    next_state: np.ndarray,
    figures: np.ndarray,
) -> None:
    """One environment's period: reads ``state``, writes ``next_state`` and ``figures``.

    ``state`` and ``next_state`` are rows laid out as
    :class:`~gtmgym.envs.state.MarketState`, ``figures`` as
    :class:`~gtmgym.envs.figures.PeriodFigures`; ``stream`` is the xoshiro
    state the draws advance (unused when ``noisy`` is false).
    """
    n_segments, n_channels = effectiveness.shape
    o = state_offsets
    period = state[o[st.PERIOD]]
    population = _block(state, o, st.POPULATION)
    customers_in = _block(state, o, st.CUSTOMERS).reshape((n_segments, n_channels + 1))
    entered = _block(state, o, st.ENTERED)
    countdown_in = _block(state, o, st.COUNTDOWN)
    adstock_in = _block(state, o, st.ADSTOCK).reshape((n_segments, n_channels))
    competitor_in = _block(state, o, st.COMPETITOR)
    log_shock_in = _block(state, o, st.LOG_SHOCK)
    event_left_in = _block(state, o, st.EVENT_LEFT)
    bank, budget_left, cash_in = state[o[st.BANK]], state[o[st.BUDGET_LEFT]], state[o[st.CASH]]

    new_population = _block(next_state, o, st.POPULATION)
    customers = _block(next_state, o, st.CUSTOMERS).reshape((n_segments, n_channels + 1))
    entered_out = _block(next_state, o, st.ENTERED)
    countdown_out = _block(next_state, o, st.COUNTDOWN)
    adstock = _block(next_state, o, st.ADSTOCK).reshape((n_segments, n_channels))
    competitor_out = _block(next_state, o, st.COMPETITOR)
    log_shock = _block(next_state, o, st.LOG_SHOCK)
    event_left_out = _block(next_state, o, st.EVENT_LEFT)
    demand = _block(next_state, o, st.DEMAND)

    f = figure_offsets
    requested = _block(figures, f, fig.REQUESTED).reshape((n_segments, n_channels))
    spend = _block(figures, f, fig.SPEND).reshape((n_segments, n_channels))
    blocked = _block(figures, f, fig.BLOCKED).reshape((n_segments, n_channels))
    entered_now = _block(figures, f, fig.ENTERED_NOW)
    won = _block(figures, f, fig.WON).reshape((n_segments, n_channels))
    segment_won = _block(figures, f, fig.SEGMENT_WON)
    churned = _block(figures, f, fig.CHURNED)
    held = _block(figures, f, fig.CUSTOMERS)
    population_out = _block(figures, f, fig.POPULATION)
    demand_out = _block(figures, f, fig.DEMAND)
    revenue = _block(figures, f, fig.REVENUE)
    gross_margin = _block(figures, f, fig.GROSS_MARGIN)
    partner_payout = _block(figures, f, fig.PARTNER_PAYOUT)
    entry_costs = _block(figures, f, fig.ENTRY_COSTS)
    operating_costs = _block(figures, f, fig.OPERATING_COSTS)

    carry_over = settings[CARRY_OVER] != 0.0

    # 1. Entry (paid once) and 2. budget: what can be spent, and what of the
    # request is spent.
    available = money_available(
        settings[BUDGET_PER_PERIOD], settings[CARRY_OVER], bank, budget_left
    )
    spent = 0.0
    sells = np.empty(n_segments, dtype=np.bool_)
    for i in range(n_segments):
        now, is_in, delay, selling = segment_entry(
            entered[i] != 0.0, countdown_in[i], segment_table[ENTRY_DELAY, i], enter[i]
        )
        entered_now[i] = 1.0 if now else 0.0
        entered_out[i] = 1.0 if is_in else 0.0
        countdown_out[i] = max(delay - 1.0, 0.0)
        for j in range(n_channels):
            asked = shares[i, j] * available
            paid = asked if (selling and effectiveness[i, j] > 0.0) else 0.0
            paid = min(paid, channel_table[MAX_SPEND, j])
            paid = paid if paid >= channel_table[MIN_SPEND, j] else 0.0
            requested[i, j] = asked
            spend[i, j] = paid
            blocked[i, j] = asked - paid
            spent += paid
        sells[i] = selling
    unspent = available - spent

    contribution = np.empty(n_channels)
    for i in range(n_segments):
        # 3. Adstock and Hill response; channels' chances combine.
        miss = 1.0
        contribution_total = 0.0
        for j in range(n_channels):
            a = channel_table[DECAY, j] * adstock_in[i, j] + spend[i, j]
            adstock[i, j] = a
            powered = a ** channel_table[SLOPE, j]
            contribution[j] = (
                effectiveness[i, j] * powered / (powered + channel_table[HALF_SATURATION_POW, j])
            )
            contribution_total += contribution[j]
            miss *= 1.0 - contribution[j]
        win_rate = 1.0 - miss

        # 4. Demand: population growth, shocks, adverse events, the rival's hold.
        grown = population[i] * (1.0 + segment_table[GROWTH, i])
        new_population[i] = grown
        population_out[i] = grown
        shock = log_shock_in[i]
        event_left = event_left_in[i]
        if noisy:
            shock = segment_table[SHOCK_PERSISTENCE, i] * shock + segment_table[
                SHOCK_SIGMA, i
            ] * randomness.standard_normal(stream)
            if (
                event_left == 0.0
                and randomness.uniform(stream) < segment_table[EVENT_PROBABILITY, i]
            ):
                event_left = segment_table[EVENT_DURATION, i]
        log_shock[i] = shock
        event_left_out[i] = max(event_left - 1.0, 0.0)
        multiplier = math.exp(shock) * (
            1.0 - segment_table[EVENT_CUT, i] if event_left > 0.0 else 1.0
        )
        demand[i] = multiplier
        demand_out[i] = multiplier

        before = 0.0
        for k in range(n_channels + 1):
            customers[i, k] = customers_in[i, k]
            before += customers_in[i, k]
        after_shrink = before
        if settings[SHRINKS] != 0.0 and before > 0.0:  # a shrinking market takes customers
            kept = min(1.0, grown / before)
            after_shrink = 0.0
            for k in range(n_channels + 1):
                kept_here = customers[i, k] * kept
                customers[i, k] = math.floor(kept_here) if noisy else kept_here
                after_shrink += customers[i, k]

        # 5. Churn, then wins among the prospects (churned customers included),
        # attributed to channels in proportion to their contributions.
        churn_rate = segment_table[CHURN, i]
        lost = 0.0
        remaining = 0.0
        for k in range(n_channels + 1):
            if noisy:
                gone = float(randomness.binomial(stream, int(customers[i, k]), churn_rate))
            else:
                gone = customers[i, k] * churn_rate
            customers[i, k] -= gone
            lost += gone
            remaining += customers[i, k]
        churned[i] = lost + (before - after_shrink)

        # a positive demand shock can bring more of the population in, never more
        reachable = min(grown * (1.0 - competitor_in[i]) * multiplier, grown)
        prospects = max(reachable - remaining, 0.0) if sells[i] else 0.0
        for j in range(n_channels):
            share = contribution[j] / contribution_total if contribution_total > 0.0 else 0.0
            won[i, j] = share * win_rate  # for now: the chance a prospect is won by j
        if noisy:
            counts = np.empty(n_channels, dtype=np.int64)
            randomness.multinomial(stream, int(math.floor(prospects)), won[i], counts)
            for j in range(n_channels):
                won[i, j] = float(counts[j])
        else:
            for j in range(n_channels):
                won[i, j] = prospects * won[i, j]
        total = 0.0
        payout_base = 0.0
        segment_won[i] = 0.0
        for j in range(n_channels):
            customers[i, j] += won[i, j]
            segment_won[i] += won[i, j]
            payout_base += customers[i, j] * channel_table[REVENUE_SHARE, j]
        for k in range(n_channels + 1):
            total += customers[i, k]
        held[i] = total

        # 6. Money: revenue, partner shares, costs.
        revenue[i] = segment_table[REVENUE, i] * total
        gross_margin[i] = segment_table[MARGIN, i] * revenue[i]
        partner_payout[i] = segment_table[REVENUE, i] * payout_base
        entry_costs[i] = segment_table[ENTRY_COST, i] if entered_now[i] != 0.0 else 0.0
        operating_costs[i] = segment_table[OPERATING_COST, i] if entered_out[i] != 0.0 else 0.0

        # 7. The rival responds to our share.
        our_share = total / grown
        rival = competitor_in[i] + segment_table[COMPETITOR_SPEED, i] * (
            segment_table[COMPETITOR_SHARE, i]
            + segment_table[COMPETITOR_RESPONSE, i] * our_share
            - competitor_in[i]
        )
        competitor_out[i] = min(max(rival, 0.0), COMPETITOR_CAP)

    # 6. Profit and cash.
    profit = -spent
    our_customers = 0.0
    addressable = 0.0
    for i in range(n_segments):
        profit += gross_margin[i] - partner_payout[i] - entry_costs[i] - operating_costs[i]
        our_customers += held[i]
        addressable += population_out[i]
    cash = cash_in + profit
    bankrupt = settings[TRACKS_CASH] != 0.0 and cash < 0.0

    next_state[o[st.PERIOD]] = period + 1.0
    next_state[o[st.BANK]] = unspent if carry_over else 0.0
    next_state[o[st.BUDGET_LEFT]] = budget_left - spent
    next_state[o[st.CASH]] = cash
    figures[f[fig.AVAILABLE]] = available
    figures[f[fig.UNSPENT]] = unspent
    figures[f[fig.SPENT]] = spent
    figures[f[fig.PROFIT]] = profit
    figures[f[fig.MARKET_SHARE]] = our_customers / addressable
    figures[f[fig.BANKRUPT]] = 1.0 if bankrupt else 0.0
