"""Run every benchmark: `python benchmarks/run.py [--quick] [--only N ...]`.

Each figure is a ratio to a reference measured in the same run (median of at
least 5 repeats after a warm-up), printed beside its target. `--quick` runs
tiny versions so the test suite can check the benchmarks still work; its
figures mean nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import agent_speed  # noqa: E402
import calibration_speed  # noqa: E402
import env_speed  # noqa: E402
import experiment_time  # noqa: E402

BENCHMARKS = {
    1: env_speed.scalar_vs_cartpole,
    2: env_speed.vector_vs_sync,
    3: agent_speed.qlearning_vs_random_rollout,
    4: agent_speed.dqn_vs_cartpole,
    5: agent_speed.planner_time,
    6: experiment_time.bundled_experiment,
    7: experiment_time.learning_quality,
    8: agent_speed.planner_scaling,
    9: calibration_speed.calibration_time,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny versions (smoke test)")
    parser.add_argument("--only", type=int, nargs="+", choices=sorted(BENCHMARKS))
    arguments = parser.parse_args()
    print(
        f"gtmgym benchmarks, {date.today()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}{', quick' if arguments.quick else ''}"
    )
    for number in arguments.only or sorted(BENCHMARKS):
        figures = BENCHMARKS[number](arguments.quick)
        for figure in figures if isinstance(figures, list) else [figures]:
            print(figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
