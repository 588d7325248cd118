"""No stale compiled code: after a model file changes, every caller runs the change.

The package's callers are compiled here (or loaded from its numba cache) and
the package is copied with its cache, so that a fresh process on the copy
loads every caller cached; then the kernel's ``reward.py`` is edited in the
copy. The environment's step and the
planners' call of ``kernel.advance`` both run ``advance.py``'s compiled code,
which calls the reward compiled into it: they must both pay the new reward in
a fresh process, though ``advance.py`` itself did not change, and so must the
vector environment's parallel batch.
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
from gtmgym.envs import kernel

env = gym.make(gtmgym.ENV_ID, scenario="tabular", noise=False, action_mode="discrete").unwrapped
env.reset(seed=0)
state = env.state
shares, enter = env.codec.decide_one(1, env.state.selling[0])
planned = kernel.advance(env.params.kernel, state, shares, enter).reward[0]
_, paid, *_ = env.step(1)
envs = gym.make_vec(gtmgym.ENV_ID, num_envs=kernel.advance.__globals__["PARALLEL_FROM"],
                    vectorization_mode="vector_entry_point", scenario="tabular", noise=False,
                    action_mode="discrete")
envs.reset(seed=0)
_, batch, *_ = envs.step(np.ones(envs.num_envs, dtype=np.int64))
print(json.dumps({"file": gtmgym.__file__, "env": float(paid), "planner": float(planned),
                  "vector": float(batch[-1])}))
"""
RETURN_LINE = "    return value\n"


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
    exec(PLAY, {})  # fills this package's cache with every caller the play compiles
    copy = tmp_path / "gtmgym"
    shutil.copytree(Path(gtmgym.__file__).parent, copy)  # with __pycache__: mtimes kept
    before = play(tmp_path)
    assert before["file"] == str(copy / "__init__.py")
    assert before["env"] == before["planner"] == before["vector"]
    assert any((copy / "envs" / "kernel" / "__pycache__").glob("advance.*.nbi"))  # it was cached

    reward_file = copy / "envs" / "kernel" / "reward.py"
    source = reward_file.read_text()
    assert RETURN_LINE in source
    reward_file.write_text(source.replace(RETURN_LINE, RETURN_LINE.rstrip() + " + 1000.0\n"))
    after = play(tmp_path)
    assert after["planner"] == before["planner"] + 1000.0
    assert after["env"] == before["env"] + 1000.0  # advance.py's cached code went stale too
    assert after["vector"] == before["vector"] + 1000.0
