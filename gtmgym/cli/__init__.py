"""The ``gtmgym`` command line: one module per group of commands.

User mistakes (an invalid file, an unknown agent, an unwritable folder) end
with a one-paragraph message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gtmgym.calibration import CalibrationError
from gtmgym.cli import calibration, experiments, record, scenarios, simulate
from gtmgym.envs.actions import InvalidActionError
from gtmgym.envs.loader import ScenarioError
from gtmgym.experiments.config import ExperimentError
from gtmgym.experiments.store import OutputError
from gtmgym.offline import RecordError

USER_ERRORS = (
    ScenarioError,
    ExperimentError,
    OutputError,
    InvalidActionError,
    CalibrationError,
    RecordError,
)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class UserError(Exception):
    """A mistake in what the user asked for; the message says which."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtmgym",
        description="Train and benchmark budget-allocation policies for market expansion.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (scenarios, simulate, experiments, calibration, record):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)  # to print a resume command
    try:
        return arguments.handler(arguments) or 0
    except (*USER_ERRORS, UserError) as error:
        print(f"gtmgym {arguments.command}: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM during `gtmgym run`
        what_is_kept = f"; {interrupt}" if str(interrupt) else ""
        print(f"gtmgym {arguments.command}: interrupted{what_is_kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
