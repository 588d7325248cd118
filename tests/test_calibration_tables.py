"""The calibration's table forms: CSV or Parquet, long or wide (dated) spend
tables, and bad input in each refused naming file, field, column and row."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score
from test_calibration import gtmgym_cli

import gtmgym
from gtmgym.calibration import calibrate, synthesize
from gtmgym.cli import main


def calibrate_in_process(capsys, calibration: Path, out: Path) -> tuple[int, str]:
    """``gtmgym calibrate`` through the command line's own entry point, in this
    process (an unexpected exception fails the test with its traceback)."""
    code = main(["calibrate", str(calibration), "--out", str(out)])
    return code, capsys.readouterr().err


def segments_found(data: Path, report: Path) -> float:
    customers = pd.read_parquet(data / "customers.parquet") if (
        data / "customers.parquet").exists() else pd.read_csv(data / "customers.csv")  # fmt: skip
    found = pd.read_csv(report / "segments.csv")
    assert list(found["customer_id"]) == list(customers["customer_id"])
    return adjusted_rand_score(customers["true_segment"], found["segment"])


def test_a_wide_parquet_history_round_trips_through_the_command_line(tmp_path):
    data, fitted, report = tmp_path / "data", tmp_path / "fitted.yaml", tmp_path / "report"
    made = gtmgym_cli("synthesize", "default", "--periods", "60", "--seed", "2", "--out",
                      str(data), "--format", "parquet", "--spend-form", "wide")  # fmt: skip
    assert made.returncode == 0, made.stderr
    spend = pd.read_parquet(data / "spend.parquet")
    assert list(spend.columns) == [
        "week", "segment", "direct_spend", "partners_spend", "digital_spend", "customers_won"
    ]  # fmt: skip
    assert spend["week"].nunique() == 60 and spend["week"].iloc[0] == "2025-01-06"
    result = gtmgym_cli("calibrate", str(data / "calibration.yaml"), "--out", str(fitted),
                        "--report", str(report))  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = fitted.read_text().splitlines()
    assert "(2025-01-06 to 2026-02-23)" in header[0]
    assert any("spend.parquet sha256" in line for line in header[:4])
    assert "per period and segment" in header[3]
    truth, found = gtmgym.load_scenario("default"), gtmgym.load_scenario(fitted)
    assert segments_found(data, report) >= 0.9
    for true, estimate in zip(truth.segments, found.segments, strict=True):
        # churn and revenue come from the customer table, whose dates were
        # turned back into the history's periods
        assert estimate.churn == pytest.approx(true.churn, rel=0.1), true.name
        assert estimate.revenue_per_customer == pytest.approx(true.revenue_per_customer, rel=0.05)


def test_csv_and_parquet_tables_calibrate_alike(tmp_path):
    scenarios = []
    for table_format in ("csv", "parquet"):
        data = synthesize("tabular", 40, seed=5, out=tmp_path / table_format,
                          table_format=table_format)  # fmt: skip
        assert (data / f"spend.{table_format}").exists()
        calibrate(data / "calibration.yaml", tmp_path / f"{table_format}.yaml")
        scenarios.append(gtmgym.load_scenario(tmp_path / f"{table_format}.yaml"))
    csv, parquet = (scenario.model_dump(exclude={"description"}) for scenario in scenarios)
    assert csv == parquet  # the description names the files


def one_segment_default() -> dict:
    scenario = yaml.safe_load((Path(gtmgym.__file__).parent / "scenarios" / "default.yaml")
                              .read_text())  # fmt: skip
    scenario["segments"] = scenario["segments"][:1]
    for channel in scenario["channels"]:
        channel["effectiveness"] = channel["effectiveness"][:1]
    return scenario


def test_a_wide_table_without_segments_is_a_one_segment_market(tmp_path):
    data = synthesize(one_segment_default(), 40, seed=0, out=tmp_path / "data",
                      spend_form="wide")  # fmt: skip
    spend = pd.read_csv(data / "spend.csv")
    assert "segment" not in spend.columns and len(spend) == 40
    calibration = yaml.safe_load((data / "calibration.yaml").read_text())
    assert calibration["spend"]["segment"] is None
    calibration["segmentation"]["k"] = 1
    (data / "calibration.yaml").write_text(yaml.safe_dump(calibration))
    result = calibrate(data / "calibration.yaml", tmp_path / "fitted.yaml")
    found = gtmgym.load_scenario(tmp_path / "fitted.yaml")
    true = one_segment_default()["segments"][0]
    assert found.segments[0].churn == pytest.approx(true["churn"], rel=0.1)
    assert result.response.r_squared > 0.5


@pytest.fixture(scope="module")
def wide_history(tmp_path_factory) -> Path:
    """Thirty weeks of `default` in a wide, dated CSV spend table."""
    return synthesize("default", 30, seed=1, out=tmp_path_factory.mktemp("wide"),
                      spend_form="wide")  # fmt: skip


def edited(source: Path, folder: Path, change_file=None, change_table=None, table="spend.csv"):
    copy = folder / "data"
    shutil.copytree(source, copy)
    if change_file is not None:
        data = yaml.safe_load((copy / "calibration.yaml").read_text())
        change_file(data)
        (copy / "calibration.yaml").write_text(yaml.safe_dump(data))
    if change_table is not None:
        frame = pd.read_csv(copy / table)
        frame = change_table(frame)
        frame.to_csv(copy / table, index=False)
    return copy / "calibration.yaml"


def cell(column: str, row: int, value):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame

    return change


def drop_week(week: str):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["week"] != week].reset_index(drop=True)

    return change


def dict_set(path: str, value):
    *parents, leaf = path.split(".")

    def change(data: dict) -> None:
        for key in parents:
            data = data[key]
        if value is None:
            data.pop(leaf)
        else:
            data[leaf] = value

    return change


@pytest.mark.parametrize(
    ("change_file", "change_table", "table", "expected"),
    [
        (dict_set("spend.colour", "blue"), None, "calibration.yaml", "spend.colour: unknown field"),
        (dict_set("spend.channels.radio", "radio_spend"), None, "calibration.yaml",
         "spend.channels.radio: not a channel of market.channels"),
        (dict_set("spend.segment", None), None, "calibration.yaml",
         "spend.segment: a wide spend table without a segment column describes one segment"),
        (dict_set("spend.channels", None), None, "calibration.yaml",
         "a wide spend table needs channels"),
        (dict_set("spend.spend", "cost"), None, "calibration.yaml",
         "spend: field spend is for the long form only"),
        (dict_set("spend.customers_won", "new_customers"), None, "spend.csv",
         "missing column(s) new_customers"),
        (None, cell("week", 7, "next Monday"), "spend.csv",
         "column week, row 8: is not a date"),
        (None, drop_week("2025-02-10"), "spend.csv",
         "2025-02-17 is 14 days after the period before it, where periods are 7 days apart"),
        (None, cell("partners_spend", 4, -1.0), "spend.csv",
         "column partners_spend, row 5: is negative"),
        (None, cell("segment", 2, "mars"), "spend.csv",
         "column segment, row 3: is not a segment the calibration file names"),
        (None, cell("week", 3, "2025-01-06"), "spend.csv",
         "column week, row 4: repeats an earlier row's period and segment"),
        (None, cell("acquired_period", 11, "sometime"), "customers.csv",
         "column acquired_period, row 12: is not a date"),
    ],
)  # fmt: skip
def test_bad_wide_input_is_refused_naming_field_or_column_and_row(
    wide_history, tmp_path, capsys, change_file, change_table, table, expected
):
    calibration = edited(wide_history, tmp_path, change_file, change_table,
                         table if table != "calibration.yaml" else "spend.csv")  # fmt: skip
    out = tmp_path / "fitted.yaml"
    code, stderr = calibrate_in_process(capsys, calibration, out)
    assert code == 2, stderr
    assert expected in stderr and table in stderr, stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("spend.parquet", b"not a parquet file", "cannot read it as a Parquet table"),
        ("spend.xlsx", b"", "not a table file name"),
        ("spend.csv", b"\xff\xfe\x00broken", "cannot read it as a CSV table"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_unreadable_tables_are_refused_naming_the_file(wide_history, tmp_path, capsys, name,
                                                       content, expected):  # fmt: skip
    def point_at(data: dict) -> None:
        data["spend"]["file"] = name

    calibration = edited(wide_history, tmp_path, point_at)
    if content is not None:
        (calibration.parent / name).write_bytes(content)
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "fitted.yaml")
    assert code == 2
    assert expected in stderr and name in stderr, stderr


def test_long_tables_take_their_column_names_from_the_file(tmp_path):
    data = synthesize("tabular", 30, seed=2, out=tmp_path / "data")
    renamed = {"period": "month", "channel": "medium", "segment": "region", "spend": "cost",
               "customers_won": "new_customers"}  # fmt: skip
    spend = pd.read_csv(data / "spend.csv").rename(columns=renamed)
    spend.to_csv(data / "spend.csv", index=False)
    calibration = yaml.safe_load((data / "calibration.yaml").read_text())
    calibration["spend"] = {"file": "spend.csv", "form": "long", **renamed}
    (data / "calibration.yaml").write_text(yaml.safe_dump(calibration))
    calibrate(data / "calibration.yaml", tmp_path / "renamed.yaml")
    plain = synthesize("tabular", 30, seed=2, out=tmp_path / "plain")
    calibrate(plain / "calibration.yaml", tmp_path / "plain.yaml")
    assert (gtmgym.load_scenario(tmp_path / "renamed.yaml").model_dump()
            == gtmgym.load_scenario(tmp_path / "plain.yaml").model_dump())  # fmt: skip


def with_market_sizes(source: Path, folder: Path, sizes: pd.DataFrame, period: str) -> Path:
    """A copy of the data with a market-size table instead of growth rates."""
    copy = folder / "sized"
    shutil.copytree(source, copy)
    sizes.to_csv(copy / "sizes.csv", index=False)
    data = yaml.safe_load((copy / "calibration.yaml").read_text())
    for segment in data["market"]["segments"]:
        segment.pop("growth")
    data["market_sizes"] = {"file": "sizes.csv", "period": period, "size": "households"}
    (copy / "calibration.yaml").write_text(yaml.safe_dump(data))
    return copy / "calibration.yaml"


def test_growth_is_estimated_from_market_sizes_over_time(tmp_path, capsys):
    truth = gtmgym.load_scenario("default")
    data = synthesize("default", 40, seed=0, out=tmp_path / "data")
    sizes = pd.DataFrame([
        {"quarter_start": period, "segment": segment.name,
         "households": segment.population * (1 + segment.growth) ** period}
        for segment in truth.segments for period in range(0, 40, 13)
    ])  # fmt: skip
    calibration = with_market_sizes(data, tmp_path, sizes, "quarter_start")
    calibrate(calibration, tmp_path / "fitted.yaml")
    fitted = gtmgym.load_scenario(tmp_path / "fitted.yaml")
    for true, found in zip(truth.segments, fitted.segments, strict=True):
        assert found.growth == pytest.approx(true.growth, rel=1e-9), true.name
    header = (tmp_path / "fitted.yaml").read_text().splitlines()[:5]
    assert any("sizes.csv sha256" in line for line in header)

    given = yaml.safe_load(calibration.read_text())
    given["market"]["segments"][1]["growth"] = 0.01
    calibration.write_text(yaml.safe_dump(given))
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "refused.yaml")
    assert code == 2 and "market.segments[1].growth: given, and market_sizes" in stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.assign(households=f["households"].where(f.index != 2, -5.0)),
         "sizes.csv: column households, row 3: is not positive"),
        (lambda f: f[f["segment"] != "home"].reset_index(drop=True).pipe(
            lambda g: pd.concat([g, g.iloc[:1].assign(segment="home")])),
         "segment home: sizes at one period only"),
    ],
)  # fmt: skip
def test_bad_market_sizes_are_refused(wide_history, tmp_path, capsys, change, expected):
    sizes = pd.DataFrame({"week": ["2025-01-06", "2025-02-03"] * 3,
                          "segment": ["home", "home", "europe", "europe", "north-america",
                                      "north-america"],
                          "households": [100.0, 101.0, 50.0, 51.0, 80.0, 80.5]})  # fmt: skip
    calibration = with_market_sizes(wide_history, tmp_path, change(sizes), "week")
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "fitted.yaml")
    assert code == 2 and expected in stderr, stderr


def test_dated_market_sizes_count_periods_of_the_history(tmp_path):
    from gtmgym.calibration.config import MarketSizes
    from gtmgym.calibration.tables import market_growth

    weeks = pd.date_range("2025-01-06", periods=20, freq="7D")
    sizes = pd.DataFrame({"date": weeks[::4].strftime("%Y-%m-%d"), "segment": "home",
                          "size": 1000.0 * 1.01 ** np.arange(0, 20, 4)})  # fmt: skip
    sizes.to_csv(tmp_path / "sizes.csv", index=False)
    growth = market_growth(tmp_path / "sizes.csv", MarketSizes(file="sizes.csv", period="date"),
                           ["home", "abroad"], pd.DatetimeIndex(weeks))  # fmt: skip
    assert growth == {"home": pytest.approx(0.01, rel=1e-9)}  # per week; abroad keeps its own


def test_a_wide_table_with_wins_split_by_the_customer_table_calibrates_as_a_long_one(tmp_path):
    long = synthesize("tabular", 40, seed=6, out=tmp_path / "long")
    wide = synthesize("tabular", 40, seed=6, out=tmp_path / "wide", spend_form="wide")
    calibration = yaml.safe_load((wide / "calibration.yaml").read_text())
    calibration["spend"]["wins_by_channel"] = "customers"
    (wide / "calibration.yaml").write_text(yaml.safe_dump(calibration))
    scenarios = []
    for data in (long, wide):
        calibrate(data / "calibration.yaml", data / "fitted.yaml")
        scenarios.append(gtmgym.load_scenario(data / "fitted.yaml").model_dump())
    assert scenarios[0] == scenarios[1]
    header = (wide / "fitted.yaml").read_text().splitlines()[3]
    assert "per period, segment and channel" in header


def test_wins_by_channel_needs_every_wins_channel(wide_history, tmp_path, capsys):
    def split(data: dict) -> None:
        data["spend"]["wins_by_channel"] = "customers"

    def unknown_channel(frame: pd.DataFrame) -> pd.DataFrame:
        won = frame.index[frame["acquired_channel"].notna()][4]
        frame.loc[won, "acquired_channel"] = None
        return frame

    calibration = edited(wide_history, tmp_path, split, unknown_channel, "customers.csv")
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "fitted.yaml")
    assert code == 2
    assert "customers.csv: column acquired_channel, row" in stderr
    assert "spend.wins_by_channel: customers needs every win's channel" in stderr


def with_margins(data: Path, folder: Path, margins: np.ndarray) -> Path:
    """A copy of ``data`` whose customer table has a ``margin`` column and whose
    calibration file estimates every segment's gross margin from it."""
    copy = folder / "with-margins"
    shutil.copytree(data, copy)
    customers = pd.read_csv(copy / "customers.csv")
    customers["margin"] = margins
    customers.to_csv(copy / "customers.csv", index=False)
    calibration = yaml.safe_load((copy / "calibration.yaml").read_text())
    calibration["gross_margin_column"] = "margin"
    for segment in calibration["market"]["segments"]:
        segment.pop("gross_margin")
    (copy / "calibration.yaml").write_text(yaml.safe_dump(calibration))
    return copy / "calibration.yaml"


