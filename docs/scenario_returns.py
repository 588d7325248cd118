"""Noise-free returns of fixed policies and of the planner on bundled scenarios.

Reproduces the table in docs/scenarios.md:

    python docs/scenario_returns.py [SCENARIO ...]
"""

from __future__ import annotations

import sys

import gymnasium as gym

import gtmgym
from gtmgym.agents import evaluate, make


def fixed_plan_return(env: gym.Env, plan: list[int]) -> float:
    env.reset(seed=0)
    total, period, terminated = 0.0, 0, False
    while not terminated:
        _, reward, terminated, _, _ = env.step(plan[min(period, len(plan) - 1)])
        total += reward
        period += 1
    return total


def main(names: list[str]) -> None:
    for name in names or gtmgym.bundled_scenarios():
        env = gym.make(gtmgym.ENV_ID, scenario=name, action_mode="discrete", noise=False)
        entries = env.unwrapped.codec.entries
        even = [i for i, e in enumerate(entries) if "even over selling" in e.label
                and not e.enter.any()]
        enters = [i for i, e in enumerate(entries) if e.enter.any()]
        rows = {"hold back": fixed_plan_return(env, [0])}
        for index in even:
            rows[entries[index].label] = fixed_plan_return(env, [index])
        for count in range(1, len(enters) + 1):
            rows[f"enter the first {count}, then even split"] = fixed_plan_return(
                env, enters[:count] + [even[-1]]
            )
        planner = make("planner", name, action_mode="continuous")
        rows["planner"] = evaluate(planner, episodes=1, noise=False)["return"].iloc[0]
        print(f"\n{name}")
        for label, value in rows.items():
            print(f"  {label:<55} {value:8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
