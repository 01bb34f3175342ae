"""The naive churn rules are scored in the order the job's lists rank by them, ties
included (timestamps at day resolution tie many customers on days since the last order)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from recsys.job.decisions import churn_rank
from recsys.job.evidence import rule_comparisons, rule_evidence


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC by counting every (positive, negative) pair; ties count 1/2."""
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def test_both_rules_are_scored_in_their_deployed_order_ties_included() -> None:
    rng = np.random.default_rng(7)
    n = 400
    cutoff = datetime(2024, 1, 1)
    recency = rng.integers(1, 15, n).astype(float)  # whole days: many ties
    frequency = rng.integers(1, 4, n)
    gone = rng.random(n) < 0.2 + 0.04 * recency - 0.05 * frequency
    # ids whose order is unrelated to the outcome but not to the tie-break's direction:
    # the churned first among equals, so the tie-break moves the AUC
    ids = np.argsort(np.lexsort((rng.random(n), ~gone)))
    users = np.array([f"c{i:04d}" for i in ids])
    profiles = pl.DataFrame(
        {
            "user_id": users,
            "recency_days": recency,
            "frequency": frequency,
            "churn_risk": np.clip(0.1 + 0.03 * recency + rng.normal(0, 0.1, n), 0.01, 0.99),
        }
    )
    stay = users[~gone]
    purchases = pl.DataFrame(
        {
            "user_id": np.r_[users, stay],
            "item_id": ["a"] * (n + stay.size),
            "timestamp": [cutoff - timedelta(days=float(r)) for r in recency]
            + [cutoff + timedelta(days=10)] * stay.size,
            "quantity": [1.0] * (n + stay.size),
            "price": [1.0] * (n + stay.size),
        }
    )
    backtest = rule_evidence(
        profiles, purchases, cutoff, 30, churn=True, clv=False, bootstrap=0, seed=0,
        observed_until=cutoff + timedelta(days=30),
    )  # fmt: skip
    assert backtest is not None
    scored = {r.rule: r.rule_value for r in rule_comparisons(backtest, "churn", 30)}
    churned = profiles.join(
        backtest.units["churn"].select("user_id", "churned"), on="user_id"
    ).sort("user_id")
    positive = churned["churned"].to_numpy() == 1.0
    assert positive.sum() == gone.sum()
    for rule in ("recency", "frequency"):
        deployed = churned.select(churn_rank(churned, rule))["churn_rank"].to_numpy()
        assert scored[rule] == pytest.approx(_auc(-deployed.astype(float), positive))
    # the ties matter here: counted half, the recency rule would score otherwise
    half = _auc(churned["recency_days"].to_numpy(), positive)
    assert abs(scored["recency"] - half) > 0.01
