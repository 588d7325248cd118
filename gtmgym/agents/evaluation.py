"""One evaluation loop for every agent, on fixed seeds.

Episode ``k`` of an evaluation with ``seed=s`` resets the environment with
seed ``s + k``, so every agent evaluated with the same ``seed`` faces the same
random draws for the same decisions.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pandas as pd

from gtmgym.agents.base import Agent, decision_info
from gtmgym.envs import ENV_ID
from gtmgym.envs.market_expansion import ScenarioSource

EPISODE_COLUMNS = (
    "episode",
    "seed",
    "return",
    "profit",
    "market_share",
    "revenue",
    "spend",
    "customers",
    "periods",
)
# what a period's figures add to each allocation row, from the env's info: a
# segment's money is repeated on each of its channels' rows, the period's
# held-back money on each of its rows (sum one row per segment, or per period)
SEGMENT_FIGURES = {
    "segment_customers": "customers",
    "segment_gross_margin": "gross_margin",
    "segment_partner_payout": "partner_payout",
    "segment_entry_costs": "entry_costs",
    "segment_operating_costs": "operating_costs",
}


def evaluate(
    agent: Agent,
    scenario: ScenarioSource | None = None,
    episodes: int = 10,
    seed: int = 0,
    noise: bool | None = None,
) -> pd.DataFrame:
    """Play ``episodes`` episodes and return one row per episode.

    Args:
        agent: any agent.
        scenario: the scenario or distribution to play (default: the
            agent's own, :attr:`~gtmgym.agents.base.Agent.distribution`).
        episodes: how many episodes.
        seed: episode ``k`` is reset with ``seed + k``.
        noise: override the scenario's noise switch.

    Returns:
        A DataFrame with columns ``episode``, ``seed``, ``return`` (sum of the
        environment's rewards), ``profit`` (sum of the period profits, in
        currency), ``market_share`` (at the end), ``revenue``, ``spend``,
        ``customers`` (at the end) and ``periods``.
    """
    return evaluate_with_periods(agent, scenario, episodes, seed, noise)[0]


def evaluate_with_periods(
    agent: Agent,
    scenario: ScenarioSource | None = None,
    episodes: int = 10,
    seed: int = 0,
    noise: bool | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As :func:`evaluate`, plus where the money went, period by period.

    Args:
        progress: called after every period with the fraction of the
            evaluation done (an episode cut short counts whole), so a
            planner that plans as it plays shows it moving.

    Returns:
        The episodes table, and an allocations table with one row per
        episode, period, segment and channel: ``spend`` on that pair,
        ``available`` (the channel reaches the segment), the segment's
        figures of the period (:data:`SEGMENT_FIGURES`: its customers at the
        period's end, gross margin, partner payout, entry and operating
        costs; the same on each of its channels' rows), and
        ``period_held_back`` (the same on each of the period's rows): the
        money that became available this period and was not spent, so that
        its sum over an episode's periods is the money the policy held back
        (with ``carry_over``, money spent from the bank counts against it).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = gym.make(
        ENV_ID,
        scenario=agent.distribution if scenario is None else scenario,
        action_mode=agent.action_mode,
        noise=noise,
    )
    model = env.unwrapped
    periods = model.params.periods
    report = progress or (lambda fraction: None)
    rows, frames = [], []
    for episode in range(episodes):

        def played(period: int, episode: int = episode) -> None:
            report((episode + period / periods) / episodes)

        row, figures = _play(agent, env, seed + episode, played)
        report((episode + 1) / episodes)
        rows.append(row | {"episode": episode})
        frames.append(_allocations(figures, model).assign(episode=episode))
    env.close()
    allocations = pd.concat(frames, ignore_index=True)
    allocations.insert(0, "episode", allocations.pop("episode"))
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS)), allocations


def _allocations(figures: dict[str, np.ndarray], model: gym.Env) -> pd.DataFrame:
    """One episode's rows: period x segment x channel."""
    segments, channels = model.scenario.segment_names, model.scenario.channel_names
    spend = figures["spend"]  # (T, S, C)
    periods = spend.shape[0]
    index = pd.MultiIndex.from_product(
        [range(periods), segments, channels], names=["period", "segment", "channel"]
    )
    columns = {
        "spend": spend.reshape(-1),
        "available": np.broadcast_to(model.params.available, spend.shape).reshape(-1),
    }
    for column, key in SEGMENT_FIGURES.items():
        columns[column] = np.repeat(figures[key], len(channels), axis=1).reshape(-1)
    held_back = figures["unspent"].copy()
    if model.params.carry_over:  # what was banked last period was made available then
        held_back[1:] -= figures["unspent"][:-1]
    columns["period_held_back"] = np.repeat(held_back, len(segments) * len(channels))
    return pd.DataFrame(columns, index=index).reset_index()


def _play(
    agent: Agent, env: gym.Env, seed: int, played: Callable[[int], None]
) -> tuple[dict, dict[str, np.ndarray]]:
    """One episode: its row, and its figures period by period (stacked)."""
    agent.reset()
    observation, info = env.reset(seed=seed)
    total_reward = profit = revenue = 0.0
    keys = ["spend", "unspent", *SEGMENT_FIGURES.values()]
    figures: dict[str, list] = {key: [] for key in keys}
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(observation, decision_info(agent, env, info))
        observation, reward, terminated, truncated, info = env.step(action)
        total_reward += reward
        profit += info["profit"]
        revenue += float(np.sum(info["revenue"]))
        for key in keys:
            figures[key].append(info[key])
        played(len(figures["spend"]))
    stacked = {key: np.stack(values) for key, values in figures.items()}
    row = {
        "seed": seed,
        "return": total_reward,
        "profit": profit,
        "market_share": info["market_share"],
        "revenue": revenue,
        "spend": float(stacked["spend"].sum()),
        "customers": float(np.sum(info["customers"])),
        "periods": len(figures["spend"]),
    }
    return row, stacked
