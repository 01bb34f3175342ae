"""Standard errors of maximum-likelihood fits: the inverse Hessian at the optimum.

A model fitted by maximising a log-likelihood in log-parameters ``theta = log(params)``
gets its covariance from the observed information: the Hessian of the negative
log-likelihood at the optimum, computed by central differences of the analytic
gradient (`hessian_from_gradient`), inverted, and carried to the parameters by the
delta method (``cov(params) = diag(params) cov(theta) diag(params)``,
`log_parameter_covariance`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["hessian_from_gradient", "log_parameter_covariance"]


def hessian_from_gradient(
    gradient: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    theta: NDArray[np.float64],
    step: float = 1e-5,
) -> NDArray[np.float64]:
    """Hessian of a function from central differences of its gradient (symmetrised).

    Parameters
    ----------
    gradient
        ``theta -> gradient`` of the function.
    theta
        The point (e.g. the optimum).
    step
        Difference step, relative to ``max(1, |theta_k|)``.

    Examples
    --------
    >>> import numpy as np
    >>> grad = lambda t: np.array([2 * t[0] + t[1], t[0] + 6 * t[1]])  # x^2 + xy + 3y^2
    >>> hessian_from_gradient(grad, np.array([0.3, -1.0])).round(6).tolist()
    [[2.0, 1.0], [1.0, 6.0]]
    """
    theta = np.asarray(theta, dtype=np.float64)
    k = theta.size
    out = np.empty((k, k))
    for j in range(k):
        h = step * max(1.0, abs(float(theta[j])))
        e = np.zeros(k)
        e[j] = h
        out[:, j] = (np.asarray(gradient(theta + e)) - np.asarray(gradient(theta - e))) / (2 * h)
    return (out + out.T) / 2.0


def log_parameter_covariance(
    hessian: NDArray[np.float64], params: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Covariance of ``params`` from the Hessian of the negative log-likelihood in
    ``log(params)`` (delta method); all NaN where the Hessian is not positive definite
    (the data do not identify the parameters).

    Examples
    --------
    >>> import numpy as np
    >>> cov = log_parameter_covariance(np.array([[4.0]]), np.array([2.0]))
    >>> float(np.sqrt(cov[0, 0]))  # sd(log p) = 0.5, so sd(p) = 2 * 0.5
    1.0
    """
    hessian = np.asarray(hessian, dtype=np.float64)
    params = np.asarray(params, dtype=np.float64)
    nan = np.full(hessian.shape, np.nan)
    if not np.all(np.isfinite(hessian)):
        return nan
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return nan
    cov_log = np.linalg.inv(hessian)
    return np.asarray(cov_log * np.outer(params, params), dtype=np.float64)
