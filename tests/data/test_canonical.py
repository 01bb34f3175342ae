"""recsys.data.canonical: one order key, one purchases check, one segment convention."""

from __future__ import annotations

import warnings
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.data.canonical import (
    MISSING_SEGMENT,
    ORDER_KEY,
    US_PER_DAY,
    attach_segments,
    order_key,
    order_keys,
    require_purchases,
    without_returns,
)
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles import ProfileConfig


def _two_orders_one_day(order_id: str) -> pl.DataFrame:
    """Two customers who each bought twice on one day (09:00 and 17:00), no order ids.

    ``order_id``: "absent" (no column), "null" (the column, all null) or "mixed"
    (user 2's first day has an order id, the rest is null).
    """
    d = datetime
    frame = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2],
            "item_id": ["a", "c", "b", "a", "b", "c"],
            "timestamp": [
                d(2011, 1, 3, 9),
                d(2011, 1, 10, 9),
                d(2011, 1, 10, 17),
                d(2011, 1, 4, 9),
                d(2011, 1, 4, 17),
                d(2011, 1, 12, 12),
            ],
            "quantity": [1.0] * 6,
            "price": [2.0] * 6,
        }
    )
    if order_id == "null":
        frame = frame.with_columns(order_id=pl.lit(None, dtype=pl.String))
    elif order_id == "mixed":
        frame = frame.with_columns(order_id=pl.Series([None, None, None, "x", "x", None]))
    return frame


@pytest.mark.parametrize("order_id", ["absent", "null", "mixed"])
def test_one_order_per_customer_day_everywhere(order_id: str) -> None:
    purchases = _two_orders_one_day(order_id)
    config = ProfileConfig(churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(purchases, as_of="2011-02-01", config=config)
        rfm = rs.profiles.rfm_table(purchases, as_of="2011-02-01")
    assert profiles["frequency"].to_list() == [2, 2]
    assert rfm["frequency"].to_list() == [2, 2]

    labels = rs.uplift.retention_labels(purchases, "2011-01-05", 30)
    # user 1: one order on Jan 10 (two rows, 09:00 and 17:00); user 2: Jan 12
    assert labels.select("user_id", "n_orders_after").rows() == [(1, 1), (2, 1)]
    early = rs.uplift.retention_labels(purchases, "2011-01-01", 30, users=[1, 2])
    assert early["n_orders_after"].to_list() == [2, 2]

    recs = pl.DataFrame({"user_id": [1, 2], "item_id": ["b", "b"]})
    table = rs.uplift.hit_retention(recs, purchases, "2011-01-05", 30)
    # user 1's first order in the window is the whole of Jan 10, which holds "b"
    assert table.select("n_returned", "n_hit", "n_no_hit").row(0) == (2, 1, 1)
    assert table.select("hit_retention", "no_hit_retention").row(0) == (0.0, 0.0)

    split = rs.evaluation.leave_last_basket(purchases)
    held = split.test.sort("user_id", "timestamp").select("user_id", "item_id").rows()
    assert held == [(1, "c"), (1, "b"), (2, "c")]
    assert split.train.height == 3


def _purchases() -> pl.DataFrame:
    d = datetime
    return pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "item_id": ["a", "b", "a", "c", "b", "c"],
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "timestamp": [
                d(2024, 1, 1, 23, 30),
                d(2024, 2, 1, 10),
                d(2024, 1, 5, 12),
                d(2024, 2, 20, 8),
                d(2024, 1, 20, 9),
                d(2024, 3, 2, 0, 30),
            ],
            "quantity": [1.0, 2.0, 1.0, 3.0, 1.0, 1.0],
            "price": [2.0, 3.0, 2.0, 1.0, 4.0, 5.0],
        }
    )


def _aware(frame: pl.DataFrame, zone: str = "Europe/Berlin") -> pl.DataFrame:
    """The same wall-clock times, as time-zone-aware timestamps (stored in UTC)."""
    return frame.with_columns(pl.col("timestamp").dt.replace_time_zone(zone))


def test_order_key_and_keys() -> None:
    d = datetime
    p = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2],
            "order_id": ["A", "A", None, None, "A"],
            "timestamp": [
                d(2024, 1, 1, 8),
                d(2024, 1, 3),
                d(2024, 1, 1, 9),
                d(2024, 1, 1, 17),
                d(2024, 1, 1),
            ],
        }
    )
    counts = p.group_by("user_id").agg(order_key(p).n_unique()).sort("user_id")
    assert counts.rows() == [(1, 2), (2, 1)]  # order A spans two days: still one order
    assert p.group_by("user_id", *order_keys(p.schema)).len().height == 3
    without = p.drop("order_id")
    assert without.group_by("user_id", order_key(without)).len().height == 3
    assert order_keys(["user_id", "timestamp"])[0].meta.output_name() == ORDER_KEY


