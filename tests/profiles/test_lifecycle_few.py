"""Lifecycle thresholds from too few customers' gaps are not trusted (walk #9).

One customer with 34 invoices over a day and a half: the quantiles of their gaps (about
an hour) made a silence of 8.5 hours "churned" at the report's as_of (midnight after the
last purchase) while `recsys profile` (as_of just after it) said "active".
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning
from recsys.profiles import ProfileConfig
from recsys.profiles.lifecycle import lifecycle_thresholds, min_repeat_customers

START = datetime(2010, 12, 1, 8)


def _one_customer(invoices: int = 34) -> pl.DataFrame:
    times = [START + timedelta(hours=0.92 * i) for i in range(invoices)]
    return pl.DataFrame(
        {
            "user_id": [17850] * invoices,
            "item_id": [f"i{i % 5}" for i in range(invoices)],
            "order_id": [f"o{i}" for i in range(invoices)],
            "timestamp": times,
            "quantity": [6.0] * invoices,
            "price": [2.55] * invoices,
        }
    )


def test_one_customer_is_not_churned_hours_after_an_order():
    p = _one_customer()
    last = p["timestamp"].max()
    config = ProfileConfig(churn=False)
    stages = {}
    for as_of in (last + timedelta(microseconds=1), last + timedelta(hours=8.5)):
        with pytest.warns(DataWarning, match=r"only 1 customer has two orders .*\(33 gaps"):
            profile = rs.build_profiles(p, as_of=as_of, config=config)
        stages[as_of] = profile["lifecycle_stage"].item()
    # the report's as_of and the profile command's give the same stage: the fallback's
    # new_days (30) covers a customer first seen a day and a half ago
    assert set(stages.values()) == {"new"}


def test_the_quantiles_need_twenty_repeat_customers():
    """With the default quantiles (highest 0.95), 20 customers with two orders give the
    gaps' quantiles (numpy's, no warning); 19 give fallback_lifecycle_days, with a warning."""
    gaps = np.arange(1.0, 41.0)
    config = ProfileConfig(churn=False)
    assert min_repeat_customers(config.lifecycle_quantiles) == 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        derived = lifecycle_thresholds(gaps, config, 20)
    assert derived == pytest.approx(tuple(np.quantile(gaps, config.lifecycle_quantiles)))
    with pytest.warns(DataWarning, match=r"only 19 customers have two orders .*\(40 gaps"):
        assert lifecycle_thresholds(gaps, config, 19) == config.fallback_lifecycle_days
    # explicit thresholds need no gaps
    given = ProfileConfig(churn=False, new_days=1.0, dormant_days=2.0, churned_days=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lifecycle_thresholds(gaps, given, 1) == (1.0, 2.0, 3.0)
