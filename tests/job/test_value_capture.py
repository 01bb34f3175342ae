"""The value card licenses the candidate on Spearman *and* top-decile capture: a model
that ranks the next window's spend better overall but puts worse customers in its top
tenth (those a retention team picks first) is not deployed, and the card says so with
both figures and their intervals; a capture level with past spend's is worded as a
tie, not a win."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from recsys.job.claims_value import VALUE_FALLBACK, value_claim
from recsys.job.evidence import FitEvidence, RuleComparison, rule_comparisons, rule_evidence

CUTOFF = datetime(2024, 6, 1)
CLEAN = FitEvidence((), (), 0)


def _top_wrong(n: int = 2000, seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """Profiles at the cutoff and purchases: the window's spend ``y``; the CLV orders the
    bottom nine tenths of customers exactly but puts the true top tenth in the middle;
    past spend is ``y`` with multiplicative noise (right about the top, noisy below)."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(4.0, 1.0, n)
    top = y >= np.quantile(y, 0.9)
    clv = np.where(top, np.quantile(y, 0.5) * rng.uniform(0.95, 1.05, n), y)
    monetary = y * rng.lognormal(0.0, 0.8, n)
    users = np.arange(n)
    profiles = pl.DataFrame(
        {"user_id": users, "recency_days": 10.0, "frequency": 1, "monetary": monetary,
         "clv": clv}
    )  # fmt: skip
    purchases = pl.DataFrame(
        {
            "user_id": np.concatenate([users, users]),
            "item_id": "a",
            "timestamp": [CUTOFF - timedelta(days=10)] * n + [CUTOFF + timedelta(days=5)] * n,
            "quantity": 1.0,
            "price": np.concatenate([monetary, y]),
        }
    )
    return profiles, purchases, y


def _capture(score: np.ndarray, y: np.ndarray) -> float:
    top = np.argsort(-score)[: y.size // 10]
    return float(y[top].sum() / y.sum())


def test_better_spearman_but_worse_top_customers_falls_back_to_past_spend() -> None:
    profiles, purchases, y = _top_wrong()
    backtest = rule_evidence(
        profiles, purchases, CUTOFF, 90, churn=False, clv=True, bootstrap=200, seed=0,
        observed_until=CUTOFF + timedelta(days=90),
    )  # fmt: skip
    rules = rule_comparisons(backtest, "clv", 90)
    spearman = next(r for r in rules if r.metric == "spearman")
    capture = next(r for r in rules if r.metric == "top_decile_capture")
    clv, past = profiles["clv"].to_numpy(), profiles["monetary"].to_numpy()
    # the rows, recomputed with scipy and numpy
    assert spearman.value == pytest.approx(spearmanr(clv, y).statistic)
    assert spearman.rule_value == pytest.approx(spearmanr(past, y).statistic)
    assert capture.value == pytest.approx(_capture(clv, y))
    assert capture.rule_value == pytest.approx(_capture(past, y))
    # the case drawn: Spearman wins and capture loses, each with its paired interval
    assert spearman.ci_low > 0
    assert spearman.beats
    assert capture.ci_high < 0
    assert capture.loses
    claim = value_claim(CLEAN, has_prices=True, rules=rules, horizon_days=365)
    assert not claim.licensed
    assert claim.fallback == VALUE_FALLBACK
    assert claim.evidence["capture_loses"]
    text = claim.text
    assert text.startswith(
        "Customer value is ranked by past spend: the CLV model's expected value over the "
        "next 365 days (discounted 1% a month) ranks the next 90 days' spend better than "
        "past spend on Spearman but worse on top-decile capture, the share of that spend "
        "made by the tenth of customers ranked highest (those a retention team picks first)"
    )
    # both figures, with their intervals
    for row in (spearman, capture):
        assert f"{row.value:.3f} vs {row.rule_value:.3f}" in text
        assert f"95% CI {row.ci_low:+.3f} to {row.ci_high:+.3f}" in text
    assert "better than past spend:" not in text  # never the unqualified win


def _rows(capture_low: float, capture_high: float) -> tuple[RuleComparison, ...]:
    return (
        RuleComparison("clv", "spearman", "past_spend", 0.531, 0.527, 0.004, 0.001, 0.007,
                       3360, 90),
        RuleComparison("clv", "top_decile_capture", "past_spend", 0.558, 0.558, 0.0,
                       capture_low, capture_high, 3360, 90),
    )  # fmt: skip


def test_a_capture_level_with_past_spend_is_worded_as_a_tie() -> None:
    claim = value_claim(CLEAN, has_prices=True, rules=_rows(-0.012, 0.011), model="LearnedCLV")
    assert claim.licensed
    assert (
        "it ranks the next 90 days' spend better than past spend on Spearman, with top-decile "
        "capture level with past spend's: Spearman correlation 0.531 vs 0.527 (difference "
        "+0.004, 95% CI +0.001 to +0.007); top-decile capture 0.558 vs 0.558 (difference "
        "+0.000, 95% CI -0.012 to +0.011) on 3,360 customers at the evaluation cutoff"
    ) in claim.text


def test_a_capture_interval_above_zero_is_a_win_on_both() -> None:
    claim = value_claim(CLEAN, has_prices=True, rules=_rows(0.002, 0.02))
    assert claim.licensed
    assert "better than past spend on Spearman and on top-decile capture:" in claim.text
    # one below 0 is not licensed, on the same Spearman
    assert not value_claim(CLEAN, has_prices=True, rules=_rows(-0.02, -0.002)).licensed


def test_without_prices_the_orders_card_applies_the_same_rule() -> None:
    rows = tuple(
        dataclasses.replace(r, prediction="orders", rule="past_orders") for r in _rows(-0.03, -0.01)
    )
    claim = value_claim(CLEAN, has_prices=False, rules=rows)
    assert not claim.licensed
    assert "better than past orders on Spearman but worse on top-decile capture" in claim.text
    assert "spend" not in claim.text


def test_the_page_headline_says_ahead_outright_only_on_both() -> None:
    from types import SimpleNamespace

    from recsys.report.cards import card_headline

    def headline(low: float, high: float, **kwargs: object) -> str:
        claim = value_claim(CLEAN, rules=_rows(low, high), **kwargs)  # type: ignore[arg-type]
        result = SimpleNamespace(claims={"value": claim}, config=SimpleNamespace(currency="£"))
        return card_headline(result, "value")  # type: ignore[arg-type]

    tie = headline(-0.012, 0.011, has_prices=True, model="LearnedCLV")
    assert tie == "the learned CLV model, ahead of past spend on Spearman, level on the top tenth"
    assert headline(0.002, 0.02, has_prices=True) == (
        "the BG/NBD x Gamma-Gamma CLV model, ahead of past spend"
    )
    assert headline(-0.02, -0.002, has_prices=True) == "ranked by past spend"
    assert headline(0.002, 0.02, has_prices=False) == "BG/NBD expected orders, ahead of past orders"
