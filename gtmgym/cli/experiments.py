"""``gtmgym run``, ``report`` and ``compare``: multi-seed comparisons."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gtmgym.experiments.config import Experiment, ExperimentError, load_experiment
from gtmgym.experiments.report import (
    AGGREGATE_HEADER,
    SHORT_SUMMARY_HEADER,
    aggregate_rows,
    build_report,
    read_table,
    significant_decimals,
    summary_rows,
    yardstick_note,
    yardstick_warning,
)
from gtmgym.experiments.runner import RunObserver, run_experiment
from gtmgym.experiments.store import UNITS, OutputError, RunStore


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="compare agents over seeds on an experiment or scenario",
        description="Run an experiment (bundled name or YAML file) or the default experiment's "
        "agents on a scenario; writes tidy CSVs, summary, report and plots to --out. "
        "Re-running the same command on the same --out resumes.",
    )
    run.add_argument(
        "experiment",
        nargs="?",
        default="default",
        help="bundled experiment, experiment YAML, or scenario (default: default)",
    )
    run.add_argument(
        "--scenario", help="run the experiment's agents on this scenario (bundled name or YAML)"
    )
    run.add_argument("--agents", help="comma-separated agents to keep (e.g. planner,equal)")
    run.add_argument("--seeds", type=int, help="number of seeds")
    run.add_argument("--steps", type=int, help="training steps per run")
    run.add_argument("--eval-episodes", type=int, help="evaluation episodes per run")
    run.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    run.add_argument("--out", help="output folder (default: runs/<experiment>__<timestamp>)")
    run.add_argument("--executor", choices=["local", "ray"], default="local")
    run.add_argument("--address", help="Ray cluster address (with --executor ray)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="TensorBoard logs of the agents that learn, a folder per run in DIR "
        "(SB3's own scalars; Q-learning's return, epsilon and TD error); "
        "needs the tensorboard extra",
    )
    run.set_defaults(handler=run_command)

    report = commands.add_parser("report", help="rebuild summary, report and plots of a run")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.set_defaults(handler=report_command)

    compare = commands.add_parser("compare", help="put several runs side by side")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    compare.set_defaults(handler=compare_command)


def run_command(arguments: argparse.Namespace) -> int:
    for option in ("seeds", "steps", "eval_episodes", "jobs"):
        value = getattr(arguments, option)
        if value is not None and value < (0 if option == "steps" else 1):
            raise ExperimentError(f"--{option.replace('_', '-')} must be positive, got {value}")
    wanted = None
    if arguments.agents is not None:
        wanted = [name.strip() for name in arguments.agents.split(",") if name.strip()]
    experiment = load_experiment(  # validates the wanted agents only
        arguments.experiment,
        {
            "scenario": arguments.scenario,
            "seeds": arguments.seeds,
            "train_steps": arguments.steps,
            "eval_episodes": arguments.eval_episodes,
        },
        agents=wanted,
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(arguments.out or Path("runs") / f"{experiment.name}__{stamp}")
    console = Console(stderr=True)
    console.print(
        f"[bold]{experiment.name}[/]: {len(experiment.agents)} agents x "
        f"{experiment.seeds} seeds on {experiment.scenario_label} -> {out}"
    )
    for note in experiment.notes:
        console.print(f"note: {note}")
    try:
        with _terminate_as_interrupt():
            summary = _run(experiment, out, arguments, console)
    except KeyboardInterrupt:
        finished = len(RunStore(out).finished()) if (out / UNITS).is_dir() else 0
        argv = getattr(arguments, "argv", ["run", arguments.experiment])
        raise KeyboardInterrupt(
            f"the {finished} finished runs are kept in {out / UNITS}; to complete the rest:\n"
            f"  {resume_command(argv, out)}"
        ) from None
    title = (
        experiment.name
        if experiment.is_suite
        else f"{experiment.name} on {experiment.scenario_label}"
    )
    print_summary(summary, title, out)
    console.print(f"results in {out}/ (report.md, summary.csv, episodes.csv, plots)")
    if arguments.tensorboard is not None:
        console.print(f"training logs: tensorboard --logdir {arguments.tensorboard}")
    return 0


def _run(
    experiment: Experiment, out: Path, arguments: argparse.Namespace, console: Console
) -> pd.DataFrame:
    jobs = arguments.jobs or os.cpu_count() or 1
    tensorboard = arguments.tensorboard
    if tensorboard is not None:
        _check_tensorboard()
    if arguments.no_progress:
        return run_experiment(
            experiment, out, arguments.executor, jobs, arguments.address, None, tensorboard
        )
    with ProgressObserver(console) as observer:
        return run_experiment(
            experiment, out, arguments.executor, jobs, arguments.address, observer, tensorboard
        )


def _check_tensorboard() -> None:
    from gtmgym.agents.training_log import require_tensorboard
    from gtmgym.cli import UserError

    try:
        require_tensorboard()
    except ImportError as error:
        raise UserError(f"--tensorboard: {error}") from None


def resume_command(argv: Sequence[str], out: Path) -> str:
    """The command line that completes an interrupted run: ``argv`` (the
    arguments after ``gtmgym``) with ``--out`` naming the folder it used, in
    place of the ``--out`` given (or an abbreviation argparse took for it)."""
    words = list(argv)
    for index, word in enumerate(words):
        option, equals, _ = word.partition("=")
        if len(option) > 2 and "--out".startswith(option):
            given = 1 if equals else 2
            words[index : index + given] = ["--out", str(out)]
            break
    else:
        words += ["--out", str(out)]
    return shlex.join(["gtmgym", *words])


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a run as Ctrl-C does: workers stopped, queues and
    semaphores released, finished runs kept, the resume command printed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def report_command(arguments: argparse.Namespace) -> int:
    run_dir = Path(arguments.run_dir)
    if not run_dir.is_dir():
        raise OutputError(f"{run_dir}: no such run folder")
    summary = build_report(run_dir)
    print_summary(summary, str(run_dir), run_dir)
    print(f"rebuilt {run_dir}/summary.csv, report.md and plots")
    return 0


def compare_command(arguments: argparse.Namespace) -> int:
    frames = []
    for run_dir in map(Path, arguments.run_dirs):
        summary = read_table(run_dir, "summary") if (run_dir / "summary.csv").is_file() else None
        if summary is None:
            summary = build_report(run_dir) if run_dir.is_dir() else None
        if summary is None:
            raise OutputError(f"{run_dir}: no such run folder")
        frames.append(summary.assign(run=run_dir.name))
    combined = pd.concat(frames, ignore_index=True)
    table = Table(title="Runs side by side: IQM return [95% CI] (% of planner)")
    table.add_column("agent")
    runs = list(dict.fromkeys(combined["run"]))
    for run in runs:
        table.add_column(run)
    several = combined["scenario"].nunique() > 1  # suites: a row per scenario and agent
    for scenario, agent in dict.fromkeys(zip(combined["scenario"], combined["agent"], strict=True)):
        cells = []
        for run in runs:
            row = combined[
                (combined["agent"] == agent)
                & (combined["run"] == run)
                & (combined["scenario"] == scenario)
            ]
            cells.append("" if row.empty else _score_cell(row.iloc[0]))
        table.add_row(f"{agent} ({scenario})" if several else agent, *cells)
    Console().print(table)
    for run_dir, summary in zip(arguments.run_dirs, frames, strict=True):
        _print_warning(summary, f"{run_dir}: ")
    return 0


def print_summary(summary: pd.DataFrame, title: str, run_dir: Path | None = None) -> None:
    """The ranked summary, and a warning under it when the yardstick was beaten.

    A suite's summary is printed scenario by scenario, then its aggregate
    across scenarios (``aggregate.csv`` in ``run_dir``).
    """
    scenarios = list(dict.fromkeys(summary["scenario"]))
    aggregate = None if run_dir is None else run_dir / "aggregate.csv"
    if len(scenarios) == 1 and not (aggregate and aggregate.is_file()):
        Console().print(summary_table(summary, title))
    else:
        for scenario in scenarios:
            of_scenario = summary[summary["scenario"] == scenario]
            Console().print(summary_table(of_scenario, f"{title}: scenario {scenario}"))
    if aggregate and aggregate.is_file() and aggregate.stat().st_size > 1:
        table = pd.read_csv(aggregate)
        if len(table):
            Console().print(
                _text_table(
                    AGGREGATE_HEADER,
                    aggregate_rows(table),
                    f"{title}: normalised score across scenarios (0 = random, 1 = planner)",
                )
            )
            Console().print(
                "P(X > Y) for every pair of agents: report.md and improvement.csv", markup=False
            )
    _print_warning(summary)


def _print_warning(summary: pd.DataFrame, prefix: str = "") -> None:
    warning, note = yardstick_warning(summary), yardstick_note(summary)
    if warning:
        Console().print(f"{prefix}Warning. {warning}", style="bold yellow", markup=False)
    if note:
        Console().print(f"{prefix}Note. {note}", markup=False)


def summary_table(summary: pd.DataFrame, title: str) -> Table:
    """The ranked summary for a terminal: returns to four significant digits
    and a frame without side rules, so that it fits 80 columns."""
    returns = summary[["iqm_return", "ci_low", "ci_high", "mean_return"]]
    rows = summary_rows(summary, significant_decimals(returns))
    return _text_table(SHORT_SUMMARY_HEADER, rows, title)


def _text_table(header: list[str], rows: list[list[str]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in header:
        table.add_column(column, justify="left" if column == "agent" else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _score_cell(row: pd.Series) -> str:
    pct = "" if pd.isna(row["pct_of_planner"]) else f" ({row['pct_of_planner']:.1f}%)"
    return f"{row['iqm_return']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]{pct}"


class ProgressObserver(RunObserver):
    """Rich progress bars: the whole experiment, and each run in flight."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.overall: TaskID | None = None
        self.runs: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressObserver:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def started(self, total: int, skipped: int) -> None:
        label = "experiment" + (f" ({skipped} runs already done)" if skipped else "")
        self.overall = self.progress.add_task(label, total=total, completed=skipped)

    def unit_started(self, run_name: str) -> None:
        if run_name not in self.runs:
            self.runs[run_name] = self.progress.add_task(f"  {run_name}", total=100)

    def unit_progress(self, run_name: str, fraction: float) -> None:
        self.unit_started(run_name)
        self.progress.update(self.runs[run_name], completed=100 * fraction)

    def unit_finished(self, run_name: str) -> None:
        if run_name in self.runs:
            self.progress.remove_task(self.runs.pop(run_name))
        if self.overall is not None:
            self.progress.advance(self.overall)
