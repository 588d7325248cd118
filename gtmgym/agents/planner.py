"""The oracle planner: model-predictive control on the expected dynamics.

Each period the planner plans the rest of the episode from the true current
state and plays the first period of the best **course** of actions it knows
(a course is one action of the agent's mode per period, scored exactly as the
noise-free environment pays it, :func:`gtmgym.agents.plans.course_returns`).
The candidates are:

- its own plan, found by optimisation and written as actions of its mode;
- the rest of the course it chose last period (the *incumbent*);
- the course each baseline heuristic (greedy, lp, equal, proportional,
  ansoff) would play from here, simulated on the noise-free model.

Keeping the incumbent makes the planned return never fall from one period to
the next without noise, and the baselines make the planner a *rollout
algorithm* over them (Bertsekas, *Rollout algorithms for discrete
optimization*, 1997): with noise off it scores at least every baseline, on
any scenario, by construction (tested on random scenarios in
``tests/test_planner_bound.py``).

The plan is found by alternating two searches on the noise-free model:

- entry dates, as discrete choices: a coordinate search over each closed
  segment's entry offset (now, in 1, 2, 3, 4, 6, 8, 12, ... periods, never);
- the spend plan, by L-BFGS-B on box-bounded variables (per block of periods,
  the share of the money spent and a weight per pair, each in [0, 1]) from
  several starts (the incumbent, even splits at full and half spend, no
  spend, every baseline's course), with gradients by one-sided finite
  differences; a perturbation of block ``b`` is played only from ``b``'s
  first period on, from the stored state of the unperturbed plan there.

Every plan is scored with the environment's own dynamics and reward, so the
planner optimises exactly what agents are scored on.

**What it knows.** ``planner`` (:class:`Planner`) plans on the market being
played, ``info["market"]`` (:func:`gtmgym.agents.with_state`): on a scenario
distribution, the market drawn at each reset, so it is the upper bound there
too. ``planner_mean`` (:class:`CertaintyEquivalentPlanner`, the same planner)
plans on the scenario it was built for, on a distribution its mean, whatever
market is drawn: what a company with a point estimate does. Both re-plan each
period from the true state. The gap between them is the value of knowing the
parameters (docs/uncertainty.md). It is the yardstick:
reports give every agent's return as a percent of the planner's. Each
decision leaves a record in :attr:`Planner.convergence` (how much the search
improved on its starts, how far apart the restarts ended, the projected
gradient), so a reader can see how sure the yardstick is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from scipy.optimize import minimize

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode
from gtmgym.agents.plans import (
    course_returns,
    first_decision,
    plan_returns,
    repeat_state,
    spread_shares,
)
from gtmgym.envs import kernel
from gtmgym.envs.actions import DiscreteActions
from gtmgym.envs.kernel import MarketState
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode, Scenario

ENTRY_OFFSETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36)
BASELINES = ("greedy", "lp", "equal", "proportional", "ansoff")
# Spend variables per plan above which periods are grouped into blocks
# (plan_blocks="auto"). 330 gives `large` (50 pairs) the 6 blocks tuned for it
# by hand, and random 12 x 5 x 24 markets 6-7 blocks, which score within
# 0.2% of plan_blocks 6 either way, while one block per period scored 2.8%
# lower in 2.5x the time (issue 10; docs/benchmarks.md, benchmark 8).
VARIABLE_BUDGET = 330


@dataclass
class Plan:
    """Spend levels, pair weights and entry offsets for ``H`` periods."""

    levels: np.ndarray  # (H,) share of the available money spent, in [0, 1]
    weights: np.ndarray  # (H, S, C) weights over the pairs, in [0, 1]
    entry_at: np.ndarray  # (S,) int, >= H means never

    @property
    def horizon(self) -> int:
        return self.levels.shape[0]

    def tail(self) -> Plan:
        """The plan from the next period on."""
        return Plan(self.levels[1:], self.weights[1:], np.maximum(self.entry_at - 1, 0))

    def with_entries(self, entry_at: np.ndarray) -> Plan:
        return Plan(self.levels, self.weights, entry_at)


@dataclass
class Course:
    """Actions of the agent's mode for ``H`` periods, and where they came from."""

    actions: np.ndarray  # (H, ...) one action per period
    source: str

    def tail(self) -> Course:
        return Course(self.actions[1:], self.source)


