"""Run an experiment: every (agent, seed) unit, locally or on Ray.

Finished units are written as they complete (see :mod:`.store`), so an
interrupted experiment resumes where it stopped when the same command is run
again on the same output folder.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from gtmgym.agents.registry import make
from gtmgym.envs.distribution import ScenarioDistribution
from gtmgym.envs.scenario import Scenario
from gtmgym.experiments.config import (
    AgentEntry,
    AgentSettings,
    EvalScenario,
    Experiment,
    SuiteScenario,
    inline_source,
)
from gtmgym.experiments.report import build_report
from gtmgym.experiments.store import RunStore
from gtmgym.experiments.unit import Unit, UnitResult, run_unit, units_of

Executor = Literal["local", "ray"]
PACKAGES = ("gtmgym", "gymnasium", "numpy", "scipy", "pandas", "stable-baselines3", "torch")


class RunObserver:
    """What the runner tells the outside world (progress bars, logs)."""

    def started(self, total: int, skipped: int) -> None: ...

    def unit_started(self, run_name: str) -> None: ...

    def unit_progress(self, run_name: str, fraction: float) -> None: ...

    def unit_finished(self, run_name: str) -> None: ...


def resolved_experiment(experiment: Experiment) -> Experiment:
    """The experiment with nothing left to look up: what ``config.yaml`` holds.

    The scenario is inline with its overrides applied, and each agent has the
    action mode and every hyperparameter it is built with (tuned defaults
    included), so the file reruns the same runs after the scenario file or the
    tuned defaults change, and a resume can compare contents, not paths.
    ``provenance`` records package versions, the git commit and the scenario
    as it was given. In a suite, each scenario is inline in ``scenarios`` with
    every agent's settings there, and the entries keep what they were given.
    A generalisation experiment's train and eval scenarios are inline (a
    distribution as written, its ``draws`` paths absolute).
    """
    if experiment.is_suite:
        return _resolved_suite(experiment)
    if experiment.is_generalisation:
        return _resolved_generalisation(experiment)
    scenario = experiment.resolved_scenario()
    agents = _built_entries(scenario, experiment.agents)
    return experiment.model_copy(
        update={
            "description": experiment.description
            or f"{experiment.name}: {len(agents)} agents on scenario {scenario.name}.",
            "scenario": scenario.model_dump(mode="json"),
            "scenario_overrides": {},
            "agents": agents,
            "provenance": _provenance(experiment),
        }
    )


def _resolved_suite(experiment: Experiment) -> Experiment:
    suite = []
    for scenario, entries in experiment.per_scenario():
        settings = {
            entry.name: AgentSettings(
                action_mode=entry.action_mode, hyperparameters=entry.hyperparameters
            )
            for entry in _built_entries(scenario, entries)
        }
        suite.append(SuiteScenario(scenario=scenario.model_dump(mode="json"), agents=settings))
    names = ", ".join(entry.scenario["name"] for entry in suite)
    return experiment.model_copy(
        update={
            "description": experiment.description
            or f"{experiment.name}: {len(experiment.agents)} agents on scenarios {names}.",
            "scenarios": suite,
            "scenario_overrides": {},
            "provenance": _provenance(experiment),
        }
    )


def _resolved_generalisation(experiment: Experiment) -> Experiment:
    train = experiment.training_distribution()
    agents = _built_entries(train, experiment.agents)
    evaluated = {
        label: EvalScenario(
            scenario=inline_source(experiment.evaluation_distributions()[label]),
            point_estimate=False,  # inline, the point estimate is a fixed scenario
        )
        for label in experiment.eval_scenarios or {}
    }
    return experiment.model_copy(
        update={
            "description": experiment.description
            or f"{experiment.name}: {len(agents)} agents trained on {train.mean().name}.",
            "train_scenario": inline_source(train),
            "eval_scenarios": evaluated,
            "scenario_overrides": {},
            "agents": agents,
            "provenance": _provenance(experiment),
        }
    )


def _built_entries(
    scenario: Scenario | ScenarioDistribution, entries: list[AgentEntry]
) -> list[AgentEntry]:
    """The entries with the action mode and every hyperparameter their agents
    are built with on ``scenario``."""
    built = []
    for entry in entries:
        agent = make(entry.agent, scenario, action_mode=entry.action_mode, **entry.hyperparameters)
        built.append(
            entry.model_copy(
                update={"action_mode": agent.action_mode, "hyperparameters": agent.hyperparameters}
            )
        )
    return built


def resolved_config(experiment: Experiment) -> dict[str, Any]:
    """What ``config.yaml`` records: the resolved experiment, an experiment file."""
    return resolved_experiment(experiment).model_dump(mode="json")


def _provenance(experiment: Experiment) -> dict[str, Any]:
    sources = [s if isinstance(s, str) else "inline" for s in experiment.scenario_sources]
    given: dict[str, Any] = (
        {"scenarios": sources} if experiment.is_suite else {"scenario": sources[0]}
    )
    if experiment.is_generalisation:
        given = {
            "train_scenario": _as_given(experiment.train_scenario),
            "eval_scenarios": {
                label: {
                    "scenario": _as_given(entry.scenario),
                    "point_estimate": entry.point_estimate,
                }
                for label, entry in (experiment.eval_scenarios or {}).items()
            },
        }
    if experiment.scenario_overrides:
        given["scenario_overrides"] = experiment.scenario_overrides
    return given | {
        "versions": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _as_given(source: Any) -> Any:
    return source if isinstance(source, str) else "inline"


def run_experiment(
    experiment: Experiment,
    out: str | Path,
    executor: Executor = "local",
    jobs: int | None = None,
    address: str | None = None,
    observer: RunObserver | None = None,
    tensorboard: str | Path | None = None,
) -> pd.DataFrame:
    """Run every unit not yet finished in ``out``, then rebuild the report.

    Args:
        tensorboard: a folder for TensorBoard logs of the agents that learn,
            one folder per run (:func:`gtmgym.agents.training_log.log_folder`);
            results and resumes do not depend on it.

    Returns:
        The summary table (one row per agent).
    """
    observer = observer or RunObserver()
    store = RunStore(out)
    resolved = resolved_experiment(experiment)
    store.prepare(resolved.model_dump(mode="json"))
    units = units_of(resolved)
    pending = [unit for unit in units if not store.done(unit.run_name)]
    if tensorboard is not None:
        pending = [replace(unit, tensorboard=str(Path(tensorboard).resolve())) for unit in pending]
    observer.started(len(units), len(units) - len(pending))
    if executor == "ray":
        results = _run_on_ray(pending, address, observer)
    else:
        results = _run_locally(pending, jobs or os.cpu_count() or 1, observer)
    with closing(results):  # an interrupt while writing stops the workers at once too
        for result in results:
            store.write(result)
            observer.unit_finished(result.run_name)
    store.collect()
    return build_report(store.root)


def _run_locally(units: list[Unit], jobs: int, observer: RunObserver) -> Iterator[UnitResult]:
    if jobs <= 1 or len(units) <= 1:
        for unit in units:
            observer.unit_started(unit.run_name)
            yield run_unit(unit, _reporter(observer, unit.run_name))
        return
    context = get_context("spawn")
    # a queue handed to the workers when they start: no manager process that
    # a Ctrl-C in the terminal could end before the workers are stopped
    progress = context.Queue()
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(progress,)
    )
    try:
        futures = {pool.submit(_run_in_worker, unit): unit for unit in units}
        while futures:
            finished, _ = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(progress, observer)
            for future in finished:
                futures.pop(future)
                yield future.result()
    except BaseException:  # an interrupt, or the caller stopped reading
        _terminate_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()


_progress: Any = None  # in a worker: the queue its units report progress on
WORKER_EXIT_SECONDS = 5.0  # a terminated worker's time to exit


def _start_worker(progress: Any) -> None:
    """Set up a worker process: it reports on ``progress`` and leaves Ctrl-C
    (SIGINT to the terminal's whole process group) to the parent, which stops
    the workers itself, so an interrupt prints no traceback from them."""
    global _progress
    _progress = progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(unit: Unit) -> UnitResult:
    _progress.put((unit.run_name, 0.0))
    return run_unit(unit, lambda fraction: _progress.put((unit.run_name, fraction)))


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """End the running units with their workers instead of waiting for them
    (only this process writes a unit, so nothing is left half written)."""
    # Python 3.14 has pool.terminate_workers(); before it the workers are
    # reachable only as the private _processes (pid -> Process)
    workers = list((pool._processes or {}).values())
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=WORKER_EXIT_SECONDS)
    # a worker ended while sending a result leaves half a message in the
    # results pipe, which the pool's manager thread would wait on for ever
    # (this process holds the pipe's other end open; a fresh-clone CI run
    # once hung so): closing that end here makes the read end, and the
    # pool's shutdown, return. Nothing in this process writes results.
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        writer.close()


def _drain(progress: Any, observer: RunObserver) -> None:
    while not progress.empty():
        run_name, fraction = progress.get_nowait()
        if fraction == 0.0:
            observer.unit_started(run_name)
        observer.unit_progress(run_name, fraction)


def _run_on_ray(
    units: list[Unit], address: str | None, observer: RunObserver
) -> Iterator[UnitResult]:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray executor needs Ray: pip install 'gtmgym[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(run_unit)
    pending = {}
    for unit in units:
        pending[remote.remote(unit)] = unit
        observer.unit_started(unit.run_name)
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1)
        for reference in finished:
            pending.pop(reference)
            yield ray.get(reference)


def _reporter(observer: RunObserver, run_name: str) -> Callable[[float], None]:
    return lambda fraction: observer.unit_progress(run_name, fraction)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
