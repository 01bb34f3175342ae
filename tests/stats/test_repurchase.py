"""The repurchase-interval estimator on hand-worked pairs, and its three users agree with it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.stats.repurchase import pair_interval, shrunk_interval, typical_interval


def test_pair_interval_by_hand() -> None:
    # days 0, 10, 30 -> 15; days 4, 9 -> 5; one purchase -> undefined
    got = pair_interval([30.0, 5.0, 0.0], [3, 2, 1])
    assert got[:2].tolist() == [15.0, 5.0]
    assert math.isnan(got[2])


def test_typical_interval_is_the_median_of_repeat_pairs() -> None:
    # item 0: pairs of 15, 5 and 40 days -> 15; item 1: 8 and 12 -> 10; item 2: none
    got = typical_interval([0, 1, 0, 0, 1, 2], [15.0, 8.0, 5.0, 40.0, 12.0, np.nan], 3)
    assert got[:2].tolist() == [15.0, 10.0]
    assert math.isnan(got[2])


def test_shrunk_interval_by_hand() -> None:
    # gaps 10 and 20 (k = 2), prior 30 days with weight 2: exp((2 ln sqrt(200) + 2 ln 30) / 4)
    own = (math.log(10) + math.log(20)) / 2
    got = shrunk_interval([own, np.nan], [2, 0], [math.log(30.0)] * 2, 2.0)
    assert got[0] == pytest.approx((200**0.5 * 30) ** 0.5, rel=1e-12)
    assert got[1] == pytest.approx(30.0, rel=1e-12)  # no own gap: the prior


def test_due_items_interval_is_the_shrunk_estimate() -> None:
    # customer 1 buys "a" on days 0, 10, 30; customer 2 on days 0, 40; both gaps end
    start = datetime(2024, 1, 1)
    rows = [(1, "a", start + timedelta(days=d)) for d in (0, 10, 30)]
    rows += [(2, "a", start + timedelta(days=d)) for d in (0, 40)]
    purchases = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    as_of = start + timedelta(days=41)
    due = rs.due_items(purchases, as_of=as_of, calibrate=False, item_prior=5.0)
    # Kaplan-Meier over the gaps 10, 20, 40 (events) and the open spells 11 and 1
    # (censored): the curve falls below 1/2 at 20 days; the item has 3 completed gaps,
    # the pooled median of all items is the same 20: L_item = log 20
    item_log = math.log(20.0)
    expected_1 = shrunk_interval([(math.log(10) + math.log(20)) / 2], [2], [item_log], 2.0)[0]
    expected_2 = shrunk_interval([math.log(40)], [1], [item_log], 2.0)[0]
    assert due["interval_days"].to_list() == pytest.approx([expected_1, expected_2], rel=1e-12)
