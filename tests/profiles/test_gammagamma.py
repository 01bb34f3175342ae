"""Gamma-Gamma spend model and CLV: parameter recovery, gradient, edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy import optimize

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from recsys.profiles.gammagamma import _loglik_and_grad

# (p, q, gamma) parameter sets; recovery errors at n = 8000 with seed 0 are recorded in
# benchmarks/RESULTS.md (bench_retention.py --section recovery gives them at n = 20000).
PARAMETER_SETS = [(6.0, 4.0, 15.0), (2.0, 10.0, 50.0), (12.0, 3.0, 5.0)]


def simulate(p: float, q: float, gamma: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, size=n)
    nu = rng.gamma(q, 1.0 / gamma, size=n)
    z = rng.gamma(p * x, 1.0 / (nu * x))
    return x, z


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_recovers_known_parameters(params: tuple[float, float, float]) -> None:
    x, z = simulate(*params, n=8000, seed=0)
    gg = rs.profiles.GammaGamma().fit(x, z)
    assert gg.converged_
    fitted = np.array([gg.params_["p"], gg.params_["q"], gg.params_["gamma"]])
    rel = np.abs(fitted / np.array(params) - 1.0)
    assert np.all(rel < 0.2), (params, gg.params_)
    p, q, g = params
    assert gg.mean_spend() == pytest.approx(p * g / (q - 1), rel=0.05)


def test_gradient_matches_finite_differences() -> None:
    x, z = simulate(3.0, 5.0, 2.0, n=200, seed=1)
    w = np.ones(x.size)
    theta = np.log([2.5, 4.0, 1.5])
    err = optimize.check_grad(
        lambda t: _loglik_and_grad(t, x.astype(float), z, w)[0],
        lambda t: _loglik_and_grad(t, x.astype(float), z, w)[1],
        theta,
    )
    assert err < 1e-3 * np.abs(_loglik_and_grad(theta, x.astype(float), z, w)[1]).max() + 1e-4


def test_one_order_customers_excluded_and_get_population_mean() -> None:
    x, z = simulate(6.0, 4.0, 15.0, n=500, seed=2)
    x = np.append(x, [0, 0])
    z = np.append(z, [0.0, 999.0])
    gg = rs.profiles.GammaGamma().fit(x, z)
    assert gg.n_excluded_ == 2
    assert gg.n_customers_ == 500
    spend = gg.conditional_expected_spend(x, z)
    assert spend[-1] == spend[-2] == pytest.approx(gg.mean_spend())
    assert np.all(np.isfinite(spend))
    # posterior mean lies between the population mean and the customer's own mean
    own = z[:-2]
    lo, hi = np.minimum(own, gg.mean_spend()), np.maximum(own, gg.mean_spend())
    assert np.all((spend[:-2] >= lo - 1e-9) & (spend[:-2] <= hi + 1e-9))


def test_bad_input() -> None:
    with pytest.raises(InputDataError, match="mean_spend"):
        rs.profiles.GammaGamma().fit([1, 2], [10.0, -5.0])
    with pytest.raises(InputDataError, match="same length"):
        rs.profiles.GammaGamma().fit([1, 2], [10.0])
    with pytest.raises(InputDataError, match="at least 2"):
        rs.profiles.GammaGamma().fit([0, 0, 3], [0.0, 0.0, 10.0])
    with pytest.raises(InputDataError, match="> 0"):
        rs.profiles.GammaGamma().fit([1, 2, 3], [10.0, 0.0, 5.0])
    with pytest.raises(NotFittedError):
        rs.profiles.GammaGamma().conditional_expected_spend([1], [1.0])


def test_correlation_warning() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 20, size=400)
    z = 10.0 * x * rng.gamma(20.0, 1 / 20.0, size=400)  # spend grows with frequency
    with pytest.warns(DataWarning, match="correlated"):
        gg = rs.profiles.GammaGamma().fit(x, z)
    assert gg.frequency_spend_correlation_ > 0.3
    x2, z2 = simulate(6.0, 4.0, 15.0, n=400, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        rs.profiles.GammaGamma().fit(x2, z2)


@pytest.mark.filterwarnings("ignore:BG/NBD parameters:recsys.exceptions.DataWarning")
def test_clv_matches_undiscounted_product_and_discounting_lowers_it() -> None:
    rng = np.random.default_rng(5)
    n = 300
    T = rng.uniform(30, 300, size=n)
    x = rng.poisson(3, size=n).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, size=n) * T, 0.0)
    z = np.where(x > 0, rng.gamma(5, 4, size=n), 0.0)
    bg = rs.profiles.BGNBD().fit(x, t_x, T)
    gg = rs.profiles.GammaGamma().fit(x, z)
    flat = rs.profiles.clv(bg, gg, x, t_x, T, z, horizon_days=365, discount_monthly=0.0)
    expected = bg.conditional_expected_purchases(365, x, t_x, T) * gg.conditional_expected_spend(
        x, z
    )
    np.testing.assert_allclose(flat, expected, rtol=1e-10)
    disc = rs.profiles.clv(bg, gg, x, t_x, T, z, horizon_days=365, discount_monthly=0.02)
    assert np.all(disc < flat)
    assert np.all(disc > flat / 1.02**12.2)
    half = rs.profiles.clv(bg, gg, x, t_x, T, z, horizon_days=365, margin=0.5)
    np.testing.assert_allclose(half, 0.5 * rs.profiles.clv(bg, gg, x, t_x, T, z, horizon_days=365))
    with pytest.raises(InputDataError, match="discount_monthly"):
        rs.profiles.clv(bg, gg, x, t_x, T, z, discount_monthly=-0.1)


def test_build_profiles_clv_columns(online_retail: pl.DataFrame) -> None:
    config = rs.ProfileConfig(clv_horizon_days=180, clv_discount_monthly=0.01, margin=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles = rs.build_profiles(online_retail, as_of="2011-09-09", config=config)
    assert {"expected_order_value", "clv"} <= set(profiles.columns)
    assert profiles["clv"].null_count() == 0
    assert (profiles["clv"] >= 0).all()
    one = profiles.filter(pl.col("frequency") == 1)["expected_order_value"]
    assert one.n_unique() == 1  # the population mean spend
    assert not any("CLV columns are null" in str(w.message) for w in caught)
    plain = rs.build_profiles(online_retail, as_of="2011-09-09", config=rs.ProfileConfig())
    assert "clv" not in plain.columns
    with pytest.raises(InputDataError, match="margin"):
        rs.ProfileConfig(margin=0)


@pytest.mark.filterwarnings("ignore:BG/NBD parameters:recsys.exceptions.DataWarning")
def test_profile_clv_free_repeat_orders_get_population_mean() -> None:
    from recsys.profiles.gammagamma import profile_clv

    x, z = simulate(6.0, 4.0, 15.0, n=300, seed=6)
    rng = np.random.default_rng(6)
    T = rng.uniform(100, 300, size=x.size)
    t_x = rng.uniform(0.2, 1.0, size=x.size) * T
    z[0] = 0.0  # a repeat buyer whose repeat orders were all free
    out = profile_clv(x, t_x, T, z, horizon_days=90, discount_monthly=0.01, margin=1.0)
    assert out is not None
    gg = rs.profiles.GammaGamma().fit(np.where(z > 0, x, 0), z)
    assert out["expected_order_value"][0] == pytest.approx(gg.mean_spend())
    assert out["clv"][0] > 0
