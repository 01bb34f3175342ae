"""`user_habits` against a plain-Python count, and `repurchase_features` on a presorted
log against the same log shuffled (the sort `BuyAgain` does once for both its calls)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

import recsys as rs
from recsys.models.buyagain import repurchase_features
from recsys.models.repeat_explore import user_habits

DAY_US = 86_400_000_000


def _log(seed: int, n: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    hours = rng.integers(0, 60 * 24, n)
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, 40, n),
            "item_id": [f"i{v}" for v in rng.integers(0, 15, n)],
            "timestamp": [datetime(2024, 1, 1) + timedelta(hours=int(h)) for h in hours],
        }
    )


def _plain_habits(log: pl.DataFrame, users: list[int]) -> np.ndarray:
    rows = {(u, i, t.date()) for u, i, t in log.iter_rows()}  # an order is a customer-day
    out = np.zeros((len(users), 3))
    for r, user in enumerate(users):
        mine = [(i, d) for u, i, d in rows if u == user]
        if not mine:
            continue
        orders = {d for _, d in mine}
        first = min(orders)
        first_buy = {i: min(d for j, d in mine if j == i) for i, _ in mine}
        later = sum(1 for _, d in mine if d > first)
        new = sum(1 for i, d in mine if d > first and d == first_buy[i])
        share = (new + 1.0) / (later + 2.0)
        out[r] = [np.log1p(len(orders)), np.log1p(len(first_buy)), np.log(share / (1 - share))]
    return out


def test_user_habits_match_a_plain_count() -> None:
    log = _log(0)
    users = rs.data.IdMap.from_values(pl.Series("user_id", [*range(40), 99]))  # 99: no rows
    expected = _plain_habits(log, [*range(40), 99])
    np.testing.assert_allclose(user_habits(log, users), expected, rtol=0, atol=1e-12)
    assert np.all(user_habits(log, users)[-1] == 0.0)


def test_presorted_features_equal_the_shuffled_log() -> None:
    rng = np.random.default_rng(3)
    n, n_items = 2_000, 30
    u = rng.integers(0, 50, n)
    i = rng.integers(0, n_items, n)
    t = rng.integers(0, 120, n) * DAY_US + rng.integers(0, DAY_US, n)
    order = np.lexsort((t, u.astype(np.int64) * n_items + i))
    per_user = rng.integers(60, 121, 50) * DAY_US
    for reference in (100 * DAY_US, per_user):
        keys, x = repurchase_features(u, i, t, reference, n_items, 30.0)
        sorted_keys, sorted_x = repurchase_features(
            u[order], i[order], t[order], reference, n_items, 30.0, presorted=True
        )
        np.testing.assert_array_equal(sorted_keys, keys)
        np.testing.assert_array_equal(sorted_x, x)
