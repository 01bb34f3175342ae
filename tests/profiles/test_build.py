"""build_profiles: hand-worked known answers for every column, rules, bad input, no leakage."""

from __future__ import annotations

import math
import warnings
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles import ProfileConfig
from recsys.profiles.bgnbd import BGNBD
from recsys.profiles.churn import OneTimeBuyerSurvival
from tests._purchases import purchases_frame

AS_OF = datetime(2024, 3, 1)
NO_CHURN = ProfileConfig(churn=False)
#: Lifecycle thresholds given, not derived (1 churned, 3 dormant in `small`).
EXPLICIT = ProfileConfig(
    churn=False, new_days=5, dormant_days=12, churned_days=28, rhythm_multiple=0.5
)


def _rows() -> list[tuple]:
    # user, item, order, timestamp, quantity, price
    return [
        (1, "a", "o1", datetime(2024, 1, 1, 9), 2.0, 5.0),
        (1, "b", "o1", datetime(2024, 1, 1, 9), 1.0, 10.0),
        (1, "a", "o2", datetime(2024, 1, 11, 9), 1.0, 5.0),
        (1, "c", "o3", datetime(2024, 1, 31, 9), 4.0, 2.5),
        (2, "a", "o4", datetime(2024, 2, 20, 0), 1.0, 5.0),
        (3, "b", "o5", datetime(2024, 1, 5, 0), 2.0, 10.0),
        (3, "b", "o6", datetime(2024, 2, 4, 0), 1.0, 10.0),
        (5, "c", "o7", datetime(2023, 10, 1, 0), 10.0, 2.5),
        (5, "c", "o8", datetime(2024, 2, 25, 0), 2.0, 2.5),
    ]


@pytest.fixture
def small() -> pl.DataFrame:
    return purchases_frame(_rows())


def _by_user(profiles: pl.DataFrame, column: str) -> dict:
    return dict(zip(profiles["user_id"].to_list(), profiles[column].to_list(), strict=True))


