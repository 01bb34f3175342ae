"""A cutoff whose window runs past as_of: the churn and value cards say so, and carry
the warning that says so."""

from __future__ import annotations

import warnings
from datetime import datetime

import polars as pl

import recsys as rs
from recsys._warnings import concerns_of
from recsys.exceptions import DataWarning
from recsys.job import JobConfig
from recsys.job.evidence import rule_evidence
from tests.job.shops import four_order_shop


def test_the_cards_say_the_window_runs_past_as_of() -> None:
    # the data ends on 2023-12-27 or so: the 90 days after 2023-11-01 run past it
    config = JobConfig(bootstrap=20, models=("popular",), cutoff="2023-11-01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(four_order_shop(300, 200, seed=0), config)
    late = "the 90 days after the evaluation cutoff run past as_of"
    churn, value = result.claims["churn"], result.claims["value"]
    assert late in churn.text
    assert "no customer to compare on" not in churn.text
    assert late in value.text
    assert "no evaluation window" not in value.text
    for claim in (churn, value):
        assert any("run past" in w and "not compared" in w for w in claim.warnings)


def test_the_backtests_warnings_concern_the_predictions_they_skip() -> None:
    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 1],
            "item_id": ["a"] * 4,
            "timestamp": [datetime(2020, 1, d) for d in (1, 2, 3)] + [datetime(2020, 2, 1)],
        }
    )
    prof = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "recency_days": [14.0, 13.0, 12.0],
            "frequency": [1, 1, 1],
            "churn_risk": [0.1, 0.9, 0.8],
        }
    )

    def caught(observed_until: datetime, frame: pl.DataFrame) -> list[tuple[str, ...]]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            rule_evidence(
                frame, p, datetime(2020, 1, 15), 30, churn=True, clv=False,
                bootstrap=0, seed=0, observed_until=observed_until,
            )  # fmt: skip
        return [concerns_of(w.message) for w in seen if issubclass(w.category, DataWarning)]

    assert caught(datetime(2020, 2, 1), prof) == [("churn_risk",)]  # runs past
    nan = prof.with_columns(churn_risk=pl.lit(float("nan")))
    assert caught(datetime(2020, 2, 14), nan) == [("churn_risk",)]  # nothing finite


def test_no_learned_model_is_fitted_for_a_window_that_runs_past_as_of() -> None:
    from recsys.job.customers import CutoffChecks, check_at_cutoff, profile_config
    from recsys.job.inputs import load_online_retail

    purchases, _, _ = load_online_retail(sample_users=600)
    purchases = purchases.filter(~pl.col("is_return"))
    cutoff = datetime(2011, 9, 9)
    before = purchases.filter(pl.col("timestamp") < cutoff)
    config = JobConfig(bootstrap=20)
    definition = profile_config(config, has_prices=True)

    def checks(observed_until: datetime) -> CutoffChecks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check_at_cutoff(
                before, purchases, cutoff, config, definition, observed_until=observed_until
            )

    on_time = checks(datetime(2011, 12, 10))
    assert on_time.learned.churn is not None
    assert on_time.learned.value is not None
    late = checks(datetime(2011, 10, 1))
    assert late.learned.churn is None
    assert late.learned.value is None
    assert late.backtest is None
    assert late.unchecked == "the 90 days after the evaluation cutoff run past as_of"
