"""Items due again: known answers on a tiny history, no leakage past as_of, bad input."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


def _history() -> pl.DataFrame:
    start = datetime(2024, 1, 1)
    rows = []
    # user 1 buys item A every 10 days, user 2 bought A once, user 3 buys B every 20 days
    rows += [(1, "A", start + timedelta(days=10 * i)) for i in range(6)]
    rows += [(2, "A", start + timedelta(days=15))]
    rows += [(3, "B", start + timedelta(days=20 * i)) for i in range(3)]
    rows += [(3, "B", start + timedelta(days=40, hours=3))]  # same day: one purchase day
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp"], orient="row"
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us")), quantity=pl.lit(1.0))


def test_intervals_shrink_toward_the_item() -> None:
    due = rs.due_items(_history(), as_of="2024-03-15", horizon_days=30, calibrate=False)
    rows = {(r["user_id"], r["item_id"]): r for r in due.iter_rows(named=True)}
    # Kaplan-Meier medians. Item A: gaps 10 x 5, user 1's open spell (24 days) censored
    # -> 10. Item B: gaps 20, 20, user 3's open spell (34 days) censored -> 20. All items:
    # 7 gaps and 2 censored spells, S(10) = 4/9 <= 1/2 -> 10.
    a_item = math.exp((5 * math.log(10) + 5 * math.log(10)) / 10)
    b_item = math.exp((2 * math.log(20) + 5 * math.log(10)) / 7)
    assert rows[(2, "A")]["interval_days"] == pytest.approx(a_item)
    own = math.exp((5 * math.log(10) + 2 * math.log(a_item)) / 7)
    assert rows[(1, "A")]["interval_days"] == pytest.approx(own)
    own_b = math.exp((2 * math.log(20) + 2 * math.log(b_item)) / 4)
    assert rows[(3, "B")]["interval_days"] == pytest.approx(own_b)
    assert rows[(3, "B")]["n_purchases"] == 3
    assert rows[(1, "A")]["due_date"] == rows[(1, "A")]["last_purchase"] + timedelta(
        microseconds=round(own * 86_400_000_000)
    )
    p = due["p_within_horizon"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    # the regular buyer is more likely to buy again than the one-off buyer
    assert rows[(1, "A")]["p_within_horizon"] > rows[(2, "A")]["p_within_horizon"]


def _one_item(last_days_before_as_of: int) -> pl.DataFrame:
    """Item C: four customers with one gap each (5, 10, 15, 20 days), last bought the given
    number of days before as_of = 2024-06-01; customer 9 bought C once."""
    as_of = datetime(2024, 6, 1)
    rows = []
    for u, gap in enumerate((5, 10, 15, 20)):
        last = as_of - timedelta(days=last_days_before_as_of)
        rows += [(u, "C", last - timedelta(days=gap)), (u, "C", last)]
    rows.append((9, "C", as_of - timedelta(days=1)))
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def test_open_spells_lengthen_the_item_interval() -> None:
    # open spells of 2 days end before any gap: median of the gaps alone, S(10) = 1/2
    short = rs.due_items(_one_item(2), as_of="2024-06-01", calibrate=False)
    assert short.filter(pl.col("user_id") == 9)["interval_days"][0] == pytest.approx(10.0)
    # open spells of 200 days: the four gaps in progress are longer than every completed
    # one, S(5) = 7/8, S(10) = 6/8, S(15) = 5/8, S(20) = 4/8 -> median 20
    long = rs.due_items(_one_item(200), as_of="2024-06-01", calibrate=False)
    assert long.filter(pl.col("user_id") == 9)["interval_days"][0] == pytest.approx(20.0)


def test_nothing_on_or_after_as_of_is_used(online_retail: pl.DataFrame) -> None:
    as_of = datetime(2011, 9, 9)
    before = online_retail.filter(pl.col("timestamp") < as_of)
    after = online_retail.filter(pl.col("timestamp") >= as_of)
    # scramble the future: different customers, items and times must not change anything
    scrambled = after.with_columns(
        pl.col("user_id").shuffle(seed=1), pl.col("item_id").shuffle(seed=2)
    )
    a = rs.due_items(online_retail, as_of=as_of, horizon_days=30)
    b = rs.due_items(pl.concat([before, scrambled]), as_of=as_of, horizon_days=30)
    c = rs.due_items(before, as_of=as_of, horizon_days=30)
    assert a.equals(b)
    assert a.equals(c)
    assert a["last_purchase"].max() < as_of


def test_bad_input() -> None:
    history = _history()
    with pytest.raises(InputDataError, match="horizon_days"):
        rs.due_items(history, as_of="2024-03-15", horizon_days=0)
    with pytest.raises(InputDataError, match="item_id"):
        rs.due_items(history.drop("item_id"), as_of="2024-03-15")
    with pytest.raises(InputDataError, match="no purchase"):
        rs.due_items(history, as_of="2023-01-01")
    with pytest.warns(rs.DataWarning, match="not calibrated") as caught:
        rs.due_items(history, as_of="2024-03-15")
    pairs = history.filter(pl.col("timestamp") < datetime(2024, 2, 14))
    assert str(caught[0].message) == (
        "p_within_horizon is not calibrated: it is calibrated on the (customer, product) pairs "
        "bought before 2024-02-14 (30 days before as_of) and whether they were bought again in "
        f"the 30 days after, and only {pairs.select('user_id', 'item_id').n_unique()} "
        "(customer, product) pairs were bought before it, at least 500 are needed "
        "(min_calibration_pairs); p_within_horizon is the renewal model's probability, "
        "uncalibrated"
    )


def test_pairs_from_the_purchase_days() -> None:
    # a pair's rows are consecutive in the sorted purchase days: checked against a plain
    # Python count of distinct days per (customer, product), adjacent pairs included
    rng = np.random.default_rng(3)
    n = 400
    start = datetime(2024, 1, 1)
    frame = pl.DataFrame(
        {
            "user_id": rng.integers(0, 12, n),
            "item_id": [f"i{v}" for v in rng.integers(0, 6, n)],
            "timestamp": [start + timedelta(hours=int(h)) for h in rng.integers(0, 2880, n)],
        }
    )
    # customers 20-22 buy only i3: their pairs are adjacent with the same product
    alone = [(u, "i3", start + timedelta(days=d)) for u in (20, 21, 22) for d in (3, 9)]
    frame = pl.concat([frame, pl.DataFrame(alone, schema=frame.schema, orient="row")])
    due = rs.due_items(frame, as_of=datetime(2024, 5, 1), calibrate=False)
    days: dict[tuple[int, str], set[object]] = {}
    last: dict[tuple[int, str], datetime] = {}
    for user, item, t in frame.iter_rows():
        days.setdefault((user, item), set()).add(t.date())
        last[(user, item)] = max(last.get((user, item), t), t)
    assert due.select("user_id", "item_id").rows() == sorted(days)
    for row in due.iter_rows(named=True):
        key = (row["user_id"], row["item_id"])
        assert row["n_purchases"] == len(days[key])
        assert row["last_purchase"] == last[key]


def test_table_later_is_the_fitted_table(online_retail: pl.DataFrame) -> None:
    as_of = datetime(2011, 9, 9)
    model = rs.profiles.DueItems(30).fit(online_retail, as_of, table=False)
    assert "items_" not in vars(model)
    table = rs.due_items(online_retail, as_of=as_of, horizon_days=30)
    assert model.predict(online_retail).equals(table)
