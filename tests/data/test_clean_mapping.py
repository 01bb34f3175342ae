"""The shop's columns as given: line totals, product names, order status, customer-day orders."""

from __future__ import annotations

import warnings
from datetime import datetime

import polars as pl
import pytest

import recsys as rs
from recsys.data.canonical import order_key
from recsys.exceptions import DataWarning, InputDataError

T = [
    datetime(2024, 1, 1, 9),
    datetime(2024, 1, 1, 17),
    datetime(2024, 1, 2, 9),
    datetime(2024, 1, 3),
]


def _shop() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Customer": [1, 1, 1, 2],
            "Product": ["P1", "P2", "P1", "P3"],
            "When": T,
            "Qty": [2.0, 1.0, 4.0, 3.0],
            "Sales": [10.0, 7.5, 20.0, 9.0],  # line totals: unit prices 5, 7.5, 5, 3
            "Name": ["Red MUG", "Blue Plate", "Red MUG", "Tea Pot"],
            "Status": ["Complete", "complete", "Canceled", "RETURNED"],
        }
    )


BASE = {"user_id": "Customer", "item_id": "Product", "timestamp": "When", "quantity": "Qty"}


def test_a_line_total_gives_the_unit_price_and_the_spend() -> None:
    shop = _shop()
    purchases, report = rs.clean_purchases(shop, columns={**BASE, "amount": "Sales"})
    assert purchases["price"].to_list() == [5.0, 7.5, 5.0, 3.0]
    spend = (purchases["quantity"] * purchases["price"]).sum()
    assert spend == pytest.approx(shop["Sales"].sum())  # not inflated by the quantity
    assert report.columns["amount"] == "Sales"
    assert "price" not in report.columns
    assert any("line total" in note for note in report.notes)


def test_a_line_total_without_quantity_is_the_price_of_one_unit() -> None:
    columns = {k: v for k, v in BASE.items() if k != "quantity"}
    purchases, _ = rs.clean_purchases(_shop(), columns={**columns, "amount": "Sales"})
    assert purchases["price"].to_list() == [10.0, 7.5, 20.0, 9.0]


def test_amount_and_price_together_are_refused() -> None:
    with pytest.raises(InputDataError, match="amount"):
        rs.clean_purchases(_shop(), columns={**BASE, "amount": "Sales", "price": "Sales"})


def test_a_preset_line_total_is_reported_as_amount() -> None:
    raw = pl.DataFrame(
        {
            "TRANSACTION_DT": ["11/1/2000"],
            "CUSTOMER_ID": ["00141833"],
            "PRODUCT_ID": ["4710085120468"],
            "AMOUNT": [3],
            "SALES_PRICE": [57],
        }
    )
    purchases, report = rs.clean_purchases(raw, preset="ta_feng")
    assert purchases["price"].to_list() == [19.0]
    assert report.columns["amount"] == "SALES_PRICE"


def test_product_names_keep_their_case_and_one_name_per_item() -> None:
    shop = _shop().with_columns(
        pl.Series("Name", ["Red MUG", "Blue Plate", "red mug (chipped)", "Tea Pot"])
    )
    shop = pl.concat([shop, shop.head(1)])  # "Red MUG" twice for P1: the most frequent
    with pytest.warns(DataWarning, match="1 items? .*several names"):
        purchases, report = rs.clean_purchases(shop, columns={**BASE, "item_name": "Name"})
    names = dict(purchases.select("item_id", "item_name").unique().iter_rows())
    assert names == {"P1": "Red MUG", "P2": "Blue Plate", "P3": "Tea Pot"}
    assert report.items_with_several_names == 1
    assert "several names" in str(report)


def test_names_without_conflicts_warn_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        purchases, report = rs.clean_purchases(_shop(), columns={**BASE, "item_name": "Name"})
    assert purchases["item_name"].to_list() == ["Red MUG", "Blue Plate", "Red MUG", "Tea Pot"]
    assert report.items_with_several_names == 0


def test_status_values_mark_cancellations() -> None:
    purchases, report = rs.clean_purchases(
        _shop(), columns={**BASE, "status": "Status"}, cancelled_status=["canceled", "returned"]
    )
    assert purchases["user_id"].to_list() == [1, 1]
    assert report.dropped["cancellation"] == 2
    assert report.returns.height == 2
    assert report.rows_in == report.rows_out + report.rows_dropped
    kept, _ = rs.clean_purchases(
        _shop(),
        columns={**BASE, "status": "Status"},
        cancelled_status=["canceled", "returned"],
        keep_returns=True,
    )
    assert kept["is_return"].to_list() == [False, False, True, True]


def test_status_default_words_and_bad_parameters() -> None:
    _, report = rs.clean_purchases(_shop(), columns={**BASE, "status": "Status"})
    assert report.dropped["cancellation"] == 2  # "Canceled", "RETURNED": default words
    with pytest.raises(InputDataError, match="cancelled_status"):
        rs.clean_purchases(_shop(), columns=BASE, cancelled_status=["canceled"])
    with pytest.raises(InputDataError, match="cancelled_status"):
        rs.clean_purchases(_shop(), columns={**BASE, "status": "Status"}, cancelled_status="x")


def test_without_order_ids_an_order_is_a_customer_day() -> None:
    purchases, report = rs.clean_purchases(_shop(), columns=BASE)
    expected = purchases.select(pl.struct("user_id", order_key(purchases)).n_unique()).item()
    assert report.n_orders == expected == 3  # customer 1 on two days, customer 2 on one
    assert "3 orders" in str(report)


def test_order_ids_are_per_customer() -> None:
    shop = _shop().with_columns(pl.Series("Order", ["A", "A", "B", "A"]))
    _, report = rs.clean_purchases(shop, columns={**BASE, "order_id": "Order"})
    assert report.n_orders == 3  # customer 2's order "A" is not customer 1's


def test_duplicates_do_not_depend_on_carried_columns() -> None:
    shop = pl.concat([_shop(), _shop().head(1).with_columns(pl.lit("other").alias("Name"))])
    _, plain = rs.clean_purchases(shop, columns=BASE)
    _, carried = rs.clean_purchases(shop, columns=BASE, keep_columns=["Name"])
    assert plain.exact_duplicates == carried.exact_duplicates == 1
