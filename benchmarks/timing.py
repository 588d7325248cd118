"""Timing helpers: median rate over repeats after a warm-up, ratios to a reference."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Figure:
    """One benchmark line: a measured ratio (or value) beside its target."""

    name: str
    value: float
    unit: str
    target: str
    met: bool | None
    detail: str = ""

    def line(self) -> str:
        verdict = {True: "met", False: "MISSED", None: "-"}[self.met]
        figure = f"{self.value:>10.2f} {self.unit:<4}"
        return f"{self.name:<62} {figure} target {self.target:<10} {verdict:<7} {self.detail}"


def median_rate(work: Callable[[], int], repeats: int, warmup: int = 1) -> float:
    """Median of ``units / seconds`` over ``repeats`` calls of ``work`` (which
    returns how many units it did), after ``warmup`` calls."""
    for _ in range(warmup):
        work()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        units = work()
        rates.append(units / (time.perf_counter() - start))
    return statistics.median(rates)


def median_seconds(work: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
