"""Split invariants: no leakage, no test row before the cutoff, documented user sets."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError

ev = rs.evaluation


def test_temporal_split_on_online_retail(online_retail: pl.DataFrame) -> None:
    split = ev.temporal_split(online_retail, "2011-09-09", horizon_days=90)
    cutoff = datetime(2011, 9, 9)
    assert split.cutoff == cutoff
    assert split.train["timestamp"].max() < cutoff
    assert split.test["timestamp"].min() >= cutoff
    assert split.test["timestamp"].max() < cutoff + timedelta(days=90)
    # every test user has training history; the others are counted, not lost silently
    assert split.test.join(split.train, on="user_id", how="anti").height == 0
    window = online_retail.filter(
        (pl.col("timestamp") >= cutoff) & (pl.col("timestamp") < cutoff + timedelta(days=90))
    )
    assert split.test.height + split.info["test_rows_without_history"] == window.height
    assert split.train.height == online_retail.filter(pl.col("timestamp") < cutoff).height
    cold = ev.temporal_split(online_retail, "2011-09-09", horizon_days=90, include_cold_users=True)
    assert cold.test.height == window.height
    strict = ev.temporal_split(online_retail, "2011-09-09", horizon_days=90, min_train_purchases=50)
    assert strict.test["user_id"].n_unique() < split.test["user_id"].n_unique()
    open_end = ev.temporal_split(online_retail, "2011-09-09")
    assert open_end.test["timestamp"].max() == online_retail["timestamp"].max()


def test_validation_split_never_sees_the_test_window(online_retail: pl.DataFrame) -> None:
    split = ev.temporal_split(online_retail, "2011-09-09", horizon_days=90)
    val = split.validation()
    assert val.cutoff == datetime(2011, 6, 11)
    assert val.test["timestamp"].max() < split.cutoff
    assert val.train["timestamp"].max() < val.cutoff
    with pytest.raises(InputDataError, match="horizon_days=None"):  # its length is test data
        ev.temporal_split(online_retail, "2011-09-09").validation()


def test_cutoff_outside_the_data(online_retail: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="outside the data"):
        ev.temporal_split(online_retail, "2015-01-01")
    with pytest.raises(InputDataError, match="outside the data"):
        ev.temporal_split(online_retail, "2010-12-01 08:26")  # the first purchase: no train
    with pytest.raises(InputDataError, match="cutoff"):
        ev.temporal_split(online_retail, "not a date")
    with pytest.raises(InputDataError, match="horizon_days"):
        ev.temporal_split(online_retail, "2011-09-09", horizon_days=0)


def _toy() -> pl.DataFrame:
    t = datetime(2020, 1, 1)
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2, 3],
            "item_id": [10, 11, 12, 13, 10, 14, 10],
            "order_id": ["a", "a", "b", "b", "c", "d", "e"],
            "timestamp": [
                t,
                t,
                t + timedelta(days=1),
                t + timedelta(days=1),
                t,
                t + timedelta(days=2),
                t,
            ],
        }
    )


def test_empty_test_set_and_missing_columns() -> None:
    toy = _toy()
    only_cold_after = toy.with_columns(
        pl.when(pl.col("user_id") == 2).then(4).otherwise(pl.col("user_id")).alias("user_id")
    ).filter((pl.col("user_id") != 4) | (pl.col("item_id") == 14))
    with pytest.raises(InputDataError, match="empty test set"):  # user 4 buys only after
        ev.temporal_split(only_cold_after, "2020-01-03")
    split = ev.temporal_split(only_cold_after, "2020-01-03", include_cold_users=True)
    assert split.test["user_id"].to_list() == [4]
    with pytest.raises(InputDataError, match="timestamp"):
        ev.temporal_split(toy.drop("timestamp"), "2020-01-02")


def test_leave_last_out_ties_are_deterministic() -> None:
    toy = _toy()
    split = ev.leave_last_out(toy)
    # user 1: items 12 and 13 share the last time and order; the larger item id is last
    assert sorted(split.test.select("user_id", "item_id").rows()) == [(1, 13), (2, 14)]
    assert split.info["users_too_short"] == 1  # user 3 has one row
    shuffled = ev.leave_last_out(toy.sample(fraction=1.0, shuffle=True, seed=1))
    assert sorted(shuffled.test.select("user_id", "item_id").rows()) == [(1, 13), (2, 14)]
    two = ev.leave_last_out(toy, n=2)
    assert sorted(two.test.select("user_id", "item_id").rows()) == [(1, 12), (1, 13)]
    for s in (split, two):  # no training row after a test row of the same user
        last_train = s.train.group_by("user_id").agg(pl.col("timestamp").max().alias("tr"))
        first_test = s.test.group_by("user_id").agg(pl.col("timestamp").min().alias("te"))
        assert (
            last_train.join(first_test, on="user_id").filter(pl.col("tr") > pl.col("te")).height
            == 0
        )
        assert s.train.height + s.test.height == toy.height
    val = split.validation()
    assert sorted(val.test.select("user_id", "item_id").rows()) == [(1, 12)]


def test_leave_last_basket() -> None:
    split = ev.leave_last_basket(_toy())
    assert sorted(split.test.select("user_id", "item_id").rows()) == [(1, 12), (1, 13), (2, 14)]
    assert split.info["users_single_basket"] == 1


def test_random_holdout_deterministic(online_retail: pl.DataFrame) -> None:
    a = ev.random_holdout(online_retail, 0.2, seed=0)
    b = ev.random_holdout(online_retail, 0.2, seed=0)
    c = ev.random_holdout(online_retail, 0.2, seed=1)
    assert a.test.equals(b.test)
    assert not a.test.equals(c.test)
    total = a.train.height + a.test.height + a.info["test_rows_without_history"]
    assert total == online_retail.height
    assert a.test.join(a.train, on="user_id", how="anti").height == 0
    assert a.validation().train.height < a.train.height
    with pytest.raises(InputDataError, match="fraction"):
        ev.random_holdout(online_retail, 1.5)


def test_leave_last_basket_gives_each_test_user_their_own_as_of(
    online_retail: pl.DataFrame,
) -> None:
    split = ev.leave_last_basket(online_retail)
    first_test = split.test.group_by("user_id").agg(pl.col("timestamp").min().alias("t"))
    joined = first_test.join(split.as_of, on="user_id")
    assert joined.height == split.as_of.height == first_test.height
    assert (joined["t"] == joined["as_of"]).all()
    late = split.train.join(split.as_of, on="user_id").filter(
        pl.col("timestamp") >= pl.col("as_of")
    )
    assert late.height == split.info["train_rows_at_or_after_as_of"]
    assert split.validation().as_of is not None


def test_nothing_after_a_users_own_as_of_is_used(online_retail: pl.DataFrame) -> None:
    """Purchases appended after each user's cut-off change no matrix, decay or score."""
    p = online_retail.filter(pl.col("user_id") < 12900)
    split = ev.leave_last_basket(p)
    # Every test user buys their whole test basket again, and a new item, after their as_of.
    extra = (
        split.test.select("user_id", "item_id", "timestamp")
        .vstack(split.test.select("user_id", pl.lit("85123A").alias("item_id"), "timestamp"))
        .with_columns(pl.col("timestamp") + timedelta(days=1))
    )
    leaky = pl.concat([split.train.select(extra.columns), extra, split.test.select(extra.columns)])
    clean = split.train.select(extra.columns)
    for kwargs in ({}, {"half_life_days": 30.0}, {"weight": "binary", "half_life_days": 7.0}):
        a = rs.Interactions.from_purchases(clean, as_of=split.as_of, **kwargs)
        b = rs.Interactions.from_purchases(leaky, as_of=split.as_of, **kwargs)
        assert (a.matrix != b.matrix).nnz == 0
        for ids in ("users", "items"):
            left, right = getattr(a, ids), getattr(b, ids)
            assert list(left.to_ids(np.arange(len(left)))) == list(
                right.to_ids(np.arange(len(right)))
            )
    a = rs.Interactions.from_purchases(clean, as_of=split.as_of)
    b = rs.Interactions.from_purchases(leaky, as_of=split.as_of)
    users = split.as_of["user_id"]
    for model in (rs.Repurchase(), rs.BuyAgain(), rs.Popular(window_days=30.0)):
        left = type(model)(**model.get_params()).fit(a).recommend(users, k=20, on_unknown="skip")
        right = type(model)(**model.get_params()).fit(b).recommend(users, k=20, on_unknown="skip")
        assert left.equals(right), type(model).__name__
