"""rl-zoo3 hyperparameter files with gtmgym's tuned defaults.

rl-zoo3 (``python -m rl_zoo3.train``) reads its settings from a YAML file
keyed by environment id; without one it falls back to generic defaults (a
million steps, SB3's own settings). The files shipped in
``gtmgym/zoo/hyperparams/<scenario>/<algo>.yml`` hold, for each bundled
scenario and each algorithm rl-zoo3 and gtmgym share (A2C, DQN, PPO), what
``gtmgym.agents.make(algo, scenario)`` builds: the tuned defaults of
``gtmgym/agents/defaults/<algo>.yaml``, the agent's action mode and
``n_envs``, and the scenario in ``env_kwargs``. They are written from those
defaults by :func:`write_hyperparams` (``python -m gtmgym.zoo``), and a test
fails when a file no longer matches them.

rl-zoo3 has no MaskablePPO, so ``maskable_ppo`` has no file here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gtmgym.agents.registry import default_action_mode, tuned_defaults
from gtmgym.envs import ENV_ID
from gtmgym.envs.loader import bundled_scenarios, load_scenario

# gtmgym's SB3 agents that rl-zoo3 also knows, by the same name
ALGORITHMS = ("a2c", "dqn", "ppo")
# the learning-quality protocol's training budget (gtmgym/experiments/bundled)
N_TIMESTEPS = 100_000
HEADER = """\
# rl-zoo3 hyperparameters: gtmgym's tuned {algo} defaults on scenario {scenario}.
# Written by `python -m gtmgym.zoo` from gtmgym/agents/defaults/{algo}.yaml; do
# not edit (tests/test_zoo.py fails when this file and those defaults differ).
#   python -m rl_zoo3.train --algo {algo} --env {env_id} --gym-packages gtmgym \\
#     -conf {file} --device cpu --num-threads 1 \\
#     --eval-env-kwargs scenario:"'{scenario}'" action_mode:"'{action_mode}'"
# (rl-zoo3 2.9 builds its evaluation env from --eval-env-kwargs alone, not
# from env_kwargs below: without them it evaluates on the default scenario.)
"""


def hyperparams_folder() -> Path:
    """The folder the files are shipped in (inside the installed package)."""
    return Path(str(resources.files("gtmgym.zoo").joinpath("hyperparams")))


def hyperparams_file(algo: str, scenario: str = "default") -> Path:
    """The rl-zoo3 file for ``algo`` on bundled ``scenario``.

    Raises:
        ValueError: an algorithm or scenario with no file.
    """
    _check(algo, scenario)
    return hyperparams_folder() / scenario / f"{algo}.yml"


def zoo_hyperparameters(algo: str, scenario: str = "default") -> dict[str, Any]:
    """What the file for ``algo`` on ``scenario`` holds: ``{ENV_ID: settings}``,
    the settings being rl-zoo3's keys (``n_timesteps``, ``policy``,
    ``n_envs``, ``env_kwargs``) and then the algorithm's keyword arguments."""
    _check(algo, scenario)
    settings = tuned_defaults(algo, scenario)
    action_mode = default_action_mode(algo, load_scenario(scenario))
    zoo = {
        "n_timesteps": N_TIMESTEPS,
        "policy": settings.pop("policy", "MlpPolicy"),
        "n_envs": settings.pop("n_envs", 1),
        "env_kwargs": {"scenario": scenario, "action_mode": action_mode},
    }
    settings.pop("progress_bar", None)  # gtmgym's own display setting, not SB3's
    return {ENV_ID: zoo | settings}


def write_hyperparams(folder: str | Path | None = None) -> list[Path]:
    """Write every file (into the package's folder unless ``folder`` is given)."""
    root = Path(folder) if folder is not None else hyperparams_folder()
    written = []
    for scenario in bundled_scenarios():
        for algo in ALGORITHMS:
            path = root / scenario / f"{algo}.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file_text(algo, scenario), encoding="utf-8")
            written.append(path)
    return written


def file_text(algo: str, scenario: str) -> str:
    """The text of the file for ``algo`` on ``scenario``, header included."""
    settings = zoo_hyperparameters(algo, scenario)
    header = HEADER.format(
        algo=algo,
        action_mode=settings[ENV_ID]["env_kwargs"]["action_mode"],
        scenario=scenario,
        env_id=ENV_ID,
        file=f"gtmgym/zoo/hyperparams/{scenario}/{algo}.yml",
    )
    body = yaml.safe_dump(settings, sort_keys=False)
    return header + body


def _check(algo: str, scenario: str) -> None:
    if algo not in ALGORITHMS:
        raise ValueError(
            f"no rl-zoo3 file for {algo!r}; rl-zoo3 and gtmgym share {', '.join(ALGORITHMS)}"
        )
    if scenario not in bundled_scenarios():
        raise ValueError(
            f"no rl-zoo3 file for scenario {scenario!r}; bundled: {', '.join(bundled_scenarios())}"
        )
