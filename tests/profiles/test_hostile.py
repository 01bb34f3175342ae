"""Hostile input to the customer models: one typed error (or exact handling) per cause."""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.source import MAX_CUSTOMER_AMOUNT

X = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
T_X = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
T = np.full(10, 40.0)
Z = np.array([0, 30, 22, 0, 35, 25, 20, 0, 28, 33.0])


@pytest.mark.parametrize("value", ["0.1", None, -1.0, float("nan")])
def test_gammagamma_penalizer_is_checked_by_type(value: object) -> None:
    with pytest.raises(InputDataError, match=r"GammaGamma\(penalizer=...\)"):
        rs.profiles.GammaGamma(penalizer=value).fit(X, Z)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, "5", None, 2.5])
def test_gammagamma_max_iter_is_checked(value: object) -> None:
    with pytest.raises(InputDataError, match=r"GammaGamma\(max_iter=...\)"):
        rs.profiles.GammaGamma(max_iter=value).fit(X, Z)  # type: ignore[arg-type]


def test_gammagamma_text_and_none_data() -> None:
    with pytest.raises(InputDataError, match="x must be numbers"):
        rs.profiles.GammaGamma().fit(["a", "b", "c"], [1.0, 2.0, 3.0])
    with pytest.raises(InputDataError, match="mean_spend must be numbers"):
        rs.profiles.GammaGamma().fit([1, 2, 3], ["1", "2", "x"])
    with pytest.raises(InputDataError, match="mean_spend"):
        rs.profiles.GammaGamma().fit([1, 2, 3], [None, 2.0, 3.0])
    gg = rs.profiles.GammaGamma().fit(X, Z)
    with pytest.raises(InputDataError, match="x must be numbers"):
        gg.conditional_expected_spend(["a"], [1.0])
    with pytest.raises(InputDataError, match="mean_spend must be numbers"):
        gg.conditional_expected_spend([1], [{"spend": 1}])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"horizon_days": "90"}, "horizon_days"),
        ({"horizon_days": None}, "horizon_days"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"margin": None}, "margin"),
        ({"margin": 0}, "margin"),
        ({"discount_monthly": "a"}, "discount_monthly"),
        ({"discount_monthly": float("inf")}, "discount_monthly"),
    ],
)
def test_clv_parameters_are_typed(kwargs: dict, name: str) -> None:
    bg = rs.profiles.BGNBD().fit(X, T_X, T)
    gg = rs.profiles.GammaGamma().fit(X, Z)
    with pytest.raises(InputDataError, match=rf"clv\({name}=...\)"):
        rs.profiles.clv(bg, gg, X, T_X, T, Z, **kwargs)


@pytest.mark.parametrize(
    "frequency",
    [X.astype(str), [str(v) for v in X], pl.Series(X.astype(str)), ["a"] * 10],
)
def test_bgnbd_refuses_text_frequency(frequency: object) -> None:
    with pytest.raises(InputDataError, match="x must be"):
        rs.profiles.BGNBD().fit(frequency, T_X, T)  # type: ignore[arg-type]


def test_bgnbd_parameters_are_typed() -> None:
    with pytest.raises(InputDataError, match=r"BGNBD\(penalizer=...\)"):
        rs.profiles.BGNBD(penalizer="a").fit(X, T_X, T)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match=r"BGNBD\(max_iter=...\)"):
        rs.profiles.BGNBD(max_iter=None).fit(X, T_X, T)  # type: ignore[arg-type]
    bg = rs.profiles.BGNBD().fit(X, T_X, T)
    with pytest.raises(InputDataError, match="t must be numbers"):
        bg.expected_purchases("30")


def test_due_items_with_a_horizon_of_millions_of_days(online_retail: pl.DataFrame) -> None:
    sample = online_retail.filter(pl.col("timestamp") < datetime(2011, 9, 9)).head(30_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        due = rs.due_items(sample, as_of="2011-09-09", horizon_days=3_000_000)
        short = rs.due_items(sample, as_of="2011-09-09", horizon_days=30, calibrate=False)
    p = due["p_within_horizon"].to_numpy()
    assert due.height == short.height
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))
    # with no calibration possible the probabilities are the renewal model's; a longer
    # horizon can only add purchases
    assert np.all(p >= short["p_within_horizon"].to_numpy() - 1e-12)


def _money(prices: list[float], quantities: list[float] | None = None) -> pl.DataFrame:
    n = len(prices)
    return pl.DataFrame(
        {
            "user_id": [1] * (n - 1) + [2],
            "item_id": [f"i{k}" for k in range(n)],
            "order_id": [f"o{k}" for k in range(n)],
            "timestamp": [datetime(2020, 1, 1 + k) for k in range(n)],
            "quantity": quantities or [1.0] * n,
            "price": prices,
        }
    )


def test_one_line_beyond_the_integer_money_units_is_a_typed_error() -> None:
    with pytest.raises(InputDataError, match=r"'quantity' x 'price'.*9\.2e\+12.*customer 1"):
        rs.build_profiles(_money([1e13, 1.0, 2.0]), config=rs.ProfileConfig(churn=False))


def test_a_customer_total_beyond_the_money_units_is_a_typed_error() -> None:
    # each line fits, their sum does not: the Int64 sum would wrap around silently
    lines = [5e12, 5e12, 2.0]
    with pytest.raises(InputDataError, match=r"total 'quantity' x 'price'"):
        rs.build_profiles(_money(lines), config=rs.ProfileConfig(churn=False))
    with pytest.raises(InputDataError, match=r"total 'quantity' above"):
        rs.build_profiles(
            _money([1.0, 1.0, 1.0], quantities=[1e13, 1.0, 1.0]),
            config=rs.ProfileConfig(churn=False),
        )


def test_amounts_up_to_the_limit_are_summed_exactly() -> None:
    big = MAX_CUSTOMER_AMOUNT / 2 - 1.0
    profiles = rs.build_profiles(_money([big, 1.25, 2.0]), config=rs.ProfileConfig(churn=False))
    assert profiles["monetary"].to_list() == [big + 1.25, 2.0]


def test_rfm_table_refuses_amounts_beyond_the_money_units() -> None:
    with pytest.raises(InputDataError, match=r"'quantity' x 'price'.*9\.2e\+12"):
        rs.profiles.rfm_table(_money([5e12, 5e12, 2.0]))
