"""BG/NBD's log-likelihood with its analytic gradient, and its maximisation.

The optimisation runs on log-parameters in time rescaled to mean ``T`` = 1 (so every
parameter starts near 1), with L-BFGS-B inside ``[-BOUND, BOUND]``; a penalty on the
squared log-parameters steadies fits the data barely identify (`recsys.profiles.BGNBD`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

__all__ = ["BOUND", "loglik_and_grad", "maximise"]

#: Bound of the search on each log-parameter (rescaled time).
BOUND = 12.0


def loglik_and_grad(
    log_params: NDArray[np.float64],
    x_values: NDArray[np.float64],
    x_index: NDArray[np.intp],
    t_x: NDArray[np.float64],
    big_t: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> tuple[float, NDArray[np.float64]]:
    """Weighted total log-likelihood and its gradient in log-parameters.

    The Gamma/Beta-function terms depend on ``x`` alone, so they are computed once
    per distinct ``x`` (``x_values``) and gathered with ``x_index``.
    """
    r, alpha, a, b = np.exp(log_params)
    xv = x_values
    head_x = special.gammaln(r + xv) + special.betaln(a, b + xv)
    head = head_x[x_index] - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    x = xv[x_index]
    repeat = x > 0
    log_alpha_t = np.log(alpha + big_t)
    log_alpha_tx = np.log(alpha + t_x)
    alive_term = -(r + x) * log_alpha_t
    with np.errstate(divide="ignore"):
        log_b_x1 = np.log(np.where(xv > 0, b + xv - 1.0, 1.0))
    dead_term = np.where(repeat, np.log(a) - log_b_x1[x_index] - (r + x) * log_alpha_tx, -np.inf)
    tail = np.logaddexp(alive_term, dead_term)
    ll = head + tail
    w_dead = np.exp(dead_term - tail)  # share of the "dropped out at t_x" term
    w_alive = 1.0 - w_dead
    dig_r = special.digamma(r + xv)
    dig_abx = special.digamma(a + b + xv)
    dig_bx = special.digamma(b + xv)
    d_r = (
        dig_r[x_index]
        - special.digamma(r)
        + np.log(alpha)
        - w_alive * log_alpha_t
        - w_dead * log_alpha_tx
    )
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + big_t) + w_dead / (alpha + t_x))
    d_ab = special.digamma(a + b)
    d_a = -dig_abx[x_index] + d_ab + w_dead / a
    inv_b_x1 = np.where(xv > 0, 1.0 / np.where(xv > 0, b + xv - 1.0, 1.0), 0.0)
    d_b = (
        dig_bx[x_index] - dig_abx[x_index] - special.digamma(b) + d_ab - w_dead * inv_b_x1[x_index]
    )
    grad = np.array(
        [
            r * float(weights @ d_r),
            alpha * float(weights @ d_alpha),
            a * float(weights @ d_a),
            b * float(weights @ d_b),
        ]
    )
    return float(weights @ ll), grad


def maximise(
    pen: float,
    max_iter: int,
    x_values: NDArray[np.float64],
    x_index: NDArray[np.intp],
    t_x: NDArray[np.float64],
    big_t: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> tuple[NDArray[np.float64], Any]:
    """The (penalised) maximum of the mean log-likelihood in rescaled log-parameters."""
    total = float(weights.sum())

    def objective(log_params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        ll, grad = loglik_and_grad(log_params, x_values, x_index, t_x, big_t, weights)
        value = -ll / total + pen * float(log_params @ log_params)
        gradient = -grad / total + 2.0 * pen * log_params
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros(4)
        return value, gradient

    with np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            np.zeros(4),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-BOUND, BOUND)] * 4,
            options={"maxiter": max_iter},
        )
    # the objective is finite at the start (all parameters 1) and the optimiser only
    # accepts lower values, so the optimum is finite
    return np.asarray(result.x, dtype=np.float64), result
