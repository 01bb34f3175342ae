"""What the campaign and value cards may say about money: the stake over the window the
check covered (not extrapolated to the value horizon), a check window at a seasonal peak
read at its own rate and flagged, and a value horizon far longer than the history
flagged. Numbers worked by hand."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig
from recsys.job.campaign import CampaignEvidence, campaign_backtest
from recsys.job.claims_campaign import campaign_claim
from recsys.job.claims_value import value_claim
from recsys.job.customers import _campaign_warnings
from recsys.job.decisions import MIN_RATIO_DAYS, past_value_ratio
from tests.job import shops


def _daily(days: int, end: datetime, spend: float = 10.0) -> pl.DataFrame:
    """One customer buying ``spend`` a day for ``days`` days before ``end``."""
    return pl.DataFrame(
        {
            "user_id": [1] * days,
            "item_id": ["a"] * days,
            "timestamp": [end - timedelta(days=d + 1) for d in range(days)],
            "quantity": [1.0] * days,
            "price": [spend] * days,
        }
    )


def test_the_ratio_window_is_never_shorter_than_its_minimum_or_the_history() -> None:
    as_of = datetime(2024, 1, 1)
    assert MIN_RATIO_DAYS == 90.0
    # 45 days of history: the whole of it (the old halving read the last 11.4 days), and
    # the shop's spend in it (450) annualised: 450 x 365/45 over 450
    ratio, days = past_value_ratio(_daily(45, as_of), as_of, 365)
    assert days == 45.0
    assert ratio == pytest.approx(365 / 45)
    # 150 days: 365 -> 182.5 -> 91.25 (over half the history, but 45.6 would be under 90)
    p = _daily(150, as_of)
    ratio, days = past_value_ratio(p, as_of, 365)
    assert days == 91.25
    # the last 91.25 days hold 91 daily purchases of 10 (days 1..91 before as_of)
    assert ratio == pytest.approx(910 * 365 / 91.25 / 1500)
    # 400 days: 365 -> 182.5 (within half the history): unchanged by the minimum
    assert past_value_ratio(_daily(400, as_of), as_of, 365)[1] == 182.5


def test_the_value_card_warns_when_its_horizon_is_far_beyond_the_history() -> None:
    claim = value_claim(
        None, has_prices=True, horizon_days=365, ratio=365 / 45, ratio_days=45.0,
        history_days=45.0, unchecked="no evaluation window",
    )  # fmt: skip
    assert "(x 8.11: the shop's spend in the last 45 days x 365/45, over all spend" in claim.text
    assert claim.warnings == (
        "the value horizon (365 days) is 8.1 times the purchase history before as_of (45 "
        "days): customer value extrapolates the shop's spending in those 45 days to 365 days, "
        "with whatever season those days held",
    )
    assert claim.evidence["history_days"] == 45.0
    long = value_claim(None, has_prices=True, horizon_days=365, ratio=1.1, ratio_days=182.5,
                       history_days=373.0)  # fmt: skip
    assert long.warnings == ()
    assert "in the last 182.5 days x 365/182.5" in long.text


def _peak(window_rate: float) -> CampaignEvidence:
    # at the cutoff 100 customers were projected 2,000 for 90 days; they spent 2,400
    return CampaignEvidence(
        datetime(2010, 9, 11), 90, 365, 100, 2000.0, 2400.0, 40, 1.2, 1.0, 1.4, 0.95, True,
        284.0, 91.25, window_rate,
    )  # fmt: skip


def test_the_stake_is_stated_over_the_window_checked_at_the_windows_own_rate() -> None:
    # the shop spent 1.6 times as fast in the window as in the 91.25 days before: the
    # ratio 120% read at that rate is 75% (62.5% to 87.5%); the projection over the 90
    # days checked is 36,500 x 90/365 = 9,000, so 6,750 at stake (67.50 a contact, printed £67),
    # 9,000 x 62.5% / 100 = 56.25 at the low end
    claim = campaign_claim(100, 36_500.0, 1.0, money=True, currency="£", evidence=_peak(1.6))
    ev = claim.evidence
    assert claim.licensed
    assert ev["stake"] == pytest.approx(6_750.0)
    assert ev["per_contact_low"] == pytest.approx(56.25)
    assert ev["stake_days"] == 90
    assert ev["projected_stake"] == 36_500.0
    assert ev["ratio_at_window_rate"] == pytest.approx(0.75)
    assert claim.text.startswith(
        "Win back 100 customers: £6,750 at stake over the next 90 days by the evidence (£67 "
        "per contact, £56 at the low end of the interval, above a contact cost of £1.00), "
        "backed by what such customers spent with no campaign in one 90-day window"
    )
    assert "The projection for the next 90 days, £9,000 (the 365-day projection x 90/365)" in (
        claim.text
    )
    assert "is scaled by 75.0%" in claim.text
    assert "1.60 times as fast in that window as in the 91 days before the cutoff" in claim.text
    assert "75.0% (62.5% to 87.5%)" in claim.text
    assert (
        "Over the value horizon the valuation projects £36,500 (value x churn risk) for 365 "
        "days: an extrapolation of one 90-day window, which the check does not cover."
    ) in claim.text
    assert "That is what these customers are worth" not in claim.text
    assert any(
        w.startswith("the campaign check window (the 90 days after 2010-09-11) was a peak")
        and "1.60 times its rate in the 91 days before" in w
        for w in claim.warnings
    )


def test_a_window_no_faster_than_before_is_read_as_it_is_without_a_peak_warning() -> None:
    # rate 1.1: the ratio is still read at it (120% / 1.1 = 109%: kept, capped at 1),
    # below PEAK_RATE no warning; rate 0.8 (slower): the ratio is not raised by it
    for rate in (1.1, 0.8):
        claim = campaign_claim(100, 36_500.0, 1.0, money=True, evidence=_peak(rate))
        assert claim.evidence["stake"] == pytest.approx(9_000.0)
        assert not any("was a peak" in w for w in claim.warnings)
    slow = campaign_claim(100, 36_500.0, 1.0, money=True, evidence=_peak(0.8))
    assert slow.evidence["ratio_at_window_rate"] == pytest.approx(1.2)
    assert "times as fast" not in slow.text


def test_the_backtest_measures_the_windows_shop_wide_rate() -> None:
    # 10 a day for the 182 days before the cutoff, a lapsed buyer 213 days before it (the
    # ratio reads the last 91.25 of 213 days:
    # 365 -> 182.5 -> 91.25); in the 30-day window customer 2 alone buys 600: 20 a day,
    # twice the rate before
    cutoff = datetime(2020, 7, 1)
    before = _daily(182, cutoff)
    after = pl.DataFrame(
        {"user_id": [2], "item_id": ["a"], "timestamp": [cutoff + timedelta(days=3)],
         "quantity": [1.0], "price": [600.0]}
    )  # fmt: skip
    lapsed = pl.DataFrame(
        {"user_id": [2], "item_id": ["a"], "timestamp": [datetime(2019, 12, 1)],
         "quantity": [1.0], "price": [50.0]}
    )  # fmt: skip
    bought = pl.concat([before, lapsed, after])
    prof = pl.DataFrame(
        {"user_id": [1, 2], "recency_days": [1.0, 213.0], "frequency": [182, 1],
         "monetary": [1820.0, 50.0], "lifecycle_stage": ["active", "churned"]}
    )  # fmt: skip
    e = campaign_backtest(
        prof, bought, cutoff, ranked_by="recency", churn_column=None, value_column=None,
        horizon_days=30, value_horizon_days=365, bootstrap=0, seed=0,
        observed_until=datetime(2020, 8, 1),
    )  # fmt: skip
    assert e is not None
    assert e.ratio_days == 91.25
    # 91 daily purchases in the last 91.25 days: 910 / 91.25 a day; 600 / 30 in the window
    assert e.window_rate == pytest.approx((600 / 30) / (910 / 91.25))


def test_a_job_on_a_short_history_warns_on_the_value_and_campaign_cards() -> None:
    bought = shops.wholesale()
    last = bought["timestamp"].max()
    short = bought.filter(pl.col("timestamp") > last - timedelta(days=45))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(short, JobConfig(models=("popular",), bootstrap=20))
    value, campaign = result.claims["value"], result.claims["campaign"]
    history = value.evidence["history_days"]
    assert history < 47  # the last 45 days, to as_of (the day after the last purchase)
    assert value.evidence["ratio_days"] == pytest.approx(history)  # the whole history
    flag = f"the value horizon (365 days) is {365 / history:.1f} times the purchase history"
    assert any(w.startswith(flag) for w in value.warnings), value.warnings
    assert any(w.startswith(flag) for w in campaign.warnings), campaign.warnings


def test_the_campaign_card_warns_when_the_same_days_a_year_earlier_ran_slow() -> None:
    # 600 days at 10 a day, except the 90 days that followed as_of a year earlier (days
    # 276..365 before as_of) at 5 a day; the valuation's rate: the last 182.5 days (365
    # halved once: within half the 600 days). A year earlier the same valuation read the
    # 182.5 days before as_of - 365 (days 366..548 before as_of): 183 purchases of 10.
    as_of = datetime(2024, 1, 1)
    a_year = as_of - timedelta(days=365)
    p = _daily(600, as_of).with_columns(
        price=pl.when(
            (pl.col("timestamp") >= a_year) & (pl.col("timestamp") < a_year + timedelta(days=90))
        )
        .then(5.0)
        .otherwise(10.0)
    )
    days = past_value_ratio(p, as_of, 365)[1]
    assert days == 182.5
    factor = (90 * 5 / 90) / (183 * 10 / 182.5)
    found = _campaign_warnings(p, as_of, JobConfig(), days, 600.0, True)
    assert found == (
        f"a year before as_of, the shop's spending in the 90 days that followed ran at "
        f"{factor:.2f} times its rate in the 182 days before them (the rate a valuation made "
        "then would have projected at): if the season repeats, the next 90 days hold less "
        "than the stake projects",
    )
    assert f"{factor:.2f}" == "0.50"
    # the same shop at a flat 10 a day: no warning
    assert _campaign_warnings(_daily(600, as_of), as_of, JobConfig(), days, 600.0, True) == ()


def test_growth_alone_is_not_read_as_a_season() -> None:
    # spend growing 60% a year, smoothly, no season: a year ago the next 90 days ran at
    # 1.6 ** (136 / 365) = 1.19 times the rate of the 182.5 days before them (windows
    # centred 45 days ahead and 91 days back), under the warning's 1.25; comparing the
    # year-old window with today's rate instead reads growth as a slow season (0.74)
    as_of = datetime(2024, 1, 1)
    p = _daily(600, as_of).with_columns(
        price=10.0 * 1.6 ** (-(as_of - pl.col("timestamp")).dt.total_days() / 365.0)
    )
    days = past_value_ratio(p, as_of, 365)[1]
    assert _campaign_warnings(p, as_of, JobConfig(), days, 600.0, True) == ()
    # history too short to make the year-old projection: no season warning either
    short = _daily(500, as_of).with_columns(price=pl.lit(10.0))
    assert _campaign_warnings(short, as_of, JobConfig(), days, 500.0, True) == ()
