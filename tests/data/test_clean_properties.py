"""Property tests: clean_purchases accounts for every row, as a plain-Python reference does."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from datetime import datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.data.clean import DROP_REASONS
from tests._purchases import purchases_frame

T0 = datetime(2024, 1, 1)

row_strategy = st.tuples(
    st.one_of(st.none(), st.integers(-2, 3)),  # user
    st.one_of(st.none(), st.sampled_from(["", "a", "b", "c"])),  # item
    st.one_of(st.none(), st.sampled_from(["1", "2", "C3", "C4"])),  # order
    st.one_of(st.none(), st.integers(0, 3).map(lambda d: T0 + timedelta(days=d))),  # time
    st.one_of(st.none(), st.just(math.nan), st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0])),
    st.one_of(st.none(), st.just(math.nan), st.sampled_from([-1.0, 0.0, 1.5])),  # price
)


def _reason(row: tuple, non_products: set[str]) -> str | None:
    """The first rule a row fails, written independently of the implementation."""
    user, item, order, when, qty, price = row
    qty_missing = qty is None or math.isnan(qty)
    if user is None:
        return "missing_user"
    if item is None or item == "":
        return "missing_item"
    if when is None:
        return "invalid_timestamp"
    if qty_missing:
        return "invalid_quantity"
    if item in non_products:
        return "non_product"
    if order is not None and order.startswith("C"):
        return "cancellation"
    if qty <= 0:
        return "non_positive_quantity"
    if price is None or math.isnan(price):
        return "invalid_price"
    if price < 0:
        return "negative_price"
    return None


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(row_strategy, min_size=1, max_size=25),
    keep_returns=st.booleans(),
    drop_duplicates=st.booleans(),
    non_products=st.sets(st.sampled_from(["a", "b", "c", "z"])),
)
def test_report_accounts_for_every_row(
    rows: list[tuple], keep_returns: bool, drop_duplicates: bool, non_products: set[str]
) -> None:
    frame = purchases_frame(rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        purchases, report = rs.clean_purchases(
            frame,
            keep_returns=keep_returns,
            drop_duplicates=drop_duplicates,
            cancellation_prefix="C",
            non_product_items=non_products,
        )
    # the listed ids no row holds, whatever the row's fate, are named in one warning
    absent = sorted(non_products - {row[1] for row in rows})
    named = [str(w.message) for w in caught if "no item id" in str(w.message)]
    if absent:
        verb = "matches" if len(absent) == 1 else "match"
        (message,) = named
        assert message.startswith(f"non_product_items: {', '.join(map(repr, absent))} {verb} ")
    else:
        assert named == []
    assert report.rows_in == len(rows)
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    assert report.rows_out == purchases.height

    reasons = [_reason(row, non_products) for row in rows]
    returns = ("cancellation", "non_positive_quantity")
    kept_rows = [
        (*row, reason is not None)
        for row, reason in zip(rows, reasons, strict=True)
        if reason is None or (keep_returns and reason in returns)
    ]
    # the output holds NaN prices (of kept returns) as nulls
    canonical_rows = [
        (*r[:5], None if r[5] is None or math.isnan(r[5]) else r[5], *r[6:])[
            : 7 if keep_returns else 6
        ]
        for r in kept_rows
    ]
    duplicates = len(canonical_rows) - len(set(canonical_rows))
    expected = Counter(r for r in reasons if r is not None and not (keep_returns and r in returns))
    if drop_duplicates:
        expected["duplicate"] = duplicates
    assert report.dropped == {reason: expected.get(reason, 0) for reason in DROP_REASONS}
    assert report.exact_duplicates == duplicates
    assert report.returns.height == sum(r in returns for r in reasons)
    # the counts and the time range are of the purchases, return rows aside
    assert report.n_users == len({r[0] for r in kept_rows if not r[-1]})
    assert report.returns_kept == (int(purchases["is_return"].sum()) if keep_returns else 0)
    if report.rows_out:
        assert purchases["user_id"].null_count() == 0
        assert purchases["item_id"].null_count() == 0
        assert purchases["timestamp"].null_count() == 0
        not_returns = purchases.filter(~pl.col("is_return")) if keep_returns else purchases
        assert (not_returns["quantity"] > 0).all()
        assert (not_returns["price"] >= 0).all()
