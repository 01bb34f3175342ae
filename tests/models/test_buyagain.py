"""BuyAgain: features against hand-worked values, learned ranking, fallback, no leakage."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.models.buyagain import FEATURE_NAMES, repurchase_features
from recsys.stats.logistic import fit_logistic

DAY = 86_400_000_000


def test_features_hand_worked():
    # user 0 buys item 1 on days 0, 0 (same day, two rows) and 10; item 0 on day 10.
    users = np.array([0, 0, 0, 0])
    items = np.array([1, 1, 1, 0])
    times = np.array([0, 3_600_000_000, 10 * DAY, 10 * DAY])
    keys, x = repurchase_features(users, items, times, 20 * DAY, 2, 90.0)
    assert keys.tolist() == [0, 1]
    col = {name: x[:, j] for j, name in enumerate(FEATURE_NAMES)}
    assert np.expm1(col["log_days"]).round(6).tolist() == [1.0, 2.0]
    assert np.expm1(col["log_rows"]).round(6).tolist() == [1.0, 3.0]
    assert np.expm1(col["log_since_last"]).round(6).tolist() == [10.0, 10.0]
    assert np.expm1(col["log_since_first"]).round(6).tolist() == [10.0, 20.0]
    assert col["is_repeat"].tolist() == [0.0, 1.0]
    # own interval of item 1: (20 - 10) / (2 - 1) = 10 days; due ratio (10 + 1) / (10 + 1)
    assert col["log_due_ratio"].tolist() == [0.0, 0.0]
    # item repeat rate (repeaters + 1) / (buyers + 2): item 0 -> 1/3, item 1 -> 2/3
    np.testing.assert_allclose(np.exp(col["log_item_repeat_rate"]), [1 / 3, 2 / 3])
    assert np.expm1(col["log_user_days"]).round(6).tolist() == [2.0, 2.0]
    # the customer's last purchase (day 10) is 10 days before the reference (day 20)
    assert np.expm1(col["log_user_since_last"]).round(6).tolist() == [10.0, 10.0]
    np.testing.assert_allclose(col["share_of_user_days"], [0.5, 1.0])


def test_features_ignore_purchases_at_or_after_reference():
    keys, x = repurchase_features(
        np.array([0, 0]), np.array([0, 1]), np.array([0, 5 * DAY]), 5 * DAY, 2, 90.0
    )
    assert keys.tolist() == [0]
    assert x.shape == (1, len(FEATURE_NAMES))


def test_logistic_matches_separable_direction():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, 2))
    y = (rng.random(2_000) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1])))).astype(float)
    fit = fit_logistic(x, y, l2=0.0)
    scale, w = fit.scale, fit.coef
    coef = w[:2] / scale
    np.testing.assert_allclose(coef, [2.0, -1.0], atol=0.25)


def _consumable_purchases() -> pl.DataFrame:
    """Every customer buys "milk" every 7 days and a one-off "tv" once, early."""
    rows = []
    start = datetime(2024, 1, 1)
    for u in range(40):
        for week in range(26):
            rows.append((u, "milk", start + timedelta(days=7 * week + u % 7)))
        rows.append((u, "tv", start + timedelta(days=100 + u)))
        rows.append((u, f"gift{u % 5}", start + timedelta(days=150 + u % 20)))
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def test_learns_consumables_first():
    inter = rs.Interactions.from_purchases(_consumable_purchases())
    model = rs.BuyAgain().fit(inter)
    assert model.fallback_ is False
    recs = model.recommend(k=1)
    assert recs["item_id"].unique().to_list() == ["milk"]
    assert np.isfinite(model.coef_).all()


def test_fallback_without_purchase_log_warns_and_matches_repurchase():
    p = _consumable_purchases()
    inter = rs.Interactions.from_purchases(p, keep_purchases=False)
    with pytest.warns(rs.DataWarning, match="falls back"):
        model = rs.BuyAgain().fit(inter)
    assert model.fallback_ is True
    reference = rs.Repurchase().fit(inter)
    assert model.recommend(k=3).equals(reference.recommend(k=3))


def test_fit_uses_only_the_given_interactions():
    p = _consumable_purchases()
    cutoff = datetime(2024, 6, 20)
    inter = rs.Interactions.from_purchases(p, as_of=cutoff)
    assert inter.purchases is not None
    assert inter.purchases["timestamp"].max() < cutoff
    a = rs.BuyAgain().fit(inter)
    assert a.fallback_ is False
    # Adding later purchases to the source changes nothing once as_of cuts them.
    later = pl.DataFrame(
        {"user_id": [0], "item_id": ["tv"], "timestamp": [datetime(2024, 7, 1)]}
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us")))
    b = rs.BuyAgain().fit(
        rs.Interactions.from_purchases(
            pl.concat([p.with_columns(pl.col("timestamp").cast(pl.Datetime("us"))), later]),
            as_of=cutoff,
        )
    )
    np.testing.assert_array_equal(a.scores_data_, b.scores_data_)


def test_bad_params():
    inter = rs.Interactions.from_purchases(_consumable_purchases())
    with pytest.raises(rs.InputDataError, match="label_days"):
        rs.BuyAgain(label_days=0).fit(inter)
    with pytest.raises(rs.InputDataError, match="regularization"):
        rs.BuyAgain(regularization=-1).fit(inter)
