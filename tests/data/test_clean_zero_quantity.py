"""A line total over a zero quantity (Complete Journey's zero-quantity, zero-sales lines):
the derived unit price must stay finite, so kept return rows do not break the job."""

from datetime import datetime

import numpy as np
import polars as pl

import recsys as rs


def _lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "household_id": [1, 1, 2, 2],
            "product_id": ["a", "b", "a", "c"],
            "basket_id": ["o1", "o1", "o2", "o3"],
            "transaction_timestamp": [datetime(2017, 1, d) for d in (2, 2, 3, 9)],
            "quantity": [2.0, 0.0, 1.0, 0.0],
            "sales_value": [6.0, 0.0, 2.5, 4.0],
        }
    )


def test_zero_quantity_line_total_gives_a_finite_price_on_a_kept_return() -> None:
    purchases, _ = rs.clean_purchases(_lines(), preset="complete_journey", keep_returns=True)
    assert purchases.height == 4
    assert purchases["is_return"].to_list() == [False, True, False, True]
    prices = purchases["price"].to_numpy()
    assert np.isfinite(prices).all()
    # the positive lines: line total / quantity; a zero-quantity line adds nothing to spend
    assert prices[[0, 2]].tolist() == [3.0, 2.5]
    assert (purchases["quantity"] * purchases["price"]).to_list() == [6.0, 0.0, 2.5, 0.0]


def test_profiles_build_on_zero_quantity_returns() -> None:
    purchases, _ = rs.clean_purchases(_lines(), preset="complete_journey", keep_returns=True)
    profiles = rs.build_profiles(purchases, as_of="2017-02-01")
    assert sorted(profiles["monetary"].to_list()) == [2.5, 6.0]
