"""The one logistic regression: `fit_logistic` and `logistic_logit`.

L2-penalised logistic regression fitted by Newton's method on standardised features
(numpy only). Used by the churn calibrator (`recsys.profiles.ChurnCalibrator`), the
calibration of items due (`recsys.due_items`), `recsys.BuyAgain` and the learned
merge of `recsys.RepeatExplore`.

Thread independence: the fit runs BLAS on one thread (threadpoolctl), so its sums do
not depend on the machine's thread count, and `logistic_logit` folds the
standardisation into the weights and sums the columns in a fixed order without BLAS:
the same weights and log-odds, bit for bit, at any thread count, and a row's value
does not depend on the other rows (a shard of customers gets the values it gets in
the whole table).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits

from recsys.exceptions import InputDataError

__all__ = ["LogisticFit", "fit_logistic", "logistic_logit", "logistic_probability"]


class LogisticFit(NamedTuple):
    """A fitted logistic regression on standardised features.

    Attributes
    ----------
    mean, scale
        Column means and standard deviations of the training features (scale 1 for a
        constant column).
    coef
        Weights of the standardised columns, then the intercept (last).
    covariance
        Covariance of ``(slopes on the raw columns..., intercept on the raw scale)``:
        the inverse of the penalised Hessian of the negative log-likelihood at the
        optimum, carried to the raw scale (NaN where it is singular).
    converged
        Whether the Newton steps fell below the tolerance.
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    coef: NDArray[np.float64]
    covariance: NDArray[np.float64]
    converged: bool

    @property
    def raw_coef(self) -> NDArray[np.float64]:
        """Slopes on the raw (unstandardised) columns, then the raw intercept."""
        slope = self.coef[:-1] / self.scale
        return np.append(slope, self.coef[-1] - float(np.sum(self.mean * slope)))


def _loss(
    z: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64], pen: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """The penalised loss at ``w`` and the linear predictor ``z @ w`` (the next Newton
    step starts from it: not computed twice)."""
    eta = z @ w
    return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * np.sum(pen * w * w)), eta


def fit_logistic(x: ArrayLike, y: ArrayLike, l2: float = 0.0, iterations: int = 50) -> LogisticFit:
    """L2-penalised logistic regression by Newton's method on standardised features.

    Minimises ``sum_i [log(1 + exp(eta_i)) - y_i eta_i] + l2 / 2 * |w|^2`` with
    ``eta = z @ w + w_0``, ``z`` the standardised columns of ``x``; the intercept
    ``w_0`` is not penalised. A Newton step that does not lower the objective is
    halved (at most 30 times), so separable data stop at large finite weights.

    Parameters
    ----------
    x
        Features, shape ``(n, k)``.
    y
        Outcomes in {0, 1}, shape ``(n,)``.
    l2
        Penalty on the squared standardised weights (a total, not per row).
    iterations
        Most Newton steps.

    Returns
    -------
    LogisticFit

    Raises
    ------
    InputDataError
        Mismatched shapes, no rows, non-finite features or outcomes outside {0, 1}.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 1))
    >>> y = (rng.random(4000) < 1 / (1 + np.exp(-(1.0 + 2.0 * x[:, 0])))).astype(float)
    >>> np.round(fit_logistic(x, y).raw_coef, 1).tolist()  # slope, intercept
    [2.0, 1.0]
    """
    xx = np.asarray(x, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    if xx.ndim != 2 or yy.ndim != 1 or xx.shape[0] != yy.size or yy.size == 0:
        raise InputDataError(
            f"logistic regression needs x of shape (n, k) and y of shape (n,) with n > 0, "
            f"got {xx.shape} and {yy.shape}"
        )
    if not np.all(np.isfinite(xx)):
        raise InputDataError("logistic regression features contain NaN or inf")
    if not np.all((yy == 0) | (yy == 1)):
        raise InputDataError("logistic regression outcomes must be 0 or 1")
    mean = xx.mean(axis=0)
    scale = xx.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([(xx - mean) / scale, np.ones(len(xx))])
    # z times each row's p (1 - p): one buffer for every step, in z's memory layout (the
    # BLAS call, and so the sums' order, depends on it)
    weighted = np.empty_like(z)
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], float(l2))
    penalty[-1] = 0.0
    converged = False
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore"):
        current, eta = _loss(z, yy, w, penalty)
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-eta))
            grad = z.T @ (p - yy) + penalty * w
            np.multiply(z, (p * (1.0 - p))[:, None], out=weighted)
            hess = weighted.T @ z + np.diag(penalty + 1e-9)
            step = np.linalg.solve(hess, grad)
            trial = w - step
            value, trial_eta = _loss(z, yy, trial, penalty)
            halvings = 0
            while not (np.isfinite(value) and value <= current) and halvings < 30:
                step = step / 2.0
                trial = w - step
                value, trial_eta = _loss(z, yy, trial, penalty)
                halvings += 1
            if not np.isfinite(value) or value > current:
                break
            w, current, eta = trial, value, trial_eta
            if np.abs(step).max() < 1e-8:
                converged = True
                break
        p = 1.0 / (1.0 + np.exp(-eta))
        np.multiply(z, (p * (1.0 - p))[:, None], out=weighted)
        hess = weighted.T @ z + np.diag(penalty)
    covariance = _raw_covariance(hess, mean, scale)
    return LogisticFit(mean, scale, w, covariance, converged)