def test_without_returns() -> None:
    p = _purchases().with_columns(is_return=pl.Series([False, True, False, False, True, False]))
    assert without_returns(p)["order_id"].to_list() == ["o1", "o3", "o4", "o6"]
    assert without_returns(p.lazy()).collect().height == 4
    assert without_returns(_purchases()).height == 6


def test_us_per_day_is_the_only_definition() -> None:
    assert US_PER_DAY == 24 * 3600 * 1_000_000
    import recsys.data.interactions as interactions
    import recsys.profiles.steps as steps

    assert steps.US_PER_DAY is US_PER_DAY
    assert interactions.US_PER_DAY is US_PER_DAY


@pytest.mark.parametrize("lazy", [False, True])
def test_require_purchases_missing_and_dtypes(lazy: bool) -> None:
    p = _purchases()

    def check(frame: pl.DataFrame, **kwargs: object) -> object:
        return require_purchases(frame.lazy() if lazy else frame, where="my_function", **kwargs)  # type: ignore[arg-type]

    with pytest.raises(InputDataError, match=r"lack the columns \['item_id'\].*my_function"):
        check(p.drop("item_id"))
    with pytest.raises(InputDataError, match="'timestamp' must be a Datetime, got String"):
        check(p.with_columns(pl.col("timestamp").cast(pl.String)))
    with pytest.raises(InputDataError, match="'quantity' must be numeric, got String"):
        check(p.with_columns(pl.col("quantity").cast(pl.String)))
    with pytest.raises(InputDataError, match="'price' must be numeric"):
        check(p.with_columns(pl.col("price").cast(pl.String)))
    with pytest.raises(InputDataError, match="'is_return' must be Boolean"):
        check(p.with_columns(is_return=pl.lit(0)))
    out = check(p)
    assert isinstance(out, pl.LazyFrame if lazy else pl.DataFrame)


@pytest.mark.parametrize("lazy", [False, True])
def test_require_purchases_nulls_and_non_finite(lazy: bool) -> None:
    p = _purchases()

    def check(frame: pl.DataFrame, **kwargs: object) -> object:
        return require_purchases(frame.lazy() if lazy else frame, where="my_function", **kwargs)  # type: ignore[arg-type]

    nulls = p.with_columns(user_id=pl.Series([1, None, 2, None, 3, 3]))
    with pytest.raises(InputDataError, match=r"'user_id' has 2 null values.*my_function"):
        check(nulls)
    check(nulls, nullable=("user_id",))  # the caller handles them
    with pytest.raises(InputDataError, match="'timestamp' has 1 null"):
        check(
            p.with_columns(
                pl.when(pl.col("user_id") == 2)
                .then(None)
                .otherwise(pl.col("timestamp"))
                .alias("timestamp")
            ).head(3)
        )
    for bad in (float("nan"), float("inf"), -float("inf")):
        q = p.with_columns(quantity=pl.Series([1.0, bad, 1.0, 1.0, bad, 1.0]))
        with pytest.raises(InputDataError, match="'quantity' has 2 NaN or infinite values"):
            check(q)
        r = p.with_columns(price=pl.Series([1.0, 1.0, bad, 1.0, 1.0, 1.0]))
        with pytest.raises(InputDataError, match="'price' has 1 NaN or infinite values"):
            check(r)
        check(r, optional=())  # price not used: not checked
    check(p.with_columns(price=pl.Series([None, 1.0, 1.0, 1.0, 1.0, 1.0])))  # optional: nulls ok


def test_require_purchases_time_zone_rule() -> None:
    p = _purchases()
    with pytest.warns(DataWarning, match=r"time-zone aware \(Europe/Berlin\).*wall-clock"):
        out = require_purchases(_aware(p), where="my_function")
    assert out.schema["timestamp"] == pl.Datetime("us")
    assert out["timestamp"].to_list() == p["timestamp"].to_list()
    # an instant given in UTC becomes the wall-clock time of its zone
    utc = pl.DataFrame({"timestamp": [datetime(2024, 1, 1, 23, 30)]}).with_columns(
        pl.col("timestamp").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo")
    )
    with pytest.warns(DataWarning):
        lazy = require_purchases(utc.lazy(), needs=("timestamp",))
    assert lazy.collect()["timestamp"].to_list() == [datetime(2024, 1, 2, 8, 30)]


