"""recsys.data.canonical: one order key, one purchases check, one segment convention."""

from __future__ import annotations

import warnings
from datetime import datetime

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning
from recsys.profiles import ProfileConfig


def _two_orders_one_day(order_id: str) -> pl.DataFrame:
    """Two customers who each bought twice on one day (09:00 and 17:00), no order ids.

    ``order_id``: "absent" (no column), "null" (the column, all null) or "mixed"
    (user 2's first day has an order id, the rest is null).
    """
    d = datetime
    frame = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2],
            "item_id": ["a", "c", "b", "a", "b", "c"],
            "timestamp": [
                d(2011, 1, 3, 9),
                d(2011, 1, 10, 9),
                d(2011, 1, 10, 17),
                d(2011, 1, 4, 9),
                d(2011, 1, 4, 17),
                d(2011, 1, 12, 12),
            ],
            "quantity": [1.0] * 6,
            "price": [2.0] * 6,
        }
    )
    if order_id == "null":
        frame = frame.with_columns(order_id=pl.lit(None, dtype=pl.String))
    elif order_id == "mixed":
        frame = frame.with_columns(order_id=pl.Series([None, None, None, "x", "x", None]))
    return frame


@pytest.mark.parametrize("order_id", ["absent", "null", "mixed"])
def test_one_order_per_customer_day_everywhere(order_id: str) -> None:
    purchases = _two_orders_one_day(order_id)
    config = ProfileConfig(churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(purchases, as_of="2011-02-01", config=config)
        rfm = rs.profiles.rfm_table(purchases, as_of="2011-02-01")
    assert profiles["frequency"].to_list() == [2, 2]
    assert rfm["frequency"].to_list() == [2, 2]

    labels = rs.uplift.retention_labels(purchases, "2011-01-05", 30)
    # user 1: one order on Jan 10 (two rows, 09:00 and 17:00); user 2: Jan 12
    assert labels.select("user_id", "n_orders_after").rows() == [(1, 1), (2, 1)]
    early = rs.uplift.retention_labels(purchases, "2011-01-01", 30, users=[1, 2])
    assert early["n_orders_after"].to_list() == [2, 2]

    recs = pl.DataFrame({"user_id": [1, 2], "item_id": ["b", "b"]})
    table = rs.uplift.hit_retention(recs, purchases, "2011-01-05", 30)
    # user 1's first order in the window is the whole of Jan 10, which holds "b"
    assert table.select("n_returned", "n_hit", "n_no_hit").row(0) == (2, 1, 1)
    assert table.select("hit_retention", "no_hit_retention").row(0) == (0.0, 0.0)

    split = rs.evaluation.leave_last_basket(purchases)
    held = split.test.sort("user_id", "timestamp").select("user_id", "item_id").rows()
    assert held == [(1, "c"), (1, "b"), (2, "c")]
    assert split.train.height == 3
