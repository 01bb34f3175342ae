"""The churn card states the Brier score of the checked churn score at the evaluation
cutoff next to the base rate's (every customer given the share who churned), and where
the score is worse it says the score ranks but is not a probability, never reading it
as one (issue 22, item 3)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from recsys.job.claims_churn import churn_claim
from recsys.job.evidence import (
    ChurnEvidence,
    FitEvidence,
    RuleComparison,
    churn_evidence,
    rule_comparisons,
    rule_evidence,
)

CUTOFF = datetime(2024, 6, 1)
CLEAN = FitEvidence((), (), 0)
NEVER = ("can be read as a probability", "passes the checks of a probability")


def _shifted(n: int = 1500, seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Churn drawn with chance ``sigmoid(z)``; the churn risk ``sigmoid(z + 1.5)`` ranks
    customers exactly as the truth does but overstates every chance; the naive rules'
    columns are noise. Purchases: one before the cutoff each, one in the window for
    those who stay."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-z))
    users = np.arange(n)
    profiles = pl.DataFrame(
        {
            "user_id": users,
            "recency_days": rng.uniform(1.0, 100.0, n),
            "frequency": rng.integers(1, 6, n),
            "churn_risk": 1.0 / (1.0 + np.exp(-(z + 1.5))),
        }
    )
    stay = users[~churned]
    purchases = pl.DataFrame(
        {
            "user_id": np.concatenate([users, stay]),
            "item_id": "a",
            "timestamp": [CUTOFF - timedelta(days=20)] * n
            + [CUTOFF + timedelta(days=10)] * stay.size,
        }
    )
    return profiles, purchases


def test_a_score_worse_than_the_base_rate_ranks_and_is_not_a_probability() -> None:
    profiles, purchases = _shifted()
    backtest = rule_evidence(
        profiles, purchases, CUTOFF, 90, churn=True, clv=False, bootstrap=200, seed=0,
        observed_until=CUTOFF + timedelta(days=90),
    )  # fmt: skip
    evidence = churn_evidence(backtest, 90)
    claim = churn_claim(evidence, CLEAN, rules=rule_comparisons(backtest, "churn", 90))
    # the figures, recomputed with numpy
    bought = set(purchases.filter(pl.col("timestamp") >= CUTOFF)["user_id"].to_list())
    y = ~np.isin(profiles["user_id"].to_numpy(), list(bought))
    risk = profiles["churn_risk"].to_numpy()
    rate = y.mean()
    assert claim.evidence["brier"] == pytest.approx(np.mean((risk - y) ** 2))
    assert claim.evidence["base_rate"] == pytest.approx(rate)
    assert claim.evidence["base_rate_brier"] == pytest.approx(rate * (1 - rate))
    assert claim.evidence["brier_ci_low"] > 0  # the case drawn: clearly worse
    assert claim.evidence["brier_worse"]
    # it ranks (ahead of the noise rules), but is not a probability, and says so
    assert claim.evidence["ranked_by"] == "churn_risk"
    assert not claim.licensed
    assert (
        "Its scores rank customers but are not probabilities: read as probabilities its "
        "scores do worse than the base rate in Brier score (every customer given the share who "
        f"churned, {rate:.1%}): Brier score {claim.evidence['brier']:.4f} vs "
        f"{rate * (1 - rate):.4f} (difference +"
    ) in claim.text
    assert not any(words in claim.text for words in NEVER)


_CAL = pl.DataFrame(
    {"decile": [1, 2], "predicted_churn": [0.2, 0.8], "observed_churn": [0.22, 0.78]}
)
_GOOD = ChurnEvidence(500, 250, 0.8, 0.76, 0.84, 0.02, _CAL, 90)


def _rules(brier: float, low: float, high: float) -> tuple[RuleComparison, ...]:
    return (
        RuleComparison("churn", "auc", "recency", 0.8, 0.7, 0.1, 0.05, 0.15, 500, 90),
        RuleComparison("churn", "auc", "frequency", 0.8, 0.7, 0.1, 0.05, 0.15, 500, 90),
        RuleComparison("churn", "brier", "base_rate", brier, 0.25, brier - 0.25, low, high,
                       500, 90),
    )  # fmt: skip


def test_calibrated_and_ahead_yet_worse_in_brier_is_not_read_as_a_probability() -> None:
    licensed = churn_claim(_GOOD, CLEAN, rules=_rules(0.18, -0.08, -0.06))
    assert licensed.licensed
    assert (
        "; it scores better than the base rate in Brier score (every customer given the share "
        "who churned, 50.0%): Brier score 0.1800 vs 0.2500 (difference -0.0700, 95% CI "
        "-0.0800 to -0.0600)"
    ) in licensed.text
    # the same checks, a Brier score above the base rate's (its interval across 0)
    worse = churn_claim(_GOOD, CLEAN, rules=_rules(0.2510, -0.001, 0.003))
    assert not worse.licensed
    assert worse.evidence["ranked_by"] == "churn_risk"  # it still ranks the win-back list
    assert "Its scores rank customers but are not probabilities" in worse.text
    # worse on the point estimate only: the words follow the interval
    assert "its scores do no better than the base rate in Brier score" in worse.text
    assert "do worse than" not in worse.text
    assert not any(words in worse.text for words in NEVER)
    assert worse.fallback is not None
    # better on the point estimate, the interval across 0: not "better than"
    level = churn_claim(_GOOD, CLEAN, rules=_rules(0.2490, -0.003, 0.001))
    assert "; it scores no worse than the base rate in Brier score" in level.text


def test_without_a_brier_row_the_card_says_nothing_of_it() -> None:
    claim = churn_claim(_GOOD, CLEAN, rules=_rules(0.18, -0.08, -0.06)[:2])
    assert claim.licensed
    assert "Brier" not in claim.text
    assert "brier" not in claim.evidence
