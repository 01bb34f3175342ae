"""cohort_retention: hand-worked table, weeks, bad input (plots: tests/report/test_profiles.py)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


@pytest.fixture
def purchases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 3, 3, 4],
            "item_id": ["a"] * 7,
            "timestamp": [
                datetime(2024, 1, 5),
                datetime(2024, 1, 20),
                datetime(2024, 3, 1),
                datetime(2024, 1, 9),
                datetime(2024, 2, 2),
                datetime(2024, 3, 3),
                datetime(2024, 2, 28),
            ],
            "quantity": [1.0] * 7,
        }
    )


def test_monthly_cohorts_hand_worked(purchases: pl.DataFrame) -> None:
    table = rs.cohort_retention(purchases, period="month")
    assert table.rows() == [
        (date(2024, 1, 1), 0, 2, 2, 1.0, True),
        (date(2024, 1, 1), 2, 1, 2, 0.5, False),  # March: data end on March 3
        (date(2024, 2, 1), 0, 2, 2, 1.0, True),
        (date(2024, 2, 1), 1, 1, 2, 0.5, False),
    ]
    assert table.columns == [
        "cohort",
        "period_index",
        "customers",
        "cohort_size",
        "retention",
        "complete",
    ]


def test_weekly_cohorts_and_as_of(purchases: pl.DataFrame) -> None:
    table = rs.cohort_retention(purchases, period="week", as_of="2024-02-01")
    # weeks start on Monday: 2024-01-01 (users 1 by Jan 5, 2 by Jan 9? no: Jan 8 week)
    assert table.rows() == [
        (date(2024, 1, 1), 0, 1, 1, 1.0, True),
        (date(2024, 1, 1), 2, 1, 1, 1.0, True),  # week of Jan 15 ends before as_of
        (date(2024, 1, 8), 0, 1, 1, 1.0, True),
    ]


def test_returns_are_ignored(purchases: pl.DataFrame) -> None:
    with_returns = purchases.with_columns(pl.lit(False).alias("is_return"))
    extra = with_returns.head(1).with_columns(
        pl.lit(datetime(2024, 6, 1)).alias("timestamp"), pl.lit(True).alias("is_return")
    )
    assert rs.cohort_retention(pl.concat([with_returns, extra])).equals(
        rs.cohort_retention(purchases)
    )


def test_bad_input(purchases: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="period"):
        rs.cohort_retention(purchases, period="day")
    with pytest.raises(InputDataError, match="empty"):
        rs.cohort_retention(purchases.clear())
    with pytest.raises(InputDataError, match="user_id"):
        rs.cohort_retention(purchases.drop("user_id"))


def test_online_retail_first_cohort(online_retail: pl.DataFrame) -> None:
    table = rs.cohort_retention(online_retail)
    first = table.filter(pl.col("cohort") == date(2010, 12, 1))
    december = online_retail.filter(pl.col("timestamp") < datetime(2011, 1, 1))["user_id"]
    assert first["cohort_size"][0] == december.n_unique()
    january = online_retail.filter(
        (pl.col("timestamp") >= datetime(2011, 1, 1)) & (pl.col("timestamp") < datetime(2011, 2, 1))
    )["user_id"]
    both = december.unique().is_in(january.unique().implode()).sum()
    assert first.filter(pl.col("period_index") == 1)["customers"][0] == both
