"""The outside tools of docs/ecosystem.md that no other test file runs:
Gymnasium's standard wrappers, SB3's VecNormalize and EvalCallback, and a
CleanRL-style DQN loop written from scratch on Gymnasium's SyncVectorEnv."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import wrappers
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

import gtmgym  # noqa: F401 - registers the env
from gtmgym.envs import ENV_ID

WRAPPERS = {
    "TimeLimit": lambda env: wrappers.TimeLimit(env, max_episode_steps=5),
    "RecordEpisodeStatistics": wrappers.RecordEpisodeStatistics,
    "NormalizeObservation": wrappers.NormalizeObservation,
    "NormalizeReward": wrappers.NormalizeReward,
    "ClipReward": lambda env: wrappers.ClipReward(env, -1.0, 1.0),
    "FrameStackObservation": lambda env: wrappers.FrameStackObservation(env, 3),
    "FlattenObservation": wrappers.FlattenObservation,
    "TransformObservation": lambda env: wrappers.TransformObservation(
        env, lambda obs: obs * 2.0, env.observation_space
    ),
}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_gymnasium_wrappers_play_an_episode(name):
    env = WRAPPERS[name](gym.make(ENV_ID, scenario="tabular"))
    observation, info = env.reset(seed=0)
    steps, done = 0, False
    while not done:
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.all(np.isfinite(observation)) and np.isfinite(reward)
        done = terminated or truncated
        steps += 1
    assert steps == (5 if name == "TimeLimit" else gtmgym.load_scenario("tabular").periods)
    if name == "RecordEpisodeStatistics":
        assert info["episode"]["l"] == steps


def test_sb3_vec_normalize_and_eval_callback_train_ppo(tmp_path):
    kwargs = {"scenario": "tabular"}
    env = VecNormalize(make_vec_env(ENV_ID, n_envs=2, seed=0, env_kwargs=kwargs))
    evaluation = VecNormalize(
        make_vec_env(ENV_ID, n_envs=1, seed=1, env_kwargs=kwargs), training=False, norm_reward=False
    )
    callback = EvalCallback(
        evaluation, eval_freq=64, n_eval_episodes=2, log_path=str(tmp_path), verbose=0
    )
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(256, callback=callback)
    assert callback.evaluations_results  # evaluated during training
    assert np.isfinite(callback.last_mean_reward)
    assert (tmp_path / "evaluations.npz").is_file()


def test_a_cleanrl_style_dqn_loop_trains_on_sync_vector_env():
    """CleanRL's dqn.py in miniature: SyncVectorEnv with RecordEpisodeStatistics,
    SB3's ReplayBuffer, epsilon-greedy, a target network, next-step autoreset
    (whose reset steps, a terminal observation to a first one, are kept in the
    buffer here for brevity; CleanRL drops them)."""
    torch.manual_seed(0)
    envs = gym.vector.SyncVectorEnv(
        [
            lambda: wrappers.RecordEpisodeStatistics(gym.make(ENV_ID, scenario="tabular"))
            for _ in range(2)
        ]
    )
    n_actions = envs.single_action_space.n
    width = envs.single_observation_space.shape[0]
    q_network = torch.nn.Sequential(
        torch.nn.Linear(width, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_actions)
    )
    target = torch.nn.Sequential(
        torch.nn.Linear(width, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_actions)
    )
    target.load_state_dict(q_network.state_dict())
    optimiser = torch.optim.Adam(q_network.parameters(), lr=1.0e-3)
    buffer = ReplayBuffer(
        500,
        envs.single_observation_space,
        envs.single_action_space,
        "cpu",
        n_envs=2,
        handle_timeout_termination=False,
    )
    rng = np.random.default_rng(0)
    observations, _ = envs.reset(seed=0)
    returns, losses = [], []
    for step in range(300):
        if rng.random() < max(0.05, 1.0 - step / 200):
            actions = envs.action_space.sample()
        else:
            with torch.no_grad():
                actions = q_network(torch.as_tensor(observations)).argmax(1).numpy()
        following, rewards, terminations, truncations, infos = envs.step(actions)
        if "episode" in infos:
            returns += list(infos["episode"]["r"][infos["_episode"]])
        buffer.add(observations, following, actions, rewards, terminations, [{}, {}])
        observations = following
        if step >= 50:
            batch = buffer.sample(32)
            with torch.no_grad():
                best = target(batch.next_observations).max(1).values
                goal = batch.rewards.flatten() + 0.99 * best * (1 - batch.dones.flatten())
            value = q_network(batch.observations).gather(1, batch.actions).squeeze()
            loss = torch.nn.functional.mse_loss(value, goal)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            if step % 50 == 0:
                target.load_state_dict(q_network.state_dict())
    envs.close()
    assert len(returns) >= 60  # 600 env steps of 8-period episodes, less the autoreset steps
    assert np.all(np.isfinite(returns)) and np.all(np.isfinite(losses))