def _raw_covariance(
    hess: NDArray[np.float64], mean: NDArray[np.float64], scale: NDArray[np.float64]
) -> NDArray[np.float64]:
    k = mean.size
    try:  # not positive definite (e.g. separated outcomes): no covariance
        np.linalg.cholesky(hess)
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full((k + 1, k + 1), np.nan)
    # raw slope_j = w_j / scale_j; raw intercept = w_0 - sum_j mean_j w_j / scale_j
    jac = np.zeros((k + 1, k + 1))
    jac[:k, :k] = np.diag(1.0 / scale)
    jac[k, :k] = -mean / scale
    jac[k, k] = 1.0
    return np.asarray(jac @ cov @ jac.T, dtype=np.float64)


def logistic_logit(fit: LogisticFit | tuple[np.ndarray, ...], x: ArrayLike) -> NDArray[np.float64]:
    """The log-odds of a `fit_logistic` result for the rows of ``x``.

    The standardisation is folded into the weights and the columns are summed in a
    fixed order (no BLAS): the same value at any thread count, no copy of ``x``.
    ``fit`` may also be the tuple ``(mean, scale, coef)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = (np.array([1.0]), np.array([2.0]), np.array([4.0, 0.5]))
    >>> logistic_logit(w, np.array([[3.0]])).tolist()  # (3 - 1) / 2 * 4 + 0.5
    [4.5]
    """
    mean, scale, coef = fit[0], fit[1], fit[2]
    xx = np.asarray(x, dtype=np.float64)
    slope = coef[:-1] / scale
    out = np.full(len(xx), coef[-1] - float(np.sum(mean * slope)))
    for j in range(xx.shape[1]):
        out += xx[:, j] * slope[j]
    return out


def logistic_probability(
    fit: LogisticFit | tuple[np.ndarray, ...], x: ArrayLike
) -> NDArray[np.float64]:
    """``1 / (1 + exp(-logit))`` of `logistic_logit`, computed without overflow.

    Examples
    --------
    >>> import numpy as np
    >>> w = (np.array([0.0]), np.array([1.0]), np.array([1.0, 0.0]))
    >>> logistic_probability(w, np.array([[0.0], [1000.0]])).tolist()
    [0.5, 1.0]
    """
    eta = logistic_logit(fit, x)
    return np.asarray(0.5 + 0.5 * np.tanh(0.5 * eta), dtype=np.float64)
