"""One market's period: the equations of docs/model.md, in the order applied.

:func:`play_period` reads one market's parameters and state through named
views (:mod:`gtmgym.envs.kernel.layouts`) and writes its next state and
figures. The section numbers in the comments are those of docs/model.md.
The rules that other code needs on their own (when a segment sells, how much
money is available) are functions here, called by the period and by every
other user of them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gtmgym.envs.kernel import randomness
from gtmgym.envs.kernel.layouts import FiguresView, ParamsView, StateView

COMPETITOR_CAP = 0.99  # the rival never holds the whole market


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
def money_available(p: ParamsView, bank: float, budget_left: float) -> float:
    """Section 2: the period's budget, plus the bank if unspent money carries
    over, capped by what is left of the total budget."""
    return min(p.budget_per_period + (bank if p.carry_over else 0.0), budget_left)


@njit(cache=True, inline="always")
def play_period(
    p: ParamsView,
    s: StateView,
    shares: np.ndarray,
    enter: np.ndarray,
    noisy: bool,
    stream: np.ndarray,
    out: StateView,
    f: FiguresView,
) -> None:
    """One market's period: reads ``s``, writes ``out`` (the next state) and ``f``.

    Args:
        p: the market's parameters.
        s: its state at the start of the period.
        shares: (S, C) share of the available money aimed at each pair.
        enter: (S,) the decision to enter each segment.
        noisy: draw from ``stream`` (else play the expected model).
        stream: the market's xoshiro256** state, advanced by the draws.
        out: written with the state at the end of the period.
        f: written with the period's figures.

    A sampler given an input it cannot draw from (a NaN probability) makes
    the figures it feeds NaN, which the caller reports.
    """
    n_segments, n_channels = p.effectiveness.shape

    available = money_available(p, s.bank[0], s.budget_left[0])  # 2. budget
    spent = 0.0
    for i in range(n_segments):
        # 1. Entry (paid once) and 2. budget: what of the request is spent.
        now, is_in, delay, selling = segment_entry(
            s.entered[i] != 0.0, s.countdown[i], p.entry_delay[i], enter[i]
        )
        f.entered_now[i] = 1.0 if now else 0.0
        out.entered[i] = 1.0 if is_in else 0.0
        out.countdown[i] = max(delay - 1.0, 0.0)
        for j in range(n_channels):
            asked = shares[i, j] * available
            paid = asked if (selling and p.effectiveness[i, j] > 0.0) else 0.0
            paid = min(paid, p.max_spend[j])
            paid = paid if paid >= p.min_spend[j] else 0.0
            f.requested[i, j] = asked
            f.spend[i, j] = paid
            f.blocked[i, j] = asked - paid
            spent += paid

        # 3. Adstock and Hill response; channels' chances combine. Each
        # channel's contribution is kept in ``won`` until section 5 turns it
        # into the customers that channel wins.
        won = f.won[i]
        miss = 1.0
        contribution_total = 0.0
        for j in range(n_channels):
            adstock = p.decay[j] * s.adstock[i, j] + f.spend[i, j]
            out.adstock[i, j] = adstock
            powered = adstock ** p.slope[j]
            won[j] = p.effectiveness[i, j] * powered / (powered + p.half_saturation_pow[j])
            contribution_total += won[j]
            miss *= 1.0 - won[j]
        win_rate = 1.0 - miss

        # 4. Demand: population growth, shocks, adverse events, the rival's hold.
        grown = s.population[i] * (1.0 + p.growth[i])
        out.population[i] = grown
        f.population[i] = grown
        shock = s.log_shock[i]
        event_left = s.event_left[i]
        if noisy:
            shock = p.shock_persistence[i] * shock + p.shock_sigma[
                i
            ] * randomness.standard_normal(stream)
            if event_left == 0.0 and randomness.uniform(stream) < p.event_probability[i]:
                event_left = p.event_duration[i]
        out.log_shock[i] = shock
        out.event_left[i] = max(event_left - 1.0, 0.0)
        multiplier = math.exp(shock) * (1.0 - p.event_cut[i] if event_left > 0.0 else 1.0)
        out.demand[i] = multiplier
        f.demand[i] = multiplier

        customers = out.customers[i]
        before = 0.0
        for k in range(n_channels + 1):
            customers[k] = s.customers[i, k]
            before += customers[k]
        after_shrink = before
        if p.shrinks and before > 0.0:  # a shrinking market takes customers
            kept = min(1.0, grown / before)
            after_shrink = 0.0
            for k in range(n_channels + 1):
                kept_here = customers[k] * kept
                customers[k] = math.floor(kept_here) if noisy else kept_here
                after_shrink += customers[k]

        # 5. Churn, then wins among the prospects (churned customers included),
        # attributed to channels in proportion to their contributions.
        lost = 0.0
        remaining = 0.0
        for k in range(n_channels + 1):
            if noisy:
                gone = _count(randomness.binomial(stream, int(customers[k]), p.churn[i]))
            else:
                gone = customers[k] * p.churn[i]
            customers[k] -= gone
            lost += gone
            remaining += customers[k]
        f.churned[i] = lost + (before - after_shrink)

        # a positive demand shock can bring more of the population in, never more
        reachable = min(grown * (1.0 - s.competitor[i]) * multiplier, grown)
        prospects = max(reachable - remaining, 0.0) if selling else 0.0
        for j in range(n_channels):
            share = won[j] / contribution_total if contribution_total > 0.0 else 0.0
            won[j] = share * win_rate  # for now: the chance a prospect is won by j
        if noisy:  # the counts replace the chances, in place
            if not randomness.multinomial(stream, int(math.floor(prospects)), won, won):
                won[:] = math.nan
        else:
            for j in range(n_channels):
                won[j] = prospects * won[j]
        total = 0.0
        payout_base = 0.0
        f.segment_won[i] = 0.0
        for j in range(n_channels):
            customers[j] += won[j]
            f.segment_won[i] += won[j]
            payout_base += customers[j] * p.revenue_share[j]
        for k in range(n_channels + 1):
            total += customers[k]
        f.customers[i] = total

        # 6. Money: revenue, partner shares, costs.
        f.revenue[i] = p.revenue[i] * total
        f.gross_margin[i] = p.margin[i] * f.revenue[i]
        f.partner_payout[i] = p.revenue[i] * payout_base
        f.entry_costs[i] = p.entry_cost[i] if f.entered_now[i] != 0.0 else 0.0
        f.operating_costs[i] = p.operating_cost[i] if out.entered[i] != 0.0 else 0.0

        # 7. The rival responds to our share.
        our_share = total / grown
        rival = s.competitor[i] + p.competitor_speed[i] * (
            p.competitor_share[i] + p.competitor_response[i] * our_share - s.competitor[i]
        )
        out.competitor[i] = min(max(rival, 0.0), COMPETITOR_CAP)

    unspent = max(available - spent, 0.0)  # shares sum to <= 1: a rounding residue, never a debt

    # 6. Profit and cash.
    profit = -spent
    our_customers = 0.0
    addressable = 0.0
    for i in range(n_segments):
        profit += f.gross_margin[i] - f.partner_payout[i] - f.entry_costs[i] - f.operating_costs[i]
        our_customers += f.customers[i]
        addressable += f.population[i]
    cash = s.cash[0] + profit

    # 7. Clocks.
    out.period[0] = s.period[0] + 1.0
    out.bank[0] = unspent if p.carry_over else 0.0
    out.budget_left[0] = s.budget_left[0] - spent
    out.cash[0] = cash
    f.available[0] = available
    f.unspent[0] = unspent
    f.spent[0] = spent
    f.profit[0] = profit
    f.market_share[0] = our_customers / addressable
    f.bankrupt[0] = 1.0 if p.tracks_cash and cash < 0.0 else 0.0


@njit(cache=True)
def _count(drawn: int) -> float:
    """A sampler's count as a figure: NaN when the sampler refused its input."""
    return float(drawn) if drawn >= 0 else math.nan
