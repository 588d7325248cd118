"""Record episodes of an agent, or of an agent mixed with random actions, as
a Minari dataset (https://minari.farama.org), the Farama standard for
offline reinforcement learning.

Each episode holds, as Minari lays them out, the observations (one more than
the steps: the reset's), the actions, rewards, terminations and truncations,
and in ``infos`` (one row per observation):

- ``action_mask`` (booleans; discrete action mode only), ``period``,
  ``open`` and ``selling``: what the environment's info gives at every step;
- the raw figures of the period just played, every numeric key of the step
  info (``spend`` (S, C), ``revenue`` (S,), ``profit``, ``market_share``,
  ...; :mod:`gtmgym.envs.info` lists them). No period has been played at the
  reset, so its row holds NaN (False for flags such as ``entered``).

Episode ``k`` is reset with seed ``seed + k`` (the seed Minari stores with the
episode), as :func:`gtmgym.agents.evaluate` resets its episodes, so replaying
a dataset's actions from those seeds gives its observations and rewards back.

With ``epsilon`` > 0 each action is, with that probability, the random
agent's instead (the agent is still asked every period, so an agent that
plans ahead keeps its own plan): the usual "medium" mixture between an
expert and the random policy. The coin and the random actions come from the
random agent's generator, seeded ``seed + 1``.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gtmgym.agents.base import Agent, decision_info
from gtmgym.agents.registry import agent_class, fitted_to_budget, make
from gtmgym.envs import ENV_ID
from gtmgym.envs.market_expansion import ScenarioSource, configured_scenario
from gtmgym.offline import RecordError

NAMESPACE = "gtmgym"
# Minari's default layout: <datasets root>/<dataset id>/data/
DATASETS_ROOT = "MINARI_DATASETS_PATH"
# the info entries that are not figures of a period (the state is no record:
# an object, not numbers, and not part of the environment's interface)
NOT_RECORDED = ("state",)


def record(
    scenario: ScenarioSource | None = "default",
    agent: str | Agent = "planner",
    episodes: int = 10,
    out: str | Path = "datasets",
    *,
    seed: int = 0,
    epsilon: float = 0.0,
    dataset_id: str | None = None,
    action_mode: str | None = None,
    train_steps: int = 0,
    hyperparameters: dict[str, Any] | None = None,
    force: bool = False,
) -> Any:
    """Record ``episodes`` episodes of ``agent`` on ``scenario`` into ``out``.

    Args:
        scenario: a bundled scenario name, a path, a Scenario or a mapping
            (``None`` with an Agent: the agent's own).
        agent: an agent name (built with its tuned defaults and
            ``hyperparameters``, trained for ``train_steps`` if it learns) or
            an Agent, e.g. one restored with :func:`gtmgym.agents.load`.
        episodes: how many episodes.
        out: the datasets root; the dataset goes to ``out/<dataset_id>/``.
        seed: the agent's seed; episode ``k`` is reset with ``seed + k``.
        epsilon: the probability of a random action instead of the agent's.
        dataset_id: Minari's id (default
            ``gtmgym/<scenario>/<agent>[-eps<epsilon>]-v0``).
        action_mode: the agent's action mode (default: its usual one).
        force: replace a dataset already at ``out/<dataset_id>``.

    Returns:
        The ``minari.MinariDataset``; ``minari.load_dataset(dataset_id)``
        reads it back with ``MINARI_DATASETS_PATH=out``.

    Raises:
        RecordError: Minari is missing, an unknown or untrained agent, a bad
            count, or a dataset already there (the message says which).
    """
    _check_counts(episodes, epsilon, train_steps, seed)
    minari = _import_minari()
    policy = _policy(scenario, agent, seed, action_mode, train_steps, hyperparameters or {})
    label = policy.name if epsilon == 0 else f"{policy.name}-eps{epsilon:g}".replace(".", "_")
    dataset_id = dataset_id or f"{NAMESPACE}/{policy.scenario.name}/{label}-v0"
    root = Path(out)
    _make_room(minari, root, dataset_id, force)
    env = gym.make(
        ENV_ID, scenario=policy.scenario.model_dump(mode="json"), action_mode=policy.action_mode
    )
    noise = None
    if epsilon > 0:
        noise = make("random", policy.scenario, seed=seed + 1, action_mode=policy.action_mode)
    buffers = [_episode(env, policy, noise, epsilon, seed + k, k, minari) for k in range(episodes)]
    mixture = f" with a random action at probability {epsilon:g}" if epsilon else ""
    with _datasets_root(root), warnings.catch_warnings():
        # Minari asks for an author, e-mail and code link we do not have
        warnings.filterwarnings("ignore", message=r"`\w+` is set to None", category=UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=env,
            eval_env=env,
            algorithm_name=f"gtmgym {label}",
            description=f"gtmgym: {episodes} episodes of agent {policy.name}{mixture} on "
            f"scenario {policy.scenario.name} ({policy.action_mode} actions), episode k "
            f"reset with seed {seed} + k.",
        )
    env.close()
    return dataset


def dataset_path(out: str | Path, dataset_id: str) -> Path:
    """The folder of dataset ``dataset_id`` under the datasets root ``out``."""
    return Path(out) / dataset_id


def _check_counts(episodes: int, epsilon: float, train_steps: int, seed: int) -> None:
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise RecordError(f"episodes must be a whole number of at least 1, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise RecordError(f"seed must be a whole number of 0 or more, got {seed!r}")
    if not 0.0 <= epsilon <= 1.0:
        raise RecordError(f"epsilon must be in [0, 1], got {epsilon!r}")
    if train_steps < 0:
        raise RecordError(f"train_steps must be 0 or more, got {train_steps!r}")


def _import_minari() -> Any:
    try:
        import minari
    except ImportError:
        raise RecordError("recording needs Minari: pip install 'gtmgym[offline]'") from None
    return minari


def _policy(
    scenario: ScenarioSource | None,
    agent: str | Agent,
    seed: int,
    action_mode: str | None,
    train_steps: int,
    hyperparameters: dict[str, Any],
) -> Agent:
    """The agent to record, built and trained if given by name."""
    if isinstance(agent, Agent):
        if train_steps or hyperparameters or action_mode:
            raise RecordError(
                f"a given agent ({agent.name!r}) is recorded as it is: training steps, "
                "hyperparameters and an action mode are for an agent given by name"
            )
        given = None if scenario is None else configured_scenario(scenario, None)
        if given is not None and given != agent.scenario:
            raise RecordError(
                f"agent {agent.name!r} was built for scenario {agent.scenario.name!r}, "
                f"not for {given.name!r}"
            )
        return agent
    try:
        learns = agent_class(agent).learns
    except ValueError as error:
        raise RecordError(str(error)) from None
    if learns and train_steps == 0:
        raise RecordError(
            f"agent {agent!r} learns before it acts: give it training steps "
            "(--train-steps N) or a saved agent (--load FOLDER)"
        )
    if train_steps and not learns:
        raise RecordError(f"agent {agent!r} learns nothing: training steps are for one that does")
    resolved = configured_scenario("default" if scenario is None else scenario, None)
    if learns:
        hyperparameters = (
            fitted_to_budget(agent, resolved.name, train_steps, hyperparameters) | hyperparameters
        )
    try:
        policy = make(agent, resolved, seed=seed, action_mode=action_mode, **hyperparameters)
        if learns:
            policy.check_budget(train_steps)
    except ValueError as error:
        raise RecordError(str(error)) from None
    if learns:
        policy.learn(train_steps)
    return policy


def _make_room(minari: Any, root: Path, dataset_id: str, force: bool) -> None:
    try:
        minari.dataset.minari_dataset.parse_dataset_id(dataset_id)
    except ValueError:
        raise RecordError(
            f"{dataset_id!r} is no Minari dataset id (namespace/name-vN, letters, digits, - and _)"
        ) from None
    if root.exists() and not root.is_dir():
        raise RecordError(f"{root}: not a folder")
    target = dataset_path(root, dataset_id)
    if target.exists() and any(target.iterdir()):
        if not force:
            raise RecordError(
                f"{target} already holds a dataset; --force replaces it, --dataset-id names another"
            )
        shutil.rmtree(target)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RecordError(f"{root}: cannot write the datasets folder: {error}") from None


@contextmanager
def _datasets_root(root: Path) -> Iterator[None]:
    """Minari reads its datasets root from the environment alone."""
    before = os.environ.get(DATASETS_ROOT)
    os.environ[DATASETS_ROOT] = str(root.resolve())
    try:
        yield
    finally:
        if before is None:
            del os.environ[DATASETS_ROOT]
        else:
            os.environ[DATASETS_ROOT] = before


def _episode(
    env: gym.Env,
    agent: Agent,
    noise: Agent | None,
    epsilon: float,
    env_seed: int,
    episode_id: int,
    minari: Any,
) -> Any:
    agent.reset()
    observation, info = env.reset(seed=env_seed)
    observations, infos = [observation], [info]
    actions, rewards, terminations, truncations = [], [], [], []
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(observation, decision_info(agent, env, info))
        if noise is not None and noise.rng.random() < epsilon:
            action = noise.act(observation, info)
        observation, reward, terminated, truncated, info = env.step(action)
        observations.append(observation)
        actions.append(action)
        rewards.append(float(reward))
        terminations.append(bool(terminated))
        truncations.append(bool(truncated))
        infos.append(info)
    return minari.data_collector.EpisodeBuffer(
        id=episode_id,
        seed=env_seed,
        observations=np.stack(observations),
        actions=np.stack([np.asarray(action) for action in actions]),
        rewards=rewards,
        terminations=terminations,
        truncations=truncations,
        infos=recorded_infos(infos),
    )


def recorded_infos(infos: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The numeric entries of an episode's infos, one row per observation.

    The keys are those of a step's info (the reset's info has fewer: no
    period played yet); where the reset's info lacks a key, its row is NaN,
    or False for a flag.
    """
    last = infos[-1]
    keys = [
        key
        for key, value in last.items()
        if key not in NOT_RECORDED and np.asarray(value).dtype.kind in "biuf"
    ]
    table = {}
    for key in keys:
        template = np.asarray(last[key])
        if template.dtype == bool:
            blank = np.zeros_like(template)
        else:
            blank = np.full(template.shape, np.nan)
        rows = [np.asarray(info[key]) if key in info else blank for info in infos]
        table[key] = np.stack(rows)
    if "action_mask" in table:
        table["action_mask"] = table["action_mask"].astype(bool)
    return table
