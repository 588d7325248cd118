"""What happened in one period, in raw units (currency, customers)."""

from __future__ import annotations

from gtmgym.envs.record import Field, Record


class PeriodFigures(Record):
    """The figures of one period for ``N`` markets (see :mod:`gtmgym.envs.record`).

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


# Field numbers, by name, for the compiled code that reads rows of PeriodFigures
_NUMBER = {field.name: number for number, field in enumerate(PeriodFigures.FIELDS)}
AVAILABLE = _NUMBER["available"]
REQUESTED = _NUMBER["requested"]
SPEND = _NUMBER["spend"]
BLOCKED = _NUMBER["blocked"]
UNSPENT = _NUMBER["unspent"]
SPENT = _NUMBER["spent"]
ENTERED_NOW = _NUMBER["entered_now"]
WON = _NUMBER["won"]
SEGMENT_WON = _NUMBER["segment_won"]
CHURNED = _NUMBER["churned"]
CUSTOMERS = _NUMBER["customers"]
POPULATION = _NUMBER["population"]
DEMAND = _NUMBER["demand"]
REVENUE = _NUMBER["revenue"]
GROSS_MARGIN = _NUMBER["gross_margin"]
PARTNER_PAYOUT = _NUMBER["partner_payout"]
ENTRY_COSTS = _NUMBER["entry_costs"]
OPERATING_COSTS = _NUMBER["operating_costs"]
PROFIT = _NUMBER["profit"]
MARKET_SHARE = _NUMBER["market_share"]
BANKRUPT = _NUMBER["bankrupt"]
