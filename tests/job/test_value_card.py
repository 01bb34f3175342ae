"""The value card states the comparison it rests on, whatever the verdict: a flagged fit
does not hide that the rule it falls back to loses, or that the rule itself ranks
poorly; without prices it speaks of orders and compares BG/NBD's expected orders with
past orders."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from scipy.stats import spearmanr

import recsys as rs
from recsys.job import JobConfig, JobResult
from recsys.job.claims_value import VALUE_FALLBACK_ORDERS, WEAK_SPEARMAN, value_claim
from recsys.job.evidence import FitEvidence, RuleComparison
from tests.job import shops


def _rows(value: float, rule: float, low: float, high: float) -> tuple[RuleComparison, ...]:
    diff = value - rule
    return (
        RuleComparison("clv", "spearman", "past_spend", value, rule, diff, low, high, 6957, 90),
        RuleComparison("clv", "top_decile_capture", "past_spend", 0.25, 0.142, 0.1, 0.05, 0.15,
                       6957, 90),
    )  # fmt: skip


FLAGGED = FitEvidence(("BG/NBD parameters ['a', 'b'] are extreme",), ("BG/NBD extreme",), 0)


def test_a_flagged_fit_still_states_that_the_fallback_loses() -> None:
    claim = value_claim(
        FLAGGED, has_prices=True, rules=_rows(0.149, 0.039, 0.086, 0.132), ratio=0.549,
        ratio_days=182.5,
    )  # fmt: skip
    assert not claim.licensed
    assert "its fit is flagged" in claim.text
    assert (
        "It is ranked by past spend, although the CLV model's expected value over the next "
        "365 days (discounted 1% a month) ranked the next 90 days' spend better than past "
        "spend on Spearman and on top-decile capture: Spearman correlation 0.149 vs 0.039 "
        "(difference +0.110, 95% CI +0.086 to "
        "+0.132); top-decile capture 0.250 vs 0.142 (difference +0.100, 95% CI +0.050 to "
        "+0.150) on 6,957 customers at the evaluation cutoff. Past spend itself ranks the "
        "next 90 days' spend poorly here (Spearman correlation 0.039)."
    ) in claim.text


def test_a_flagged_fit_that_loses_says_so_and_a_strong_rule_is_not_called_poor() -> None:
    claim = value_claim(FLAGGED, has_prices=True, rules=_rows(0.40, 0.55, -0.2, -0.1))
    assert "ranked the next 90 days' spend no better than past spend: Spearman" in claim.text
    assert "poorly" not in claim.text
    assert WEAK_SPEARMAN > 0.039
    # every verdict names a weak rule
    unflagged = value_claim(FitEvidence((), (), 0), has_prices=True,
                            rules=_rows(0.12, 0.10, -0.02, 0.06))  # fmt: skip
    assert "Past spend itself ranks the next 90 days' spend poorly here" in unflagged.text


def _no_prices(make: object) -> JobResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rs.job.run(
            make().drop("price", strict=False),  # type: ignore[operator]
            JobConfig(models=("popular",), bootstrap=100),
        )


def test_without_prices_expected_orders_are_compared_with_past_orders() -> None:
    result = _no_prices(shops.mixed)
    claim = result.claims["value"]
    assert "spend" not in claim.text
    # the comparison, recomputed at the cutoff with scipy
    cutoff = result.cutoff
    assert cutoff is not None
    before = result.purchases.filter(pl.col("timestamp") < cutoff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at_cutoff = rs.build_profiles(
            before, as_of=cutoff, config=rs.profiles.ProfileConfig(horizon_days=90)
        )
    window = result.purchases.filter(
        (pl.col("timestamp") >= cutoff) & (pl.col("timestamp") < cutoff + timedelta(days=90))
    )
    after = window.group_by("user_id").agg(n=pl.col("order_id").n_unique())
    units = at_cutoff.join(after, on="user_id", how="left").with_columns(pl.col("n").fill_null(0))
    expected = spearmanr(units["expected_purchases_90d"], units["n"]).statistic
    past = spearmanr(units["frequency"], units["n"]).statistic
    assert claim.evidence["spearman"] == pytest.approx(expected)
    assert claim.evidence["rule_spearman"] == pytest.approx(past)
    assert expected > past + 0.2  # drawn as BG/NBD describes them: the model wins
    # licensed on its interval, and then the decisions value customers by it
    assert claim.licensed == (claim.evidence["ci_low"] > 0)
    assert claim.licensed
    assert claim.text.startswith(
        "Customer value is BG/NBD's expected orders over the next 365 days (its 90-day "
        "expectation x 365/90): it ranks the next 90 days' orders better than past orders on "
        "Spearman"
    )
    assert result.value_column == "expected_orders"
    scaled = result.profiles["expected_purchases_90d"] * 365 / 90
    assert result.profiles["expected_orders"].to_list() == pytest.approx(scaled.to_list())


def test_a_flagged_fit_without_prices_ranks_by_past_orders_and_says_so(
    tmp_path: Path,
) -> None:
    result = _no_prices(shops.grocery)
    claim = result.claims["value"]
    assert not claim.licensed
    assert claim.fallback == VALUE_FALLBACK_ORDERS
    assert "spend" not in claim.text
    assert "It is ranked by past orders" in claim.text
    assert "ranked the next 90 days' orders" in claim.text  # the comparison is stated
    assert result.value_column == "past_value"
    rs.report.write(result, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "ranked by past orders" in html
    assert "ranked by past spend" not in html


def test_the_campaign_basis_says_the_expected_value_already_holds_the_chance_of_being_alive() -> (
    None
):
    result = _no_prices(shops.mixed)
    assert result.claims["value"].licensed
    assert not result.claims["churn"].licensed
    campaign = result.claims["campaign"]
    assert "unlicensed churn risk" not in campaign.text
    assert (
        "(expected orders, which already weighs each customer by BG/NBD's chance of still "
        "being a customer)"
    ) in campaign.text
    # orders at stake are whole: an expectation, worded "about"
    assert f"about {campaign.evidence['stake']:,.0f} orders at stake" in campaign.text
    assert f"{campaign.evidence['stake']:,.1f}" not in campaign.text
