"""The items-due naive rules read purchases only: return rows change nothing."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from polars.testing import assert_frame_equal

from recsys.profiles.due_naive import naive_due


def test_return_rows_are_no_purchase_days() -> None:
    days = (1, 11, 21, 5, 8)
    before = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2],
            "item_id": ["a", "a", "a", "a", "b"],
            "timestamp": [datetime(2024, 1, d) for d in days],
            "is_return": [False] * 5,
        }
    )
    # returns on other days: counted as purchase days they would shorten a's median gap
    # (10 -> 5 days) and make b look bought again in the base-rate window
    returns = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": ["a", "a", "b"],
            "timestamp": [datetime(2024, 1, 6), datetime(2024, 1, 16), datetime(2024, 1, 20)],
            "is_return": [True] * 3,
        }
    )
    due = pl.DataFrame(
        {
            "user_id": [1, 2, 2],
            "item_id": ["a", "a", "b"],
            "last_purchase": [datetime(2024, 1, 21), datetime(2024, 1, 5), datetime(2024, 1, 8)],
        }
    )
    origin = datetime(2024, 1, 25)
    plain = naive_due(due, before, origin, 10)
    # hand-worked: a's gaps are 10 and 10 days; its pairs bought before Jan 15 are
    # (1, a) and (2, a), and only (1, a) is bought again in [Jan 15, Jan 25)
    assert plain["naive_interval_days"].to_list()[:2] == [10.0, 10.0]
    assert plain["base_rate"].to_list()[:2] == [0.5, 0.5]
    assert plain["base_rate"][2] == 0.0
    assert_frame_equal(naive_due(due, pl.concat([before, returns]), origin, 10), plain)
