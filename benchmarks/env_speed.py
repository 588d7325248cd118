"""Benchmarks 1 and 2: environment steps per second against CartPole."""

from __future__ import annotations

import gymnasium as gym
import numba
from timing import Figure, paired_rates

import gtmgym


def _scalar_work(env_id: str, steps: int, **kwargs):
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

    return work


def _vector_work(envs: gym.vector.VectorEnv, batches: int):
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(batches)]

    def work() -> int:
        for action in actions:
            envs.step(action)
        return batches * envs.num_envs

    return work


def scalar_vs_cartpole(quick: bool) -> Figure:
    steps, repeats = (300, 5) if quick else (5000, 7)
    ours, cartpole, ratio = paired_rates(
        _scalar_work(gtmgym.ENV_ID, steps, scenario="default"),
        _scalar_work("CartPole-v1", steps),
        repeats,
    )
    return Figure(
        "1. scalar env steps/s vs CartPole-v1 (gymnasium.make)",
        ratio,
        "x",
        ">= 0.5x",
        ratio >= 0.5,
        f"{ours:,.0f} vs {cartpole:,.0f} steps/s",
    )


def _one_thread(work):
    """``work`` with numba's kernel on one thread (the batch's markets in turn)."""

    def single() -> int:
        numba.set_num_threads(1)
        try:
            return work()
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    return single


def vector_vs_sync(quick: bool) -> list[Figure]:
    """Discrete actions (the mode DQN uses), noise on: the conditions of a
    vectorised DQN or PPO run."""
    num_envs, batches, repeats = (64, 3, 5) if quick else (1024, 20, 5)
    settings = {"scenario": "default", "action_mode": "discrete", "noise": True}
    native = gym.make_vec(
        gtmgym.ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **settings
    )
    sync = gym.make_vec(gtmgym.ENV_ID, num_envs=num_envs, vectorization_mode="sync", **settings)
    cartpole = gym.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point"
    )
    native_work = _vector_work(native, batches)
    ours, synced, ratio = paired_rates(
        native_work, _vector_work(sync, max(1, batches // 4)), repeats
    )
    _, single, threads = paired_rates(native_work, _one_thread(native_work), repeats)
    _, theirs, _ = paired_rates(native_work, _vector_work(cartpole, batches), repeats)
    cores = numba.config.NUMBA_NUM_THREADS
    return [
        Figure(
            f"2. native vector env ({num_envs} envs, discrete, noise) vs SyncVectorEnv",
            ratio,
            "x",
            ">= 30x",
            ratio >= 30,
            f"{ours:,.0f} vs {synced:,.0f} env-steps/s",
        ),
        Figure(
            f"2a. native vector env on {cores} threads vs on 1",
            threads,
            "x",
            ">= 1.6x",
            threads >= 1.6 if cores >= 2 else None,
            f"{ours:,.0f} vs {single:,.0f} env-steps/s",
        ),
        Figure(
            f"2b. native vector env vs CartPole native vector ({num_envs})",
            ours / theirs,
            "x",
            "-",
            None,
            f"{ours:,.0f} vs {theirs:,.0f} env-steps/s",
        ),
        drawing_cost(quick),
    ]


def drawing_cost(quick: bool) -> Figure:
    """What drawing each restarting market's parameters costs a vector step:
    default-uncertain against its mean scenario, same settings (issue 14's
    target: at most 10% of a 1024-market step)."""
    num_envs, batches, repeats = (64, 3, 5) if quick else (1024, 48, 9)
    settings = {
        "action_mode": "discrete",
        "noise": True,
        "vectorization_mode": "vector_entry_point",
    }
    drawn = gym.make_vec(gtmgym.ENV_ID, num_envs, scenario="default-uncertain", **settings)
    mean = drawn.unwrapped.scenarios[0]
    fixed = gym.make_vec(gtmgym.ENV_ID, num_envs, scenario=mean, **settings)
    ours, reference, ratio = paired_rates(
        _vector_work(drawn, batches), _vector_work(fixed, batches), repeats
    )
    cost = 1.0 / ratio - 1.0
    return Figure(
        f"2c. drawing parameters: share of a {num_envs}-market step",
        100.0 * cost,
        "%",
        "<= 10%",
        cost <= 0.10,
        f"default-uncertain {ours:,.0f} vs its mean {reference:,.0f} env-steps/s",
    )
