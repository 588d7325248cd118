"""Data a company would hold, made from a scenario: ``gtmgym synthesize``.

:func:`synthesize` plays a *logging policy* on the scenario with noise on for
any number of periods and writes what an analyst would export:

- ``customers.csv``: one row per customer ever won (and per customer held
  when the history starts): ``customer_id``, the segment features
  ``employees``, ``region_x``, ``region_y``, ``acquired_period`` (-1 for
  customers held before the history), ``acquired_channel`` (empty for
  those), ``churned_period`` (empty while active), ``revenue_per_period``,
  and ``true_segment``, which calibration must not read;
- ``spend.csv``: ``period``, ``channel``, ``segment``, ``spend``,
  ``customers_won``, one row per available pair and period;
- ``calibration.yaml``: the calibration file a user would write for that
  data (segments found by clustering the features), holding what the data
  cannot tell (market sizes, margins, entry terms, budget, horizon).

With ``table_format="parquet"`` the two tables are ``customers.parquet``
and ``spend.parquet``. With ``spend_form="wide"`` the spend table is a
marketing-mix model's: one row per week (``week``, the Monday of period 0
being :data:`FIRST_WEEK`) and segment (``segment``, left out when the
market has one segment), a column ``<channel>_spend`` per channel and
``customers_won`` over all channels; the customer table then gives
acquisition and churn as the week's date too (held customers: the week
before the history).

The logging policy enters every closed segment in the first period (so every
segment has customers to learn from) and spends, each period, a share of the
budget drawn uniformly in [0.5, 1] over the available pairs, by weights that
follow a random walk in logs around the even split (AR(1), coefficient 0.8,
innovations 1.3: a pair's log weight has a standard deviation of 2.2, so
its weight is spread by a factor of about 9 either way) and with each
channel paused (no spend anywhere) with probability 0.15 per period. Spend
thus varies over time within and across channels, and reaches past the
half-saturation of the channels' curves, which is what identifies the
response curves and the carry-over. With innovations of 0.4 spend on a pair
stayed near the even split, the curves were seen only at their start, and
one history of default in four decided below 95% of the planner; with 1.0
two of eight of cross-border-ecommerce did, with 1.6 spend sat on too few
pairs (measured with the fit's residuals of the time, Neyman's;
docs/calibration.md, The logging policy).

A customer's features come from its segment: ``region_x, region_y`` near a
centre of the segment's own (on a circle of radius 8, spread 0.5) and
``employees`` log-normal with a median of 10 x 10^segment (spread 0.3), so that the
segments are clusters an analyst's K-means finds. Revenue per period is the
segment's ``revenue_per_customer`` times a log-normal factor of mean 1
(spread 0.2), fixed per customer.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import yaml

from gtmgym.calibration.tables import CUSTOMER_COLUMNS
from gtmgym.envs import ENV_ID
from gtmgym.envs.loader import load_scenario
from gtmgym.envs.market_expansion import ScenarioSource
from gtmgym.envs.scenario import Scenario
from gtmgym.experiments.store import write_atomic

FEATURES = ("employees", "region_x", "region_y")
FIRST_WEEK = pd.Timestamp("2025-01-06")  # a Monday: period 0 of a wide (dated) history
SPEND_FORMS = ("long", "wide")
TABLE_FORMATS = ("csv", "parquet")
WALK_MEMORY, WALK_STEP, PAUSE_PROBABILITY = 0.8, 1.3, 0.15
LEVEL = (0.5, 1.0)  # the share of the budget spent, uniform
# segments' regions: centres on a circle, far apart against their spread, so
# that K-means keeps a small segment whole beside one a hundred times larger
# (at radius 4 and spread 0.6 it split the large one and merged two small)
REGION_RADIUS, REGION_SPREAD = 8.0, 0.5
# the columns calibration reads, with the features after the id
COLUMNS = ("customer_id", *FEATURES, *CUSTOMER_COLUMNS[1:], "true_segment")


def synthesize(
    scenario: ScenarioSource,
    periods: int,
    seed: int,
    out: str | Path,
    spend_form: str = "long",
    table_format: str = "csv",
) -> Path:
    """Write the customer and spend tables and ``calibration.yaml`` to ``out``.

    Args:
        scenario: the true market (bundled name, path, mapping or Scenario).
        periods: periods of history (may exceed the scenario's horizon).
        seed: fixes the market's draws, the policy's and the customers'.
        out: the folder to write (created if needed).
        spend_form: ``"long"`` (a row per period, channel and segment) or
            ``"wide"`` (a dated row per week and segment, a spend column per
            channel, the wins over all channels; see the module docstring).
        table_format: ``"csv"`` or ``"parquet"``.

    Returns:
        The folder.
    """
    if periods < 1:
        raise ValueError(f"periods must be at least 1, got {periods}")
    if spend_form not in SPEND_FORMS:
        raise ValueError(f"spend_form must be one of {SPEND_FORMS}, got {spend_form!r}")
    if table_format not in TABLE_FORMATS:
        raise ValueError(f"table_format must be one of {TABLE_FORMATS}, got {table_format!r}")
    truth = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    history = _history_scenario(truth, periods)
    rng = np.random.default_rng(seed)
    customers, spend, market_today = _play(history, truth, periods, seed, rng)
    spend_form_fields: dict[str, Any] = {}
    if spend_form == "wide":
        customers, spend, spend_form_fields = _dated_wide(truth, customers, spend)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    names = {table: f"{table}.{table_format}" for table in ("customers", "spend")}
    for table, frame in (("customers", customers), ("spend", spend)):
        write_table(folder / names[table], frame)
    calibration = _calibration_file(truth, periods, *market_today, names, spend_form_fields)
    write_atomic(folder / "calibration.yaml", calibration)
    return folder


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV or Parquet (by the file name), atomically."""
    if path.suffix != ".parquet":
        write_atomic(path, frame.to_csv(index=False))
        return
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(handle)
    try:
        frame.to_parquet(temporary, index=False)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _dated_wide(
    truth: Scenario, customers: pd.DataFrame, spend: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The tables with weekly dates for periods and the spend table wide
    (see the module docstring), and the calibration file's ``spend`` fields."""
    periods = int(spend["period"].max()) + 1
    weeks = pd.date_range(FIRST_WEEK - pd.Timedelta(weeks=1), periods=periods + 1, freq="7D")

    def week_of(period: pd.Series) -> pd.Series:
        dates = pd.Series(weeks[(period.fillna(-1).astype(int) + 1).to_numpy()], index=period.index)
        return dates.dt.strftime("%Y-%m-%d").where(period.notna(), None)

    customers = customers.assign(
        acquired_period=week_of(customers["acquired_period"]),
        churned_period=week_of(customers["churned_period"].astype("Float64")),
    )
    one_segment = len(truth.segments) == 1
    keys = ["period"] if one_segment else ["period", "segment"]
    wide = spend.pivot_table(
        index=keys, columns="channel", values="spend", aggfunc="sum", fill_value=0.0
    )
    columns = {channel.name: f"{channel.name}_spend" for channel in truth.channels}
    wide = wide.reindex(columns=list(columns), fill_value=0.0).rename(columns=columns)
    wide["customers_won"] = spend.groupby(keys)["customers_won"].sum()
    wide = wide.reset_index()
    wide.insert(0, "week", weeks[wide.pop("period").to_numpy() + 1].strftime("%Y-%m-%d"))
    fields: dict[str, Any] = {"form": "wide", "period": "week"}
    fields |= {"segment": None} if one_segment else {"segment": "segment"}
    return customers, wide, fields | {"channels": columns, "customers_won": "customers_won"}


def _history_scenario(truth: Scenario, periods: int) -> Scenario:
    """The truth over ``periods`` periods, noise on, continuous actions, no
    total budget or cash (the history is not an episode that can end)."""
    budget = truth.budget.model_copy(update={"total": None, "initial_cash": None})
    actions = truth.actions.model_copy(update={"mode": "continuous"})
    # growth over a history longer than the horizon must stay in the allowed range
    return Scenario.model_validate(
        truth.model_dump()
        | {
            "periods": periods,
            "noise": True,
            "budget": budget.model_dump(),
            "actions": actions.model_dump(),
        }
    )


def _play(
    history: Scenario, truth: Scenario, periods: int, seed: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """(customers table, spend table, (population, rivals' share) at the end)."""
    env = gym.make(ENV_ID, scenario=history, action_mode="continuous").unwrapped
    env.reset(seed=seed)
    n_segments, n_channels = len(truth.segments), len(truth.channels)
    available = env.params.available
    book = _CustomerBook(truth, rng)
    book.open_history(env.state.customers[0])
    walk = np.zeros((n_segments, n_channels))
    rows = []
    for period in range(periods):
        walk = WALK_MEMORY * walk + WALK_STEP * rng.standard_normal(walk.shape)
        paused = rng.random(n_channels) < PAUSE_PROBABILITY
        weights = np.exp(walk) * available * ~paused[None, :]
        level = rng.uniform(*LEVEL)
        shares = weights / weights.sum() * level if weights.sum() > 0 else weights
        action = _continuous_action(shares, enter_all=period == 0)
        before = env.state.customers[0].copy()
        _, _, _, _, info = env.step(action)
        won = info["won_by_channel"]
        churned = before[:, :n_channels] + won - env.state.customers[0][:, :n_channels]
        held_churned = before[:, n_channels] - env.state.customers[0][:, n_channels]
        book.record(period, counts(won), counts(churned), counts(held_churned))
        for i, segment in enumerate(truth.segments):
            for c, channel in enumerate(truth.channels):
                if available[i, c]:
                    rows.append(
                        {
                            "period": period,
                            "channel": channel.name,
                            "segment": segment.name,
                            "spend": float(info["spend"][i, c]),
                            "customers_won": int(round(won[i, c])),
                        }
                    )
    today = (env.state.population[0].copy(), env.state.competitor[0].copy())
    return book.table(), pd.DataFrame(rows), today


def counts(values: np.ndarray) -> np.ndarray:
    """Customer counts from the model's figures (whole numbers with noise on)."""
    return np.rint(values).astype(int)


def _continuous_action(shares: np.ndarray, enter_all: bool) -> np.ndarray:
    """The continuous action that spends ``shares`` (summing to at most 1):
    weights ``v = (y + 1) / 2`` with ``w = v / sum(v)`` (docs/model.md,
    Actions), the hold-back weight taking the rest."""
    held_back = max(1.0 - float(shares.sum()), 0.0)
    weights = np.append(shares.ravel(), held_back)
    weights = weights / weights.max()  # the largest is 1, so each y is in [-1, 1]
    entries = np.full(shares.shape[0], 1.0 if enter_all else -1.0)
    return np.concatenate([2.0 * weights - 1.0, entries]).astype(np.float32)


class _CustomerBook:
    """Individual customers behind the model's counts: who was won when, by
    which channel, and who churned (drawn uniformly among those held)."""

    def __init__(self, truth: Scenario, rng: np.random.Generator) -> None:
        self.truth = truth
        self.rng = rng
        self.rows: list[dict[str, Any]] = []
        # (segment, channel column) -> indices into rows of active customers
        self.active: dict[tuple[int, int], list[int]] = {}

    def open_history(self, customers: np.ndarray) -> None:
        held = len(self.truth.channels)
        for i in range(customers.shape[0]):
            self._win(i, held, int(round(customers[i, held])), period=-1)

    def record(
        self, period: int, won: np.ndarray, churned: np.ndarray, held_churned: np.ndarray
    ) -> None:
        held = len(self.truth.channels)
        for i in range(won.shape[0]):
            for c in range(won.shape[1]):
                self._churn(i, c, churned[i, c], period)
            self._churn(i, held, held_churned[i], period)
            for c in range(won.shape[1]):
                self._win(i, c, won[i, c], period)

    def _win(self, segment: int, column: int, count: int, period: int) -> None:
        if count <= 0:
            return
        n_segments = len(self.truth.segments)
        angle = 2.0 * math.pi * segment / n_segments
        centre = REGION_RADIUS * np.array([math.cos(angle), math.sin(angle)])
        region = centre + REGION_SPREAD * self.rng.standard_normal((count, 2))
        employees = np.exp(math.log(10.0 * 10.0**segment) + 0.3 * self.rng.standard_normal(count))
        spread = 0.2
        revenue = self.truth.segments[segment].revenue_per_customer * np.exp(
            spread * self.rng.standard_normal(count) - spread**2 / 2
        )
        channel = "" if column == len(self.truth.channels) else self.truth.channels[column].name
        active = self.active.setdefault((segment, column), [])
        for k in range(count):
            active.append(len(self.rows))
            self.rows.append(
                {
                    "customer_id": f"C{len(self.rows) + 1:07d}",
                    "employees": round(float(employees[k]), 1),
                    "region_x": round(float(region[k, 0]), 4),
                    "region_y": round(float(region[k, 1]), 4),
                    "acquired_period": period,
                    "acquired_channel": channel,
                    "churned_period": None,
                    "revenue_per_period": round(float(revenue[k]), 6),
                    "true_segment": self.truth.segments[segment].name,
                }
            )

    def _churn(self, segment: int, column: int, count: int, period: int) -> None:
        active = self.active.get((segment, column), [])
        count = min(max(count, 0), len(active))
        if count == 0:
            return
        leaving = set(self.rng.choice(len(active), size=count, replace=False).tolist())
        for position in sorted(leaving):
            self.rows[active[position]]["churned_period"] = period
        self.active[(segment, column)] = [
            row for position, row in enumerate(active) if position not in leaving
        ]

    def table(self) -> pd.DataFrame:
        table = pd.DataFrame(self.rows, columns=list(COLUMNS))
        table["churned_period"] = table["churned_period"].astype("Int64")
        return table


def _calibration_file(
    truth: Scenario,
    periods: int,
    population: np.ndarray,
    rivals: np.ndarray,
    names: dict[str, str],
    spend_form: dict[str, Any],
) -> str:
    """The calibration file for the synthesized data: what the data tell is
    left to calibration; the rest is the truth as a company would know it
    today (market sizes and rivals' shares at the end of the history)."""
    data = {
        "name": f"{truth.name}-calibrated",
        "customers": names["customers"],
        "spend": {"file": names["spend"], **spend_form} if spend_form else names["spend"],
        "segmentation": {
            "features": list(FEATURES),
            "log_features": ["employees"],
            "k": len(truth.segments),
        },
        "market": {
            "periods": truth.periods,
            "objective": truth.objective,
            "budget": truth.budget.model_dump(exclude_defaults=True),
            "actions": truth.actions.model_dump(exclude_defaults=True),
            "segments": [
                {
                    "name": segment.name,
                    "population": round(float(size), 3),
                    "growth": segment.growth,
                    "competitor_share": round(float(share), 4),
                    "gross_margin": segment.gross_margin,
                    "open_at_start": segment.open_at_start,
                    "entry_cost": segment.entry_cost,
                    "entry_delay": segment.entry_delay,
                    "operating_cost": segment.operating_cost,
                }
                for segment, size, share in zip(truth.segments, population, rivals, strict=True)
            ],
            "channels": [
                {
                    "name": channel.name,
                    "revenue_share": channel.revenue_share,
                    "min_spend": channel.min_spend,
                    "max_spend": channel.max_spend,
                    "available": [e > 0 for e in channel.effectiveness],
                }
                for channel in truth.channels
            ],
        },
    }
    header = (
        f"# Calibration file for data synthesized from scenario {truth.name!r} over\n"
        f"# {periods} periods (gtmgym synthesize). `market` holds what the data cannot\n"
        f"# tell; gtmgym calibrate estimates the rest from {names['customers']} and\n"
        f"# {names['spend']}.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)
