"""ProfileConfig: every constant of build_profiles is a documented field."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles import ProfileConfig
from tests._purchases import purchases_frame
from tests.profiles.test_build import AS_OF, _rows


def test_defaults_are_the_former_constants() -> None:
    config = ProfileConfig()
    assert config.lifecycle_quantiles == (0.5, 0.8, 0.95)
    assert config.fallback_lifecycle_days == (30.0, 90.0, 180.0)
    assert config.min_calibration_class == 10
    assert config.churn_windows_days == (30.0, 90.0, 180.0)
    assert config.churn_decay_days == (60.0, 180.0)


def test_lifecycle_quantiles_give_the_thresholds() -> None:
    small = purchases_frame(_rows())
    quantiles = (0.1, 0.2, 0.3)
    gaps = np.array([10.0, 20.0, 30.0, 147.0])  # the small table's inter-purchase gaps
    new, dormant, churned = np.quantile(gaps, quantiles)
    by_quantile = rs.build_profiles(
        small, as_of=AS_OF, config=ProfileConfig(churn=False, lifecycle_quantiles=quantiles)
    )
    explicit = rs.build_profiles(
        small,
        as_of=AS_OF,
        config=ProfileConfig(churn=False, new_days=new, dormant_days=dormant, churned_days=churned),
    )
    assert by_quantile["lifecycle_stage"].to_list() == explicit["lifecycle_stage"].to_list()
    default = rs.build_profiles(small, as_of=AS_OF, config=ProfileConfig(churn=False))
    assert by_quantile["lifecycle_stage"].to_list() != default["lifecycle_stage"].to_list()


def test_fallback_lifecycle_days() -> None:
    rows = [(u, "a", f"o{u}", datetime(2024, 1, u), 1.0, 2.0) for u in range(1, 11)]
    with pytest.warns(DataWarning, match=r"fallback_lifecycle_days=\(30.0, 90.0, 180.0\)"):
        default = rs.build_profiles(
            purchases_frame(rows), as_of=AS_OF, config=ProfileConfig(churn=False)
        )
    assert set(default["lifecycle_stage"]) == {"active"}  # 50-60 days since the purchase
    config = ProfileConfig(churn=False, fallback_lifecycle_days=(1.0, 2.0, 3.0))
    with pytest.warns(DataWarning, match="fallback_lifecycle_days"):
        short = rs.build_profiles(purchases_frame(rows), as_of=AS_OF, config=config)
    assert set(short["lifecycle_stage"]) == {"churned"}


def test_min_calibration_class() -> None:
    config = ProfileConfig(horizon_days=30, min_calibration_customers=2, min_calibration_class=1000)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rs.build_profiles(purchases_frame(_rows()), as_of=AS_OF, config=config)
    messages = [str(w.message) for w in record if "not calibrated" in str(w.message)]
    assert len(messages) == 1
    assert (
        "of the 3 customers who bought before it, 0 bought nothing in the days after, at "
        "least 1,000 of each outcome are needed"
    ) in messages[0]


@pytest.mark.parametrize(
    ("horizon_days", "why"),
    [
        (30, "only 3 customers bought before it, at least 200 are needed"),
        (
            3000,
            "no customer bought before it, at least 200 are needed (the purchases begin on "
            "2023-10-01)",
        ),
    ],
)
def test_an_uncalibrated_churn_risk_says_why_in_dates(horizon_days: int, why: str) -> None:
    config = ProfileConfig(horizon_days=horizon_days)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rs.build_profiles(purchases_frame(_rows()), as_of=AS_OF, config=config)
    (message,) = [str(w.message) for w in record if "not calibrated" in str(w.message)]
    cutoff = f"{AS_OF - timedelta(days=horizon_days):%Y-%m-%d}"
    assert message == (
        f"churn_risk is not calibrated: it is calibrated on the customers who bought before "
        f"{cutoff} ({horizon_days:,} days before as_of) and whether they bought in the "
        f"{horizon_days:,} days after, and {why}. churn_risk is the model probability of no "
        "purchase (BG/NBD or its fallback rule, one-time-buyer survival curve); more purchase "
        f"history before {cutoff}, or a shorter horizon_days, lets it be calibrated"
    )


def test_churn_windows_and_decay_feed_the_calibrator(online_retail: pl.DataFrame) -> None:
    as_of = "2011-09-09"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        default = rs.build_profiles(online_retail, as_of=as_of)
        same = rs.build_profiles(
            online_retail,
            as_of=as_of,
            config=ProfileConfig(churn_windows_days=(30, 90, 180), churn_decay_days=(60, 180)),
        )
        other = rs.build_profiles(
            online_retail,
            as_of=as_of,
            config=ProfileConfig(churn_windows_days=(14, 45, 120), churn_decay_days=(30, 90)),
        )
    assert same["churn_risk"].to_list() == default["churn_risk"].to_list()
    assert other["churn_risk"].to_list() != default["churn_risk"].to_list()
    assert other["p_alive"].to_list() == default["p_alive"].to_list()  # model, not calibrator


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lifecycle_quantiles", (0.5, 0.8), r"lifecycle_quantiles=\.\.\.\) must have 3 values"),
        (
            "lifecycle_quantiles",
            (0.5, 0.8, 1.0),
            r"lifecycle_quantiles=\.\.\.\) must be .*in \(0, 1\)",
        ),
        ("lifecycle_quantiles", (0.8, 0.5, 0.9), "strictly increasing"),
        ("fallback_lifecycle_days", (30, 20, 180), "strictly increasing"),
        ("fallback_lifecycle_days", (0, 90, 180), "a number > 0"),
        ("churn_windows_days", (30, 90), r"churn_windows_days=\.\.\.\) must have 3 values"),
        ("churn_decay_days", (60, -1), r"churn_decay_days=\.\.\.\) must be .*a number > 0"),
        ("min_calibration_class", 0, r"min_calibration_class=\.\.\.\) must be an integer >= 1"),
    ],
)
def test_validation(field: str, value: object, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        ProfileConfig(**{field: value})  # type: ignore[arg-type]
