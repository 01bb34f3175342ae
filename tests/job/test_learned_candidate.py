"""The one pre-declared rule: the learned model is the candidate wherever it could be
fitted at the cutoff, else BG/NBD's; the candidate is deployed only where it beats the
naive rules, else the rule, even where the other model would have beaten them."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from recsys.evaluation import Backtest
from recsys.evaluation.backtest import TABLE_COLUMNS
from recsys.job import JobConfig
from recsys.job.customers import CustomerDecisions, CutoffChecks, customer_decisions
from recsys.job.evidence import ChurnEvidence, FitEvidence
from recsys.job.learned import LearnedFits
from recsys.profiles import LearnedChurn, LearnedCLV

CAL = pl.DataFrame({"decile": [1], "predicted_churn": [0.5], "observed_churn": [0.51]})
GOOD = ChurnEvidence(500, 250, 0.8, 0.76, 0.84, 0.01, CAL, 90)
AS_OF = datetime(2024, 3, 1)


def _row(prediction: str, metric: str, model: str, rule: str, value: float, rule_value: float,
         low: float, high: float) -> tuple:  # fmt: skip
    return (prediction, metric, "all", model, rule, value, rule_value, value - rule_value, low,
            high, 500)  # fmt: skip


def _backtest(*rows: tuple) -> Backtest:
    schema = dict.fromkeys(TABLE_COLUMNS, pl.Float64)
    schema.update(dict.fromkeys(("prediction", "metric", "origin", "model", "naive"), pl.String))
    schema["n"] = pl.Int64
    table = pl.DataFrame(list(rows), schema=schema, orient="row")
    return Backtest(table=table, calibration=pl.DataFrame(), holdout=pl.DataFrame())


UNFLAGGED = FitEvidence((), (), 0)


def _decide(checks: CutoffChecks, fits: FitEvidence = UNFLAGGED) -> CustomerDecisions:
    bought = pl.DataFrame(
        {
            "user_id": [1, 2, 1],
            "item_id": ["a"] * 3,
            "timestamp": [datetime(2023, 6, 1), datetime(2023, 7, 1), datetime(2024, 2, 1)],
            "quantity": [1.0] * 3,
            "price": [10.0, 20.0, 30.0],
        }
    )
    profiles = pl.DataFrame(
        {
            "user_id": [1, 2],
            "recency_days": [29.0, 244.0],
            "frequency": [2, 1],
            "monetary": [40.0, 20.0],
            "churn_risk": [0.2, 0.9],
            "clv": [50.0, 5.0],
            "lifecycle_stage": ["active", "churned"],
        }
    )
    return customer_decisions(profiles, bought, AS_OF, checks, fits, JobConfig(), has_prices=True)


# BG/NBD beats both rules and past spend; the learned models do not
MIXED_VERDICTS = (
    _row("churn", "auc", "churn_risk", "recency", 0.80, 0.70, 0.05, 0.15),
    _row("churn", "auc", "churn_risk", "frequency", 0.80, 0.72, 0.03, 0.12),
    _row("churn", "auc", "LearnedChurn", "recency", 0.78, 0.70, 0.02, 0.12),
    _row("churn", "auc", "LearnedChurn", "frequency", 0.78, 0.72, -0.01, 0.10),
    _row("clv", "spearman", "clv", "past_spend", 0.60, 0.50, 0.05, 0.15),
    _row("clv", "spearman", "LearnedCLV", "past_spend", 0.51, 0.50, -0.02, 0.04),
)


def test_a_learned_candidate_that_loses_falls_back_to_the_rule_not_to_bgnbd() -> None:
    learned = LearnedFits(churn=LearnedChurn(), value=LearnedCLV())
    checks = CutoffChecks(churn=GOOD, backtest=_backtest(*MIXED_VERDICTS), learned=learned)
    decided = _decide(checks)
    churn, value = decided.churn, decided.value
    assert churn.evidence["model"] == "LearnedChurn"
    # above the recency rule but not above the frequency rule: the better rule (frequency,
    # 0.72) ranks, although BG/NBD beat both
    assert churn.evidence["ranked_by"] == "frequency"
    assert not churn.licensed
    assert churn.text.startswith(
        "The learned churn model's churn risk is no better than the naive rule the number of "
        "orders (fewest first, then longest since the last order) at ranking who leaves: AUC "
        "0.780 vs 0.720 (difference +0.060, 95% CI -0.010 to +0.100)"
    )
    assert value.evidence["model"] == "LearnedCLV"
    assert not value.licensed
    assert decided.value_column == "past_value"
    assert value.text.startswith("Customer value is no better than past spend")
    assert "The learned CLV model's value over the next 365 days" in value.text
    # nothing learned is deployed
    assert "learned_churn_risk" not in decided.profiles.columns
    assert "learned_value" not in decided.profiles.columns


def test_without_a_learned_fit_bgnbd_is_the_candidate_and_the_card_says_why() -> None:
    why = "LearnedChurn: as_of=2023-12-02 leaves no training origin with 30 days of history"
    learned = LearnedFits(churn_unfitted=why, value_unfitted="LearnedCLV: too short")
    checks = CutoffChecks(churn=GOOD, backtest=_backtest(*MIXED_VERDICTS), learned=learned)
    decided = _decide(checks)
    churn, value = decided.churn, decided.value
    assert churn.evidence["model"] == "churn_risk"
    assert churn.evidence["ranked_by"] == "churn_risk"
    assert churn.licensed  # calibrated, discriminates, beats both rules
    assert churn.text.startswith("BG/NBD's churn risk can be read as a probability")
    assert f"The learned churn model could not be fitted at the evaluation cutoff ({why})" in (
        churn.text
    )
    assert churn.evidence["learned_unfitted"] == why
    assert value.evidence["model"] == "clv"
    assert value.licensed
    assert decided.value_column == "clv"
    assert "The learned CLV model could not be fitted at the evaluation cutoff" in value.text


def test_bgnbd_fit_flags_gate_bgnbd_not_the_learned_model() -> None:
    from recsys.job.claims_churn import churn_claim
    from recsys.job.claims_value import value_claim
    from recsys.job.evidence import RuleComparison

    flagged = FitEvidence(("BG/NBD parameters ['a'] are extreme",), ("Gamma-Gamma q <= 1",), 0)
    ahead = tuple(
        RuleComparison("churn", "auc", rule, 0.8, 0.7, 0.1, 0.05, 0.15, 500, 90)
        for rule in ("recency", "frequency")
    )
    learned = churn_claim(GOOD, flagged, rules=ahead, model="LearnedChurn")
    assert learned.licensed
    assert learned.evidence["ranked_by"] == "learned_churn_risk"
    assert "flagged" not in learned.text
    bgnbd = churn_claim(GOOD, flagged, rules=ahead)
    assert not bgnbd.licensed
    assert bgnbd.evidence["ranked_by"] == "recency"
    wins = (RuleComparison("clv", "spearman", "past_spend", 0.6, 0.5, 0.1, 0.05, 0.15, 500, 90),)
    assert value_claim(flagged, has_prices=True, rules=wins, model="LearnedCLV").licensed
    assert not value_claim(flagged, has_prices=True, rules=wins).licensed


@pytest.mark.parametrize(
    ("fits", "churn", "value"),
    [
        (LearnedFits(), "churn_risk", "clv"),
        (LearnedFits(churn=LearnedChurn()), "LearnedChurn", "clv"),
        (LearnedFits(value=LearnedCLV()), "churn_risk", "LearnedCLV"),
    ],
)
def test_the_candidate_is_declared_by_what_could_be_fitted(
    fits: LearnedFits, churn: str, value: str
) -> None:
    from recsys.job.learned import churn_candidate, value_candidate

    assert (churn_candidate(fits), value_candidate(fits)) == (churn, value)


def test_a_winner_that_cannot_be_refitted_as_of_as_of_leaves_the_decision_to_the_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import recsys.job.customers as customers
    from recsys.exceptions import InputDataError

    def fails(*args: object, **kwargs: object) -> None:
        raise InputDataError("LearnedChurn: at its calibration origin 2023-12-01, ...")

    monkeypatch.setattr(customers, "refit", fails)
    wins = (
        _row("churn", "auc", "LearnedChurn", "recency", 0.80, 0.70, 0.05, 0.15),
        _row("churn", "auc", "LearnedChurn", "frequency", 0.80, 0.72, 0.03, 0.12),
        _row("clv", "spearman", "LearnedCLV", "past_spend", 0.60, 0.50, 0.05, 0.15),
    )
    learned = LearnedFits(churn=LearnedChurn(), value=LearnedCLV())
    decided = _decide(CutoffChecks(churn=GOOD, backtest=_backtest(*wins), learned=learned))
    churn, value = decided.churn, decided.value
    assert churn.evidence["ranked_by"] == "frequency"  # the better rule
    assert not churn.licensed
    assert "but it could not be refitted as of as_of (LearnedChurn: at its calibration" in (
        churn.text
    )
    assert not value.licensed
    assert decided.value_column == "past_value"
    assert "it could not be refitted as of as_of" in value.text
    assert "learned_churn_risk" not in decided.profiles.columns
