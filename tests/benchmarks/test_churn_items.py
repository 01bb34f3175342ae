"""The item churn encoding of the research harness benchmarks/_churn_items.py, on a
hand-built shop, against a plain-numpy computation."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._churn_items import _aggregate, _counts, _encode, _pairs, _xfit
from tests._purchases import purchases_frame

S = datetime(2011, 3, 1)  # the training origin; labels over [S, S + 30 days)
T = datetime(2011, 5, 1)  # the point the customers' features are taken at


def _shop() -> pl.DataFrame:
    rows = [
        # before S: u1 buys a and b, u2 buys a, u3 buys b and c, u4 buys c
        (1, "a", "o1", datetime(2011, 1, 5), 1.0, 2.0),
        (1, "b", "o1", datetime(2011, 1, 5), 3.0, 1.0),
        (2, "a", "o2", datetime(2011, 1, 9), 1.0, 4.0),
        (3, "b", "o3", datetime(2011, 2, 1), 1.0, 1.0),
        (3, "c", "o4", datetime(2011, 2, 10), 2.0, 5.0),
        (4, "c", "o5", datetime(2011, 2, 20), 1.0, 1.0),
        # in [S, S + 30): u1 and u4 order again (u2 and u3 churn)
        (1, "c", "o6", datetime(2011, 3, 10), 1.0, 1.0),
        (4, "a", "o7", datetime(2011, 3, 20), 1.0, 1.0),
    ]
    return purchases_frame(rows)


def test_encoding_by_hand() -> None:
    shop = _shop()
    counts = _counts(shop, S, 30)
    churned = {1: 0.0, 2: 1.0, 3: 1.0, 4: 0.0}
    assert dict(zip(counts["user_id"], counts["_y"], strict=True)) == churned
    m = 2.0
    enc = dict(_encode(counts, m).iter_rows())
    # pairs: a {u1, u2}, b {u1, u3}, c {u3, u4}; 3 churned pairs of 6
    rate = 3 / 6
    buyers = {"a": (1, 2), "b": (1, 2), "c": (1, 2)}
    for item, (c, n) in buyers.items():
        share = (c + m * rate) / (n + m)
        assert enc[item] == pytest.approx(special.logit(share) - special.logit(rate))
    # an uneven shop: u3 (who churns) also bought item a
    extra = purchases_frame([(3, "a", "o8", datetime(2011, 2, 11), 1.0, 1.0)])
    counts = _counts(pl.concat([shop, extra]), S, 30)
    enc = dict(_encode(counts, m).iter_rows())
    rate = 4 / 7  # churned pairs: u2-a, u3-a, u3-b, u3-c
    expect = {"a": (2, 3), "b": (1, 2), "c": (1, 2)}
    for item, (c, n) in expect.items():
        share = (c + m * rate) / (n + m)
        assert enc[item] == pytest.approx(special.logit(share) - special.logit(rate))


def test_customer_aggregates_by_hand() -> None:
    shop = _shop()
    enc = pl.DataFrame({"item_id": ["a", "b"], "_e": [1.0, -2.0]})  # c unseen: 0
    users = pl.Series("user_id", [1, 2, 3, 4, 9])
    got = _aggregate(_pairs(shop, T), enc, users)
    # u1 bought a (2), b (3) before S and c (1) on its last order
    np.testing.assert_allclose(got["mean"], [(1 - 2 + 0) / 3, 1, (-2 + 0) / 2, (0 + 1) / 2, 0])
    np.testing.assert_allclose(got["spend"][:2], [(2 * 1 - 3 * 2 + 0) / 6, 1])
    np.testing.assert_allclose(got["last"], [0, 1, 0, 1, 0])  # u4's last order: a
    np.testing.assert_allclose(got["max"], [1, 1, 0, 1, 0])


def test_xfit_leaves_out_the_customers_own_label() -> None:
    shop = _shop()
    users = pl.Series("user_id", [1, 2, 3, 4])
    pairs = _pairs(shop, S)
    counts = _counts(shop, S, 30)
    before = _xfit(pairs, counts, 2.0, users)
    fold = users.to_frame().select(pl.col("user_id").hash(seed=7) % 5)["user_id"].to_numpy()
    moved = False
    for k, user in enumerate(users):
        flipped = counts.with_columns(
            _y=pl.when(pl.col("user_id") == user).then(1.0 - pl.col("_y")).otherwise("_y")
        )
        after = _xfit(pairs, flipped, 2.0, users)
        same_fold = fold == fold[k]
        for name in before:
            # the customer's own feature (and its fold's) never reads its label
            np.testing.assert_array_equal(after[name][same_fold], before[name][same_fold])
            moved |= not np.array_equal(after[name], before[name])
    assert moved  # the labels do reach the other folds' features
