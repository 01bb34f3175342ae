"""RFM on Online Retail against a plain polars/numpy reference; affinity on Ta-Feng."""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from scipy.stats import rankdata

import recsys as rs
from recsys.exceptions import DataWarning
from recsys.profiles import RFM_SEGMENTS, ProfileConfig
from tests.conftest import shared_dataset

AS_OF = datetime(2011, 9, 9)


def _reference_score(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """1 + floor(5 * (# strictly worse) / n), with scipy's 'min' ranks."""
    worse = rankdata(values if higher_is_better else -values, method="min") - 1
    return 1 + np.floor(5 * worse / values.size).astype(int)


def test_rfm_matches_reference_on_online_retail(online_retail: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(online_retail, as_of=AS_OF, config=ProfileConfig(churn=False))
    before = online_retail.filter(pl.col("timestamp") < AS_OF)
    ref = (
        before.group_by("user_id")
        .agg(
            pl.col("timestamp").max().alias("last"),
            pl.col("order_id").n_unique().alias("orders"),
            (pl.col("quantity") * pl.col("price")).sum().alias("spend"),
        )
        .sort("user_id")
    )
    assert profiles["user_id"].to_list() == ref["user_id"].to_list()
    last = ref["last"].to_numpy()
    recency = (np.datetime64(AS_OF, "us") - last) / np.timedelta64(1, "D")
    np.testing.assert_allclose(profiles["recency_days"].to_numpy(), recency)
    np.testing.assert_array_equal(profiles["frequency"].to_numpy(), ref["orders"].to_numpy())
    np.testing.assert_allclose(profiles["monetary"].to_numpy(), ref["spend"].to_numpy())
    r = _reference_score(recency, higher_is_better=False)
    f = _reference_score(ref["orders"].to_numpy(), higher_is_better=True)
    # equal money is a tie: sums of float prices differ in the last bit (215.7 vs
    # 215.70000000000002 on this data), so compare spends rounded to micro-units
    m = _reference_score(np.round(ref["spend"].to_numpy(), 6), higher_is_better=True)
    np.testing.assert_array_equal(profiles["r_score"].to_numpy(), r)
    np.testing.assert_array_equal(profiles["f_score"].to_numpy(), f)
    np.testing.assert_array_equal(profiles["m_score"].to_numpy(), m)
    late = profiles["lifecycle_stage"].is_in(["dormant", "churned"]).to_list()
    segments = [
        RFM_SEGMENTS[(int(a) if (a >= 3) != is_late else (2 if is_late else 3), int(b))]
        for a, b, is_late in zip(r, f, late, strict=True)
    ]
    assert profiles["rfm_segment"].to_list() == segments
    # every score band is used, all eleven segments appear on this data
    assert set(profiles["r_score"]) == {1, 2, 3, 4, 5}
    assert profiles["rfm_segment"].n_unique() == 11


def test_scores_do_not_depend_on_row_order(online_retail: pl.DataFrame) -> None:
    config = ProfileConfig(churn=False)
    sample = online_retail.head(40_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        a = rs.build_profiles(sample, config=config)
        b = rs.build_profiles(sample.sample(fraction=1.0, shuffle=True, seed=3), config=config)
    assert a.equals(b)


def test_segment_map_is_complete() -> None:
    assert set(RFM_SEGMENTS) == {(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(RFM_SEGMENTS.values()) == set(rs.profiles.SEGMENT_NAMES)


def test_category_affinity_on_ta_feng_subclasses() -> None:
    raw = shared_dataset("ta_feng")
    purchases, _ = rs.clean_purchases(raw, preset="ta_feng", keep_columns=["PRODUCT_SUBCLASS"])
    config = ProfileConfig(churn=False, category_column="PRODUCT_SUBCLASS", top_categories=3)
    profiles = rs.build_profiles(purchases, as_of="2001-02-01", config=config)
    # In Ta-Feng 257 products carry more than one subclass: an item table cannot say which,
    # so build_profiles refuses it rather than pick one silently.
    items = purchases.select("item_id", "PRODUCT_SUBCLASS").unique()
    assert items["item_id"].n_unique() < items.height
    with pytest.raises(rs.InputDataError, match="several 'PRODUCT_SUBCLASS'"):
        rs.build_profiles(purchases.drop("PRODUCT_SUBCLASS"), items=items, config=config)

    before = purchases.filter(pl.col("timestamp") < datetime(2001, 2, 1))
    spend = (
        before.group_by("user_id", "PRODUCT_SUBCLASS")
        .agg((pl.col("quantity") * pl.col("price")).sum().alias("s"))
        .sort("user_id")
    )
    rng = np.random.default_rng(0)
    users = rng.choice(profiles["user_id"].to_numpy(), 200, replace=False)
    rows = {
        u: row
        for u, row in zip(
            profiles["user_id"].to_list(), profiles.iter_rows(named=True), strict=True
        )
    }
    for user in users:
        mine = spend.filter(pl.col("user_id") == user)
        shares = mine["s"].to_numpy() / mine["s"].sum()
        cats = mine["PRODUCT_SUBCLASS"].to_numpy()
        order = np.lexsort((cats, -shares))
        row = rows[user]
        assert row["n_categories"] == mine.height
        assert row["category_entropy"] == pytest.approx(-(shares * np.log2(shares)).sum(), abs=1e-9)
        assert row["top_categories"] == list(cats[order][:3])
        assert row["top_category_shares"] == pytest.approx(list(shares[order][:3]))
    assert profiles["category_entropy"].null_count() == 0
