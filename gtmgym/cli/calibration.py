"""``gtmgym synthesize`` and ``calibrate``: scenarios from a company's data."""

from __future__ import annotations

import argparse
from pathlib import Path

from gtmgym.calibration import CalibrationError, calibrate, synthesize
from gtmgym.calibration.calibrate import draws_folder
from gtmgym.calibration.synthesis import SPEND_FORMS, TABLE_FORMATS


def register(commands: argparse._SubParsersAction) -> None:
    make_data = commands.add_parser(
        "synthesize", help="customer and spend tables (and a calibration file) from a scenario"
    )
    make_data.add_argument("scenario", help="bundled scenario name or YAML path")
    make_data.add_argument("--periods", type=int, required=True, help="periods of history")
    make_data.add_argument("--seed", type=int, default=0)
    make_data.add_argument("--out", required=True, metavar="DIR")
    make_data.add_argument(
        "--format", choices=TABLE_FORMATS, default="csv", help="the tables' file format"
    )
    make_data.add_argument(
        "--spend-form", choices=SPEND_FORMS, default="long",
        help="long: a row per period, channel and segment; wide: a dated row per week "
        "(and segment), a spend column per channel, the wins over all channels",
    )  # fmt: skip
    make_data.set_defaults(handler=synthesize_command)

    fit = commands.add_parser(
        "calibrate", help="a scenario from a customer table and a spend history"
    )
    fit.add_argument("calibration", metavar="CALIBRATION.yaml")
    fit.add_argument("--out", required=True, metavar="SCENARIO.yaml")
    fit.add_argument(
        "--report", metavar="DIR", help="also write report.md, its plots and segments.csv"
    )
    fit.add_argument(
        "--draws", type=int, default=0, metavar="K",
        help="also write K scenarios drawn by a bootstrap (and 90%% intervals in the report)",
    )  # fmt: skip
    fit.add_argument("--seed", type=int, default=0, help="seeds the bootstrap")
    fit.add_argument(
        "--jobs", type=int, default=None,
        help="worker processes for the bootstrap draws (default: cores; same draws for any)",
    )  # fmt: skip
    fit.set_defaults(handler=calibrate_command)


def synthesize_command(arguments: argparse.Namespace) -> int:
    if arguments.periods < 1:
        raise CalibrationError(f"--periods must be at least 1, got {arguments.periods}")
    folder = synthesize(
        arguments.scenario, arguments.periods, arguments.seed, arguments.out,
        spend_form=arguments.spend_form, table_format=arguments.format,
    )  # fmt: skip
    suffix = arguments.format
    print(f"wrote {folder}/customers.{suffix}, spend.{suffix} and calibration.yaml")
    return 0


def calibrate_command(arguments: argparse.Namespace) -> int:
    if arguments.draws < 0:
        raise CalibrationError(f"--draws must be 0 or more, got {arguments.draws}")
    if arguments.jobs is not None and arguments.jobs < 1:
        raise CalibrationError(f"--jobs must be at least 1, got {arguments.jobs}")
    result = calibrate(
        arguments.calibration, arguments.out, arguments.report, arguments.draws, arguments.seed,
        arguments.jobs,
    )  # fmt: skip
    print(
        f"wrote {arguments.out} (R^2 {result.response.r_squared:.3f} of customers won); "
        f"check it with: gtmgym validate {arguments.out}"
    )
    if arguments.draws:
        print(f"{arguments.draws} bootstrap draws in {draws_folder(Path(arguments.out))}/")
    if arguments.report:
        print(
            f"report in {arguments.report}/ (report.md, fit.png, response.png, segments.png, "
            "segments.csv)"
        )
    return 0
