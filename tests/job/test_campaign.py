"""The win-back campaign's money, checked at the evaluation cutoff: the same rule and
valuation applied to the customers known then, against what they spent next, recomputed
here by hand; the claim values its stake by that evidence and licenses a campaign only
on it."""

from __future__ import annotations

import dataclasses
import math
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig, JobResult
from recsys.job.campaign import CampaignEvidence, campaign_backtest
from recsys.job.claims_campaign import campaign_claim
from recsys.stats import resample_counts
from tests.job import shops


def _run(make: object, **fields: object) -> JobResult:
    base: dict[str, object] = {"models": ("popular",), "bootstrap": 200, "currency": "$"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rs.job.run(make(), JobConfig(**{**base, **fields}))  # type: ignore[arg-type, operator]


@pytest.fixture(scope="module")
def durables() -> JobResult:
    # the naive rules' valuation, recomputed by hand below: the churn model (and the
    # value built on it) off, so neither the learned models nor BG/NBD are licensed
    return _run(shops.durables, churn=False)


def _by_hand(result: JobResult) -> tuple[int, float, float]:
    """(customers, projected, realised) of the lapsed customers at the cutoff: past spend
    x the recent-spend ratio as of the cutoff x 90/365, against their spend in the 90 days
    after it."""
    cutoff = result.cutoff
    assert cutoff is not None
    p = result.purchases.with_columns(spend=pl.col("quantity") * pl.col("price"))
    before = p.filter(pl.col("timestamp") < cutoff)
    span = (cutoff - before["timestamp"].min()).total_seconds() / 86_400  # type: ignore[operator]
    days = 365.0
    while days > span / 2 and days / 2 >= 90:  # never below 90 days
        days /= 2
    days = min(days, span)
    recent = before.filter(pl.col("timestamp") >= cutoff - timedelta(days=days))["spend"].sum()
    ratio = recent * 365 / days / before["spend"].sum()
    last = before.group_by("user_id").agg(pl.col("timestamp").max(), pl.col("spend").sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stages = rs.build_profiles(before.drop("spend"), as_of=cutoff).select(
            "user_id", "lifecycle_stage"
        )
    lapsed = last.join(stages, on="user_id").filter(
        pl.col("lifecycle_stage").is_in(["dormant", "churned"])
    )
    window = p.filter(
        (pl.col("timestamp") >= cutoff) & (pl.col("timestamp") < cutoff + timedelta(days=90))
    )
    realised = window.filter(pl.col("user_id").is_in(lapsed["user_id"].implode()))["spend"].sum()
    return lapsed.height, float(lapsed["spend"].sum() * ratio * 90 / 365), float(realised)


def test_the_stake_is_valued_by_what_the_rule_projected_at_the_cutoff(
    durables: JobResult,
) -> None:
    claim = durables.claims["campaign"]
    assert not durables.claims["churn"].licensed
    assert not durables.claims["value"].licensed
    customers, projected, realised = _by_hand(durables)
    ev = claim.evidence
    assert ev["checked_customers"] == customers
    assert ev["checked_projected"] == pytest.approx(projected, rel=1e-9)
    assert ev["checked_realised"] == pytest.approx(realised, rel=1e-9)
    assert ev["ratio"] == pytest.approx(realised / projected, rel=1e-9)
    assert ev["ratio"] < 0.5  # durables: lapsed one-order customers rarely come back
    win = durables.actions.filter(action="win_back")
    assert ev["projected_stake"] == pytest.approx(win["projected_value"].sum())
    # the shop-wide rate in the window over the rate in the days the valuation read
    cutoff = durables.cutoff
    assert cutoff is not None
    p = durables.purchases
    if "is_return" in p.columns:
        p = p.filter(~pl.col("is_return"))
    spend = (pl.col("quantity") * pl.col("price")).cast(pl.Float64)
    ts = pl.col("timestamp")
    days = 365.0
    span = ev["checked_history_days"]
    while days > span / 2 and days / 2 >= 90:
        days /= 2
    days = min(days, span)
    pre = p.filter((ts >= cutoff - timedelta(days=days)) & (ts < cutoff)).select(spend.sum()).item()
    post = p.filter((ts >= cutoff) & (ts < cutoff + timedelta(days=90))).select(spend.sum()).item()
    rate = (post / 90) / (pre / days)
    assert ev["window_rate"] == pytest.approx(rate, rel=1e-9)
    share = ev["ratio"] / max(rate, 1.0)
    # the stake over the 90 days checked, not the 365-day projection
    assert ev["stake_days"] == 90
    window = ev["projected_stake"] * 90 / 365
    assert ev["stake"] == pytest.approx(window * min(share, 1.0))
    assert ev["per_contact"] == pytest.approx(ev["stake"] / win.height)
    low = window * min(ev["ratio_ci_low"] / max(rate, 1.0), 1.0) / win.height
    assert claim.licensed == (low > 1.0)
    assert "at stake over the next 90 days by the evidence" in claim.text
    assert "an extrapolation of one 90-day window, which the check does not cover" in claim.text
    assert "That is what these customers are worth" not in claim.text
    assert "bought again" in claim.text


def test_no_campaign_where_only_the_projection_pays_the_contact_cost(
    durables: JobResult,
) -> None:
    ev = durables.claims["campaign"].evidence
    projected_per_contact = ev["projected_stake"] / ev["customers"]
    cost = round((ev["per_contact"] + projected_per_contact) / 2, 2)  # between the two
    assert ev["per_contact"] < cost < projected_per_contact
    dear = _run(shops.durables, contact_cost=cost, churn=False).claims["campaign"]
    assert not dear.licensed
    assert dear.text.startswith("A win-back campaign is not proposed")
    # no claim that it cannot pay: the break-even effect, as a multiple of their own spend
    assert "not worth" not in dear.text
    ev = dear.evidence
    by_evidence = ev["contact_cost"] / ev["per_contact"]
    assert f"{by_evidence:.1%} of what they spend with no campaign by the evidence" in dear.text
    if ev["per_contact_low"] > 0:
        at_low = ev["contact_cost"] / ev["per_contact_low"]
        assert f"{at_low:.1%} at the low end of the interval" in dear.text


def test_the_interval_resamples_customers_with_the_project_bootstrap() -> None:
    rng = np.random.default_rng(3)
    n = 40
    users = np.arange(n)
    start = datetime(2024, 1, 1)
    before = pl.DataFrame(
        {
            "user_id": users,
            "item_id": ["a"] * n,
            "timestamp": [start + timedelta(days=int(d)) for d in rng.integers(0, 200, n)],
            "quantity": [1.0] * n,
            "price": rng.uniform(10, 100, n).round(2),
        }
    )
    cutoff = datetime(2024, 9, 1)
    again = users[rng.random(n) < 0.3]
    after = pl.DataFrame(
        {
            "user_id": again,
            "item_id": ["a"] * again.size,
            "timestamp": [cutoff + timedelta(days=5)] * again.size,
            "quantity": [1.0] * again.size,
            "price": rng.uniform(10, 100, again.size).round(2),
        }
    )
    bought = pl.concat([before, after])
    profiles = before.group_by("user_id").agg(
        recency_days=(pl.lit(cutoff) - pl.col("timestamp").max()).dt.total_days().cast(pl.Float64),
        frequency=pl.len(),
        monetary=(pl.col("quantity") * pl.col("price")).sum(),
        lifecycle_stage=pl.lit("churned"),
    )
    ev = campaign_backtest(
        profiles, bought, cutoff, ranked_by="recency", churn_column=None, value_column=None,
        horizon_days=30, value_horizon_days=365, bootstrap=300, seed=7,
        observed_until=cutoff + timedelta(days=30),
    )  # fmt: skip
    assert ev is not None
    assert ev.customers == n
    rows = profiles.join(
        after.group_by("user_id").agg(s=(pl.col("quantity") * pl.col("price")).sum()),
        on="user_id",
        how="left",
    ).sort("user_id")
    ratio, _ = rs.job.decisions.past_value_ratio(bought, cutoff, 365)
    projected = rows["monetary"].to_numpy() * ratio * 30 / 365
    realised = rows["s"].fill_null(0.0).to_numpy()
    assert ev.projected == pytest.approx(projected.sum())
    assert ev.ratio == pytest.approx(realised.sum() / projected.sum())
    counts = resample_counts(n, 300, seed=7)
    draws = (counts @ realised) / (counts @ projected)
    low, high = np.quantile(draws, [0.025, 0.975])
    assert (ev.ci_low, ev.ci_high) == pytest.approx((low, high))


def test_an_unchecked_projection_licenses_nothing() -> None:
    claim = campaign_claim(100, 50_000.0, 1.0, money=True, currency="$")
    assert not claim.licensed
    assert "could not be checked" in claim.text
    assert "no evaluation window" in claim.text
    short = _run(shops.durables, cutoff="2023-12-20")  # its window runs past as_of
    text = short.claims["campaign"].text
    assert not short.claims["campaign"].licensed
    assert "could not be checked" in text, text
    # no resamples: no interval, so nothing to license on
    seen = CampaignEvidence(
        datetime(2024, 1, 1), 90, 365, 80, 4000.0, 2000.0, 5, 0.5, np.nan, np.nan, 0.95, True
    )
    none = campaign_claim(100, 50_000.0, 1.0, money=True, evidence=seen)
    assert not none.licensed
    assert "no bootstrap resamples" in none.text


def test_orders_at_stake_are_whole_and_checked_without_prices() -> None:
    result = _run(shops.grocery)
    claim = result.claims["campaign"]
    assert not claim.licensed
    assert "no prices" in claim.text
    stake = claim.evidence["stake"]
    assert f"about {stake:,.0f} orders at stake over the next 90 days by the evidence" in claim.text
    assert claim.evidence["checked_realised"] == round(claim.evidence["checked_realised"])


def test_the_evidence_lowers_a_projection_but_never_raises_it() -> None:
    above = CampaignEvidence(
        datetime(2024, 1, 1), 90, 365, 80, 4000.0, 5200.0, 40, 1.3, 1.1, 1.5, 0.95, True
    )
    claim = campaign_claim(100, 50_000.0, 1.0, money=True, currency="$", evidence=above)
    assert claim.licensed
    # over the 90 days checked: 50,000 x 90/365, kept
    assert claim.evidence["stake"] == pytest.approx(50_000.0 * 90 / 365)
    assert claim.evidence["per_contact_low"] == pytest.approx(500.0 * 90 / 365)
    assert "is kept (the evidence lowers a projection, never raises it)" in claim.text
    assert "130.0%" in claim.text  # the ratio itself is still stated
    below = CampaignEvidence(
        datetime(2024, 1, 1), 90, 365, 80, 4000.0, 2000.0, 40, 0.5, 0.3, 1.2, 0.95, True
    )
    claim = campaign_claim(100, 50_000.0, 1.0, money=True, currency="$", evidence=below)
    assert claim.evidence["stake"] == pytest.approx(25_000.0 * 90 / 365)
    assert claim.evidence["per_contact_low"] == pytest.approx(150.0 * 90 / 365)
    assert "is scaled by 50.0%" in claim.text


def test_the_report_shows_the_stake_by_the_evidence(durables: JobResult, tmp_path: Path) -> None:
    rs.report.write(durables, tmp_path)
    html = (tmp_path / "report.html").read_text()
    ev = durables.claims["campaign"].evidence
    assert f"${ev['stake']:,.0f} at stake (over the next 90 days, by the evidence)" in html
    assert f"the 90 days it checked, scaled by {ev['ratio_at_window_rate']:.1%}" in html


def test_with_churn_licensed_the_backtest_projects_the_deployed_stake() -> None:
    # two churned customers, CLV 120 over 120 days, churn risk 0.9: the decisions deploy
    # 120 x 0.9 = 108 each; the shop's spend is flat (ratio 1), so the 30-day window
    # projects 2 x 108 x 30 / 120 = 54, not the unweighted 60
    p = pl.DataFrame(
        {
            "user_id": [1, 2, 1],
            "item_id": ["a"] * 3,
            "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 7, 10)],
            "quantity": [1.0] * 3,
            "price": [100.0, 100.0, 50.0],
        }
    )
    prof = pl.DataFrame(
        {
            "user_id": [1, 2],
            "recency_days": [182.0, 181.0],
            "frequency": [1, 1],
            "monetary": [100.0, 100.0],
            "clv": [120.0, 120.0],
            "churn_risk": [0.9, 0.9],
            "lifecycle_stage": ["churned", "churned"],
        }
    )
    e = campaign_backtest(
        prof, p, datetime(2020, 7, 1), ranked_by="churn_risk", churn_column="churn_risk",
        value_column="clv",
        horizon_days=30, value_horizon_days=120, bootstrap=0, seed=0,
        observed_until=datetime(2020, 8, 1),
    )  # fmt: skip
    assert e is not None
    assert e.projected == pytest.approx(2 * 120 * 0.9 * 30 / 120)
    assert e.realised == 50.0


def test_a_licensed_campaign_says_its_effect_is_not_measured() -> None:
    # what the selected customers spent at the cutoff, none of them contacted, backs
    # the stake; it is not the campaign's return, and the card must not sell it as one
    seen = CampaignEvidence(
        datetime(2024, 1, 1), 90, 365, 80, 4000.0, 200.0, 5, 0.05, 0.03, 0.08, 0.95, True
    )
    claim = campaign_claim(100, 50_000.0, 1.0, money=True, evidence=seen)
    assert claim.licensed
    assert "what it adds is not measured here" in claim.text
    # the break-even: the contact cost as a share of their own spend at the low end
    cost_share = 1.0 / claim.evidence["per_contact_low"]
    assert f"{cost_share:.1%} of what they spend with no campaign" in claim.text
    assert "--experiment" in claim.text
    assert "uncontacted, they spent" in claim.text
    assert "worth running" not in claim.text


def _two_lapsed_one_active() -> pl.DataFrame:
    """Profiles of customers 1 and 2 (lapsed, one order each) and 3 (active)."""
    return pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "recency_days": [182.0, 181.0, 30.0],
            "frequency": [1, 1, 1],
            "monetary": [100.0, 50.0, 10.0],
            "lifecycle_stage": ["churned", "churned", "active"],
        }
    )


