"""Timing helpers: rates and ratios to a reference over repeats after a warm-up."""

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


def paired_rates(
    ours: Callable[[], int], reference: Callable[[], int], repeats: int, warmup: int = 1
) -> tuple[float, float, float]:
    """(our median rate, the reference's, the median of the per-repeat ratios).

    The two are timed in alternation, repeat by repeat, so that a slow spell
    of a shared machine hits both sides of a ratio rather than one.
    """
    for _ in range(warmup):
        ours()
        reference()
    our_rates, reference_rates = [], []
    for _ in range(repeats):
        for work, rates in ((ours, our_rates), (reference, reference_rates)):
            start = time.perf_counter()
            units = work()
            rates.append(units / (time.perf_counter() - start))
    ratios = [a / b for a, b in zip(our_rates, reference_rates, strict=True)]
    return (
        statistics.median(our_rates),
        statistics.median(reference_rates),
        statistics.median(ratios),
    )


def median_seconds(work: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
