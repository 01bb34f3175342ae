"""The learned models' customer sample is drawn and counted as the evaluation's is: among
customers with a purchase (a customer with only return rows is no customer to sample)."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from recsys.job import JobConfig
from recsys.job.learned import fit_purchases
from recsys.job.run import evaluation_purchases


def _with_a_returns_only_customer() -> pl.DataFrame:
    # customers 1-3 bought; customer 4 only returned something
    return pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "item_id": ["a"] * 4,
            "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3, 4)],
            "quantity": [1.0, 1.0, 1.0, -1.0],
            "is_return": [False, False, False, True],
        }
    )


def test_a_returns_only_customer_does_not_make_the_learned_fit_a_sample() -> None:
    frame = _with_a_returns_only_customer()
    config = JobConfig(learned_customers=3, evaluation_customers=3)
    fitted_on, sampled = fit_purchases(frame, config)
    assert sampled is None  # every customer with a purchase is used: no sample to state
    assert fitted_on.equals(frame)
    assert evaluation_purchases(frame, config)[1] is None  # the evaluation counts alike


def test_above_the_limit_both_draw_the_same_customers() -> None:
    frame = _with_a_returns_only_customer()
    config = JobConfig(learned_customers=2, evaluation_customers=2)
    fitted_on, sampled = fit_purchases(frame, config)
    evaluated_on, evaluated = evaluation_purchases(frame, config)
    assert sampled == evaluated == (2, 3)  # 3 customers with a purchase, not 4
    assert fitted_on.equals(evaluated_on)