def test_gross_margin_is_estimated_from_a_customer_column(tmp_path, capsys):
    """Each segment's margin is its customers' margins weighted by revenue,
    with a bootstrap interval, and given twice or not at all is refused."""
    truth = gtmgym.load_scenario("default")
    data = synthesize("default", 40, seed=0, out=tmp_path / "data")
    customers = pd.read_csv(data / "customers.csv")
    true_margin = customers["true_segment"].map({s.name: s.gross_margin for s in truth.segments})
    spread = np.random.default_rng(0).uniform(-0.1, 0.1, len(customers))
    margins = np.clip(true_margin.to_numpy() + spread, 0.0, 1.0)
    calibration = with_margins(data, tmp_path, margins)
    fitted = tmp_path / "fitted.yaml"
    calibrate(calibration, fitted, report=tmp_path / "report", draws=2)
    found = gtmgym.load_scenario(fitted)
    revenue = customers["revenue_per_period"].to_numpy()
    for true, segment in zip(truth.segments, found.segments, strict=True):
        assert segment.gross_margin == pytest.approx(true.gross_margin, abs=0.01), true.name
        mine = (customers["true_segment"] == true.name).to_numpy()  # ARI 1 on this history
        weighted = (margins[mine] * revenue[mine]).sum() / revenue[mine].sum()
        assert segment.gross_margin == pytest.approx(weighted, rel=1e-9)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| gross margin |" in report and f"{found.segments[0].gross_margin:.4g} [" in report

    twice = yaml.safe_load(calibration.read_text())
    twice["market"]["segments"][2]["gross_margin"] = 0.5
    calibration.write_text(yaml.safe_dump(twice))
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "twice.yaml")
    assert code == 2 and "market.segments[2].gross_margin: given, and gross_margin_column" in stderr
    neither = dict(twice, gross_margin_column=None)
    neither["market"]["segments"][2].pop("gross_margin")
    calibration.write_text(yaml.safe_dump(neither))
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "neither.yaml")
    assert code == 2 and "market.segments[0].gross_margin: missing" in stderr
    assert not (tmp_path / "twice.yaml").exists() and not (tmp_path / "neither.yaml").exists()


def test_a_margin_outside_0_1_is_refused_naming_the_row(wide_history, tmp_path, capsys):
    margins = np.full(len(pd.read_csv(wide_history / "customers.csv")), 0.6)
    margins[4] = 1.5
    calibration = with_margins(wide_history, tmp_path, margins)
    code, stderr = calibrate_in_process(capsys, calibration, tmp_path / "fitted.yaml")
    assert code == 2 and "customers.csv: column margin, row 5: is outside [0, 1]" in stderr, stderr