def test_a_line_cancelled_in_the_window_is_not_realised_spend() -> None:
    # customer 1 buys 20 and 500 in the window and cancels the 500 the same day
    # (a return row, clean_purchases(keep_returns=True)): realised is 20, not 520
    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 1, 1, 1],
            "item_id": ["a"] * 6,
            "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 6, 1)]
            + [datetime(2020, 7, 10)] * 3,
            "quantity": [1.0, 1.0, 1.0, 1.0, 1.0, -1.0],
            "price": [100.0, 50.0, 10.0, 20.0, 500.0, 500.0],
            "is_return": [False] * 5 + [True],
        }
    )
    prof = _two_lapsed_one_active()
    e = campaign_backtest(
        prof, p, datetime(2020, 7, 1), ranked_by="recency", churn_column=None, value_column=None,
        horizon_days=30, value_horizon_days=120, bootstrap=0, seed=0,
        observed_until=datetime(2020, 8, 1),
    )  # fmt: skip
    assert e is not None
    assert (e.customers, e.realised, e.bought_again) == (2, 20.0, 1)


def test_a_zero_projection_is_not_blamed_on_the_resamples() -> None:
    # the two lapsed customers spent 0 before the cutoff: nothing is projected, and the
    # ratio (realised / 0) has no interval however many resamples are drawn
    seen = CampaignEvidence(
        datetime(2020, 7, 1), 30, 120, 2, 0.0, 20.0, 1, math.nan, math.nan, math.nan, 0.95, True
    )
    claim = campaign_claim(2, 0.0, 1.0, money=True, evidence=seen)
    assert not claim.licensed
    assert "nothing was projected for the customers selected at the cutoff" in claim.text
    assert "bootstrap" not in claim.text


