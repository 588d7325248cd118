"""``gtmgym simulate``: one rollout of a scenario, printed period by period
(and, with ``--video``, drawn frame by frame into a GIF or an MP4)."""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

from gtmgym.agents.base import decision_info
from gtmgym.agents.registry import agent_class, make
from gtmgym.envs import ENV_ID
from gtmgym.envs.market_expansion import MarketExpansionEnv

POLICIES = ("equal", "random", "proportional", "greedy", "lp", "ansoff", "planner")


def register(commands: argparse._SubParsersAction) -> None:
    simulate = commands.add_parser("simulate", help="print a rollout period by period")
    simulate.add_argument("scenario", help="bundled scenario name or YAML path")
    simulate.add_argument(
        "--policy", default="equal", help=f"a fixed policy: {', '.join(POLICIES)} (default equal)"
    )
    simulate.add_argument(
        "--seed", type=seed_number, default=0, help="seeds the env and the policy (default 0)"
    )
    simulate.add_argument(
        "--action-mode", choices=["continuous", "discrete", "multidiscrete"], default=None
    )
    simulate.add_argument(
        "--noise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="override the scenario's noise switch",
    )
    simulate.add_argument(
        "--video",
        type=video_path,
        default=None,
        metavar="FILE",
        help="also draw the episode, one frame per period plus the start, into FILE "
        "(.gif with Pillow; .mp4 needs the video extra)",
    )
    simulate.set_defaults(handler=simulate_rollout)


def seed_number(text: str) -> int:
    """A seed as argparse reads it: a whole number >= 0 (what numpy accepts)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a whole number, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"seed must be 0 or more, got {seed}")
    return seed


def video_path(text: str) -> Path:
    """A video file as argparse reads it: a path ending in .gif or .mp4."""
    from gtmgym.envs.rendering import VIDEO_SUFFIXES

    path = Path(text)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"video must end in {' or '.join(VIDEO_SUFFIXES)}, got {text!r}"
        )
    return path


def simulate_rollout(arguments: argparse.Namespace) -> int:
    from gtmgym.cli import UserError

    env = gym.make(
        ENV_ID,
        scenario=arguments.scenario,
        action_mode=arguments.action_mode,
        noise=arguments.noise,
        render_mode=None if arguments.video is None else "rgb_array",
    )
    model = env.unwrapped
    try:
        if agent_class(arguments.policy).learns:  # untrained, it shows a policy nobody uses
            raise UserError(
                f"agent {arguments.policy!r} learns before it acts; simulate runs the fixed "
                f"policies ({', '.join(POLICIES)}); train and evaluate it with `gtmgym run` "
                "(an experiment file naming it, or a scenario and --agents)"
            )
        agent = make(
            arguments.policy, model.scenario, seed=arguments.seed, action_mode=model.action_mode
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    agent.reset()
    segments = model.scenario.segment_names
    print(
        f"{model.scenario.name}: policy {arguments.policy}, seed {arguments.seed}, "
        f"{model.action_mode} actions, noise {'on' if model.params.noise else 'off'}"
    )
    header = f"{'period':>6}  {'spend':>9}  {'revenue':>10}  {'profit':>10}  {'reward':>8}  "
    widths = [max(12, len(name)) for name in segments]
    print(
        header
        + "  ".join(f"{name:>{width}}" for name, width in zip(segments, widths, strict=True))
        + "  decision"
    )
    observation, info = env.reset(seed=arguments.seed)
    frames = [env.render()] if arguments.video else []
    total = profit = 0.0
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(observation, decision_info(agent, env, info))
        observation, reward, terminated, truncated, info = env.step(action)
        if arguments.video:
            frames.append(env.render())
        total += reward
        profit += info["profit"]
        customers = "  ".join(
            f"{c:>{width},.0f}" for c, width in zip(info["customers"], widths, strict=True)
        )
        print(
            f"{info['period']:>6}  {np.sum(info['spend']):>9,.1f}  "
            f"{np.sum(info['revenue']):>10,.1f}  {info['profit']:>10,.1f}  {reward:>8.3f}  "
            f"{customers}  {_decision(model, action, info)}"
        )
    print(f"return {total:.3f}; profit {profit:,.1f}; market share {info['market_share']:.2%}")
    if arguments.video:
        _write_video(frames, arguments.video)
    return 0


def _write_video(frames: list[np.ndarray], path: Path) -> None:
    from gtmgym.cli import UserError
    from gtmgym.envs.rendering import save_video

    try:
        save_video(frames, path, fps=MarketExpansionEnv.metadata["render_fps"])
    except (ImportError, OSError) as error:
        raise UserError(f"cannot write {path}: {error}") from None
    print(f"video: {len(frames)} frames in {path}")


def _decision(model, action, info) -> str:
    notes = []
    if model.action_mode == "discrete":
        notes.append(model.codec.entries[int(action)].label)
    entered = [
        name
        for name, flag in zip(model.scenario.segment_names, info["entered"], strict=True)
        if flag
    ]
    if entered:
        notes.append("entered " + ", ".join(entered))
    blocked = float(np.sum(info["blocked_spend"]))
    if blocked > 1e-9:
        notes.append(f"{blocked:,.1f} not spent (segment not selling or channel limits)")
    return "; ".join(notes)
