"""`recsys.job.load_online_retail(sample_users=N)` draws N customers among those with a
purchase after cleaning (as the job's sampler draws them), seeded."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.data.presets import ONLINE_RETAIL_NON_PRODUCTS
from recsys.job import load_online_retail
from recsys.job.sampling import sample_customers


def _buyers(raw: pl.DataFrame) -> set[int]:
    """Customers with a purchase line, in plain polars: customer known, not a
    cancellation invoice, quantity > 0, price >= 0, a product (not postage or fees)."""
    return set(
        raw.filter(
            pl.col("CustomerID").is_not_null(),
            ~pl.col("InvoiceNo").str.starts_with("C"),
            pl.col("Quantity") > 0,
            pl.col("UnitPrice") >= 0,
            ~pl.col("StockCode").is_in(list(ONLINE_RETAIL_NON_PRODUCTS)),
        )["CustomerID"].to_list()
    )


def _drawn(purchases: pl.DataFrame) -> set[int]:
    return set(purchases.filter(~pl.col("is_return"))["user_id"].unique().to_list())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sample_has_as_many_customers_as_asked(seed: int) -> None:
    raw = rs.datasets.online_retail()
    buyers = _buyers(raw)
    # customers with no purchase line exist: drawing among raw ids came up short
    assert len(set(raw["CustomerID"].drop_nulls().to_list()) - buyers) > 0
    purchases, report, _ = load_online_retail(sample_users=300, seed=seed)
    drawn = _drawn(purchases)
    assert len(drawn) == 300 == report.n_users
    assert drawn <= buyers
    # every row of a drawn customer, returns included, and no other customer's
    assert set(purchases["user_id"].unique().to_list()) == drawn
    # the customers the job's own sampler draws from the whole cleaned table
    cleaned, _ = rs.clean_purchases(raw, preset="online_retail")
    assert drawn == set(sample_customers(cleaned, 300, seed)["user_id"].to_list())


def test_the_sample_is_seeded() -> None:
    first = _drawn(load_online_retail(sample_users=40, seed=5)[0])
    assert first == _drawn(load_online_retail(sample_users=40, seed=5)[0])
    assert first != _drawn(load_online_retail(sample_users=40, seed=6)[0])


def test_more_than_there_are_is_all_of_them() -> None:
    purchases, _, _ = load_online_retail()
    everyone = _drawn(purchases)
    assert _drawn(load_online_retail(sample_users=10**6)[0]) == everyone
