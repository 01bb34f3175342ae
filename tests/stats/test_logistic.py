"""The one logistic regression against a scipy reference, and thread independence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from recsys.exceptions import InputDataError
from recsys.stats.logistic import fit_logistic, logistic_logit, logistic_probability


def _data(n: int = 3000, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) * np.arange(1, k + 1) + np.arange(k)  # unequal scales
    eta = 0.5 + (x - np.arange(k)) @ (np.linspace(1.0, -0.5, k) / np.arange(1, k + 1))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    return x, y


def _scipy_reference(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Plain scipy fit on the same objective (standardised slopes penalised), returned as
    raw slopes + raw intercept."""
    mean, sd = x.mean(axis=0), x.std(axis=0)
    z = np.column_stack([(x - mean) / sd, np.ones(len(x))])

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        eta = z @ w
        value = np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * l2 * np.sum(w[:-1] ** 2)
        grad = z.T @ (1.0 / (1.0 + np.exp(-eta)) - y)
        grad[:-1] += l2 * w[:-1]
        return float(value), grad

    w = optimize.minimize(
        objective, np.zeros(z.shape[1]), jac=True, method="BFGS", options={"gtol": 1e-10}
    ).x
    slope = w[:-1] / sd
    return np.append(slope, w[-1] - np.sum(mean * slope))


@pytest.mark.parametrize("l2", [0.0, 5.0, 500.0])
def test_matches_a_scipy_reference_fit(l2: float) -> None:
    x, y = _data()
    fit = fit_logistic(x, y, l2=l2)
    assert fit.converged
    np.testing.assert_allclose(fit.raw_coef, _scipy_reference(x, y, l2), rtol=1e-6, atol=1e-7)
    # the folded log-odds equal the plain linear predictor on the raw columns
    raw = fit.raw_coef
    np.testing.assert_allclose(logistic_logit(fit, x), x @ raw[:-1] + raw[-1], rtol=1e-10)


def test_covariance_is_the_inverse_fisher_information() -> None:
    x, y = _data(n=2000, k=2, seed=3)
    fit = fit_logistic(x, y)
    design = np.column_stack([x, np.ones(len(x))])
    p = 1.0 / (1.0 + np.exp(-(design @ fit.raw_coef)))
    info = (design * (p * (1 - p))[:, None]).T @ design
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(info), rtol=1e-5)


def test_standard_errors_match_the_spread_over_simulations() -> None:
    rng = np.random.default_rng(7)
    estimates, reported = [], []
    for _ in range(200):
        x = rng.normal(size=(400, 1))
        y = (rng.random(400) < 1.0 / (1.0 + np.exp(-(0.3 + 1.2 * x[:, 0])))).astype(float)
        fit = fit_logistic(x, y)
        estimates.append(fit.raw_coef)
        reported.append(np.sqrt(np.diag(fit.covariance)))
    spread = np.std(estimates, axis=0)
    assert np.mean(reported, axis=0) == pytest.approx(spread, rel=0.15)


def test_separable_data_stop_at_finite_weights() -> None:
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    fit = fit_logistic(x, y)
    assert np.all(np.isfinite(fit.coef))
    p = logistic_probability(fit, x)
    assert np.all(p[:2] < 0.01)
    assert np.all(p[2:] > 0.99)


def test_a_row_does_not_depend_on_the_other_rows() -> None:
    x, y = _data(n=5000, k=6)
    fit = fit_logistic(x, y, l2=1.0)
    whole = logistic_logit(fit, x)
    assert np.array_equal(logistic_logit(fit, x[1234:1301]), whole[1234:1301])


def test_bad_input() -> None:
    with pytest.raises(InputDataError, match="shape"):
        fit_logistic(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(InputDataError, match="NaN"):
        fit_logistic(np.array([[np.nan], [1.0]]), np.array([0.0, 1.0]))
    with pytest.raises(InputDataError, match="0 or 1"):
        fit_logistic(np.array([[0.0], [1.0]]), np.array([0.0, 2.0]))


def test_same_weights_and_logits_at_one_and_two_threads() -> None:
    from tests._subprocess import same_output_at_one_and_two_threads

    out = same_output_at_one_and_two_threads(
        """
        import numpy as np
        from recsys.stats.logistic import fit_logistic, logistic_logit
        rng = np.random.default_rng(0)
        x = rng.normal(size=(40_000, 24))
        y = (rng.random(40_000) < 1 / (1 + np.exp(-x[:, :3].sum(axis=1)))).astype(float)
        fit = fit_logistic(x, y, l2=1.0)
        print(fit.coef.tobytes().hex())
        print(fit.covariance.tobytes().hex())
        print(logistic_logit(fit, x).tobytes().hex()[:4000])
        """
    )
    assert len(out.splitlines()) == 3
