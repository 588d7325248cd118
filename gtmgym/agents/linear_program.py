"""An allocation from a linear program of the scenario's own objective."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.envs.kernel import available_money
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode


class LinearProgramAgent(Agent):
    """Spend where a unit of spend earns most of the scenario's objective, by linear programming.

    For the segments selling now and the ``H`` periods left (this one
    included), ``scipy.optimize.linprog`` solves

        maximise   sum_ic (value_ic(H) - unit_cost) x_ic
        subject to sum_ic x_ic <= budget per period,  0 <= x_ic <= cap_ic

    and the agent spends ``x``, holding the rest back. Never enters.

    Linearisation: a pair's spend is capped at ``cap_ic``, the smaller of the
    spend where its Hill curve reaches ``saturation`` of its maximum (beyond
    it returns fall off, which a linear model cannot see) and the channel's
    ``max_spend``. A unit of spend up to the cap wins ``prospects_i x e_ic x
    h_c(cap_ic) / cap_ic`` customers: the chord of the Hill curve from no
    spend to the cap, so spending the whole cap wins exactly what the curve
    says. With the default ``saturation`` 0.5 and no binding ``max_spend``
    that is ``prospects x e / (2 k)``, a customer at half saturation.
    Prospects are the scenario's starting ones, ``P (1 - competitor share) -
    initial customers``. Left out: adstock carry-over, the channels'
    combination within a segment (each pair counts as if alone), growth,
    ``min_spend``.

    A customer won by pair ic is worth, in the reward's units (docs/model.md,
    Rewards):

    - ``lifetime_value``: ``p_i (m_i - r_c) (1 + r) / (r + churn_i)``, what
      the reward books when the customer is won; unit cost 1.
    - ``profit``: ``p_i (m_i - r_c) sum_{k<H} ((1 - churn_i) / (1 + r))^k``,
      the margin over the periods left (a customer won now earns now; churn
      comes before each later period's money), each later period discounted
      by the scenario's ``discount_rate`` ``r`` (0: undiscounted) as the
      reward discounts it; unit cost 1.
    - ``market_share``: ``sum_{k<H} (1 - churn_i)^k / sum_i P_i``, the share it
      adds to this and each later period's reward; unit cost 0, since that
      reward does not count spend: all the money goes to the pairs with the
      most share per unit, up to their caps, and only what the caps leave is
      held back.

    So under ``profit`` and ``lifetime_value`` a pair gets money only where a
    unit of spend wins more than the unit, and under ``profit`` spending stops
    once too few periods are left to pay it back. The program is solved once
    per (selling segments, periods left), whatever the state (only
    ``lifetime_value`` is the same for every horizon), and the spend is
    written as shares of the money available, scaled down if there is less.

    Args:
        saturation: the share of a channel's maximum response at which a
            pair's spend is capped, in (0, 1).
    """

    name = "lp"
    reads_state = True

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        saturation: float = 0.5,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        if not 0.0 < saturation < 1.0:
            raise ValueError(f"lp saturation must be in (0, 1), got {saturation}")
        self.saturation = saturation
        params = self.params
        prospects = np.maximum(
            params.population * (1 - params.competitor_share) - params.initial_customers, 0.0
        )
        ratio = (saturation / (1.0 - saturation)) ** (1.0 / params.slope)
        cap = np.minimum(params.half_saturation * ratio, params.max_spend)
        response = cap**params.slope / (cap**params.slope + params.half_saturation_pow)
        self.cap = cap[None, :] * params.available
        self.customers_per_unit = prospects[:, None] * params.effectiveness * response / cap
        self.unit_cost = 0.0 if params.objective == "market_share" else 1.0
        self.value_per_unit = self.unit_value(params.periods)
        # A solve costs about 2 ms against a 16 us environment step; a
        # 24-period episode would spend 50 ms in linprog without this.
        self._solved: dict[tuple[tuple[bool, ...], int], np.ndarray] = {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"saturation": self.saturation}

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        selling = np.asarray(info["selling"], dtype=bool)
        state = self.state_of(info)
        periods_left = self.params.periods - int(state.period[0])
        horizon = 0 if self.params.objective == "lifetime_value" else periods_left
        key = (tuple(selling.tolist()), horizon)
        if key not in self._solved:
            self._solved[key] = self.allocation(
                selling, self.params.budget_per_period, periods_left
            )
        spend = self._solved[key]
        available = float(available_money(self.params.kernel, state)[0])
        shares = spend / available if available > 0 else np.zeros_like(spend)
        shares = shares / max(1.0, shares.sum())
        return encode(self.codec, shares, np.zeros_like(selling), selling)

    def unit_value(self, periods_left: int) -> np.ndarray:
        """(S, C) the objective's value of the customers a unit of spend wins."""
        params = self.params
        churn, rate = params.churn, params.discount_rate
        # a customer's next period, in this period's money: kept, and discounted
        keep = (1.0 - churn) / (1.0 + rate)
        lost = (rate + churn) / (1.0 + rate)  # 1 - keep, exactly churn undiscounted
        survival = np.where(
            lost > 0,
            (1.0 - keep**periods_left) / np.where(lost > 0, lost, 1.0),
            float(periods_left),
        )
        if params.objective == "lifetime_value":
            worth = params.lifetime_value[:, :-1]
        elif params.objective == "profit":
            worth = params.customer_value[:, :-1] * survival[:, None]
        else:
            worth = np.broadcast_to(
                survival[:, None] / params.population.sum(), self.customers_per_unit.shape
            )
        return self.customers_per_unit * worth

    def allocation(
        self, selling: np.ndarray, budget: float, periods_left: int | None = None
    ) -> np.ndarray:
        """(S, C) spend maximising the objective's value less its cost, under the budget
        and caps, with ``periods_left`` to go (default: the whole horizon)."""
        periods_left = self.params.periods if periods_left is None else periods_left
        caps = (self.cap * selling[:, None]).ravel()
        gain = self.unit_value(periods_left).ravel() - self.unit_cost
        usable = (caps > 0) & (gain > 0)
        spend = np.zeros(gain.size)
        if usable.any():
            result = linprog(
                -gain[usable],
                A_ub=np.ones((1, int(usable.sum()))),
                b_ub=[budget],
                bounds=list(zip(np.zeros(int(usable.sum())), caps[usable], strict=True)),
                method="highs",
            )
            spend[usable] = result.x
        return spend.reshape(self.cap.shape)
