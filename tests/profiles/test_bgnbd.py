"""BG/NBD: published log-likelihood, parameter recovery from simulated data, predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from recsys.profiles.bgnbd import bgnbd_log_likelihood

# CDNOW estimates reported by Fader, Hardie & Lee (2005), time in weeks.
TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _published_likelihood(params, x, t_x, T) -> float:
    """Eq. (6) of Fader, Hardie & Lee (2005), written with Beta and Gamma functions directly."""
    r, alpha, a, b = params
    common = special.beta(a, b + x) / special.beta(a, b) * special.gamma(r + x) * alpha**r
    common /= special.gamma(r)
    alive = common / (alpha + T) ** (r + x)
    dead = 0.0
    if x > 0:
        dead = (
            special.beta(a + 1, b + x - 1)
            / special.beta(a, b)
            * special.gamma(r + x)
            * alpha**r
            / (special.gamma(r) * (alpha + t_x) ** (r + x))
        )
    return float(alive + dead)


def simulate(n: int, params: dict[str, float], T_range: tuple[float, float], seed: int):
    """Purchases of n customers from the BG/NBD story (dropout only after a repeat purchase)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(*T_range, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, T


def test_log_likelihood_matches_published_formula() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        params = rng.uniform([0.1, 0.5, 0.2, 0.5], [3.0, 20.0, 3.0, 5.0])
        x = float(rng.integers(0, 12))
        T = float(rng.uniform(1, 60))
        t_x = float(rng.uniform(0, T)) if x > 0 else 0.0
        ours = bgnbd_log_likelihood(params, [x], [t_x], [T])[0]
        assert ours == pytest.approx(np.log(_published_likelihood(params, x, t_x, T)), rel=1e-10)


def test_log_likelihood_stable_for_large_counts() -> None:
    ll = bgnbd_log_likelihood((0.5, 5.0, 0.8, 2.0), [5000.0], [300.0], [310.0])
    assert np.isfinite(ll[0])


def _observed_information(x, t_x, T, params):
    """Numerical Hessian of the total log-likelihood in log-parameter space."""
    theta = np.log([params[k] for k in ("r", "alpha", "a", "b")])
    h = 1e-3

    def f(th):
        return float(np.sum(bgnbd_log_likelihood(np.exp(th), x, t_x, T)))

    H = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            e_i, e_j = np.eye(4)[i] * h, np.eye(4)[j] * h
            H[i, j] = (
                f(theta + e_i + e_j)
                - f(theta + e_i - e_j)
                - f(theta - e_i + e_j)
                + f(theta - e_i - e_j)
            ) / (4 * h * h)
    return -H


def test_recovers_parameters_within_sampling_error() -> None:
    x, t_x, T = simulate(6000, TRUE, (27.0, 39.0), seed=7)
    bg = rs.profiles.BGNBD().fit(x, t_x, T)
    est = np.log([bg.params_[k] for k in ("r", "alpha", "a", "b")])
    truth = np.log([TRUE[k] for k in ("r", "alpha", "a", "b")])
    se = np.sqrt(np.diag(np.linalg.inv(_observed_information(x, t_x, T, bg.params_))))
    z = (est - truth) / se
    assert np.all(np.abs(z) < 3.5), (bg.params_, z)
    assert bg.converged_
    assert bg.log_likelihood_ == pytest.approx(bg.log_likelihood(x, t_x, T))


def test_expected_purchases_matches_monte_carlo() -> None:
    bg = rs.profiles.BGNBD()
    for params in (TRUE, {"r": 0.6, "alpha": 46.0, "a": 0.05, "b": 1.4}):
        bg.params_ = dict(params)
        rng = np.random.default_rng(0)
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], 400_000)
        p = rng.beta(params["a"], params["b"], 400_000)
        t = 30.0
        # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p
        mc = np.mean(-np.expm1(-lam * p * t) / p)
        assert float(bg.expected_purchases(t)) == pytest.approx(mc, rel=0.02)


