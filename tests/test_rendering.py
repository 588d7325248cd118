"""The ``rgb_array`` render mode, SB3's ``make_vec_env``, RecordVideo and
``gtmgym simulate --video``."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import RecordVideo
from PIL import Image
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import gtmgym
from gtmgym.cli import main


def drawn_env(scenario: str = "tabular") -> gym.Env:
    return gym.make(gtmgym.ENV_ID, scenario=scenario, render_mode="rgb_array")


def test_a_frame_is_an_rgb_picture_that_changes_between_periods(scenario_name):
    env = drawn_env(scenario_name)
    env.reset(seed=0)
    start = env.render()
    assert start.dtype == np.uint8 and start.ndim == 3 and start.shape[2] == 3
    assert start.shape[0] >= 200 and start.shape[1] >= 200
    assert len(np.unique(start.reshape(-1, 3), axis=0)) > 2  # drawn, not blank
    env.step(env.action_space.sample())
    after = env.render()
    assert after.shape == start.shape
    assert (after != start).any()


def test_ansi_still_prints_the_period():
    env = gym.make(gtmgym.ENV_ID, scenario="tabular", render_mode="ansi")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert env.render().startswith("period 1/8")


def test_an_unknown_render_mode_is_refused():
    with pytest.raises(ValueError, match="rgb_array"):
        gtmgym.MarketExpansionEnv("tabular", render_mode="human")


def test_the_env_checker_gives_no_render_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(drawn_env().unwrapped)
        check_env(gym.make(gtmgym.ENV_ID, scenario="tabular").unwrapped)
    assert not [w for w in caught if "render" in str(w.message).lower()], [
        str(w.message) for w in caught
    ]


# Under pytest the workers' interpreters have not imported gtmgym (a script's
# forkserver imports the script's own imports first; see the test below), so
# the id names the module that registers it, as Gymnasium allows.
@pytest.mark.parametrize(
    "env_id, vec_env_cls",
    [(gtmgym.ENV_ID, DummyVecEnv), (f"gtmgym:{gtmgym.ENV_ID}", SubprocVecEnv)],
)
def test_sb3_make_vec_env_builds_and_steps(env_id, vec_env_cls):
    envs = make_vec_env(
        env_id, n_envs=2, seed=0, vec_env_cls=vec_env_cls, env_kwargs={"scenario": "tabular"}
    )
    try:
        observations = envs.reset()
        assert observations.shape == (2, *envs.observation_space.shape)
        actions = np.stack([envs.action_space.sample() for _ in range(2)])
        observations, rewards, _, _ = envs.step(actions)
        assert np.isfinite(rewards).all()
        frames = envs.get_images()  # SB3 asked for rgb_array, and gets it
        assert [frame.shape[2] for frame in frames] == [3, 3]
    finally:
        envs.close()


SCRIPT = """
import numpy as np
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

import gtmgym

if __name__ == "__main__":
    envs = make_vec_env(gtmgym.ENV_ID, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    envs.reset()
    _, rewards, _, _ = envs.step(np.stack([envs.action_space.sample() for _ in range(2)]))
    print("stepped", rewards.shape, envs.get_images()[0].shape)
    envs.close()
"""


def test_a_users_script_runs_make_vec_env_with_subprocesses(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "stepped (2,) (" in result.stdout


def test_record_video_records_an_episode(tmp_path):
    pytest.importorskip("moviepy", reason="RecordVideo needs the video extra")
    from moviepy import VideoFileClip

    env = RecordVideo(
        drawn_env(), video_folder=str(tmp_path / "videos"), episode_trigger=lambda _: True
    )
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(env.action_space.sample())
    env.close()
    (video,) = (tmp_path / "videos").glob("*.mp4")
    with VideoFileClip(str(video)) as clip:
        frames = sum(1 for _ in clip.iter_frames())
    assert frames == env.unwrapped.params.periods + 1  # the start, then every period


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_simulate_writes_one_frame_per_period_and_the_start(tmp_path, capsys, suffix):
    if suffix == ".mp4":
        pytest.importorskip("moviepy", reason="mp4 needs the video extra")
    path = tmp_path / f"episode{suffix}"
    assert main(["simulate", "tabular", "--policy", "equal", "--video", str(path)]) == 0
    periods = gtmgym.load_scenario("tabular").periods
    assert f"video: {periods + 1} frames in {path}" in capsys.readouterr().out
    if suffix == ".gif":
        with Image.open(path) as gif:
            assert gif.n_frames == periods + 1
            assert gif.size[0] >= 200
    else:
        from moviepy import VideoFileClip

        with VideoFileClip(str(path)) as clip:
            assert sum(1 for _ in clip.iter_frames()) == periods + 1


def test_simulate_refuses_a_video_it_cannot_write(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "tabular", "--video", "episode.avi"])
    assert exit_.value.code == 2
    assert ".gif or .mp4" in capsys.readouterr().err
