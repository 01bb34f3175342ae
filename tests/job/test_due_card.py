"""The items-due card is licensed by a check at the evaluation cutoff (issue 22, walk #6).

A simulated shop where every product is rebought on a fixed cycle (10 or 60 days, a
couple of days of jitter) makes the right answer known: a pair is bought in the window
after the cutoff exactly when its schedule says so. Where half the customers stop
buying at the cutoff, the model (fitted before it) must over-predict by about half.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig
from recsys.job.claims_due import due_claim
from recsys.job.due_check import DueEvidence, due_check
from recsys.job.evidence import RuleComparison

START = datetime(2023, 1, 1)
DAYS = 400
CUTOFF = START + timedelta(days=300)
END = START + timedelta(days=DAYS)
CYCLES = {f"p{i}": (10.0 if i < 6 else 60.0) for i in range(12)}


def cycle_shop(stop_share: float = 0.0, stop: datetime = CUTOFF, seed: int = 0) -> pl.DataFrame:
    """300 customers, 3 products each, each rebought every ``CYCLES[item]`` days (+-2);
    ``stop_share`` of the customers buy nothing from ``stop`` on."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        quits = rng.random() < stop_share
        for item in rng.choice(sorted(CYCLES), size=3, replace=False):
            t = float(rng.uniform(0, CYCLES[item]))
            while t < DAYS and not (quits and START + timedelta(days=t) >= stop):
                rows.append((user, str(item), START + timedelta(days=t, hours=9), 1.0, 2.0))
                t += CYCLES[item] + float(rng.uniform(-2.0, 2.0))
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "quantity", "price"], orient="row"
    ).sort("timestamp")


def _truth(purchases: pl.DataFrame, cutoff: datetime, horizon: int) -> dict[str, float]:
    """The check's figures computed by hand: plain Python sets and numpy."""
    t = purchases["timestamp"].to_list()
    pairs = list(zip(purchases["user_id"].to_list(), purchases["item_id"].to_list(), strict=True))
    late = cutoff - timedelta(days=horizon)
    end = cutoff + timedelta(days=horizon)
    early = {p for p, ts in zip(pairs, t, strict=True) if ts < late}
    recent = {p for p, ts in zip(pairs, t, strict=True) if late <= ts < cutoff}
    in_window = {p for p, ts in zip(pairs, t, strict=True) if cutoff <= ts < end}
    items = {i for _, i in early}
    base = {i: np.mean([p in recent for p in early if p[1] == i]) for i in items}
    due = rs.due_items(purchases, as_of=cutoff, horizon_days=horizon)
    p = due["p_within_horizon"].to_numpy()
    keys = list(zip(due["user_id"].to_list(), due["item_id"].to_list(), strict=True))
    y = np.array([k in in_window for k in keys], dtype=float)
    b = np.array([base[k[1]] for k in keys])
    likely = p >= 0.2
    return {
        "pairs": len(keys),
        "brier": float(np.mean((p - y) ** 2)),
        "base_brier": float(np.mean((b - y) ** 2)),
        "expected": float(p[likely].sum()),
        "realised": float(y[likely].sum()),
        "likely_customers": len({k[0] for k, on in zip(keys, likely, strict=True) if on}),
    }


