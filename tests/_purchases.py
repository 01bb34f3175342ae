"""Canonical purchase frames for tests, built from rows."""

from __future__ import annotations

import polars as pl

#: The columns and dtypes of `recsys.clean_purchases` output, in order.
PURCHASE_SCHEMA = pl.Schema(
    {
        "user_id": pl.Int64,
        "item_id": pl.String,
        "order_id": pl.String,
        "timestamp": pl.Datetime("us"),
        "quantity": pl.Float64,
        "price": pl.Float64,
    }
)


def purchases_frame(rows: list[tuple]) -> pl.DataFrame:
    """Rows ``(user_id, item_id, order_id, timestamp, quantity, price)`` as a frame."""
    return pl.DataFrame(rows, schema=PURCHASE_SCHEMA, orient="row")