def test_conditional_expectation_of_a_new_customer_is_unconditional() -> None:
    bg = rs.profiles.BGNBD()
    bg.params_ = dict(TRUE)
    cond = bg.conditional_expected_purchases(20.0, [0], [0.0], [0.0])[0]
    assert cond == pytest.approx(float(bg.expected_purchases(20.0)), rel=1e-10)


def test_p_alive_and_no_purchase_probabilities() -> None:
    bg = rs.profiles.BGNBD()
    bg.params_ = dict(TRUE)
    x = np.array([0, 2, 2, 10])
    t_x = np.array([0.0, 30.0, 5.0, 38.0])
    T = np.full(4, 39.0)
    alive = bg.p_alive(x, t_x, T)
    assert alive[0] == 1.0
    assert alive[1] > alive[2]  # a recent last purchase means more likely alive
    # eq. (13): 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    r, al, a, b = TRUE.values()
    direct = 1 / (1 + a / (b + 2 - 1) * ((al + 39) / (al + 5)) ** (r + 2))
    assert alive[2] == pytest.approx(direct)
    none = bg.probability_no_purchase(10.0, x, t_x, T)
    assert np.all((none > 0) & (none < 1))
    assert np.all(bg.probability_no_purchase(20.0, x, t_x, T) < none)


def test_fit_is_deterministic_and_refits_from_scratch() -> None:
    x, t_x, T = simulate(500, TRUE, (27.0, 39.0), seed=3)
    a = rs.profiles.BGNBD().fit(x, t_x, T).params_
    bg = rs.profiles.BGNBD().fit(x[:100], t_x[:100], T[:100])
    assert bg.fit(x, t_x, T).params_ == a


def test_bad_input_and_not_fitted() -> None:
    bg = rs.profiles.BGNBD()
    with pytest.raises(NotFittedError):
        bg.p_alive([1], [1.0], [2.0])
    with pytest.raises(InputDataError, match="repeat purchase"):
        bg.fit([0, 0, 0], [0, 0, 0], [5.0, 6.0, 7.0])
    with pytest.raises(InputDataError, match="same length"):
        bg.fit([1, 0], [1.0], [2.0, 3.0])
    with pytest.raises(InputDataError, match="exceed"):
        bg.fit([1, 2], [5.0, 1.0], [2.0, 3.0])
    with pytest.raises(InputDataError, match="NaN"):
        bg.fit([1, 2], [np.nan, 1.0], [2.0, 3.0])
    with pytest.raises(InputDataError, match="penalizer"):
        rs.profiles.BGNBD(penalizer=-1).fit([1, 2], [1.0, 1.0], [2.0, 3.0])


def test_non_convergence_warns_with_reason() -> None:
    x, t_x, T = simulate(300, TRUE, (27.0, 39.0), seed=5)
    with pytest.warns(DataWarning, match="did not converge"):
        bg = rs.profiles.BGNBD(max_iter=1).fit(x, t_x, T)
    assert all(np.isfinite(v) for v in bg.params_.values())


def test_unidentified_parameters_warn() -> None:
    # every repeat buyer buys steadily to the end: nobody seems to drop out
    x = np.array([5.0, 6.0, 4.0, 5.0, 0.0])
    T = np.array([50.0, 52.0, 49.0, 51.0, 10.0])
    t_x = np.array([49.9, 51.9, 48.9, 50.9, 0.0])
    with pytest.warns(DataWarning, match="extreme"):
        bg = rs.profiles.BGNBD().fit(x, t_x, T)
    assert all(np.isfinite(v) for v in bg.params_.values())