def _check(purchases: pl.DataFrame) -> DueEvidence:
    evidence, why = due_check(
        purchases,
        CUTOFF,
        horizon_days=30,
        min_probability=0.2,
        bootstrap=200,
        seed=0,
        observed_until=END,
    )
    assert evidence is not None, why
    return evidence


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_the_check_matches_a_hand_computation_on_a_fixed_cycle_shop() -> None:
    shop = cycle_shop()
    e, truth = _check(shop), _truth(shop, CUTOFF, 30)
    assert e.pairs == truth["pairs"] == 900
    assert e.brier.value == pytest.approx(truth["brier"])
    assert e.brier.rule_value == pytest.approx(truth["base_brier"])
    assert e.expected == pytest.approx(truth["expected"])
    assert e.realised == truth["realised"]
    assert e.likely_customers == truth["likely_customers"]
    # the 60-day products are bought in the window or not by their schedule, which the
    # model knows and the item's base rate (about one half) does not
    assert e.beats_base_rate
    assert e.brier.ci_high < 0
    # a stationary shop: about as many purchases as expected
    assert e.ci_low <= 1.0 <= e.ci_high
    assert not e.over_predicts
    assert e.date is not None
    assert e.date.value < 3.0


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_the_check_sees_the_model_over_predict_when_half_the_customers_stop() -> None:
    shop = cycle_shop(stop_share=0.5)
    e, truth = _check(shop), _truth(shop, CUTOFF, 30)
    assert e.realised == truth["realised"]
    assert e.expected == pytest.approx(truth["expected"])
    # the customers who stop were as likely to be due as the others: about half of the
    # expected purchases are made
    assert e.over_predicts
    assert e.ci_high < 1.0
    assert e.ci_low < 0.5 * 1.1
    assert e.ci_high > 0.5 * 0.9
    assert not e.beats_base_rate


def _evidence(ratio: float, low: float, high: float, brier_high: float) -> DueEvidence:
    brier = RuleComparison("due", "brier", "item_base_rate", 0.02, 0.03, -0.01, brier_high - 0.02,
                           brier_high, 5000, 30)  # fmt: skip
    date = RuleComparison("due", "date_mae", "item_median", 8.0, 12.0, -4.0, -5.0, -3.0, 700, 30)
    return DueEvidence(datetime(2024, 1, 1), 30, 0.2, 5000, brier, date, 800, 300, 400.0,
                       round(400 * ratio), ratio, low, high, 0.95)  # fmt: skip


def test_an_over_predicting_model_has_its_expected_purchases_scaled() -> None:
    claim = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(0.5, 0.4, 0.6, -0.001),
    )  # fmt: skip
    assert claim.licensed  # it beats the base rate: the chances are licensed
    assert claim.evidence["expected_basis"] == "scaled"
    assert claim.evidence["expected_purchases"] == pytest.approx(500.0)
    assert claim.evidence["model_expected"] == 1000.0
    assert "about 500 purchases expected: the model's 1,000, scaled by 50.0%" in claim.text
    assert "expected about 400 purchases and 200 were made (50.0% of the expected" in claim.text
    assert "95% CI 40.0% to 60.0%" in claim.text


def test_an_expected_count_is_scaled_as_the_campaign_stake_is_never_raised() -> None:
    # one rule with the campaign card: the point ratio lowers the figure, never raises it
    low_ratio = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(0.9, 0.8, 1.05, -0.001),
    )  # fmt: skip
    assert low_ratio.evidence["expected_basis"] == "scaled"
    assert low_ratio.evidence["expected_purchases"] == pytest.approx(900.0)
    assert "fewer than expected, so the expected purchases are scaled" in low_ratio.text
    high_ratio = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(1.2, 1.1, 1.3, -0.001),
    )  # fmt: skip
    assert high_ratio.evidence["expected_basis"] == "kept"
    assert high_ratio.evidence["expected_purchases"] == 1000.0
    assert "about 1,000 purchases expected" in high_ratio.text
    assert "kept" in high_ratio.text


def test_the_card_is_licensed_only_where_the_chances_beat_the_base_rate() -> None:
    claim = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(0.5, 0.4, 0.6, 0.004),  # the Brier interval reaches above 0
    )  # fmt: skip
    assert not claim.licensed
    assert claim.text.startswith("The items-due chances are not licensed")
    assert "not shown to beat the item's base rate" in claim.text
    # the reminders follow the naive rule: the count is the rule's, not the model's scaled
    assert "The replenishment reminders follow the naive rule instead" in claim.text
    assert "scaled" not in claim.text
    assert claim.evidence["expected_basis"] == "rule"


