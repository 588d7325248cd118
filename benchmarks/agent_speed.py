"""Benchmarks 3, 4 and 5: training loops and the planner against references."""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3 import DQN
from timing import Figure, median_seconds, paired_rates

import gtmgym
from gtmgym.agents import evaluate, make


def qlearning_vs_random_rollout(quick: bool) -> Figure:
    steps, repeats = (300, 5) if quick else (5000, 5)
    agent = make("qlearning", "tabular", seed=0)
    env = gym.make(gtmgym.ENV_ID, scenario="tabular")
    env.reset(seed=0)
    env.action_space.seed(0)

    def random_rollout() -> int:
        for _ in range(steps):
            *_, terminated, _, _ = env.step(env.action_space.sample())
            if terminated:
                env.reset()
        return steps

    def train() -> int:
        agent.learn(steps)
        return steps

    ours, reference, ratio = paired_rates(train, random_rollout, repeats)
    return Figure(
        "3. Q-learning training loop vs random rollout (tabular)",
        ratio,
        "x",
        ">= 0.5x",
        ratio >= 0.5,
        f"{ours:,.0f} vs {reference:,.0f} steps/s",
    )


def dqn_vs_cartpole(quick: bool) -> Figure:
    steps, repeats = (300, 5) if quick else (3000, 5)
    # every setting that costs time, given to both (ours would otherwise
    # take default's tuned values, e.g. 5-step returns)
    settings = {
        "learning_starts": 100,
        "buffer_size": 10_000,
        "batch_size": 64,
        "train_freq": 4,
        "n_steps": 5,
        "target_update_interval": 500,
        "policy_kwargs": {"net_arch": [64, 64]},
    }
    torch.set_num_threads(1)
    ours_agent = make("dqn", "default", seed=0, **settings)
    cartpole = DQN("MlpPolicy", gym.make("CartPole-v1"), seed=0, device="cpu", **settings)

    def train_ours() -> int:
        ours_agent.model.learn(steps, reset_num_timesteps=False)
        return steps

    def train_cartpole() -> int:
        cartpole.learn(steps, reset_num_timesteps=False)
        return steps

    ours, reference, ratio = paired_rates(train_ours, train_cartpole, repeats)
    return Figure(
        "4. SB3 DQN training steps/s: default vs CartPole-v1",
        ratio,
        "x",
        ">= 0.8x",
        ratio >= 0.8,
        f"{ours:,.0f} vs {reference:,.0f} steps/s",
    )


def planner_time(quick: bool) -> list[Figure]:
    repeats = 1 if quick else 5
    scenario = "tabular" if quick else "default"
    planner = make("planner", scenario, action_mode="continuous")
    dqn = make("dqn", scenario, seed=0)
    planner_seconds = median_seconds(
        lambda: evaluate(planner, episodes=1, seed=1), repeats, warmup=0
    )
    dqn_seconds = median_seconds(lambda: evaluate(dqn, episodes=1, seed=1), repeats)
    return [
        Figure(f"5. planner seconds per episode ({scenario})", planner_seconds, "s", "-", None),
        Figure(
            "5b. planner episode / DQN evaluation episode",
            planner_seconds / dqn_seconds,
            "x",
            "-",
            None,
            f"{dqn_seconds * 1000:.0f} ms per DQN episode",
        ),
    ]
