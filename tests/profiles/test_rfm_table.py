"""rfm_table: the RFM columns of build_profiles from one lazy query."""

from __future__ import annotations

import warnings
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles import ProfileConfig, rfm_table
from recsys.profiles.rfm import RFM_SEGMENTS
from tests._purchases import purchases_frame
from tests.profiles.test_build import AS_OF, _rows

RFM_COLUMNS = ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"]


def test_hand_worked_small() -> None:
    table = rfm_table(purchases_frame(_rows()), as_of=AS_OF)
    assert table["user_id"].to_list() == [1, 2, 3, 5]
    # last purchases 2024-01-31 09:00, 02-20, 02-04, 02-25; as_of 2024-03-01
    assert table["recency_days"].to_list() == pytest.approx([29.625, 10.0, 26.0, 5.0])
    assert table["frequency"].to_list() == [3, 1, 2, 2]
    assert table["monetary"].to_list() == pytest.approx([35.0, 5.0, 30.0, 30.0])
    # score = 1 + floor(5 * strictly_worse / 4)
    assert table["r_score"].to_list() == [1, 3, 2, 4]
    assert table["f_score"].to_list() == [4, 1, 2, 2]
    assert table["m_score"].to_list() == [4, 1, 2, 2]
    assert table["rfm_segment"].to_list() == [
        "at_risk",
        "about_to_sleep",
        "hibernating",
        "potential_loyalist",
    ]


def test_equals_build_profiles_on_online_retail(online_retail: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for as_of in (datetime(2011, 9, 9), None):
            table = rfm_table(online_retail, as_of=as_of)
            full = rs.build_profiles(online_retail, as_of=as_of, config=ProfileConfig(churn=False))
            assert_frame_equal(table.drop("rfm_segment"), full.select(table.columns[:-1]))
            assert table.columns == ["user_id", *RFM_COLUMNS, "rfm_segment"]
            assert_reconciled(table, full)


def assert_reconciled(table: pl.DataFrame, full: pl.DataFrame) -> None:
    """build_profiles' segment is the plain grid's, except a lapsed name on a
    customer the lifecycle stage does not call dormant or churned (the r = 3 row) and
    a name of the rows above on one it does (the r = 2 row)."""
    late = full["lifecycle_stage"].is_in(["dormant", "churned"]).to_list()
    expected = [
        RFM_SEGMENTS[(3, f)]
        if r <= 2 and not is_late
        else RFM_SEGMENTS[(2, f)]
        if r >= 3 and is_late
        else grid
        for grid, r, f, is_late in zip(
            table["rfm_segment"], table["r_score"], table["f_score"], late, strict=True
        )
    ]
    assert full["rfm_segment"].to_list() == expected


def test_null_order_ids_returns_lazy_and_no_price(tmp_path) -> None:
    rows = [
        *_rows(),
        (2, "b", None, datetime(2024, 2, 21, 8), 1.0, 4.0),
        (2, "c", None, datetime(2024, 2, 21, 18), 1.0, 4.0),  # same day: one order
        (2, "c", None, datetime(2024, 2, 22, 9), 1.0, 4.0),
        (9, "c", "o9", datetime(2024, 5, 1), 1.0, 4.0),  # after as_of
    ]
    frame = purchases_frame(rows)
    returns = frame.head(1).with_columns(pl.col("quantity") * -1, pl.lit(True).alias("is_return"))
    with_returns = pl.concat([frame.with_columns(pl.lit(False).alias("is_return")), returns])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        full = rs.build_profiles(with_returns, as_of=AS_OF, config=ProfileConfig(churn=False))
    table = rfm_table(with_returns, as_of=AS_OF)
    assert_frame_equal(table.drop("rfm_segment"), full.select(table.columns[:-1]))
    assert_reconciled(table, full)
    assert table.filter(pl.col("user_id") == 2)["frequency"].item() == 3
    path = tmp_path / "p.parquet"
    with_returns.write_parquet(path)
    assert_frame_equal(rfm_table(path, as_of=AS_OF), table)
    no_price = rfm_table(frame.drop("price"), as_of=AS_OF)
    assert "monetary" not in no_price.columns
    assert "m_score" not in no_price.columns
    assert_frame_equal(no_price, table.select(no_price.columns))


def test_bad_input() -> None:
    frame = purchases_frame(_rows())
    with pytest.raises(InputDataError, match="before as_of"):
        rfm_table(frame, as_of="2020-01-01")
    with pytest.raises(InputDataError, match="empty"):
        rfm_table(frame.clear())
    with pytest.raises(InputDataError, match="price"):
        rfm_table(frame.with_columns(pl.lit(-1.0).alias("price")))
    with pytest.raises(InputDataError, match="quantity <= 0"):
        rfm_table(frame.with_columns(pl.lit(0.0).alias("quantity")))
    with pytest.raises(InputDataError, match="lack the columns"):
        rfm_table(frame.drop("timestamp"))
    same = purchases_frame([(u, "a", f"o{u}", datetime(2024, 1, 1), 1.0, 2.0) for u in range(4)])
    with pytest.warns(DataWarning, match="same 'recency_days'"):
        table = rfm_table(same)
    assert set(table["r_score"]) == {1}
    assert set(table["rfm_segment"]) == {"lost"}