def test_analytic_gradient_matches_finite_differences() -> None:
    from recsys.profiles.bgnbd_likelihood import loglik_and_grad as _loglik_and_grad

    x, t_x, T = simulate(300, TRUE, (27.0, 39.0), seed=11)
    xv, xi = np.unique(x, return_inverse=True)
    w = np.ones_like(x)
    theta = np.log([0.4, 3.0, 0.9, 2.0])
    ll, grad = _loglik_and_grad(theta, xv, xi, t_x, T, w)
    assert ll == pytest.approx(float(np.sum(bgnbd_log_likelihood(np.exp(theta), x, t_x, T))))
    h = 1e-6
    for k in range(4):
        e = np.eye(4)[k] * h
        up = _loglik_and_grad(theta + e, xv, xi, t_x, T, w)[0]
        down = _loglik_and_grad(theta - e, xv, xi, t_x, T, w)[0]
        assert grad[k] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-6)


def test_quadrature_matches_closed_form_and_rescues_overflow() -> None:
    from recsys.profiles.bgnbd import _alive_expectation_quadrature

    bg = rs.profiles.BGNBD()
    bg.params_ = dict(TRUE)
    x = np.array([0.0, 1.0, 3.0, 7.0])
    t_x = np.array([0.0, 10.0, 20.0, 35.0])
    T = np.array([39.0, 39.0, 30.0, 38.0])
    closed = bg.conditional_expected_purchases(26.0, x, t_x, T) / bg.p_alive(x, t_x, T)
    quad = _alive_expectation_quadrature(26.0, x, T, *TRUE.values())
    assert quad == pytest.approx(closed, rel=1e-6)
    # r -> infinity at fixed mean rate r / alpha: the closed form overflows
    bg.params_ = {"r": 6e4, "alpha": 4e6, "a": 6.5, "b": 130.0}
    values = bg.conditional_expected_purchases(90.0, x, t_x, T)
    assert np.all(np.isfinite(values))
    assert np.all(values > 0)
    # nearly deterministic rate 0.015/day, dropout ~5% per purchase: about 90 * 0.015 purchases
    assert values[0] == pytest.approx(90 * 6e4 / (4e6 + 39), rel=0.05)


def test_arguments_are_named_after_the_model_and_profile_names_are_refused() -> None:
    x, t_x, T = simulate(300, TRUE, (27.0, 39.0), seed=3)
    fitted = rs.profiles.BGNBD().fit(x=x, t_x=t_x, T=T)
    assert fitted.params_ == rs.profiles.BGNBD().fit(x, t_x, T).params_
    assert np.array_equal(fitted.p_alive(x, t_x, T), fitted.p_alive(x=x, t_x=t_x, T=T))
    ll = bgnbd_log_likelihood((1.0, 1.0, 1.0, 1.0), x=[0], t_x=[0.0], T=[1.0])
    assert ll[0] == pytest.approx(-np.log(2.0))
    with pytest.raises(TypeError, match="'frequency'"):
        rs.profiles.BGNBD().fit(frequency=x, t_x=t_x, T=T)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'recency'"):
        fitted.p_alive(x, recency=t_x, T=T)  # type: ignore[call-arg]


def test_fit_profiles_uses_the_profile_columns_as_build_profiles_does() -> None:
    from tests._purchases import purchases_frame
    from tests.profiles.test_build import AS_OF, _rows

    config = rs.profiles.ProfileConfig(calibrate_churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(purchases_frame(_rows()), as_of=AS_OF, config=config)
        bg = rs.profiles.BGNBD().fit_profiles(profiles)
    x, t_x, T = rs.profiles.bgnbd_inputs(profiles)
    # x counts repeat orders, t_x runs from the first order to the last purchase
    assert x.tolist() == (profiles["frequency"].to_numpy() - 1).tolist()
    expected_t_x = np.where(x > 0, T - profiles["recency_days"].to_numpy(), 0.0)
    assert t_x == pytest.approx(expected_t_x)
    assert T.tolist() == profiles["tenure_days"].to_list()
    repeat = x > 0
    assert profiles["p_alive"].to_numpy()[repeat] == pytest.approx(bg.p_alive(x, t_x, T)[repeat])
    with pytest.raises(InputDataError, match=r"lack the columns \['tenure_days'\]"):
        rs.profiles.bgnbd_inputs(profiles.drop("tenure_days"))
