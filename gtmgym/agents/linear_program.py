"""A static allocation from a linear program (the channel-allocation example)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.envs.dynamics import available_money
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode


class LinearProgramAgent(Agent):
    """Spend where value per unit of spend is highest, by linear programming.

    Each segment x channel pair is scored by the value of the customers one
    unit of spend wins at half saturation: ``prospects x effectiveness x 0.5 /
    half_saturation`` customers per unit, each worth its lifetime value over
    the horizon, ``revenue x (margin - revenue_share) x min(1 / churn,
    periods)``. ``scipy.optimize.linprog`` then maximises total value under the
    period's budget, each pair capped at the spend where its Hill curve
    reaches ``saturation`` of its maximum (beyond it returns fall off, which a
    linear model cannot see) and at the channel's ``max_spend``. The program is
    solved once per set of selling segments, on the scenario's starting
    prospects, and applied every period: static by design. Never enters.

    Args:
        saturation: the share of a channel's maximum response at which a
            pair's spend is capped, in (0, 1).
    """

    name = "lp"

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
        lifetime = np.minimum(
            np.divide(
                1.0, params.churn, out=np.full_like(params.churn, np.inf), where=params.churn > 0
            ),
            params.periods,
        )
        customer_value = params.customer_value[:, :-1] * lifetime[:, None]
        customers_per_unit = (
            prospects[:, None] * params.effectiveness * 0.5 / params.half_saturation
        )
        self.value_per_unit = customers_per_unit * customer_value
        ratio = (saturation / (1.0 - saturation)) ** (1.0 / params.slope)
        self.cap = np.minimum(params.half_saturation * ratio, params.max_spend)[None, :] * (
            params.available
        )
        self._solved: dict[tuple[bool, ...], np.ndarray] = {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"saturation": self.saturation}

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        selling = np.asarray(info["selling"], dtype=bool)
        key = tuple(selling.tolist())
        if key not in self._solved:
            self._solved[key] = self.allocation(selling, self.params.budget_per_period)
        spend = self._solved[key]
        available = float(available_money(self.params, info["state"])[0])
        shares = spend / available if available > 0 else np.zeros_like(spend)
        shares = shares / max(1.0, shares.sum())
        return encode(self.codec, shares, np.zeros_like(selling), selling)

    def allocation(self, selling: np.ndarray, budget: float) -> np.ndarray:
        """(S, C) spend maximising value per unit under the budget and caps."""
        caps = (self.cap * selling[:, None]).ravel()
        value = self.value_per_unit.ravel()
        usable = (caps > 0) & (value > 0)
        spend = np.zeros(value.size)
        if usable.any():
            result = linprog(
                -value[usable],
                A_ub=np.ones((1, int(usable.sum()))),
                b_ub=[budget],
                bounds=list(zip(np.zeros(int(usable.sum())), caps[usable], strict=True)),
                method="highs",
            )
            spend[usable] = result.x
        return spend.reshape(self.cap.shape)
