"""One evaluation loop for every agent, on fixed seeds.

Episode ``k`` of an evaluation with ``seed=s`` resets the environment with
seed ``s + k``, so every agent evaluated with the same ``seed`` faces the same
random draws for the same decisions.
"""

from __future__ import annotations

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
        scenario: the scenario to play (default: the agent's own).
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As :func:`evaluate`, plus where the money went, period by period.

    Returns:
        The episodes table, and an allocations table with one row per
        episode, period, segment and channel: ``spend`` on that pair and
        ``segment_customers``, the segment's customers at the period's end.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = gym.make(
        ENV_ID,
        scenario=agent.scenario if scenario is None else scenario,
        action_mode=agent.action_mode,
        noise=noise,
    )
    model = env.unwrapped
    rows, spends, customers = [], [], []
    for episode in range(episodes):
        row, spend, held = _play(agent, env, seed + episode)
        rows.append(row | {"episode": episode})
        spends.append(spend)
        customers.append(held)
    env.close()
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS)), _allocations(
        spends, customers, model.scenario.segment_names, model.scenario.channel_names
    )


def _allocations(
    spends: list[np.ndarray],
    customers: list[np.ndarray],
    segments: list[str],
    channels: list[str],
) -> pd.DataFrame:
    frames = []
    for episode, (spend, held) in enumerate(zip(spends, customers, strict=True)):
        periods = spend.shape[0]
        index = pd.MultiIndex.from_product(
            [range(periods), segments, channels], names=["period", "segment", "channel"]
        )
        frame = pd.DataFrame(
            {
                "spend": spend.reshape(-1),
                "segment_customers": np.repeat(held, len(channels), axis=1).reshape(-1),
            },
            index=index,
        ).reset_index()
        frame.insert(0, "episode", episode)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _play(agent: Agent, env: gym.Env, seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    agent.reset()
    observation, info = env.reset(seed=seed)
    total_reward = profit = revenue = 0.0
    spends, customers = [], []
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(observation, decision_info(agent, env, info))
        observation, reward, terminated, truncated, info = env.step(action)
        total_reward += reward
        profit += info["profit"]
        revenue += float(np.sum(info["revenue"]))
        spends.append(info["spend"])
        customers.append(info["customers"])
    spend = np.stack(spends)
    row = {
        "seed": seed,
        "return": total_reward,
        "profit": profit,
        "market_share": info["market_share"],
        "revenue": revenue,
        "spend": float(spend.sum()),
        "customers": float(np.sum(info["customers"])),
        "periods": len(spends),
    }
    return row, spend, np.stack(customers)
