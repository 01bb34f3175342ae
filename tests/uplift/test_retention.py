"""retention_labels, retention_rate, repurchase_rate, hit_retention."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from scipy import stats

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError


@pytest.fixture
def purchases() -> pl.DataFrame:
    d = datetime
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 4, 4],
            "item_id": ["A", "B", "C", "A", "B", "C", "A", "B"],
            "order_id": ["o1", "o2", "o2", "o3", "o4", "o5", "o6", "o7"],
            "timestamp": [
                d(2011, 1, 3),
                d(2011, 2, 2),
                d(2011, 2, 2),
                d(2011, 1, 9),
                d(2011, 4, 1),
                d(2011, 1, 20),
                d(2011, 1, 31, 23),
                d(2011, 3, 2, 23, 59),
            ],
            "quantity": [1.0, 2.0, 1.0, 1.0, 1.0, 4.0, 1.0, 1.0],
            "price": [5.0, 2.0, 3.0, 5.0, 2.0, 1.0, 5.0, 2.0],
        }
    )


def test_retention_labels_hand_worked(purchases):
    labels = rs.uplift.retention_labels(purchases, "2011-02-01", 30)
    # window [Feb 1, Mar 3): user 1 buys o2 (2·2 + 1·3 = 7); user 4's Mar 2 23:59 counts
    assert labels.rows() == [
        (1, True, 1, 7.0),
        (2, False, 0, 0.0),
        (3, False, 0, 0.0),
        (4, True, 1, 2.0),
    ]
    assert labels.schema["retained"] == pl.Boolean


def test_only_strictly_earlier_customers_and_given_users(purchases):
    labels = rs.uplift.retention_labels(purchases, "2011-01-09", 365)
    assert labels["user_id"].to_list() == [1]  # user 2's first purchase is at as_of itself
    labels = rs.uplift.retention_labels(purchases, "2011-02-01", 30, users=[4, 99])
    assert labels.rows() == [(4, True, 1, 2.0), (99, False, 0, 0.0)]


def test_without_order_id_or_price(purchases):
    labels = rs.uplift.retention_labels(purchases.drop("order_id", "price"), "2011-02-01", 30)
    assert labels["n_orders_after"].to_list() == [1, 0, 0, 1]  # o2's two lines share a time
    assert labels["spend_after"].null_count() == 4


def test_returns_are_not_retention(purchases):
    returns = purchases.with_columns(is_return=pl.col("user_id") == 4)
    labels = rs.uplift.retention_labels(returns, "2011-02-01", 30)
    assert labels["user_id"].to_list() == [1, 2, 3]


def test_retention_rate_with_segments(purchases):
    labels = rs.uplift.retention_labels(purchases, "2011-02-01", 30)
    segments = pl.DataFrame({"user_id": [1, 2, 3], "stage": ["active", "active", "new"]})
    with pytest.warns(DataWarning, match="1 customer has no segment"):
        table = rs.uplift.retention_rate(labels, segments)
    assert table.columns == [
        "stage",
        "n_customers",
        "n_retained",
        "retention_rate",
        "ci_low",
        "ci_high",
    ]
    assert table.rows()[:2] == [
        ("active", 2, 1, 0.5, *stats.binomtest(1, 2).proportion_ci(method="wilson")),
        ("new", 1, 0, 0.0, *stats.binomtest(0, 1).proportion_ci(method="wilson")),
    ]
    assert table.row(2)[0] == "(missing)"  # one labelled group, last (was: null)


def test_repurchase_rate(purchases):
    labels = rs.uplift.retention_labels(purchases, "2011-01-10", 120, users=[1, 2, 3, 4])
    # window [Jan 10, May 10): 1 -> o2, 2 -> o4, 3 -> o5, 4 -> o6 and o7
    table = rs.uplift.repurchase_rate(labels)
    assert table.select("n_customers", "n_repurchased", "repurchase_rate").row(0) == (4, 1, 0.25)
    assert rs.uplift.repurchase_rate(labels, min_orders=1)["n_repurchased"][0] == 4


def test_online_retail_published_retention(online_retail_raw):
    """README: 1,892 customers bought in the 90 days before 2011-09-09; 1,305 (69.0%) came back."""
    # the README counts every StockCode as a purchase, postage included
    online_retail, _ = rs.clean_purchases(
        online_retail_raw, preset="online_retail", non_product_items=()
    )
    before = online_retail.filter(
        pl.col("timestamp").is_between(datetime(2011, 6, 11), datetime(2011, 9, 9), closed="left")
    )["user_id"].unique()
    labels = rs.uplift.retention_labels(online_retail, "2011-09-09", 90, users=before)
    assert labels.height == 1892
    assert int(labels["retained"].sum()) == 1305


def test_bad_input(purchases):
    with pytest.raises(InputDataError, match="horizon_days"):
        rs.uplift.retention_labels(purchases, "2011-02-01", 0)
    with pytest.raises(InputDataError, match="as_of"):
        rs.uplift.retention_labels(purchases, "yesterday", 10)
    with pytest.raises(InputDataError, match="no column 'timestamp'"):
        rs.uplift.retention_labels(purchases.drop("timestamp"), "2011-02-01", 10)
    labels = rs.uplift.retention_labels(purchases, "2011-02-01", 30)
    with pytest.raises(InputDataError, match="exactly one segment column"):
        rs.uplift.retention_rate(labels, pl.DataFrame({"user_id": [1], "a": [1], "b": [2]}))


# ---- hit_retention ---------------------------------------------------------------------------
def test_hit_retention_hand_worked():
    d = datetime
    recs = pl.DataFrame({"user_id": [1, 1, 2, 3, 4, 5], "item_id": ["A", "B", "A", "A", "C", "A"]})
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3, 4, 5, 5],
            "item_id": ["A", "Z", "Z", "A", "Z", "Z", "C", "A", "Z"],
            "order_id": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
            "timestamp": [
                d(2011, 9, 10),
                d(2011, 9, 20),
                d(2011, 9, 11),
                d(2011, 9, 12),
                d(2011, 9, 15),
                d(2011, 9, 16),
                d(2011, 9, 12),
                d(2011, 9, 1),
                d(2011, 10, 30),
            ],
        }
    )
    segments = pl.DataFrame({"user_id": [1, 2, 3, 4, 5], "stage": ["a", "a", "b", "b", "b"]})
    t = rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30)
    # first orders in the window: 1 hit (A) then again; 2 no hit (Z) then again (A counts as
    # retention, not as a hit); 3 no hit, again; 4 hit, never again; 5 not returned.
    row = t.row(0, named=True)
    assert (row["n_customers"], row["n_returned"], row["n_hit"], row["n_no_hit"]) == (5, 4, 2, 2)
    assert row["hit_retention"] == 0.5
    assert row["no_hit_retention"] == 1.0
    assert row["difference"] == -0.5
    assert row["difference_ci_low"] < -0.5 < row["difference_ci_high"]
    assert row["evidence"] == "association, not causal"
    by = rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30, segments=segments)
    assert by["stage"].to_list() == ["a", "b"]
    assert by.select("n_hit", "n_no_hit").rows() == [(1, 1), (1, 1)]
    recs_seg = recs.join(segments, on="user_id")
    assert rs.uplift.hit_retention(recs_seg, purchases, "2011-09-09", 30, by="stage").equals(by)
    with pytest.raises(rs.InputDataError, match="pass a segment table as segments="):
        rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30, by=segments)


def test_hit_retention_empty_group_warns():
    recs = pl.DataFrame({"user_id": [1], "item_id": ["A"]})
    purchases = pl.DataFrame(
        {"user_id": [1], "item_id": ["A"], "timestamp": [datetime(2011, 9, 10)]}
    )
    with pytest.warns(DataWarning, match="no returned customer"):
        t = rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30)
    assert np.isnan(t["difference"][0])
    assert t["hit_retention"][0] == 0.0


def test_hit_retention_bad_input():
    recs = pl.DataFrame({"user_id": [1], "item": ["A"]})
    purchases = pl.DataFrame(
        {"user_id": [1], "item_id": ["A"], "timestamp": [datetime(2011, 9, 10)]}
    )
    with pytest.raises(InputDataError, match="no column 'item_id'"):
        rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30)


def test_hit_retention_missing_segment_is_one_labelled_group():
    recs = pl.DataFrame({"user_id": [1, 2, 3], "item_id": ["A", "A", "A"]})
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3],
            "item_id": ["A", "B", "B", "A"],
            "timestamp": [datetime(2011, 9, d) for d in (10, 20, 11, 12)],
        }
    )
    segments = pl.DataFrame({"user_id": [1], "stage": ["a"]})
    with pytest.warns(DataWarning, match="2 customers have no segment in 'stage'"):
        t = rs.uplift.hit_retention(recs, purchases, "2011-09-09", 30, segments=segments)
    assert t.select("stage", "n_customers").rows() == [("a", 1), ("(missing)", 2)]


def test_retention_labels_net_of_returns_by_hand() -> None:
    from datetime import datetime

    import polars as pl

    import recsys as rs

    p = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3],
            "timestamp": [
                datetime(2024, 1, 1),  # before the window
                datetime(2024, 2, 2),
                datetime(2024, 2, 2),  # 1: 500 bought and returned the same day
                datetime(2024, 1, 5),
                datetime(2024, 3, 20),  # 2: a return after the window is not netted
                datetime(2024, 1, 9),
                datetime(2024, 2, 10),  # 3: returns more than it buys in the window
            ],
            "quantity": [1.0, 5.0, -5.0, 1.0, -1.0, 1.0, -3.0],
            "price": [10.0, 100.0, 100.0, 20.0, 20.0, 7.0, 7.0],
            "is_return": [False, False, True, False, True, False, True],
        }
    )
    gross = rs.uplift.retention_labels(p, "2024-02-01", 30)
    net = rs.uplift.retention_labels(p, "2024-02-01", 30, net_of_returns=True)
    assert gross["spend_after"].to_list() == [500.0, 0.0, 0.0]
    # 1 kept nothing of the 500; 3 was refunded 21 in the window for a purchase before it
    assert net["spend_after"].to_list() == [0.0, 0.0, -21.0]
    assert net["retained"].to_list() == [True, False, False] == gross["retained"].to_list()
    assert net["n_orders_after"].to_list() == gross["n_orders_after"].to_list() == [1, 0, 0]
