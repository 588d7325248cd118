"""Benchmarks 1 and 2: environment steps per second against CartPole."""

from __future__ import annotations

import gymnasium as gym
from timing import Figure, median_rate

import gtmgym


def _scalar_rate(env_id: str, steps: int, repeats: int, **kwargs) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]

    def work() -> int:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        return steps

    return median_rate(work, repeats)


def _vector_rate(envs: gym.vector.VectorEnv, batches: int, repeats: int) -> float:
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(batches)]

    def work() -> int:
        for action in actions:
            envs.step(action)
        return batches * envs.num_envs

    return median_rate(work, repeats)


def scalar_vs_cartpole(quick: bool) -> Figure:
    steps, repeats = (300, 5) if quick else (5000, 7)
    ours = _scalar_rate(gtmgym.ENV_ID, steps, repeats, scenario="default")
    cartpole = _scalar_rate("CartPole-v1", steps, repeats)
    return Figure(
        "1. scalar env steps/s vs CartPole-v1 (gymnasium.make)",
        ours / cartpole,
        "x",
        ">= 0.5x",
        ours / cartpole >= 0.5,
        f"{ours:,.0f} vs {cartpole:,.0f} steps/s",
    )


def vector_vs_sync(quick: bool) -> list[Figure]:
    num_envs, batches, repeats = (64, 3, 5) if quick else (1024, 20, 5)
    native = gym.make_vec(
        gtmgym.ENV_ID,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        scenario="default",
    )
    sync = gym.make_vec(
        gtmgym.ENV_ID, num_envs=num_envs, vectorization_mode="sync", scenario="default"
    )
    cartpole = gym.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point"
    )
    ours = _vector_rate(native, batches, repeats)
    synced = _vector_rate(sync, max(1, batches // 4), repeats)
    theirs = _vector_rate(cartpole, batches, repeats)
    return [
        Figure(
            f"2. native vector env ({num_envs} envs) vs SyncVectorEnv",
            ours / synced,
            "x",
            ">= 20x",
            ours / synced >= 20,
            f"{ours:,.0f} vs {synced:,.0f} env-steps/s",
        ),
        Figure(
            f"2b. native vector env vs CartPole native vector ({num_envs})",
            ours / theirs,
            "x",
            "-",
            None,
            f"{ours:,.0f} vs {theirs:,.0f} env-steps/s",
        ),
    ]
