"""`backtest_profiles`: the backtest's churn and CLV rows for profiles already built."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.stats import spearmanr

import recsys as rs
from recsys.exceptions import InputDataError
from tests.job import shops

ORIGIN = datetime(2023, 10, 1)
HORIZON = 60


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    return shops.mixed()


@pytest.fixture(scope="module")
def profiles(shop: pl.DataFrame) -> pl.DataFrame:
    config = rs.profiles.ProfileConfig(
        horizon_days=HORIZON, clv_horizon_days=HORIZON, clv_discount_monthly=0.0
    )
    return rs.build_profiles(shop.filter(pl.col("timestamp") < ORIGIN), as_of=ORIGIN, config=config)


def test_same_table_as_the_backtest_at_that_origin(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    mine = rs.evaluation.backtest_profiles(
        profiles, shop, ORIGIN, horizon_days=HORIZON, bootstrap=50, seed=3
    )
    full = rs.evaluation.backtest(shop, ORIGIN, ["churn", "clv"], HORIZON, bootstrap=50, seed=3)
    assert_frame_equal(mine.table, full.table)
    assert_frame_equal(mine.calibration, full.calibration)
    assert_frame_equal(mine.holdout, full.holdout)


def test_rows_equal_an_independent_computation(shop: pl.DataFrame, profiles: pl.DataFrame) -> None:
    result = rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, horizon_days=HORIZON)
    end = ORIGIN + timedelta(days=HORIZON)
    window = shop.filter(pl.col("timestamp") >= ORIGIN, pl.col("timestamp") < end)
    spend = window.group_by("user_id").agg(spend=(pl.col("quantity") * pl.col("price")).sum())
    units = profiles.join(spend, on="user_id", how="left").with_columns(
        pl.col("spend").fill_null(0.0)
    )
    churned = units["spend"].to_numpy() == 0
    risk = units["churn_risk"].to_numpy()
    pos, neg = risk[churned], risk[~churned]
    auc = ((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / pos.size / neg.size
    rows = result.table.filter(origin="all")
    churn = rows.filter(metric="auc", naive="recency").row(0, named=True)
    assert churn["value"] == pytest.approx(auc)
    assert churn["n"] == profiles.height
    target = units["spend"].to_numpy()
    clv = rows.filter(metric="spearman").row(0, named=True)
    assert clv["value"] == pytest.approx(spearmanr(units["clv"], target).statistic)
    assert clv["naive_value"] == pytest.approx(spearmanr(units["monetary"], target).statistic)
    assert clv["ci_low"] <= clv["diff"] <= clv["ci_high"]
    brier = rows.filter(metric="brier").row(0, named=True)
    assert brier["value"] == pytest.approx(np.mean((risk - churned) ** 2))


def test_one_prediction_needs_only_its_columns(shop: pl.DataFrame, profiles: pl.DataFrame) -> None:
    churn_only = profiles.select("user_id", "recency_days", "frequency", "churn_risk")
    no_prices = shop.drop("price")
    result = rs.evaluation.backtest_profiles(
        churn_only, no_prices, ORIGIN, "churn", HORIZON, bootstrap=0
    )
    assert set(result.table["prediction"]) == {"churn"}
    assert result.table["ci_low"].is_nan().all()  # no resamples, no interval


def test_bad_input(shop: pl.DataFrame, profiles: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match=r"lack column\(s\) \['clv'\]"):
        rs.evaluation.backtest_profiles(profiles.drop("clv"), shop, ORIGIN)
    with pytest.raises(InputDataError, match="'due' is not one of"):
        rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, ["due"])
    nan = profiles.with_columns(pl.lit(float("nan")).alias("churn_risk"))
    with pytest.raises(InputDataError, match="churn_risk is not finite for"):
        rs.evaluation.backtest_profiles(nan, shop, ORIGIN)
    with pytest.raises(InputDataError, match="price"):
        rs.evaluation.backtest_profiles(profiles, shop.drop("price"), ORIGIN, "clv")


def test_a_label_window_past_the_data_is_refused(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    # customers would count as churned only because the data end
    before = shop.filter(pl.col("timestamp") < ORIGIN + timedelta(days=HORIZON // 2))
    with pytest.raises(InputDataError, match=r"origin: 2023-10-01 \+ horizon_days=60 must lie"):
        rs.evaluation.backtest_profiles(profiles, before, ORIGIN, horizon_days=HORIZON)
    with pytest.raises(InputDataError, match="must lie within the data"):
        rs.evaluation.backtest_profiles(
            profiles, shop, ORIGIN, horizon_days=HORIZON, observed_until=ORIGIN
        )
    first = shop["timestamp"].min()
    with pytest.raises(InputDataError, match="with purchases before the origin"):
        rs.evaluation.backtest_profiles(profiles, shop, first, horizon_days=HORIZON)


def test_profiles_must_be_one_finite_row_per_customer(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    twice = pl.concat([profiles, profiles.head(1)])
    with pytest.raises(InputDataError, match="1 row repeats a customer already in profiles;"):
        rs.evaluation.backtest_profiles(twice, shop, ORIGIN, horizon_days=HORIZON)
    for column, prediction in (("recency_days", "churn"), ("monetary", "clv")):
        hole = profiles.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col(column)).alias(column)
        )
        with pytest.raises(InputDataError, match=f"{column} is not finite for 1 customers"):
            rs.evaluation.backtest_profiles(hole, shop, ORIGIN, prediction, HORIZON)
    with pytest.raises(InputDataError, match="predictions must name one or more"):
        rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, None)  # type: ignore[arg-type]


def test_skip_scores_each_prediction_on_its_own_finite_customers(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    holes = pl.int_range(pl.len()) < 10
    no_clv = profiles.with_columns(
        pl.when(holes).then(float("nan")).otherwise(pl.col("clv")).alias("clv")
    )
    with pytest.warns(rs.exceptions.DataWarning, match=r"10 of [\d,]+ customers have no finite "):
        both = rs.evaluation.backtest_profiles(
            no_clv, shop, ORIGIN, horizon_days=HORIZON, bootstrap=30, on_nonfinite="skip"
        )
    # churn: every customer, as if the CLV were not there (same draws: same customers)
    churn = rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, "churn", HORIZON, bootstrap=30)
    assert_frame_equal(both.table.filter(prediction="churn"), churn.table)
    assert_frame_equal(both.calibration, churn.calibration)
    assert_frame_equal(both.holdout, churn.holdout)
    # clv: the customers with a finite CLV, the same values as scoring them alone
    alone = rs.evaluation.backtest_profiles(
        profiles.filter(~holes), shop, ORIGIN, "clv", HORIZON, bootstrap=0
    )
    columns = ["metric", "value", "naive_value", "diff", "n"]
    assert_frame_equal(
        both.table.filter(prediction="clv").select(columns), alone.table.select(columns)
    )
    assert both.units["clv"].height == profiles.height - 10
    assert both.units["churn"].height == profiles.height
    # a prediction no customer can be scored on is still refused
    none = profiles.with_columns(pl.lit(float("nan")).alias("clv"))
    with pytest.raises(InputDataError, match="no customer has a finite monetary or clv"):
        rs.evaluation.backtest_profiles(none, shop, ORIGIN, on_nonfinite="skip")
    with pytest.raises(InputDataError, match="on_nonfinite must be"):
        rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, on_nonfinite="drop")  # type: ignore[arg-type]


def test_expected_orders_against_past_orders_without_prices(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    """The ``orders`` rows (no prices needed): BG/NBD's expected orders and past orders,
    each ranking the window's orders, equal scipy's Spearman correlations."""
    result = rs.evaluation.backtest_profiles(
        profiles, shop.drop("price"), ORIGIN, ["orders"], horizon_days=HORIZON, bootstrap=100
    )
    end = ORIGIN + timedelta(days=HORIZON)
    window = shop.filter(pl.col("timestamp") >= ORIGIN, pl.col("timestamp") < end)
    orders = window.group_by("user_id").agg(after=pl.col("order_id").n_unique())
    units = profiles.join(orders, on="user_id", how="left").with_columns(
        pl.col("after").fill_null(0)
    )
    row = result.table.filter(origin="all", metric="spearman").row(0, named=True)
    assert (row["prediction"], row["model"], row["naive"]) == (
        "orders",
        "expected_orders",
        "past_orders",
    )
    expected = spearmanr(units[f"expected_purchases_{HORIZON}d"], units["after"]).statistic
    past = spearmanr(units["frequency"], units["after"]).statistic
    assert row["value"] == pytest.approx(expected)
    assert row["naive_value"] == pytest.approx(past)
    assert row["ci_low"] < row["diff"] < row["ci_high"]
    with pytest.raises(InputDataError, match="expected_purchases_30d"):
        rs.evaluation.backtest_profiles(profiles, shop, ORIGIN, ["orders"], horizon_days=30)


def test_extra_model_columns_are_scored_as_the_backtest_scores_its_models(
    shop: pl.DataFrame, profiles: pl.DataFrame
) -> None:
    before = shop.filter(pl.col("timestamp") < ORIGIN)
    churn = rs.profiles.LearnedChurn().fit(before, as_of=ORIGIN, horizon_days=HORIZON)
    clv = rs.profiles.LearnedCLV().fit(before, as_of=ORIGIN, horizon_days=HORIZON)
    scored = (
        profiles.join(
            churn.predict(before).rename({"churn_risk": "churn_risk__LearnedChurn"}), on="user_id"
        )
        .join(clv.predict(before).rename({"clv": "clv__LearnedCLV"}), on="user_id")
        .sort("user_id")
    )
    assert scored.height == profiles.height
    mine = rs.evaluation.backtest_profiles(
        scored, shop, ORIGIN, horizon_days=HORIZON, bootstrap=50, seed=3
    )
    full = rs.evaluation.backtest(
        shop, ORIGIN, ["churn", "clv"], HORIZON, bootstrap=50, seed=3,
        churn_model=rs.profiles.LearnedChurn(), clv_model=rs.profiles.LearnedCLV(),
    )  # fmt: skip
    assert_frame_equal(mine.table, full.table)
    assert_frame_equal(mine.calibration, full.calibration)
    assert set(mine.table["model"]) == {"churn_risk", "LearnedChurn", "clv", "LearnedCLV"}
    # the learned model's AUC against recency, by counting pairs
    end = ORIGIN + timedelta(days=HORIZON)
    window = shop.filter(pl.col("timestamp") >= ORIGIN, pl.col("timestamp") < end)
    churned = np.isin(
        scored["user_id"].to_numpy(), window["user_id"].unique().to_numpy(), invert=True
    )
    risk = scored["churn_risk__LearnedChurn"].to_numpy()
    pos, neg = risk[churned], risk[~churned]
    auc = ((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / pos.size / neg.size
    row = mine.table.filter(origin="all", model="LearnedChurn", naive="recency").row(0, named=True)
    assert row["value"] == pytest.approx(auc)
    # a customer without a finite learned score is left out of every churn row, counted
    holed = scored.with_columns(
        churn_risk__LearnedChurn=pl.when(pl.col("user_id") == scored["user_id"][0])
        .then(None)
        .otherwise(pl.col("churn_risk__LearnedChurn"))
    )
    with pytest.warns(rs.exceptions.DataWarning, match="churn_risk__LearnedChurn"):
        skipped = rs.evaluation.backtest_profiles(
            holed, shop, ORIGIN, "churn", HORIZON, bootstrap=0, on_nonfinite="skip"
        )
    assert set(skipped.table["n"]) == {profiles.height - 1}
