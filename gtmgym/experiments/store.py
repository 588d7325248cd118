"""The output folder of an experiment, written so that nothing is lost.

Each finished run is written to ``units/<run>/`` through a temporary folder
renamed into place (a rename is atomic), so a run is either wholly there or
not at all; re-running skips the runs that are there. The tidy tables at the
top (``episodes.csv``, ``curves.csv``, ``allocations.csv``) are rebuilt from
the units and replaced atomically, so they never hold duplicates or half rows.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gtmgym.experiments.unit import UnitResult

TABLES = ("episodes", "curves", "allocations")
UNITS = "units"
CONFIG = "config.yaml"
CONFIG_HEADER = """\
# The experiment as `gtmgym run` ran it: the scenario (each scenario of a
# suite) inline with its overrides applied, each agent's action mode and every
# hyperparameter (tuned defaults included; a suite's per scenario). `gtmgym run
# <this file> --out <another folder>` reruns it; running ignores `provenance`.
# Resuming into this folder needs the same experiment.
"""
# what a run's rows do not depend on: a resume may differ in these
NOT_RESULTS = ("name", "description", "notes", "provenance")


class OutputError(ValueError):
    """The output folder cannot be used."""


class RunStore:
    """Reads and writes one experiment's output folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.units = self.root / UNITS

    def prepare(self, config: dict[str, Any]) -> None:
        """Create the folder and write ``config.yaml``, or check that the runs
        already there are of this same experiment (a resume).

        Args:
            config: the resolved experiment (see
                :func:`gtmgym.experiments.runner.resolved_experiment`).

        Raises:
            OutputError: the folder cannot be written, or holds runs of an
                experiment that differs in anything that decides the results
                (the message lists what); the folder is then left as it was.
        """
        try:
            self.units.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", delete=True)
            probe.close()
        except OSError as error:
            raise OutputError(f"{self.root}: cannot write the output folder: {error}") from None
        existing = self.root / CONFIG
        if existing.exists() and self.finished():
            problem = _resume_problem(self.root, config)
            if problem:
                raise OutputError(problem)
        else:  # a resume keeps the config.yaml of the first start
            write_atomic(existing, CONFIG_HEADER + yaml.safe_dump(config, sort_keys=False))
        self._remove_partial_units()

    def finished(self) -> list[str]:
        """The runs written so far."""
        return sorted(p.name for p in self.units.iterdir() if not p.name.startswith("."))

    def done(self, run_name: str) -> bool:
        return (self.units / run_name).is_dir()

    def write(self, result: UnitResult) -> None:
        """Write one run's tables, all or nothing."""
        if self.done(result.run_name):
            return
        staging = Path(tempfile.mkdtemp(prefix=f".partial-{result.run_name}-", dir=self.units))
        for table in TABLES:
            getattr(result, table).to_csv(staging / f"{table}.csv", index=False)
        os.replace(staging, self.units / result.run_name)

    def collect(self) -> dict[str, pd.DataFrame]:
        """Rebuild the top-level tables from every finished run."""
        frames: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES}
        for unit in sorted(p for p in self.units.iterdir() if not p.name.startswith(".")):
            for table in TABLES:
                path = unit / f"{table}.csv"
                if path.stat().st_size > 1:
                    frame = pd.read_csv(path)
                    if len(frame):
                        frames[table].append(frame)
        tables = {
            table: pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            for table, parts in frames.items()
        }
        for table, frame in tables.items():
            write_atomic(self.root / f"{table}.csv", frame.to_csv(index=False))
        return tables

    def _remove_partial_units(self) -> None:
        for leftover in self.units.glob(".partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _resume_problem(root: Path, config: dict[str, Any]) -> str | None:
    """Why the runs in ``root`` must not be completed with ``config``, if so."""
    path = root / CONFIG
    fresh = f"run it into a new folder (--out NEW_FOLDER), or delete {root} to start over"
    try:
        previous = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return f"{path}: cannot read it ({error}), so the runs there cannot be checked; {fresh}"
    if not isinstance(previous, dict) or "agents" not in previous:
        return (
            f"{path} was written by an earlier gtmgym that did not record the resolved "
            f"experiment, so its runs cannot be checked against this one; {fresh}"
        )
    changes = differences(results_view(previous), results_view(config))
    if not changes:
        return None
    shown = changes[:12] + ([f"... and {len(changes) - 12} more"] if len(changes) > 12 else [])
    rerun = shlex.join(["gtmgym", "run", str(path), "--out", str(root)])
    return (
        f"{root} holds runs of a different experiment, and completing them with this one "
        "would mix the two (in the folder -> in this experiment):\n"
        + "\n".join(f"  - {change}" for change in shown)
        + f"\nTo keep both, {fresh}. To complete the runs there: {rerun}"
    )


def results_view(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a resolved config that decide the rows, agents by label.

    Everything but :data:`NOT_RESULTS` and the scenarios' descriptions counts
    (a field added later counts too), plus the package versions. A suite's
    scenarios are keyed by name, so their order does not count.
    """
    view: dict[str, Any] = {}
    for key, value in config.items():
        if key == "scenario" and isinstance(value, dict):
            view[key] = _without_description(value)
        elif key == "scenarios" and isinstance(value, list):
            for position, entry in enumerate(value):
                inline = entry.get("scenario") if isinstance(entry, dict) else None
                if not isinstance(inline, dict):  # not a resolved suite: compare it as it is
                    view[f"scenarios[{position}]"] = entry
                    continue
                name = inline.get("name", f"[{position}]")
                view[f"scenario {name}"] = entry | {"scenario": _without_description(inline)}
        elif key == "agents" and isinstance(value, list):
            for entry in value:
                label = entry.get("label") or entry.get("agent")
                view[f"agent {label}"] = {k: v for k, v in entry.items() if k != "label"}
        elif key not in NOT_RESULTS:
            view[key] = value
    view["versions"] = (config.get("provenance") or {}).get("versions")
    return view


def _without_description(scenario: dict[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in scenario.items() if field != "description"}


def differences(before: Any, after: Any, path: str = "", separator: str = "") -> list[str]:
    """What changed from ``before`` to ``after``, one ``path: old -> new`` line
    per leaf (``scenario segments[0].churn: 0.05 -> 0.08``)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in dict.fromkeys([*before, *after]):
            lines += differences(
                before.get(key, _ABSENT),
                after.get(key, _ABSENT),
                f"{path}{separator}{key}",
                " " if not path else ".",
            )
        return lines
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        lines = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            lines += differences(old, new, f"{path}[{index}]", separator)
        return lines
    if after is _ABSENT:
        return [f"{path}: only in the folder"]
    if before is _ABSENT:
        return [f"{path}: only in this experiment"]
    return [f"{path}: {_show(before)} -> {_show(after)}"]


_ABSENT = object()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; results are to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