def test_the_learned_value_is_projected_at_the_cutoff_as_it_is_deployed() -> None:
    # at the cutoff the learned CLV scores 30 and 10 (customers 1, 2; customer 3 has no
    # score: 0) and the learned churn risks (0.9, 0.8) are licensed: the campaign check
    # values the win-back list with them (`deployed_columns`), not with BG/NBD's columns
    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 1],
            "item_id": ["a"] * 4,
            "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 6, 1),
                          datetime(2020, 7, 10)],
            "quantity": [1.0] * 4,
            "price": [100.0, 100.0, 200.0, 50.0],
        }
    )  # fmt: skip
    prof = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "recency_days": [182.0, 181.0, 30.0],
            "frequency": [1, 1, 1],
            "monetary": [100.0, 100.0, 200.0],
            "churn_risk": [0.1, 0.1, 0.1],  # BG/NBD's: not the one deployed
            "clv": [1.0, 1.0, 1.0],
            "churn_risk__LearnedChurn": [0.9, 0.8, 0.2],
            "clv__LearnedCLV": [30.0, 10.0, None],
            "lifecycle_stage": ["churned", "churned", "active"],
        }
    )
    cutoff = datetime(2020, 7, 1)
    e = campaign_backtest(
        prof, p, cutoff, ranked_by="learned_churn_risk", churn_column="learned_churn_risk",
        value_column="learned_value", horizon_days=30, value_horizon_days=120, bootstrap=0,
        seed=0, observed_until=datetime(2020, 8, 1),
    )  # fmt: skip
    assert e is not None
    # the ratio by hand: the last 120 days (not halved: 60 would be under the 90-day
    # minimum) hold the 200 of customer 3; x 120/120 over all 400 spent: 0.5. past_value
    # shares out 200; the learned CLV (30, 10, 0) shares it 3:1:0 -> 150, 50, 0
    ratio, days = rs.job.decisions.past_value_ratio(p, cutoff, 120)
    assert (ratio, days) == (0.5, 120.0)
    # win-back at the learned risk x the learned value, over 30 of the 120 days
    assert e.customers == 2
    assert e.projected == pytest.approx((150 * 0.9 + 50 * 0.8) * 30 / 120)
    assert e.realised == 50.0


