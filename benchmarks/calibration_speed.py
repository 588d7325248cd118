"""Benchmark 9: calibration time, bootstrap included, by customers and periods.

The market is ``random_scenario(0)`` with 4 segments and 5 channels, its
market sizes and initial customers scaled so that 156 periods of history
under synthesize's logging policy win about 100,000 customers. The figure
is the wall time of ``calibrate(..., draws=50)`` on the synthesized tables
(reading them, K-means, the response fit, 50 bootstrap refits on the
machine's cores, the scenario and its draws written); synthesizing is not
timed. Beside it, the same at a quarter and half of the customers and at
half and three quarters of the periods (78 periods are the fewest the
4 x 5 market's 15 channel and up to 20 pair parameters allow).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from timing import Figure

from gtmgym.calibration import calibrate, synthesize
from gtmgym.scenarios import random_scenario

SEGMENTS, CHANNELS, PERIODS, DRAWS = 4, 5, 156, 50
# market sizes x this win about 100,000 customers over 156 periods under the
# logging policy of 2026-12-02 (walk innovations 1.3): 97,710; 0.048 won
# 250,511 there, 0.0207 80,043 (and 0.048 about 108,000 under the policy before)
FULL_SCALE = 0.028
TARGET_SECONDS = 60.0


def market(scale: float, segments: int = SEGMENTS, channels: int = CHANNELS) -> dict:
    scenario = random_scenario(0, segments, channels, 24, noise=True, action_mode="continuous")
    for segment in scenario["segments"]:
        segment["population"] *= scale
        segment["initial_customers"] = segment.get("initial_customers", 0.0) * scale
    return scenario


def timed_calibration(scenario: dict, periods: int, draws: int) -> tuple[float, int]:
    """(seconds to calibrate, customers in the table)."""
    with tempfile.TemporaryDirectory() as folder:
        data = synthesize(scenario, periods, seed=0, out=Path(folder) / "data")
        customers = len(pd.read_csv(data / "customers.csv", usecols=["customer_id"]))
        start = time.perf_counter()
        calibrate(data / "calibration.yaml", Path(folder) / "fitted.yaml", draws=draws)
        return time.perf_counter() - start, customers


def calibration_time(quick: bool) -> list[Figure]:
    if quick:
        seconds, customers = timed_calibration(market(0.01, 2, 2), 30, draws=2)
        return [Figure("9. calibration seconds (quick version)", seconds, "s", "-", None,
                       f"{customers:,} customers, 30 periods, 2 draws")]  # fmt: skip
    sizes = [(FULL_SCALE, PERIODS), (FULL_SCALE / 4, PERIODS), (FULL_SCALE / 2, PERIODS),
             (FULL_SCALE, 78), (FULL_SCALE, 117)]  # fmt: skip
    figures = []
    for scale, periods in sizes:
        load = os.getloadavg()[0]
        seconds, customers = timed_calibration(market(scale), periods, DRAWS)
        full = (scale, periods) == (FULL_SCALE, PERIODS)
        figures.append(
            Figure(
                f"9. calibration seconds, {customers:,} customers x {periods} periods, "
                f"{DRAWS} draws",
                seconds,
                "s",
                f"<= {TARGET_SECONDS:.0f} s" if full else "-",
                seconds <= TARGET_SECONDS if full else None,
                f"{SEGMENTS} segments x {CHANNELS} channels; load average {load:.1f} "
                f"on {os.cpu_count()} cores before",
            )
        )
    return figures
