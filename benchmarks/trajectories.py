"""Record the model's trajectories, or compare them with an earlier record:
the check that a kernel change leaves every number as it was, bit for bit.

    python benchmarks/trajectories.py record before.npz     # at the old commit
    python benchmarks/trajectories.py compare before.npz    # at the new one

Every bundled scenario and six generated ones (``random_scenario`` seeds
0-5, 1 to 12 segments) in all three action modes, noise on and off: 32
markets for 40 steps (serial); and ``default``, ``large`` and
``global-expansion`` with 256 markets on numba's threads for 30 steps. Each
run keeps the observations, rewards, states and five info figures.
"""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym
import numpy as np

import gtmgym
from gtmgym.envs.loader import bundled_scenarios
from gtmgym.scenarios import random_scenario

FIGURES = ("profit", "spend", "won_by_channel", "customers", "churned")


GENERATED = {  # seed: segments; channels and horizon drawn
    0: 1, 1: 2, 2: 3, 3: 5, 4: 8, 5: 12,
}  # fmt: skip


def play(scenario: str | dict, mode: str, noise: bool, markets: int, steps: int) -> np.ndarray:
    """One run's numbers, flattened, in a fixed order."""
    envs = gym.make_vec(
        gtmgym.ENV_ID, num_envs=markets, vectorization_mode="vector_entry_point",
        scenario=scenario, action_mode=mode, noise=noise,
    )  # fmt: skip
    observations, info = envs.reset(seed=3)
    envs.action_space.seed(3)
    numbers = [observations]
    for _ in range(steps):
        actions = envs.action_space.sample()
        if mode == "discrete":  # an allowed entry of each market's catalogue
            masks = info["action_mask"]
            actions = np.array(
                [np.flatnonzero(m)[a % m.sum()] for m, a in zip(masks, actions, strict=True)]
            )
        observations, rewards, _, _, info = envs.step(actions)
        numbers += [observations, rewards, envs.unwrapped.state.data]
        numbers += [np.asarray(info.get(key, 0.0), dtype=float) for key in FIGURES]
    return np.concatenate([np.ravel(x).astype(float) for x in numbers])


def runs() -> dict[str, np.ndarray]:
    scenarios: dict[str, str | dict] = {name: name for name in bundled_scenarios()}
    for seed, segments in GENERATED.items():
        scenarios[f"random-{seed}"] = random_scenario(seed, segments=segments, channels=(1, 5))
    played = {}
    for name, scenario in scenarios.items():
        for mode in ("discrete", "continuous", "multidiscrete"):
            for noise in (True, False):
                played[f"{name}/{mode}/noise={noise}"] = play(scenario, mode, noise, 32, 40)
    for scenario in ("default", "large", "global-expansion"):
        played[f"{scenario}/threaded"] = play(scenario, "discrete", True, 256, 30)
    return played


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("path")
    arguments = parser.parse_args()
    played = runs()
    if arguments.action == "record":
        np.savez(arguments.path, **played)
        print(f"{len(played)} runs recorded in {arguments.path}")
        return 0
    recorded = np.load(arguments.path)
    differ = [
        name
        for name in played
        if name not in recorded or not np.array_equal(played[name], recorded[name], equal_nan=True)
    ]
    print(f"{len(played) - len(differ)} of {len(played)} runs identical")
    for name in differ:
        print(f"  differs: {name}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