def _returns_shop(first: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customers 1 and 2 lapsed at the cutoff 2020-07-01, 3 active; in the window 1
    buys 20 and returns a 100 line bought before the cutoff, 2 buys 30."""
    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 1, 1, 2],
            "item_id": ["a"] * 6,
            "timestamp": [first, first + timedelta(days=1), datetime(2020, 6, 15)]
            + [datetime(2020, 7, 10)] * 3,
            "quantity": [1.0, 1.0, 1.0, 1.0, -1.0, 1.0],
            "price": [100.0, 50.0, 10.0, 20.0, 100.0, 30.0],
            "is_return": [False, False, False, False, True, False],
        }
    )
    prof = _two_lapsed_one_active()
    return p, prof


def _check(p: pl.DataFrame, prof: pl.DataFrame) -> CampaignEvidence:
    e = campaign_backtest(
        prof, p, datetime(2020, 7, 1), ranked_by="recency", churn_column=None,
        value_column=None, horizon_days=30, value_horizon_days=120, bootstrap=0, seed=0,
        observed_until=datetime(2020, 8, 1),
    )  # fmt: skip
    assert e is not None
    return e


def test_refunds_beyond_a_customers_purchases_in_the_window_are_not_floored() -> None:
    # the money the shop kept from the selected customers in the window: 1 bought 20
    # and was refunded 100 (-80), 2 bought 30; flooring 1 at 0 would claim 30 kept
    e = _check(*_returns_shop(datetime(2020, 1, 1)))
    assert e.customers == 2
    assert e.realised == 20.0 - 100.0 + 30.0
    # projected by hand: the past-value ratio at the cutoff (spend in the last 60 days,
    # 10, x 120/120 over all 160) x their past spend 150 x 30/120
    projected = 150.0 * (10.0 * 120 / 120 / 160.0) * 30 / 120
    assert e.projected == pytest.approx(projected)
    assert e.ratio == pytest.approx(-50.0 / projected)


def test_refunds_beyond_purchases_put_no_money_at_stake_in_words() -> None:
    # the selected customers were refunded 50 more than they bought in the window: no
    # money at stake, said so, no negative amount printed, nothing proposed
    e = _check(*_returns_shop(datetime(2020, 1, 1)))
    assert e.realised == -50.0
    e = dataclasses.replace(e, ci_low=-1.0, ci_high=0.5)  # checked: an interval
    claim = campaign_claim(2, 100.0, 1.0, money=True, currency="£", evidence=e)
    assert not claim.licensed
    assert claim.fallback == "no campaign proposed"
    assert claim.evidence["stake"] == 0.0
    assert claim.evidence["per_contact_low"] == 0.0
    assert "-£" not in claim.text, claim.text
    assert "£-" not in claim.text, claim.text
    assert "the evidence puts no money at stake over the next 30 days" in claim.text
    assert "were refunded £50 more than they spent in that window" in claim.text
    nothing = dataclasses.replace(e, realised=0.0, ratio=0.0, ci_low=0.0, ci_high=0.0)
    quiet = campaign_claim(2, 100.0, 1.0, money=True, currency="£", evidence=nothing)
    assert "spent nothing in that window" in quiet.text
    assert quiet.evidence["stake"] == 0.0


def test_an_interval_below_zero_is_nothing_at_its_low_end() -> None:
    e = _check(*_returns_shop(datetime(2020, 1, 1)))
    e = dataclasses.replace(e, realised=30.0, ratio=30.0 / e.projected, ci_low=-0.5, ci_high=2.0)
    claim = campaign_claim(2, 100.0, 1.0, money=True, currency="£", evidence=e)
    assert claim.evidence["stake"] > 0
    assert "nothing at the low end of the interval" in claim.text
    assert "-£" not in claim.text, claim.text
    assert "£-" not in claim.text, claim.text
    assert not claim.licensed


def test_a_check_on_less_history_than_its_window_warns_with_the_days() -> None:
    long = _check(*_returns_shop(datetime(2020, 1, 1)))
    short = _check(*_returns_shop(datetime(2020, 6, 11)))
    assert (long.history_days, short.history_days) == (182.0, 20.0)
    # the past-value ratio's window: 120 days (never halved below 90), at most the history
    assert (long.ratio_days, short.ratio_days) == (120.0, 20.0)
    flagged = campaign_claim(2, 100.0, 1.0, money=True, evidence=short)
    assert flagged.warnings[0] == (
        "the campaign check rests on only 20 days of purchase history before the evaluation "
        "cutoff (2020-07-01), fewer than the 30 days it projects: who looked lapsed then, and "
        "the spending rate that valued them (read from the last 20 days), come from that "
        "short history, so the realised/projected ratio the stake is scaled by may not carry "
        "over to as_of"
    )
    assert flagged.evidence["checked_history_days"] == 20.0
    assert not any("purchase history" in w for w in campaign_claim(
        2, 100.0, 1.0, money=True, evidence=long).warnings)  # fmt: skip


def test_the_job_warns_on_the_campaign_card_when_the_cutoff_comes_early() -> None:
    # 40 days of purchases before the cutoff, a 90-day window projected
    early = _run(shops.mixed, cutoff="2023-02-10")
    claim = early.claims["campaign"]
    assert claim.evidence["checked_history_days"] <= 40
    assert any(
        w.startswith("the campaign check rests on only ") and "fewer than the 90 days" in w
        for w in claim.warnings
    )
    usual = _run(shops.mixed)  # the default cutoff: 90 days before as_of, most of a year
    assert usual.claims["campaign"].evidence["checked_history_days"] > 90
    assert not any("rests on only" in w for w in usual.claims["campaign"].warnings)


def test_nothing_projected_is_not_said_as_nothing_spent() -> None:
    seen = CampaignEvidence(
        datetime(2024, 1, 1), 90, 365, 80, 1000.0, 500.0, 5, 0.5, 0.3, 0.7, 0.95, True
    )
    claim = campaign_claim(10, 0.0, 2.0, money=True, evidence=seen)
    assert not claim.licensed
    assert claim.evidence["stake"] == 0.0
    assert "spent nothing" not in claim.text
    assert "the valuation projects" in claim.text