class Planner(Agent):
    """Model-predictive control on the expected dynamics (the upper bound).

    Plans on the market being played (``info["market"]``); its scenario gives
    the action catalogue and the heuristics whose courses are candidates.

    Args:
        scenario: the scenario it acts in (on a distribution: its mean).
        action_mode: the mode to act in; plans are written as courses of
            actions of this mode (``continuous``: exact; ``discrete``: each
            period the catalogue entry that, followed by the plan, scores
            best; ``multidiscrete``: the nearest levels).
        seed: unused by the search, kept for the common interface.
        iterations: L-BFGS-B iterations when planning the whole episode.
        replan_iterations: L-BFGS-B iterations when re-planning later periods
            (the incumbent is a warm start).
        restarts: how many of the best starts L-BFGS-B is run from when
            planning the whole episode.
        replan_restarts: the same when re-planning later periods, where the
            incumbent (last period's course) is among the starts.
        entry_sweeps: rounds of the coordinate search over entry dates.
        step: finite-difference step on the spend variables (in [0, 1]).
        plan_blocks: optimise one spend decision per block of periods, this
            many blocks over the horizon; ``None``: one per period;
            ``"auto"``: one per period unless that makes more than
            ``VARIABLE_BUDGET`` variables, then as many blocks as fit.
        baselines: heuristics whose courses are candidates every period.
    """

    name = "planner"
    reads_state = True
    # "drawn": plan on the market being played; "mean": on its own scenario
    knows: ClassVar[Literal["drawn", "mean"]] = "drawn"

    def __init__(
        self,
        scenario: ScenarioSource,
        action_mode: ActionMode | None = None,
        seed: int = 0,
        iterations: int = 60,
        replan_iterations: int = 5,
        restarts: int = 3,
        replan_restarts: int = 1,
        entry_sweeps: int = 2,
        step: float = 1.0e-6,
        plan_blocks: int | str | None = "auto",
        baselines: list[str] | tuple[str, ...] = BASELINES,
    ) -> None:
        super().__init__(scenario, action_mode, seed)
        for key, value in {
            "iterations": iterations,
            "replan_iterations": replan_iterations,
            "restarts": restarts,
            "replan_restarts": replan_restarts,
        }.items():
            if value < 1:
                raise ValueError(f"planner {key} must be at least 1, got {value}")
        if entry_sweeps < 0 or not 0 < step < 0.1:
            raise ValueError("planner entry_sweeps must be >= 0 and step in (0, 0.1)")
        if (
            plan_blocks != "auto"
            and plan_blocks is not None
            and (not isinstance(plan_blocks, int) or plan_blocks < 1)
        ):
            raise ValueError(
                f"planner plan_blocks must be 'auto', null or at least 1, got {plan_blocks!r}"
            )
        unknown = sorted(set(baselines) - set(BASELINES))
        if unknown:
            raise ValueError(
                f"planner baselines {unknown} are not heuristics; choose from {list(BASELINES)}"
            )
        self.iterations = iterations
        self.replan_iterations = replan_iterations
        self.restarts = restarts
        self.replan_restarts = replan_restarts
        self.entry_sweeps = entry_sweeps
        self.step = step
        self.plan_blocks = plan_blocks
        self.baselines = list(baselines)
        self._pairs = np.argwhere(self.params.available)
        self._market: Scenario = self.scenario  # the market self.params describe
        self._baseline_agents: list[Agent] | None = None
        self._course: Course | None = None
        self.convergence: list[dict[str, Any]] = []

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "replan_iterations": self.replan_iterations,
            "restarts": self.restarts,
            "replan_restarts": self.replan_restarts,
            "entry_sweeps": self.entry_sweeps,
            "step": self.step,
            "plan_blocks": self.plan_blocks,
            "baselines": list(self.baselines),
        }

    def reset(self) -> None:
        self._course = None
        self.convergence = []

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        state = self.state_of(info)
        if self.knows == "drawn":
            self._plan_on(self.market_of(info))
        horizon = self.params.periods - int(state.period[0])
        incumbent = self._course if self._course and len(self._course.actions) == horizon else None
        if incumbent is None:  # a new episode: every baseline's course is a candidate
            baselines = [self._baseline_course(a, state, horizon) for a in self._baselines()]
            warm = [self._plan_of(state, course) for course in baselines]
        else:  # the incumbent is at least as good as they were (noise off)
            baselines, warm = [], [self._plan_of(state, incumbent)]
        if incumbent is None:
            plan, record = self.plan(state, warm, self.iterations, self.restarts)
        else:
            plan, record = self.plan(state, warm, self.replan_iterations, self.replan_restarts)
        courses = ([incumbent] if incumbent is not None else []) + baselines
        courses.append(self._realise(state, plan))
        values = course_returns(
            self.params, self.codec, state, np.stack([course.actions for course in courses])
        )
        best = int(np.argmax(values))  # the first of equals: the incumbent keeps its place
        record.update(course_value=float(values[best]), played=courses[best].source)
        self.convergence.append(record)
        self._course = courses[best].tail()
        action = courses[best].actions[0]
        return int(action) if isinstance(self.codec, DiscreteActions) else action

    def plan(
        self,
        state: MarketState,
        warm: list[Plan] | None = None,
        iterations: int | None = None,
        restarts: int | None = None,
    ) -> tuple[Plan, dict[str, Any]]:
        """The best plan found from ``state`` to the end, and its convergence record.

        Args:
            state: the current state, one environment.
            warm: plans to start from besides the standard starts.
            iterations: L-BFGS-B iterations (default: ``iterations``).
            restarts: starts refined (default: ``restarts``).
        """
        horizon = self.params.periods - int(state.period[0])
        iterations = iterations or self.iterations
        restarts = restarts or self.restarts
        starts = (warm or []) + self._starts(state, horizon)
        for _ in range(self.entry_sweeps):
            starts = [self._search_entries(state, plan) for plan in starts]
        scores = self._score(state, starts)
        best_first = _distinct_best(starts, scores, restarts)
        results = [self._optimise_spend(state, starts[i], iterations) for i in best_first]
        optimised = [plan for plan, _ in results]
        if self.entry_sweeps:
            optimised = [self._search_entries(state, plan) for plan in optimised]
        final = self._score(state, optimised)
        order = np.argsort(-final)
        chosen = int(order[0])
        record = {
            "period": int(state.period[0]),
            "start_value": float(scores.max()),
            "plan_value": float(final[chosen]),
            "second_best": float(final[order[1]]) if len(order) > 1 else float(final[chosen]),
            "gradient_norm": results[chosen][1]["gradient_norm"],
            "iterations": results[chosen][1]["iterations"],
            "last_improvement": results[chosen][1]["last_improvement"],
        }
        if final[chosen] < scores.max():  # the search lost ground: keep the best start
            return starts[int(np.argmax(scores))], record
        return optimised[chosen], record

    def _plan_on(self, market: Scenario) -> None:
        """Plan on ``market`` from now on (a new one: at a reset of a distribution)."""
        if market is self._market:
            return
        ours = (self.scenario.segment_names, self.scenario.channel_names)
        if (market.segment_names, market.channel_names) != ours:
            raise ValueError(
                f"planner built for scenario {self.scenario.name!r} (segments "
                f"{ours[0]}, channels {ours[1]}) cannot plan on market {market.name!r} "
                f"(segments {market.segment_names}, channels {market.channel_names})"
            )
        self._market = market
        self.params = MarketParams.from_scenario(market)
        self._pairs = np.argwhere(self.params.available)
        self._course = None  # planned on another market

    # -- candidates ---------------------------------------------------------

    def _baselines(self) -> list[Agent]:
        if self._baseline_agents is None:
            from gtmgym.agents.registry import make  # the registry imports this module

            self._baseline_agents = [
                make(name, self.scenario, seed=self.seed, action_mode=self.action_mode)
                for name in self.baselines
            ]
        return self._baseline_agents

    def _baseline_course(self, agent: Agent, state: MarketState, horizon: int) -> Course:
        """The course ``agent`` plays from ``state`` on the noise-free model."""
        agent.reset()
        actions = []
        for _ in range(horizon):
            info = self._info(state)
            action = agent.act(kernel.observe_states(self.params.kernel, state)[0], info)
            actions.append(action)
            shares, enter = self.codec.decide_one(action, info["selling"])
            state = kernel.advance(self.params.kernel, state, shares, enter).state
        return Course(np.stack([np.asarray(a) for a in actions]), agent.name)

    def _info(self, state: MarketState) -> dict[str, Any]:
        """What the environment tells an agent before it decides (see its ``_start_info``)."""
        entered, selling = state.entered[0], state.selling[0]
        info: dict[str, Any] = {
            "period": int(state.period[0]),
            "open": entered,
            "selling": selling,
            "state": state,
        }
        if isinstance(self.codec, DiscreteActions):
            info["action_mask"] = self.codec.mask_one(entered, selling)
        return info

    def _realise(self, state: MarketState, plan: Plan) -> Course:
        """The plan written as actions of the agent's mode, period by period."""
        actions = []
        for offset in range(plan.horizon):
            rest = Plan(plan.levels[offset:], plan.weights[offset:], plan.entry_at - offset)
            selling = state.selling[0]
            if isinstance(self.codec, DiscreteActions):
                action: Any = self._best_catalogue_entry(state, rest)
            else:
                shares, enter = first_decision(
                    self.params, state, rest.levels[0], rest.weights[0], rest.entry_at
                )
                action = encode(self.codec, shares, enter, selling, dtype=np.float64)
            actions.append(action)
            shares, enter = self.codec.decide_one(action, selling)
            state = kernel.advance(self.params.kernel, state, shares, enter).state
        return Course(np.stack([np.asarray(a) for a in actions]), "plan")

    def _plan_of(self, state: MarketState, course: Course) -> Plan:
        """A course as a plan: the same decisions, so the same return."""
        horizon = len(course.actions)
        levels = np.zeros(horizon)
        weights = np.zeros((horizon, *self.params.available.shape))
        entry_at = np.full(self.params.n_segments, horizon)
        for offset in range(horizon):
            shares, enter = self.codec.decide_one(course.actions[offset], state.selling[0])
            fresh = enter[0] & ~state.entered[0] & (entry_at == horizon)
            entry_at[fresh] = offset
            selling = kernel.entry(self.params.kernel, state, enter)[3][0]
            spent = shares[0] * selling[:, None] * self.params.available  # the rest is held back
            levels[offset] = min(spent.sum(), 1.0)
            weights[offset] = spent / spent.max() if spent.max() > 0 else self.params.available
            state = kernel.advance(self.params.kernel, state, shares, enter).state
        return Plan(levels, weights, entry_at)

    def _starts(self, state: MarketState, horizon: int) -> list[Plan]:
        even = np.broadcast_to(self.params.available * 1.0, (horizon, *self.params.available.shape))
        never = np.full(self.params.n_segments, horizon)
        starts = [Plan(np.full(horizon, level), even.copy(), never) for level in (1.0, 0.5, 0.0)]
        if not state.entered[0].all():
            now = np.where(state.entered[0], horizon, 0)
            starts.append(Plan(np.ones(horizon), even.copy(), now))
        return starts

    def _score(self, state: MarketState, plans: list[Plan]) -> np.ndarray:
        return plan_returns(
            self.params,
            state,
            np.stack([p.levels for p in plans]),
            np.stack([p.weights for p in plans]),
            np.stack([p.entry_at for p in plans]),
        )

    # -- entry dates --------------------------------------------------------

    def _search_entries(self, state: MarketState, plan: Plan) -> Plan:
        closed = np.flatnonzero(~state.entered[0])
        if closed.size == 0:
            return plan
        offsets = sorted({o for o in ENTRY_OFFSETS if o < plan.horizon} | {plan.horizon})
        best = plan
        for segment in closed:
            trials = [best]  # the plan as it is wins ties
            for offset in offsets:
                entry_at = best.entry_at.copy()
                entry_at[segment] = offset
                trials.append(best.with_entries(entry_at))
            best = trials[int(np.argmax(self._score(state, trials)))]
        return best

    # -- spend plan ---------------------------------------------------------

    def pairs_per_block(self) -> int:
        """Spend variables per block of periods: one per available pair."""
        return len(self._pairs)

    def blocks(self, horizon: int | None = None) -> int:
        """Blocks of periods the spend plan has over ``horizon`` (default: the episode)."""
        horizon = self.params.periods if horizon is None else horizon
        if self.plan_blocks == "auto":
            return max(1, min(horizon, VARIABLE_BUDGET // (self.pairs_per_block() + 1)))
        return min(self.plan_blocks or horizon, horizon)

    def _optimise_spend(
        self, state: MarketState, plan: Plan, iterations: int
    ) -> tuple[Plan, dict[str, Any]]:
        horizon = plan.horizon
        rows, cols = self._pairs[:, 0], self._pairs[:, 1]
        n_pairs = len(rows)
        blocks = self.blocks(horizon)
        block_of = np.repeat(
            np.arange(blocks), [len(b) for b in np.array_split(range(horizon), blocks)]
        )
        block_start = np.searchsorted(block_of, np.arange(blocks))
        width = n_pairs  # per block: the share of the money for each pair

        def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            weights = np.zeros((horizon, *self.params.available.shape))
            weights[:, rows, cols] = x.reshape(blocks, width)[block_of]
            return np.minimum(weights.sum(axis=(1, 2)), 1.0), weights

        def block_mean(values: np.ndarray) -> np.ndarray:
            sums = np.zeros((blocks, *values.shape[1:]))
            np.add.at(sums, block_of, values)
            counts = np.bincount(block_of, minlength=blocks)
            return sums / counts.reshape((blocks,) + (1,) * (values.ndim - 1))

        # the plan's shares, as if every available pair sold
        spread = plan.weights * self.params.available
        total = spread.sum(axis=(1, 2), keepdims=True)
        shares = np.divide(spread, total, out=np.zeros_like(spread), where=total > 0)
        x0 = block_mean((shares * plan.levels[:, None, None])[:, rows, cols]).ravel()
        x0 = np.clip(x0, 0.0, 1.0)
        values: list[float] = []

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            value, gradient = self._value_and_gradient(
                state, x, unpack, plan.entry_at, block_of, block_start, width
            )
            values.append(value)
            return -value, -gradient

        result = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * x0.size,
            options={"maxiter": iterations},
        )
        levels, weights = unpack(result.x)
        # the projected gradient: zero at a local optimum, also on the bounds
        ascent = -result.jac
        blocked = ((result.x <= 0.0) & (ascent < 0)) | ((result.x >= 1.0) & (ascent > 0))
        projected = np.where(blocked, 0.0, ascent)
        record = {
            "gradient_norm": float(np.abs(projected).max()) if projected.size else 0.0,
            "iterations": int(result.nit),
            "last_improvement": float(values[-1] - values[-2]) if len(values) > 1 else 0.0,
        }
        return Plan(levels, weights, plan.entry_at.copy()), record

    def _value_and_gradient(
        self,
        state: MarketState,
        x: np.ndarray,
        unpack: Any,
        entry_at: np.ndarray,
        block_of: np.ndarray,
        block_start: np.ndarray,
        width: int,
    ) -> tuple[float, np.ndarray]:
        """The plan's return and its gradient by one-sided differences.

        Variable ``j`` of block ``b`` changes the plan from ``b``'s first
        period on, so its probe starts there from the unperturbed plan's
        state; variables are ordered block by block, so the probes in play
        at a period are a prefix of the batch.
        """
        params = self.params
        levels, weights = unpack(x)
        size = x.size
        probe_step = np.where(x + self.step <= 1.0, self.step, -self.step)
        variable_block = np.arange(size) // width
        variable_start = block_start[variable_block]
        pair_of = np.arange(size) % width
        horizon = levels.shape[0]
        rows, cols = self._pairs[:, 0], self._pairs[:, 1]

        base = state
        base_total = 0.0
        base_alive = True
        probes: MarketState | None = None
        probe_total = np.zeros(size)
        probe_alive = np.ones(size, dtype=bool)
        for period in range(horizon):
            enter_now = entry_at == period
            joining = int(np.searchsorted(variable_start, period, side="right"))
            if probes is None:
                probes = repeat_state(base, joining)
                probe_total[:joining] = base_total
                probe_alive[:joining] = base_alive
            elif joining > probes.num_envs:
                count = joining - probes.num_envs
                probes = MarketState.wrap(
                    np.concatenate([probes.data, np.repeat(base.data, count, axis=0)]),
                    base.layout,
                )
                probe_total[joining - count : joining] = base_total
                probe_alive[joining - count : joining] = base_alive
            # the base plan and the probes in play, one batch
            batch = MarketState.wrap(np.concatenate([base.data, probes.data]), base.layout)
            count = batch.num_envs
            enter = np.broadcast_to(enter_now, (count, enter_now.size))
            selling = kernel.entry(params.kernel, batch, enter)[3]
            period_weights = np.repeat(weights[period][None], count, axis=0)
            moved = np.flatnonzero(variable_block[: count - 1] == block_of[period])
            pair = pair_of[moved]
            period_weights[1 + moved, rows[pair], cols[pair]] += probe_step[moved]
            period_levels = np.minimum(period_weights.sum(axis=(1, 2)), 1.0)
            shares = spread_shares(params, selling, period_weights, period_levels)
            batch, figures, rewards, _ = kernel.advance(params.kernel, batch, shares, enter)
            if base_alive:
                base_total += rewards[0]
            base_alive = base_alive and not figures.bankrupt[0]
            n_probes = count - 1
            probe_total[:n_probes] += np.where(probe_alive[:n_probes], rewards[1:], 0.0)
            probe_alive[:n_probes] &= ~figures.bankrupt[1:]
            base = MarketState.wrap(batch.data[:1], batch.layout)
            probes = MarketState.wrap(batch.data[1:], batch.layout)
        gradient = (probe_total - base_total) / probe_step
        return base_total, gradient

    # -- discrete mode ------------------------------------------------------

    def _best_catalogue_entry(self, state: MarketState, plan: Plan) -> int:
        """The catalogue entry that, followed by the plan's tail, scores best."""
        codec = self.codec
        assert isinstance(codec, DiscreteActions)
        selling = state.selling[0]
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
            np.broadcast_to(plan.levels, (count, plan.horizon)),
            np.broadcast_to(plan.weights, (count, *plan.weights.shape)),
            entry_at,
            first_shares=shares,
        )
        return int(candidates[int(np.argmax(returns))])


class CertaintyEquivalentPlanner(Planner):
    """The planner on its own scenario's parameters, whatever market is played.

    Built on a distribution's mean scenario and played on the distribution,
    it plans every episode on the point estimate while the market plays the
    drawn parameters (it still re-plans each period from the true state).
    Same arguments as :class:`Planner`.
    """

    name = "planner_mean"
    knows = "mean"


def _distinct_best(plans: list[Plan], scores: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` best-scoring plans, skipping exact duplicates."""
    chosen: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        plan = plans[int(index)]
        duplicate = any(
            np.array_equal(plan.levels, plans[i].levels)
            and np.array_equal(plan.weights, plans[i].weights)
            and np.array_equal(plan.entry_at, plans[i].entry_at)
            for i in chosen
        )
        if not duplicate:
            chosen.append(int(index))
        if len(chosen) == count:
            break
    return chosen