def test_an_unchecked_card_says_so_and_is_not_licensed() -> None:
    claim = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        unchecked="the 30 days after the evaluation cutoff run past as_of",
    )  # fmt: skip
    assert not claim.licensed
    assert "were not checked" in claim.text
    assert "run past as_of" in claim.text
    assert claim.evidence["expected_basis"] == "rule"  # unchecked: the naive rule's
    late, why = due_check(
        cycle_shop(), END - timedelta(days=10), horizon_days=30, min_probability=0.2,
        bootstrap=0, seed=0, observed_until=END,
    )  # fmt: skip
    assert late is None
    assert "run past as_of" in why
    early, why = due_check(
        cycle_shop(), START, horizon_days=30, min_probability=0.2,
        bootstrap=0, seed=0, observed_until=END,
    )  # fmt: skip
    assert early is None
    assert why == "no purchase before the evaluation cutoff"


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
@pytest.mark.parametrize(
    ("stop_share", "licensed", "basis"), [(0.0, True, "kept"), (0.5, False, "rule")]
)
def test_the_job_licenses_the_due_card_by_its_check(
    stop_share: float, licensed: bool, basis: str
) -> None:
    shop = cycle_shop(stop_share=stop_share)
    config = JobConfig(
        as_of=END, cutoff=CUTOFF, horizon_days=60, models=("popular", "repurchase"), bootstrap=200
    )
    result = rs.job.run(shop, config)
    claim = result.claims["due"]
    assert claim.licensed is licensed, claim.text
    assert claim.evidence["expected_basis"] == basis
    assert claim.evidence["checked_at"] == CUTOFF
    e = _check(shop)  # the same check, run on its own
    assert claim.evidence["checked_realised"] == e.realised
    assert claim.evidence["ratio"] == pytest.approx(e.ratio)
    if licensed:  # the model's count, kept; not licensed, the naive rule's (test_due_fallback)
        assert claim.evidence["expected_purchases"] == claim.evidence["model_expected"]
    else:
        assert claim.evidence["follows"] == "rule"
    assert math.isfinite(claim.evidence["brier"])


def test_a_check_on_a_customer_sample_says_so() -> None:
    claim = due_claim(
        120, 900, 1000.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(1.0, 0.9, 1.1, -0.001), sampled=(100, 300),
    )  # fmt: skip
    assert "of a random sample of 100 of the 300 customers" in claim.text


def test_the_check_reads_the_window_up_to_as_of_not_to_the_last_purchase() -> None:
    # purchases end 2024-03-19 (a sample, or a quiet end), as_of 2024-04-01: the window
    # [03-15, 03-25) is known, as the churn check reads it
    rows = [
        (u, "soap", datetime(2024, 1, 1) + timedelta(days=10 * i + u % 5))
        for u in range(40)
        for i in range(8)
    ]
    p = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    p = p.with_columns(quantity=pl.lit(1.0))
    assert p["timestamp"].max() == datetime(2024, 3, 15)
    evidence, why = due_check(
        p, datetime(2024, 3, 5), horizon_days=20, min_probability=0.2,
        bootstrap=0, seed=0, observed_until=datetime(2024, 4, 1),
    )  # fmt: skip
    assert why == ""
    assert evidence is not None
    window = p.filter(pl.col("timestamp") >= datetime(2024, 3, 5))
    assert evidence.realised == window["user_id"].n_unique()


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_above_due_check_customers_the_check_runs_on_a_stated_sample() -> None:
    from recsys.job.sampling import customer_sample

    shop = cycle_shop(stop_share=0.0)
    customers = shop["user_id"].n_unique()
    config = JobConfig(
        as_of=END, cutoff=CUTOFF, horizon_days=60, models=("popular", "repurchase"),
        bootstrap=200, due_check_customers=customers // 2,
    )  # fmt: skip
    claim = rs.job.run(shop, config).claims["due"]
    assert f"of a random sample of {customers // 2:,} of the {customers:,} customers" in (
        claim.text
    )
    drawn, sampled = customer_sample(shop, customers // 2, config.seed)
    assert sampled == (customers // 2, customers)
    assert claim.evidence["checked_realised"] == _check(drawn).realised
