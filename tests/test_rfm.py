"""RFM features from a transactions table: hand-computed scores, and their
use as segmentation features in a calibration."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score

from gtmgym.calibration import CalibrationError, calibrate, synthesize
from gtmgym.calibration.config import Transactions
from gtmgym.calibration.rfm import quintile_scores, rfm_features, transactions_table

# five customers' purchases; the latest date, 2025-03-31, is the as-of day
PURCHASES = [
    ("A", "2025-01-01", 10.0), ("A", "2025-03-01", 30.0),
    ("B", "2025-03-31", 5.0),
    ("C", "2025-02-01", 100.0), ("C", "2025-02-15", 50.0), ("C", "2025-03-15", 25.0),
    ("D", "2025-01-10", 20.0),
    ("E", "2025-03-31", 60.0), ("E", "2025-03-31", 40.0),
]  # fmt: skip
# by hand: recency in days to 2025-03-31, purchases, total amount; with five
# customers a quintile score is the rank (ties share the lowest), recency
# ranked most recent last
EXPECTED = pd.DataFrame(
    {
        "recency": [30, 0, 16, 80, 0],  # A: Mar 1 -> 31; D: Jan 10 -> Mar 31 is 21 + 28 + 31
        "frequency": [2, 1, 3, 1, 2],
        "monetary": [40, 5, 175, 20, 100],
        "recency_score": [2, 4, 3, 1, 4],  # D oldest; B and E tie as most recent
        "frequency_score": [3, 1, 5, 1, 3],  # B, D tie lowest; A, E tie at rank 3
        "monetary_score": [3, 1, 5, 2, 4],
    },
    index=pd.Index(list("ABCDE"), name="customer"),
    dtype=float,
)


def purchases_file(folder, rows=PURCHASES, name="transactions.csv"):
    path = folder / name
    pd.DataFrame(rows, columns=["client", "day", "value"]).to_csv(path, index=False)
    return path


def test_rfm_scores_match_the_hand_computed_ones(tmp_path):
    spec = Transactions(file="transactions.csv", customer="client", date="day", amount="value")
    transactions = transactions_table(purchases_file(tmp_path), spec)
    features = rfm_features(transactions).sort_index()
    pd.testing.assert_frame_equal(features, EXPECTED, check_names=False)


def test_recency_counts_to_as_of_and_periods_work_as_dates(tmp_path):
    rows = [("A", 3, 1.0), ("A", 7, 2.0), ("B", 1, 4.0)]
    spec = Transactions(file="t.csv", customer="client", date="day", amount="value", as_of=10)
    transactions = transactions_table(purchases_file(tmp_path, rows, "t.csv"), spec)
    features = rfm_features(transactions, spec.as_of).sort_index()
    assert features["recency"].tolist() == [3.0, 9.0]  # periods from the last purchase to 10
    assert features["monetary"].tolist() == [3.0, 4.0]


def test_quintile_scores_of_ten_values():
    values = pd.Series([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    # ranks (ties lowest): 4 1 6 1 7 10 3 9 7 4; score 1 + floor(5 (rank - 1) / 10)
    assert quintile_scores(values).tolist() == [2, 1, 3, 1, 4, 5, 2, 5, 4, 2]


@pytest.fixture(scope="module")
def history_with_purchases(tmp_path_factory):
    """Forty periods of `default` and a purchase per customer in each of its
    first five periods as a customer (the customer's revenue each time), dated."""
    folder = synthesize("default", 40, seed=1, out=tmp_path_factory.mktemp("rfm"))
    customers = pd.read_csv(folder / "customers.csv")
    first = customers["acquired_period"].clip(lower=0)
    last = customers["churned_period"].fillna(40).astype(int)
    rows = []
    for offset in range(5):
        period = first + offset
        bought = period <= last
        rows.append(pd.DataFrame({
            "customer_id": customers.loc[bought, "customer_id"],
            "date": (pd.Timestamp("2025-01-06") + pd.to_timedelta(7 * period[bought], "D")),
            "amount": customers.loc[bought, "revenue_per_period"],
        }))  # fmt: skip
    pd.concat(rows).to_csv(folder / "transactions.csv", index=False)
    return folder


def with_rfm_segmentation(source, folder, features, **rfm):
    copy = folder / "data"
    shutil.copytree(source, copy)
    data = yaml.safe_load((copy / "calibration.yaml").read_text())
    logs = [name for name in data["segmentation"]["log_features"] if name in features]
    data["segmentation"] |= {"features": features, "log_features": logs,
                             "rfm": {"file": "transactions.csv", **rfm}}  # fmt: skip
    (copy / "calibration.yaml").write_text(yaml.safe_dump(data))
    return copy


def test_rfm_features_segment_customers_in_a_calibration(history_with_purchases, tmp_path):
    copy = with_rfm_segmentation(
        history_with_purchases, tmp_path, ["employees", "region_x", "region_y", "monetary"]
    )
    calibrate(copy / "calibration.yaml", copy / "fitted.yaml", report=copy / "report")
    header = (copy / "fitted.yaml").read_text().splitlines()[:5]
    assert any("transactions.csv sha256" in line for line in header)
    customers = pd.read_csv(copy / "customers.csv")
    segments = pd.read_csv(copy / "report" / "segments.csv")
    assert adjusted_rand_score(customers["true_segment"], segments["segment"]) >= 0.9


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t, c: t.drop(t.index[t["customer_id"] == c["customer_id"].iloc[3]]),
         "customers.csv: column customer_id, row 4: has no purchase in"),
        (lambda t, c: t.assign(customer_id=t["customer_id"].where(t.index != 2, "X999")),
         "transactions.csv: column customer_id, row 3: is not a customer_id of"),
        (lambda t, c: t.assign(date=t["date"].where(t.index != 5, "soon")),
         "transactions.csv: column date, row 6: is not a date"),
        (lambda t, c: t.assign(amount=t["amount"].where(t.index != 1, "lots")),
         "transactions.csv: column amount, row 2: is not a number"),
    ],
)  # fmt: skip
def test_bad_transactions_are_refused_naming_file_column_and_row(
    history_with_purchases, tmp_path, change, expected
):
    copy = with_rfm_segmentation(history_with_purchases, tmp_path, ["monetary", "region_x"])
    transactions = pd.read_csv(copy / "transactions.csv")
    customers = pd.read_csv(copy / "customers.csv")
    change(transactions, customers).to_csv(copy / "transactions.csv", index=False)
    with pytest.raises(CalibrationError) as refused:
        calibrate(copy / "calibration.yaml", copy / "fitted.yaml")
    assert expected in str(refused.value)
    assert not (copy / "fitted.yaml").exists()


def test_rfm_without_rfm_features_and_a_clash_are_refused(history_with_purchases, tmp_path):
    copy = with_rfm_segmentation(history_with_purchases, tmp_path, ["employees"])
    with pytest.raises(CalibrationError, match="rfm is given but features name none"):
        calibrate(copy / "calibration.yaml", copy / "fitted.yaml")
    customers = pd.read_csv(copy / "customers.csv").assign(recency=1.0)
    customers.to_csv(copy / "customers.csv", index=False)
    data = yaml.safe_load((copy / "calibration.yaml").read_text())
    data["segmentation"] |= {"features": ["recency"], "log_features": []}
    (copy / "calibration.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(CalibrationError, match="column recency is also an RFM feature"):
        calibrate(copy / "calibration.yaml", copy / "fitted.yaml")
