"""Infinite numbers, text weights, endless windows: counted or refused, never kept or crashing."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError

T0 = datetime(2024, 1, 1)


def _orders(quantity: list, price: list) -> pl.DataFrame:
    n = len(quantity)
    return pl.DataFrame(
        {
            "user_id": list(range(n)),
            "item_id": ["a"] * n,
            "timestamp": [T0 + timedelta(days=i) for i in range(n)],
            "quantity": quantity,
            "price": price,
        }
    )


@pytest.mark.parametrize("as_text", [False, True])
def test_infinite_quantity_and_price_are_dropped_and_counted(as_text: bool) -> None:
    inf = float("inf")
    orders = _orders([1.0, inf, -inf, 2.0, 1.0], [1.0, 1.0, 1.0, inf, 2.0])
    if as_text:
        orders = orders.with_columns(pl.col("quantity", "price").cast(pl.String))
    purchases, report = rs.clean_purchases(orders)
    assert purchases["user_id"].to_list() == [0, 4]
    assert report.dropped["invalid_quantity"] == 2
    assert report.dropped["invalid_price"] == 1
    assert report.rows_in == report.rows_out + report.rows_dropped
    # The next step accepts what cleaning kept.
    rs.Interactions.from_purchases(purchases, weight="spend")


def test_text_weight_column_is_a_typed_error() -> None:
    frame = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"], "w": ["x", "2"]})
    with pytest.raises(InputDataError, match="'w'"):
        rs.Interactions.from_frame(frame, weight="w")
    numbers = frame.with_columns(pl.Series("w", [1, 2]))
    assert rs.Interactions.from_frame(numbers, weight="w").matrix.sum() == 3
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InputDataError, match="'w'"):
            rs.Interactions.from_frame(frame.with_columns(pl.Series("w", [1.0, bad])), weight="w")


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), "90", 0, -1, True])
def test_temporal_split_horizon_must_be_a_finite_positive_number(bad) -> None:
    purchases = _orders([1.0] * 4, [1.0] * 4)
    with pytest.raises(InputDataError, match="horizon_days"):
        rs.evaluation.temporal_split(purchases, T0 + timedelta(days=2), horizon_days=bad)


def test_a_horizon_beyond_the_calendar_reaches_the_end_of_the_data() -> None:
    purchases = _orders([1.0] * 4, [1.0] * 4).with_columns(user_id=pl.lit(1))
    split = rs.evaluation.temporal_split(purchases, T0 + timedelta(days=2), horizon_days=1e9)
    assert split.test.height == 2
    labels = rs.uplift.retention_labels(purchases, T0 + timedelta(days=2), 3_000_000)
    assert labels["n_orders_after"].to_list() == [2]


def test_open_horizon_validation_never_reads_the_test_period() -> None:
    """With horizon_days=None the test window's length is known only from the test
    rows: a validation split built from it would depend on test-period timestamps.
    """
    purchases = _orders([1.0] * 10, [1.0] * 10).with_columns(user_id=pl.lit(1))
    split = rs.evaluation.temporal_split(purchases, T0 + timedelta(days=6), horizon_days=None)
    with pytest.raises(InputDataError, match="horizon_days"):
        split.validation()


def test_fixed_horizon_validation_does_not_depend_on_test_rows() -> None:
    purchases = _orders([1.0] * 10, [1.0] * 10).with_columns(user_id=pl.lit(1))
    later = purchases.with_columns(
        pl.col("timestamp")
        + pl.when(pl.col("timestamp") >= T0 + timedelta(days=6))
        .then(timedelta(hours=5))
        .otherwise(timedelta(0))
    )
    a = rs.evaluation.temporal_split(purchases, T0 + timedelta(days=6), horizon_days=4)
    b = rs.evaluation.temporal_split(later, T0 + timedelta(days=6), horizon_days=4)
    va, vb = a.validation(), b.validation()
    assert va.cutoff == vb.cutoff
    assert va.test.equals(vb.test)
    assert va.train.equals(vb.train)


def test_split_flags_and_seeds_are_checked() -> None:
    purchases = _orders([1.0] * 4, [1.0] * 4).with_columns(user_id=pl.lit(1))
    with pytest.raises(InputDataError, match="include_cold_users"):
        rs.evaluation.temporal_split(purchases, T0 + timedelta(days=2), include_cold_users="yes")
    for seed in ("x", -1, 1.5):
        with pytest.raises(InputDataError, match="seed"):
            rs.evaluation.random_holdout(purchases, 0.5, seed=seed)
