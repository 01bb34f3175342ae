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


def test_a_deployed_model_fitted_on_a_sample_is_stated_even_where_the_checked_one_was_not() -> None:
    """Online Retail as `recsys demo` runs it: 3,360 customers before the cutoff, 4,335
    by as_of. With ``learned_customers=4000`` only the deployed refit is a sample; the
    card of each learned model deployed says so, and counts the customers drawn of."""
    import warnings

    import recsys as rs
    from recsys.job import load_online_retail
    from recsys.job.customers import check_at_cutoff, customer_decisions, profile_config

    purchases, _, _ = load_online_retail()
    config = JobConfig(cutoff=datetime(2011, 9, 9), learned_customers=4000)
    as_of = datetime(2011, 12, 10)
    bought = purchases.filter(pl.col("timestamp") < as_of)
    before = bought.filter(pl.col("timestamp") < config.cutoff)
    definition = profile_config(config, has_prices=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profiles = rs.build_profiles(bought, as_of=as_of, config=definition)
        checks = check_at_cutoff(
            before, bought, config.cutoff, config, definition, observed_until=as_of
        )
        decided = customer_decisions(
            profiles, bought, as_of, checks, rs.job.evidence.FitEvidence((), (), 0), config,
            has_prices=True,
        )  # fmt: skip
    assert checks.learned.sampled is None  # 3,360 customers at the cutoff: all of them
    deployed = [
        claim
        for claim, column in (
            (decided.churn, "learned_churn_risk"),
            (decided.value, "learned_value"),
        )
        if column in decided.profiles.columns
    ]
    assert deployed  # the demo deploys both learned models (test_checked_is_deployed)
    for claim in deployed:
        assert (
            "fitted on the purchases of 4,000 customers drawn at random (as of as_of, of 4,335"
        ) in claim.text
