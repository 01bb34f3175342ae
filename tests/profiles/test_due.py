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
    # item A: all gaps are 10 days, so the item interval is 10 for everyone (prior on the
    # item from all items pulls it a little toward B's 20 days: item_prior=5 gaps of mean log)
    a_item = math.exp((5 * math.log(10) + 5 * (5 * math.log(10) + 2 * math.log(20)) / 7) / 10)
    assert rows[(2, "A")]["interval_days"] == pytest.approx(a_item)
    own = math.exp((5 * math.log(10) + 2 * math.log(a_item)) / 7)
    assert rows[(1, "A")]["interval_days"] == pytest.approx(own)
    assert rows[(3, "B")]["n_purchases"] == 3
    assert rows[(1, "A")]["due_date"] == rows[(1, "A")]["last_purchase"] + timedelta(
        microseconds=round(own * 86_400_000_000)
    )
    p = due["p_within_horizon"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    # the regular buyer is more likely to buy again than the one-off buyer
    assert rows[(1, "A")]["p_within_horizon"] > rows[(2, "A")]["p_within_horizon"]


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
    with pytest.warns(rs.DataWarning, match="not calibrated"):
        rs.due_items(history, as_of="2024-03-15")
