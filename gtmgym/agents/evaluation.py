"""One evaluation loop for every agent, on fixed seeds.

Episode ``k`` of an evaluation with ``seed=s`` resets the environment with
seed ``s + k``, so every agent evaluated with the same ``seed`` faces the same
random draws for the same decisions.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd

from gtmgym.agents.base import Agent
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
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = gym.make(
        ENV_ID,
        scenario=agent.scenario if scenario is None else scenario,
        action_mode=agent.action_mode,
        noise=noise,
    )
    rows = [_play(agent, env, seed + episode) | {"episode": episode} for episode in range(episodes)]
    env.close()
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def _play(agent: Agent, env: gym.Env, seed: int) -> dict[str, float]:
    agent.reset()
    observation, info = env.reset(seed=seed)
    total_reward = profit = revenue = spend = 0.0
    periods = 0
    terminated = truncated = False
    while not (terminated or truncated):
        observation, reward, terminated, truncated, info = env.step(agent.act(observation, info))
        total_reward += reward
        profit += info["profit"]
        revenue += float(np.sum(info["revenue"]))
        spend += float(np.sum(info["spend"]))
        periods += 1
    return {
        "seed": seed,
        "return": total_reward,
        "profit": profit,
        "market_share": info["market_share"],
        "revenue": revenue,
        "spend": spend,
        "customers": float(np.sum(info["customers"])),
        "periods": periods,
    }
