"""What the job checks against the naive rules is what it deploys and what it says:
the churn risk and CLV scored at the evaluation cutoff have the deployed definitions,
the CLV and churn comparisons each keep their own customers, and the churn order the
claim describes is the one the decisions use."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig, JobResult
from tests.job import shops


@pytest.fixture(scope="module")
def mixed() -> tuple[JobResult, pl.DataFrame]:
    purchases = shops.mixed()
    result = rs.job.run(purchases, JobConfig(models=("popular",), bootstrap=50))
    return result, purchases


def test_the_churn_risk_and_clv_checked_at_the_cutoff_are_the_deployed_ones(
    mixed: tuple[JobResult, pl.DataFrame],
) -> None:
    result, purchases = mixed
    config = result.config
    assert result.backtest is not None
    assert result.cutoff is not None
    # the deployed definition, as documented: churn over horizon_days, the CLV over
    # clv_horizon_days with the profiles' default monthly discount
    deployed = rs.profiles.ProfileConfig(
        horizon_days=config.horizon_days, clv_horizon_days=config.clv_horizon_days
    )
    assert deployed.clv_discount_monthly > 0
    before = purchases.filter(pl.col("timestamp") < result.cutoff)
    expected = rs.build_profiles(before, as_of=result.cutoff, config=deployed)
    for prediction, column in (("clv", "clv"), ("churn", "churn_risk")):
        scored = result.backtest.units[prediction].select("user_id", column)
        both = scored.join(
            expected.select("user_id", pl.col(column).alias("expected")), on="user_id"
        )
        assert both.height == scored.height > 100
        assert both[column].to_list() == pytest.approx(both["expected"].to_list(), rel=1e-9)
    # and the decisions use the same definitions as of as_of
    at_as_of = rs.build_profiles(
        purchases.filter(pl.col("timestamp") < result.as_of), as_of=result.as_of, config=deployed
    )
    assert result.profiles["clv"].to_list() == pytest.approx(at_as_of["clv"].to_list())
    # the claim says what was checked: the deployed CLV ranking the window's spend
    text = result.claims["value"].text
    assert "expected value over the next 365 days (discounted 1% a month)" in text
    assert "the next 90 days' spend" in text
    assert result.claims["value"].evidence["discount_monthly"] == deployed.clv_discount_monthly
    end = result.cutoff + timedelta(days=config.horizon_days)
    assert end <= result.as_of


@pytest.mark.parametrize("name", ["mixed", "durables"])
def test_the_action_list_decides_churn_and_value_as_the_job_does(name: str) -> None:
    purchases = shops.SHOPS[name]()
    result = rs.job.run(purchases, JobConfig(models=("popular",), bootstrap=50, k=5))
    said: list[str] = []
    table = rs.job.action_list(
        purchases, recommender=rs.Popular(), k=5, bootstrap=50, echo=said.append
    )
    claims = result.claims
    assert said == [f"churn: {claims['churn'].text}", f"value: {claims['value'].text}"]
    columns = ["user_id", "action", "value_at_stake", "priority"]
    assert (
        table.select(columns).sort("user_id").equals(result.actions.select(columns).sort("user_id"))
    )
    # on this shop the CLV is licensed (mixed) or not (durables): the action list follows
    licensed = result.claims["value"].licensed
    assert licensed == (name == "mixed")
    profiles = result.profiles
    stake = table.join(profiles.select("user_id", "clv", "monetary"), on="user_id")
    win = stake.filter(pl.col("action") == "win_back")
    assert win.height > 0
    if not licensed:  # past spend, not the CLV, is what is at stake
        ratio = result.claims["value"].evidence["ratio"]
        assert win["value_at_stake"].to_list() == pytest.approx((win["monetary"] * ratio).to_list())
