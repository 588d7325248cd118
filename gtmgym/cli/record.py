"""``gtmgym record``: episodes of an agent as a Minari dataset for offline RL."""

from __future__ import annotations

import argparse

from gtmgym.cli.simulate import seed_number


def register(commands: argparse._SubParsersAction) -> None:
    record = commands.add_parser(
        "record",
        help="record an agent's episodes as a Minari dataset (offline RL)",
        description="Play an agent (or a saved one, --load) on a scenario and write its "
        "episodes as a Minari dataset under --out: observations, actions, rewards, "
        "terminations, truncations, and the action mask and the period's figures in infos. "
        "--epsilon mixes in random actions. Needs the offline extra.",
    )
    record.add_argument("scenario", help="bundled scenario name or YAML path")
    record.add_argument("--agent", default="planner", help="agent name (default planner)")
    record.add_argument("--load", metavar="FOLDER", help="a saved agent instead of --agent")
    record.add_argument("--episodes", type=int, default=10, help="episodes (default 10)")
    record.add_argument(
        "--out", default="datasets", help="datasets root, MINARI_DATASETS_PATH (default datasets)"
    )
    record.add_argument(
        "--seed", type=seed_number, default=0, help="episode k is reset with seed + k (default 0)"
    )
    record.add_argument(
        "--epsilon",
        type=float,
        default=0.0,
        help="probability of a random action instead of the agent's (default 0)",
    )
    record.add_argument(
        "--train-steps", type=int, default=0, help="training steps for an agent that learns"
    )
    record.add_argument(
        "--action-mode", choices=["continuous", "discrete", "multidiscrete"], default=None
    )
    record.add_argument(
        "--dataset-id", help="Minari id (default gtmgym/<scenario>/<agent>[-eps<e>]-v0)"
    )
    record.add_argument("--force", action="store_true", help="replace a dataset of the same id")
    record.set_defaults(handler=record_command)


def record_command(arguments: argparse.Namespace) -> int:
    from gtmgym.offline import RecordError, record

    agent = arguments.agent
    if arguments.load is not None:
        from gtmgym.agents.registry import load

        try:
            agent = load(arguments.load)
        except (ValueError, OSError) as error:
            raise RecordError(f"--load: {error}") from None
    dataset = record(
        arguments.scenario,
        agent,
        arguments.episodes,
        arguments.out,
        seed=arguments.seed,
        epsilon=arguments.epsilon,
        dataset_id=arguments.dataset_id,
        action_mode=arguments.action_mode,
        train_steps=arguments.train_steps,
        force=arguments.force,
    )
    dataset_id = dataset.spec.dataset_id
    returns = [float(episode.rewards.sum()) for episode in dataset.iterate_episodes()]
    print(
        f"{dataset_id}: {dataset.total_episodes} episodes, {dataset.total_steps} steps, "
        f"mean return {sum(returns) / len(returns):.3f}"
    )
    print(f"in {arguments.out}/{dataset_id}/; read it back with")
    print(f"  MINARI_DATASETS_PATH={arguments.out} python -c \"import minari; "
          f"print(minari.load_dataset('{dataset_id}'))\"")  # fmt: skip
    return 0