def test_activity_and_value_columns(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    assert p["user_id"].to_list() == [1, 2, 3, 5]
    assert _by_user(p, "first_purchase")[1] == datetime(2024, 1, 1, 9)
    assert _by_user(p, "last_purchase")[5] == datetime(2024, 2, 25)
    assert _by_user(p, "tenure_days") == pytest.approx({1: 60 - 9 / 24, 2: 10, 3: 56, 5: 152})
    assert _by_user(p, "recency_days") == pytest.approx({1: 30 - 9 / 24, 2: 10, 3: 26, 5: 5})
    assert _by_user(p, "frequency") == {1: 3, 2: 1, 3: 2, 5: 2}
    assert _by_user(p, "n_items") == {1: 8.0, 2: 1.0, 3: 3.0, 5: 12.0}
    assert _by_user(p, "monetary") == pytest.approx({1: 35.0, 2: 5.0, 3: 30.0, 5: 30.0})
    assert _by_user(p, "avg_order_value") == pytest.approx({1: 35 / 3, 2: 5.0, 3: 15.0, 5: 15.0})
    assert _by_user(p, "mean_interpurchase_days") == {1: 15.0, 2: None, 3: 30.0, 5: 147.0}
    assert _by_user(p, "median_interpurchase_days") == {1: 15.0, 2: None, 3: 30.0, 5: 147.0}
    assert _by_user(p, "last_gap_days") == {1: 20.0, 2: None, 3: 30.0, 5: 147.0}
    assert _by_user(p, "expected_next_purchase") == {
        1: datetime(2024, 2, 15, 9),
        2: None,
        3: datetime(2024, 3, 5),
        5: datetime(2024, 7, 21),
    }
    assert "return_rate" not in p.columns


def test_rfm_scores_and_segments(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    # score = 1 + floor(5 * (# customers strictly worse) / 4)
    assert _by_user(p, "r_score") == {1: 1, 2: 3, 3: 2, 5: 4}
    assert _by_user(p, "f_score") == {1: 4, 2: 1, 3: 2, 5: 2}
    assert _by_user(p, "m_score") == {1: 4, 2: 1, 3: 2, 5: 2}  # 3 and 5 tie at 30
    # 1 and 3 sit in the lapsed rows (r_score 1-2) but are "active" by their own
    # rhythm (test_lifecycle_default_thresholds): they take the r_score = 3 row's name
    assert _by_user(p, "rfm_segment") == {
        1: "loyal",
        2: "about_to_sleep",
        3: "about_to_sleep",
        5: "potential_loyalist",
    }


def test_rfm_lapsed_names_only_where_the_lifecycle_agrees(small: pl.DataFrame) -> None:
    # the thresholds of test_lifecycle_explicit_thresholds: 1 churned, 3 dormant
    p = rs.build_profiles(small, as_of=AS_OF, config=EXPLICIT)
    assert _by_user(p, "r_score") == {1: 1, 2: 3, 3: 2, 5: 4}
    assert _by_user(p, "rfm_segment") == {
        1: "at_risk",
        2: "about_to_sleep",
        3: "hibernating",
        5: "potential_loyalist",
    }
    assert rs.profiles.rfm_table(small, as_of=AS_OF)["rfm_segment"].to_list() == [
        "at_risk",
        "about_to_sleep",
        "hibernating",
        "potential_loyalist",
    ]


def test_lifecycle_default_thresholds(small: pl.DataFrame) -> None:
    # gaps 10, 20, 30, 147 of 3 customers, fewer than the 20 the 0.95 quantile needs:
    # fallback_lifecycle_days (30, 90, 180), not the gaps' quantiles (25, 76.8, 129.45)
    with pytest.warns(DataWarning, match="only 3 customers have two orders"):
        p = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    assert _by_user(p, "lifecycle_stage") == {
        1: "active",
        2: "new",
        3: "active",
        5: "reactivated",
    }


def test_lifecycle_explicit_thresholds(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small, as_of=AS_OF, config=EXPLICIT)
    # 1: recency 29.6 > C_i = max(28, 15); 3: 26 > D_i = max(12, 15) but <= C_i = 30
    assert _by_user(p, "lifecycle_stage") == {
        1: "churned",
        2: "active",
        3: "dormant",
        5: "reactivated",
    }


def test_tiers_default_and_explicit(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    assert _by_user(p, "tier") == {1: "platinum", 2: "bronze", 3: "bronze", 5: "bronze"}
    config = ProfileConfig(churn=False, tier_spend=(10, 30, 100), tier_frequency=(2, 3, 10))
    p = rs.build_profiles(small, as_of=AS_OF, config=config)
    assert _by_user(p, "tier") == {1: "gold", 2: "bronze", 3: "silver", 5: "silver"}


def test_return_rate(small: pl.DataFrame) -> None:
    frame = small.with_columns(pl.lit(False).alias("is_return"))
    returned = pl.DataFrame(
        {
            "user_id": [1],
            "item_id": ["a"],
            "order_id": ["C9"],
            "timestamp": [datetime(2024, 2, 1)],
            "quantity": [-2.0],
            "price": [5.0],
            "is_return": [True],
        },
        schema=frame.schema,
    )
    p = rs.build_profiles(pl.concat([frame, returned]), as_of=AS_OF, config=NO_CHURN)
    assert _by_user(p, "return_rate") == {1: 0.25, 2: 0.0, 3: 0.0, 5: 0.0}
    # the return row changes nothing else
    base = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    assert_frame_equal(p.drop("return_rate"), base)


def test_category_affinity_with_item_table(small: pl.DataFrame) -> None:
    items = pl.DataFrame({"item_id": ["a", "b", "c"], "category": ["toys", "books", "garden"]})
    p = rs.build_profiles(small, as_of=AS_OF, items=items, config=NO_CHURN)
    top = _by_user(p, "top_categories")
    assert top == {1: ["toys", "books", "garden"], 2: ["toys"], 3: ["books"], 5: ["garden"]}
    assert _by_user(p, "top_category_shares")[1] == pytest.approx([15 / 35, 10 / 35, 10 / 35])
    expected_entropy = -(3 / 7 * math.log2(3 / 7) + 2 * (2 / 7) * math.log2(2 / 7))
    assert _by_user(p, "category_entropy") == pytest.approx(
        {1: expected_entropy, 2: 0.0, 3: 0.0, 5: 0.0}
    )
    assert _by_user(p, "n_categories") == {1: 3, 2: 1, 3: 1, 5: 1}
    config = ProfileConfig(churn=False, top_categories=1)
    one = rs.build_profiles(small, as_of=AS_OF, items=items, config=config)
    assert _by_user(one, "top_categories")[1] == ["toys"]


def test_category_column_in_purchases_equals_item_table(small: pl.DataFrame) -> None:
    items = pl.DataFrame({"item_id": ["a", "b", "c"], "dept": ["toys", "books", "garden"]})
    config = ProfileConfig(churn=False, category_column="dept")
    via_table = rs.build_profiles(small, as_of=AS_OF, items=items, config=config)
    joined = small.join(items, on="item_id")
    via_column = rs.build_profiles(joined, as_of=AS_OF, config=config)
    assert_frame_equal(via_table, via_column)


def test_item_table_problems(small: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="category"):
        rs.build_profiles(small, items=pl.DataFrame({"item_id": ["a"], "dept": ["x"]}))
    clash = pl.DataFrame({"item_id": ["a", "a"], "category": ["x", "y"]})
    with pytest.raises(InputDataError, match="several"):
        rs.build_profiles(small, items=clash, config=NO_CHURN)
    partial = pl.DataFrame({"item_id": ["a"], "category": ["toys"]})
    with pytest.warns(DataWarning, match="6 purchase rows"):
        p = rs.build_profiles(small, as_of=AS_OF, items=partial, config=NO_CHURN)
    assert _by_user(p, "top_categories")[3] == []
    assert _by_user(p, "n_categories")[3] == 0


def test_churn_columns_small(small: pl.DataFrame) -> None:
    config = ProfileConfig(calibrate_churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        p = rs.build_profiles(small, as_of=AS_OF, config=config)
    # One-time buyer 2 (age 10 days): Kaplan-Meier over durations 10 (event), 10
    # (censored), 30, 147 (events): S(10) = 1, S(100) = 0.75 * 0.5 = 0.375, S(inf) = 0.
    assert _by_user(p, "p_alive")[2] == pytest.approx(1.0)
    assert _by_user(p, "churn_risk")[2] == pytest.approx(0.375)
    # Repeat buyers: BG/NBD fitted on the same (x, t_x, T).
    T = p["tenure_days"].to_numpy()
    x = p["frequency"].to_numpy() - 1.0
    t_x = np.where(x > 0, T - p["recency_days"].to_numpy(), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        bg = BGNBD().fit(x, t_x, T)
    rep = x > 0
    assert p["p_alive"].to_numpy()[rep] == pytest.approx(bg.p_alive(x, t_x, T)[rep])
    assert p["churn_risk"].to_numpy()[rep] == pytest.approx(
        bg.probability_no_purchase(90, x, t_x, T)[rep]
    )
    assert p["expected_purchases_90d"].to_numpy()[rep] == pytest.approx(
        bg.conditional_expected_purchases(90, x, t_x, T)[rep]
    )


def test_one_time_buyer_survival_hand_worked() -> None:
    km = OneTimeBuyerSurvival().fit(np.array([10.0, 10.0, 30.0, 147.0]), [True, False, True, True])
    assert km.survival([0, 10, 11, 30, 31, 147, 148, 500]).tolist() == pytest.approx(
        [1.0, 1.0, 0.75, 0.75, 0.375, 0.375, 0.0, 0.0]
    )
    assert km.probability_no_return([20.0], 90)[0] == pytest.approx(0.375 / 0.75)
    assert km.p_alive([20.0])[0] == pytest.approx(1.0)


def test_expected_purchases_horizon_name(small: pl.DataFrame) -> None:
    config = ProfileConfig(horizon_days=30, calibrate_churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        p = rs.build_profiles(small, as_of=AS_OF, config=config)
    assert "expected_purchases_30d" in p.columns


def test_default_as_of_is_just_after_last_purchase(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small, config=NO_CHURN)
    one_us = 1e-6 / 86_400  # as_of = last purchase (2024-02-25, customer 5) + 1 microsecond
    assert _by_user(p, "recency_days")[5] == pytest.approx(one_us, abs=1e-15)
    assert _by_user(p, "recency_days")[2] == pytest.approx(5 + one_us)


def test_without_order_id_orders_are_days(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small.drop("order_id"), as_of=AS_OF, config=NO_CHURN)
    assert _by_user(p, "frequency") == {1: 3, 2: 1, 3: 2, 5: 2}
    assert _by_user(p, "mean_interpurchase_days") == pytest.approx(
        {1: 15.0, 2: None, 3: 30.0, 5: 147.0}
    )


def test_without_price_no_monetary_columns(small: pl.DataFrame) -> None:
    p = rs.build_profiles(small.drop("price"), as_of=AS_OF, config=NO_CHURN)
    for column in ("monetary", "avg_order_value", "m_score"):
        assert column not in p.columns
    # tiers by frequency alone: quantile cuts 2, 2.4, 2.85 (strict)
    assert _by_user(p, "tier") == {1: "platinum", 2: "bronze", 3: "bronze", 5: "bronze"}


def test_no_leakage_online_retail(online_retail: pl.DataFrame) -> None:
    as_of = datetime(2011, 9, 9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        full = rs.build_profiles(online_retail, as_of=as_of)
        before = rs.build_profiles(online_retail.filter(pl.col("timestamp") < as_of), as_of=as_of)
    assert_frame_equal(full, before)
    assert full.height == online_retail.filter(pl.col("timestamp") < as_of)["user_id"].n_unique()


def test_no_leakage_small(small: pl.DataFrame) -> None:
    later = purchases_frame(
        [
            (2, "a", "o9", datetime(2024, 3, 1), 5.0, 5.0),  # exactly at as_of: excluded
            (9, "b", "o10", datetime(2024, 4, 1), 1.0, 10.0),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        a = rs.build_profiles(small, as_of=AS_OF, config=ProfileConfig(calibrate_churn=False))
        b = rs.build_profiles(
            pl.concat([small, later]), as_of=AS_OF, config=ProfileConfig(calibrate_churn=False)
        )
    assert_frame_equal(a, b)


def test_lazy_parquet_and_pandas_inputs(small: pl.DataFrame, tmp_path) -> None:
    path = tmp_path / "p.parquet"
    small.write_parquet(path)
    eager = rs.build_profiles(small, as_of=AS_OF, config=NO_CHURN)
    assert_frame_equal(rs.build_profiles(path, as_of=AS_OF, config=NO_CHURN), eager)
    assert_frame_equal(rs.build_profiles(small.lazy(), as_of=AS_OF, config=NO_CHURN), eager)
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    assert_frame_equal(rs.build_profiles(small.to_pandas(), as_of=AS_OF, config=NO_CHURN), eager)


# ------------------------------------------------------------------ bad input
def test_empty_purchases(small: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="empty"):
        rs.build_profiles(small.clear())


def test_as_of_before_all_data(small: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="as_of"):
        rs.build_profiles(small, as_of="2020-01-01")
    with pytest.raises(InputDataError, match="as_of"):
        rs.build_profiles(small, as_of="not a date")


def test_missing_columns_and_types(small: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="quantity"):
        rs.build_profiles(small.drop("quantity"))
    with pytest.raises(InputDataError, match="Datetime"):
        rs.build_profiles(small.with_columns(pl.col("timestamp").cast(pl.String)))
    with pytest.raises(InputDataError, match="ProfileConfig"):
        rs.build_profiles(small, config={"horizon_days": 90})  # type: ignore[arg-type]


def test_non_positive_prices(small: pl.DataFrame) -> None:
    negative = small.with_columns(
        pl.when(pl.col("order_id") == "o4").then(-1.0).otherwise(pl.col("price")).alias("price")
    )
    with pytest.raises(InputDataError, match="price"):
        rs.build_profiles(negative, as_of=AS_OF, config=NO_CHURN)
    zero = small.with_columns(
        pl.when(pl.col("order_id") == "o4").then(0.0).otherwise(pl.col("price")).alias("price")
    )
    with pytest.warns(DataWarning, match="price 0"):
        p = rs.build_profiles(zero, as_of=AS_OF, config=NO_CHURN)
    assert _by_user(p, "monetary")[2] == 0.0


def test_unflagged_negative_quantity(small: pl.DataFrame) -> None:
    bad = small.with_columns(pl.col("quantity").neg())
    with pytest.raises(InputDataError, match="quantity <= 0"):
        rs.build_profiles(bad, as_of=AS_OF, config=NO_CHURN)


def test_single_purchase_customers_only() -> None:
    rows = [(u, "a", f"o{u}", datetime(2024, 1, u), 1.0, 2.0) for u in range(1, 11)]
    with pytest.warns(DataWarning) as record:
        p = rs.build_profiles(
            purchases_frame(rows), as_of=AS_OF, config=ProfileConfig(calibrate_churn=False)
        )
    messages = " ".join(str(w.message) for w in record)
    assert "no customer has two orders" in messages
    assert "no customer has a repeat purchase" in messages
    # nobody ever came back: the survival curve says they never will
    assert p["p_alive"].to_list() == [0.0] * 10
    assert p["churn_risk"].to_list() == [1.0] * 10
    assert p["expected_purchases_90d"].to_list() == [0.0] * 10
    assert p["mean_interpurchase_days"].null_count() == 10
    assert set(p["lifecycle_stage"]) <= {"new", "active", "dormant", "churned"}


def test_identical_customers() -> None:
    rows = []
    for u in range(1, 6):
        rows += [
            (u, "a", f"{u}-1", datetime(2024, 1, 1), 1.0, 2.0),
            (u, "a", f"{u}-2", datetime(2024, 2, 1), 1.0, 2.0),
        ]
    with pytest.warns(DataWarning, match="same value"):
        p = rs.build_profiles(purchases_frame(rows), as_of=AS_OF, config=NO_CHURN)
    assert p["r_score"].to_list() == [1] * 5
    assert p["f_score"].to_list() == [1] * 5
    assert p["m_score"].to_list() == [1] * 5
    # the bottom cell of the grid, but 29 days after a 31-day gap nobody is late
    assert p["lifecycle_stage"].to_list() == ["active"] * 5
    assert p["rfm_segment"].to_list() == ["about_to_sleep"] * 5
    assert p["tier"].to_list() == ["bronze"] * 5


def test_config_validation() -> None:
    with pytest.raises(InputDataError, match="horizon_days"):
        ProfileConfig(horizon_days=0)
    with pytest.raises(InputDataError, match="dormant_days"):
        ProfileConfig(dormant_days=100, churned_days=50)
    with pytest.raises(InputDataError, match="tier_spend"):
        ProfileConfig(tier_spend=(10, 5, 20))
    with pytest.raises(InputDataError, match="tier_quantiles"):
        ProfileConfig(tier_quantiles=(0.5, 0.8))
    with pytest.raises(InputDataError, match="new_days"):
        ProfileConfig(new_days=-1)


def test_calibration_fallback_warns(small: pl.DataFrame) -> None:
    with pytest.warns(DataWarning, match="not calibrated"):
        p = rs.build_profiles(small, as_of=AS_OF)
    assert p["churn_risk"].null_count() == 0
