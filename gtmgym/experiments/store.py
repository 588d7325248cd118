"""The output folder of an experiment, written so that nothing is lost.

Each finished run is written to ``units/<run>/`` through a temporary folder
renamed into place (a rename is atomic), so a run is either wholly there or
not at all; re-running skips the runs that are there. The tidy tables at the
top (``episodes.csv``, ``curves.csv``, ``allocations.csv``) are rebuilt from
the units and replaced atomically, so they never hold duplicates or half rows.
"""

from __future__ import annotations

import os
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


class OutputError(ValueError):
    """The output folder cannot be used."""


class RunStore:
    """Reads and writes one experiment's output folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.units = self.root / UNITS

    def prepare(self, config: dict[str, Any]) -> None:
        """Create the folder, or check it holds this same experiment.

        Raises:
            OutputError: the folder cannot be written, or holds the results of
                a different experiment (which would be mixed with these).
        """
        try:
            self.units.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", delete=True)
            probe.close()
        except OSError as error:
            raise OutputError(f"{self.root}: cannot write the output folder: {error}") from None
        existing = self.root / CONFIG
        if existing.exists():
            previous = yaml.safe_load(existing.read_text(encoding="utf-8")) or {}
            if previous.get("experiment") != config["experiment"]:
                raise OutputError(
                    f"{self.root} holds the results of a different experiment "
                    f"({previous.get('experiment', {}).get('name')!r} with other settings); "
                    "choose another --out, or delete that folder"
                )
        self._remove_partial_units()
        write_atomic(self.root / CONFIG, yaml.safe_dump(config, sort_keys=False))

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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
