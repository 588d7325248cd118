"""No stale compiled code: after a model file changes, every caller runs the change.

A copy of the package is compiled once (filling its numba cache), then
``reward.py`` is edited in the copy. The environment's step (``transition.py``,
which calls the reward compiled into it) and the planners' path
(``dynamics.step`` then ``reward()``) must both pay the new reward in a fresh
process, though ``transition.py`` itself did not change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gtmgym

PLAY = """
import json
import gymnasium as gym
import numpy as np
import gtmgym
from gtmgym.envs import dynamics
from gtmgym.envs.reward import reward

env = gym.make(gtmgym.ENV_ID, scenario="tabular", noise=False, action_mode="discrete").unwrapped
env.reset(seed=0)
info = env._last_info
state = info["state"]
shares, enter = env.codec.decide_one(1, info["selling"])
_, figures = dynamics.step(env.params, state, shares, enter, None)
_, paid, *_ = env.step(1)
print(json.dumps({"file": gtmgym.__file__, "env": float(paid),
                  "planner": float(reward(env.params, figures)[0])}))
"""
RETURN_LINE = "    return value - settings[BANKRUPTCY_PENALTY] * figures[f[fig.BANKRUPT]]\n"


def play(package_parent: Path) -> dict:
    environment = os.environ | {"PYTHONPATH": str(package_parent)}
    environment.pop("NUMBA_CACHE_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", PLAY], capture_output=True, text=True, env=environment,
        cwd=package_parent, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_editing_one_model_file_recompiles_every_caller(tmp_path):
    copy = tmp_path / "gtmgym"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(gtmgym.__file__).parent, copy, ignore=ignore)
    before = play(tmp_path)
    assert before["file"] == str(copy / "__init__.py")
    assert before["env"] == before["planner"]
    assert any((copy / "envs" / "__pycache__").glob("transition.*.nbi"))  # it was cached

    reward_file = copy / "envs" / "reward.py"
    source = reward_file.read_text()
    assert RETURN_LINE in source
    reward_file.write_text(source.replace(RETURN_LINE, RETURN_LINE.rstrip() + " + 1000.0\n"))
    after = play(tmp_path)
    assert after["planner"] == before["planner"] + 1000.0
    assert after["env"] == before["env"] + 1000.0  # transition.py's cached code went stale too