def test_time_zone_aware_purchases_everywhere() -> None:
    config = ProfileConfig(churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        naive = rs.build_profiles(_purchases(), as_of="2024-03-01", config=config)
    with pytest.warns(DataWarning, match="time-zone aware"):
        aware = rs.build_profiles(_aware(_purchases()), as_of="2024-03-01", config=config)
    assert_frame_equal(aware, naive)

    def same(run: object) -> None:
        assert callable(run)
        expected = run(_purchases())
        with pytest.warns(DataWarning, match="time-zone aware"):
            got = run(_aware(_purchases()))
        if isinstance(expected, pl.DataFrame):
            assert_frame_equal(got, expected)
        else:
            assert_frame_equal(got.train, expected.train)
            assert_frame_equal(got.test, expected.test)

    same(lambda p: rs.profiles.rfm_table(p, as_of="2024-03-01"))
    same(lambda p: rs.cohort_retention(p, as_of="2024-03-01"))
    same(lambda p: rs.evaluation.temporal_split(p, "2024-02-01"))
    same(lambda p: rs.evaluation.leave_last_basket(p))
    same(lambda p: rs.uplift.retention_labels(p, "2024-02-01", 30))
    inter = rs.Interactions.from_purchases(_purchases(), as_of="2024-02-15")
    with pytest.warns(DataWarning, match="time-zone aware"):
        aware_inter = rs.Interactions.from_purchases(_aware(_purchases()), as_of="2024-02-15")
    assert (aware_inter.matrix != inter.matrix).nnz == 0
    assert aware_inter.last_purchase.tolist() == inter.last_purchase.tolist()


def test_non_finite_and_null_purchases_are_refused_everywhere() -> None:
    nan_price = _purchases().with_columns(price=pl.Series([1.0, float("nan")] + [1.0] * 4))
    with pytest.raises(InputDataError, match=r"'price' has 1 NaN or infinite.*build_profiles"):
        rs.build_profiles(nan_price, as_of="2024-03-01")
    with pytest.raises(InputDataError, match=r"'price' has 1 NaN or infinite.*rfm_table"):
        rs.profiles.rfm_table(nan_price)
    with pytest.raises(InputDataError, match=r"'price' has 1 NaN or infinite.*retention_labels"):
        rs.uplift.retention_labels(nan_price, "2024-02-01", 30)
    inf_quantity = _purchases().with_columns(quantity=pl.Series([float("inf")] + [1.0] * 5))
    with pytest.raises(InputDataError, match="'quantity' has 1 NaN or infinite"):
        rs.Interactions.from_purchases(inf_quantity, weight="quantity")
    null_time = _purchases().with_columns(
        timestamp=pl.Series([None, *_purchases()["timestamp"].to_list()[1:]])
    )
    with pytest.raises(InputDataError, match=r"'timestamp' has 1 null values.*temporal_split"):
        rs.evaluation.temporal_split(null_time, "2024-02-01")
    with pytest.raises(InputDataError, match=r"'timestamp' has 1 null values.*cohort_retention"):
        rs.cohort_retention(null_time)


def test_attach_segments_one_convention() -> None:
    users = pl.DataFrame({"user_id": [1, 2, 3, 3], "x": [1, 2, 3, 4]})
    frame, name = attach_segments(users)
    assert (name, frame["segment"].to_list()) == ("segment", ["all"] * 4)

    stages = pl.DataFrame({"user_id": [1, 2, 9], "stage": ["new", None, "active"]})
    with pytest.warns(DataWarning, match="2 customers have no segment in 'stage'"):
        frame, name = attach_segments(users, "stage", stages)
    assert name == "stage"
    assert frame.columns == ["user_id", "x", "stage"]
    assert frame["stage"].to_list() == ["new", MISSING_SEGMENT, MISSING_SEGMENT, MISSING_SEGMENT]
    with pytest.warns(DataWarning):
        inferred, inferred_name = attach_segments(users, segments=stages)
    assert inferred_name == "stage"
    assert_frame_equal(inferred, frame)

    # integer labels and a column of ``users``: labels become strings
    tiers = users.with_columns(tier=pl.Series([1, 2, None, None]))
    with pytest.warns(DataWarning, match="1 customer has"):
        frame, name = attach_segments(tiers, "tier")
    assert frame["tier"].to_list() == ["1", "2", MISSING_SEGMENT, MISSING_SEGMENT]
    assert MISSING_SEGMENT == "(missing)"

    # string ids in the segment table are cast to the users' id type
    as_strings = pl.DataFrame({"user_id": ["1", "2", "3"], "stage": ["a", "b", "c"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame, _ = attach_segments(users, "stage", as_strings)
    assert frame["stage"].to_list() == ["a", "b", "c", "c"]


def test_attach_segments_refuses_ambiguous_tables() -> None:
    users = pl.DataFrame({"user_id": [1, 2, 2], "stage": ["a", "b", "c"]})
    with pytest.raises(InputDataError, match="not constant per user_id"):
        attach_segments(users, "stage")
    with pytest.raises(InputDataError, match="'tier' is not among"):
        attach_segments(users, "tier")
    with pytest.raises(InputDataError, match="exactly one segment column"):
        attach_segments(users, segments=pl.DataFrame({"user_id": [1], "a": [1], "b": [2]}))
    with pytest.raises(InputDataError, match="more than once"):
        attach_segments(users, segments=pl.DataFrame({"user_id": [1, 1], "a": ["x", "y"]}))
    with pytest.raises(InputDataError, match="no column 'tier'"):
        attach_segments(users, "tier", pl.DataFrame({"user_id": [1], "a": ["x"]}))
    with pytest.raises(InputDataError, match="no column 'user_id'"):
        attach_segments(pl.DataFrame({"id": [1]}))
