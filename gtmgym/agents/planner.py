"""The oracle planner: model-predictive control on the expected dynamics.

Each period the planner re-plans the rest of the episode from the true
current state (``info["state"]``) and plays the first period of its plan.
Planning alternates two searches on the noise-free model:

- entry dates, as discrete choices: a coordinate search over each closed
  segment's entry offset (now, in 1, 2, 3, 4, 6, 8, 12, ... periods, never);
- the spend plan, by L-BFGS-B from several starts (the previous plan's tail,
  even splits at full and half spend, no spend), on logits of the per-period
  spend level and pair weights, with gradients by central differences that
  are computed for all coordinates at once as one batch of plans.

Plans are scored with :func:`gtmgym.agents.plans.plan_returns`, which runs the
environment's own dynamics, so the planner optimises exactly the reward the
agents are scored on. It is the yardstick: reports give every agent's return
as a percent of the planner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.agents.plans import first_decision, plan_returns
from gtmgym.envs.actions import DiscreteActions
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import ActionMode
from gtmgym.envs.state import MarketState

LOGIT_BOUND = 15.0
ENTRY_OFFSETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36)


@dataclass
class Plan:
    """Logits of the spend plan and the entry offsets, for ``H`` periods."""

    level_logits: np.ndarray  # (H,)
    weight_logits: np.ndarray  # (H, S, C)
    entry_at: np.ndarray  # (S,) int, >= H means never

    @property
    def horizon(self) -> int:
        return self.level_logits.shape[0]

    def levels(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.level_logits))

    def weights(self) -> np.ndarray:
        return np.exp(self.weight_logits - self.weight_logits.max(axis=(-1, -2), keepdims=True))

    def tail(self) -> Plan:
        """The plan from the next period on."""
        return Plan(self.level_logits[1:], self.weight_logits[1:], np.maximum(self.entry_at - 1, 0))


class Planner(Agent):
    """Model-predictive control on the expected dynamics (the upper bound).

    Args:
        scenario: the scenario (the planner knows its parameters).
        action_mode: the mode to act in; plans are made in the model's own
            terms and written as the nearest action (``continuous``: exact;
            ``discrete``: the catalogue entry whose period-one decision,
            followed by the plan, scores best).
        seed: unused by the search, kept for the common interface.
        iterations: L-BFGS-B iterations when planning the whole episode.
        replan_iterations: L-BFGS-B iterations when re-planning later periods
            (the previous plan is a warm start).
        restarts: how many of the best starts L-BFGS-B is run from.
        entry_sweeps: rounds of the coordinate search over entry dates.
        step: finite-difference step on the logits.
        plan_blocks: optimise one spend decision per block of periods, this
            many blocks over the horizon (None: one per period); fewer blocks
            plan large scenarios faster.
    """

    name = "planner"

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        iterations: int = 60,
        replan_iterations: int = 5,
        restarts: int = 2,
        entry_sweeps: int = 2,
        step: float = 1.0e-4,
        plan_blocks: int | None = None,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        for key, value in {
            "iterations": iterations,
            "replan_iterations": replan_iterations,
            "restarts": restarts,
        }.items():
            if value < 1:
                raise ValueError(f"planner {key} must be at least 1, got {value}")
        if entry_sweeps < 0 or not 0 < step < 1:
            raise ValueError("planner entry_sweeps must be >= 0 and step in (0, 1)")
        self.iterations = iterations
        self.replan_iterations = replan_iterations
        self.restarts = restarts
        self.entry_sweeps = entry_sweeps
        self.step = step
        if plan_blocks is not None and plan_blocks < 1:
            raise ValueError(f"planner plan_blocks must be at least 1, got {plan_blocks}")
        self.plan_blocks = plan_blocks
        self._pairs = np.argwhere(self.params.available)
        self._plan: Plan | None = None

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "replan_iterations": self.replan_iterations,
            "restarts": self.restarts,
            "entry_sweeps": self.entry_sweeps,
            "step": self.step,
            "plan_blocks": self.plan_blocks,
        }

    def reset(self) -> None:
        self._plan = None

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        state: MarketState = info["state"]
        plan = self.plan(state)
        shares, enter = first_decision(
            self.params, state, plan.levels()[0], plan.weights()[0], plan.entry_at
        )
        self._plan = plan.tail()
        selling = state.selling[0]
        if isinstance(self.codec, DiscreteActions):
            return self._best_catalogue_entry(state, plan, selling)
        return encode(self.codec, shares, enter, selling)

    def plan(self, state: MarketState) -> Plan:
        """The best plan found from ``state`` to the end of the episode."""
        horizon = self.params.periods - int(state.period[0])
        warm = self._plan if self._plan is not None and self._plan.horizon == horizon else None
        iterations = self.replan_iterations if warm is not None else self.iterations
        starts = self._starts(state, horizon, warm)
        for _ in range(self.entry_sweeps):
            starts = [self._search_entries(state, plan) for plan in starts]
        scores = self._score(state, starts)
        best_first = np.argsort(-scores)[: self.restarts]
        optimised = [self._optimise_spend(state, starts[i], iterations) for i in best_first]
        if self.entry_sweeps:
            optimised = [self._search_entries(state, plan) for plan in optimised]
        candidates = optimised + starts
        return candidates[int(np.argmax(self._score(state, candidates)))]

    # -- starts and scores ------------------------------------------------

    def _starts(self, state: MarketState, horizon: int, warm: Plan | None) -> list[Plan]:
        shape = (horizon, self.params.n_segments, self.params.n_channels)
        even = np.zeros(shape)
        never = np.full(self.params.n_segments, horizon)
        starts = [
            Plan(np.full(horizon, level), even.copy(), never.copy())
            for level in (LOGIT_BOUND, 0.0, -LOGIT_BOUND)
        ]
        now = np.where(state.entered[0], horizon, 0)
        starts.append(Plan(np.full(horizon, LOGIT_BOUND), even.copy(), now))
        if warm is not None:
            starts.insert(0, warm)
        return starts

    def _score(self, state: MarketState, plans: list[Plan]) -> np.ndarray:
        return plan_returns(
            self.params,
            state,
            np.stack([p.levels() for p in plans]),
            np.stack([p.weights() for p in plans]),
            np.stack([p.entry_at for p in plans]),
        )

    # -- entry dates --------------------------------------------------------

    def _search_entries(self, state: MarketState, plan: Plan) -> Plan:
        closed = np.flatnonzero(~state.entered[0])
        if closed.size == 0:
            return plan
        offsets = [o for o in ENTRY_OFFSETS if o < plan.horizon] + [plan.horizon]
        best = plan
        for segment in closed:
            trials = []
            for offset in offsets:
                entry_at = best.entry_at.copy()
                entry_at[segment] = offset
                trials.append(Plan(best.level_logits, best.weight_logits, entry_at))
            best = trials[int(np.argmax(self._score(state, trials)))]
        return best

    # -- spend plan ---------------------------------------------------------

    def _optimise_spend(self, state: MarketState, plan: Plan, iterations: int) -> Plan:
        horizon = plan.horizon
        rows, cols = self._pairs[:, 0], self._pairs[:, 1]
        n_pairs = len(rows)
        # one decision per block of periods (every period when blocks >= horizon)
        blocks = min(self.plan_blocks or horizon, horizon)
        block_of = np.repeat(
            np.arange(blocks), [len(b) for b in np.array_split(range(horizon), blocks)]
        )

        def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(K, D) flat vectors -> levels (K, H), weights (K, H, S, C)."""
            level_logits = x[:, :blocks][:, block_of]
            pair_logits = x[:, blocks:].reshape(len(x), blocks, n_pairs)[:, block_of]
            logits = np.full((len(x), horizon, *self.params.available.shape), -np.inf)
            logits[:, :, rows, cols] = pair_logits
            weights = np.exp(logits - pair_logits.max(axis=-1)[:, :, None, None])
            return 1.0 / (1.0 + np.exp(-level_logits)), weights

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            size = x.size
            probes = np.concatenate(
                [x[None], x + self.step * np.eye(size), x - self.step * np.eye(size)]
            )
            levels, weights = unpack(probes)
            entry_at = np.broadcast_to(plan.entry_at, (len(probes), plan.entry_at.size))
            returns = plan_returns(self.params, state, levels, weights, entry_at)
            gradient = (returns[1 : size + 1] - returns[size + 1 :]) / (2 * self.step)
            return -returns[0], -gradient

        def block_mean(values: np.ndarray) -> np.ndarray:
            sums = np.zeros((blocks, *values.shape[1:]))
            np.add.at(sums, block_of, values)
            return sums / np.bincount(block_of, minlength=blocks).reshape(
                (blocks,) + (1,) * (values.ndim - 1)
            )

        x0 = np.concatenate(
            [block_mean(plan.level_logits), block_mean(plan.weight_logits[:, rows, cols]).ravel()]
        )
        x0 = np.clip(x0, -LOGIT_BOUND, LOGIT_BOUND)
        result = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOGIT_BOUND, LOGIT_BOUND)] * x0.size,
            options={"maxiter": iterations},
        )
        levels = result.x[:blocks][block_of]
        weight_logits = np.full(plan.weight_logits.shape, -LOGIT_BOUND * 4)
        weight_logits[:, rows, cols] = result.x[blocks:].reshape(blocks, n_pairs)[block_of]
        return Plan(levels.copy(), weight_logits, plan.entry_at.copy())

    # -- discrete mode ------------------------------------------------------

    def _best_catalogue_entry(self, state: MarketState, plan: Plan, selling: np.ndarray) -> int:
        """The catalogue entry that, followed by the plan's tail, scores best."""
        codec = self.codec
        assert isinstance(codec, DiscreteActions)
        candidates = np.flatnonzero(codec.mask(state.entered, state.selling)[0])
        shares, enter = codec.decode(
            candidates, np.broadcast_to(selling, (len(candidates), selling.size))
        )
        count = len(candidates)
        entry_at = np.where(enter, 0, np.maximum(plan.entry_at, 1)[None])
        entry_at = np.where(state.entered[0][None], plan.horizon, entry_at)
        returns = plan_returns(
            self.params,
            state,
            np.broadcast_to(plan.levels(), (count, plan.horizon)),
            np.broadcast_to(plan.weights(), (count, *plan.weights().shape)),
            entry_at,
            first_shares=shares,
        )
        return int(candidates[int(np.argmax(returns))])
