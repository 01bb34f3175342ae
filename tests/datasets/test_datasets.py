"""The bundled Online Retail table and the readers of the shared data folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from recsys.data.presets import ONLINE_RETAIL_NON_PRODUCTS
from recsys.exceptions import InputDataError
from tests.conftest import shared_dataset

NON_PRODUCTS = list(ONLINE_RETAIL_NON_PRODUCTS)


def test_bundled_raw_table(online_retail_raw: pl.DataFrame) -> None:
    raw = online_retail_raw
    assert raw.height == 541_909
    assert raw.columns == [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ]
    assert raw.schema["InvoiceDate"] == pl.Datetime("us")
    assert raw["CustomerID"].null_count() == 135_080
    assert raw["InvoiceNo"].n_unique() == 25_900
    assert raw["CustomerID"].n_unique() - 1 == 4_372  # minus the null
    assert raw["InvoiceNo"].str.starts_with("C").sum() == 9_288
    assert (raw["Quantity"] <= 0).sum() == 10_624
    assert raw["InvoiceDate"].min() == datetime(2010, 12, 1, 8, 26)
    assert raw["InvoiceDate"].max() == datetime(2011, 12, 9, 12, 50)


def test_bundled_file_is_small() -> None:
    path = Path(rs.datasets.__file__).parent / "online_retail.parquet"
    assert path.stat().st_size < 15_000_000


def _non_product_rows(raw: pl.DataFrame, customer: str = "CustomerID") -> int:
    """Rows with a customer and a non-product code, counted with plain polars."""
    return raw.filter(
        pl.col(customer).is_not_null(), pl.col("StockCode").is_in(NON_PRODUCTS)
    ).height


def test_online_retail_cleaning_counts(online_retail_raw: pl.DataFrame) -> None:
    # the shared data README's counts: every code a purchase, postage included
    purchases, report = rs.clean_purchases(
        online_retail_raw, preset="online_retail", non_product_items=()
    )
    assert report.rows_in == 541_909
    # customer known, positive quantity, no cancellation marker, before de-duplication
    assert report.rows_out == purchases.height == 397_924
    assert report.n_users == 4_339
    assert report.n_items == 3_665
    assert report.dropped["missing_user"] == 135_080
    assert report.dropped["cancellation"] == 8_905
    assert report.rows_dropped == 541_909 - 397_924
    assert report.returns.height == 8_905
    assert report.returns["user_id"].null_count() == 0
    assert report.returns["order_id"].str.starts_with("C").all()
    assert (report.returns["quantity"] < 0).all()
    # the two retention windows of the shared data README
    cutoff = datetime(2011, 9, 9)
    days = pl.duration(days=90)
    before = purchases.filter(
        (pl.col("timestamp") >= pl.lit(cutoff) - days) & (pl.col("timestamp") < cutoff)
    )["user_id"].unique()
    after = purchases.filter(
        (pl.col("timestamp") >= cutoff) & (pl.col("timestamp") < pl.lit(cutoff) + days)
    )["user_id"].unique()
    assert before.len() == 1_892
    assert after.len() == 2_878
    assert before.is_in(after.implode()).sum() == 1_305
    # the preset's default drops the non-products, purchases and cancellations alike
    _, default = rs.clean_purchases(online_retail_raw, preset="online_retail")
    assert default.dropped["non_product"] == _non_product_rows(online_retail_raw) > 0
    assert default.dropped["missing_user"] == 135_080
    assert (
        default.rows_out + default.dropped["non_product"] + default.dropped["cancellation"]
        == 397_924 + 8_905
    )


def test_online_retail_keep_returns(online_retail_raw: pl.DataFrame) -> None:
    purchases, report = rs.clean_purchases(
        online_retail_raw, preset="online_retail", keep_returns=True, non_product_items=()
    )
    assert purchases.height == 397_924 + 8_905
    assert purchases["is_return"].sum() == 8_905
    assert report.rows_in == report.rows_out + report.rows_dropped
    purchases, report = rs.clean_purchases(
        online_retail_raw, preset="online_retail", keep_returns=True
    )
    assert purchases.height == 397_924 + 8_905 - _non_product_rows(online_retail_raw)
    assert report.rows_in == report.rows_out + report.rows_dropped


def test_online_retail_fixture_matches(
    online_retail: pl.DataFrame, online_retail_raw: pl.DataFrame
) -> None:
    bought = online_retail_raw.filter(
        pl.col("CustomerID").is_not_null(),
        ~pl.col("InvoiceNo").str.starts_with("C"),
        pl.col("Quantity") > 0,
    )
    assert bought.height == 397_924  # the shared data README
    products = bought.filter(~pl.col("StockCode").is_in(NON_PRODUCTS))
    assert online_retail.height == products.height
    assert online_retail["user_id"].n_unique() == products["CustomerID"].n_unique()


def test_shared_online_retail_csv_matches_bundled() -> None:
    raw = shared_dataset("online_retail")
    assert raw.height == 541_909
    _, report = rs.clean_purchases(raw, preset="online_retail", non_product_items=())
    assert (report.rows_out, report.n_users, report.n_items) == (397_924, 4_339, 3_665)
    _, shared = rs.clean_purchases(raw, preset="online_retail")
    _, bundled = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    assert shared.dropped == bundled.dropped
    assert (shared.rows_out, shared.n_users, shared.n_items) == (
        bundled.rows_out,
        bundled.n_users,
        bundled.n_items,
    )


def test_shared_online_retail_ii() -> None:
    raw = shared_dataset("online_retail_ii")
    assert raw.height == 525_461
    assert raw["Customer ID"].null_count() == 107_927
    _, report = rs.clean_purchases(raw, preset="online_retail_ii", non_product_items=())
    assert report.n_users == 4_314
    assert report.dropped["missing_user"] == 107_927
    _, report = rs.clean_purchases(raw, preset="online_retail_ii")
    assert report.dropped["non_product"] == _non_product_rows(raw, "Customer ID") > 0
    assert report.dropped["missing_user"] == 107_927


def test_shared_ta_feng() -> None:
    raw = shared_dataset("ta_feng")
    assert raw.height == 817_741
    purchases, report = rs.clean_purchases(raw, preset="ta_feng")
    assert report.n_users == 32_266
    assert report.n_items == 23_812
    assert purchases["user_id"].str.len_chars().min() == 8  # zero padding kept
    assert purchases["timestamp"].min() == datetime(2000, 11, 1)
    assert purchases["timestamp"].max() == datetime(2001, 2, 28)


def test_shared_complete_journey() -> None:
    raw = shared_dataset("complete_journey")
    assert raw.height == 75_000
    purchases, report = rs.clean_purchases(raw, preset="complete_journey")
    assert report.rows_in == 75_000
    assert purchases["timestamp"].dt.year().unique().to_list() == [2017]
    products = shared_dataset("complete_journey_products")
    assert products.height == 92_331
    assert products.schema["product_id"] == pl.Int64
    assert 900_000 in products["product_id"]  # written "9e+05" in the file


def test_shared_movielens_and_open_bandit() -> None:
    ratings = shared_dataset("movielens_100k")
    assert ratings.shape == (100_000, 4)
    assert ratings["user_id"].n_unique() == 943
    assert ratings["item_id"].n_unique() == 1_682
    for policy in ("random", "bts"):
        logs = shared_dataset(f"open_bandit_{policy}_all")
        assert logs.height == 10_000
        assert logs["item_id"].n_unique() == 80
        assert logs.columns[0] == "timestamp"
    assert shared_dataset("open_bandit_random_men")["item_id"].n_unique() == 34


def test_load_shared_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputDataError, match=r"unknown shared dataset 'nope'.*ta_feng"):
        rs.datasets.load_shared("nope")
    monkeypatch.setenv("RECSYS_DATA", str(tmp_path / "absent"))
    with pytest.raises(InputDataError, match="RECSYS_DATA"):
        rs.datasets.load_shared("ta_feng")
    monkeypatch.setenv("RECSYS_DATA", str(tmp_path))
    with pytest.raises(InputDataError, match=r"'ta_feng' not found at"):
        rs.datasets.load_shared("ta_feng")


def test_shared_data_dir_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    nested = tmp_path / "wt" / "checkout"
    nested.mkdir(parents=True)
    monkeypatch.delenv("RECSYS_DATA", raising=False)
    monkeypatch.chdir(nested)
    assert rs.datasets.shared_data_dir() == data
