"""The Gamma-Gamma model of spend per order (Fader, Hardie & Lee 2005) and CLV.

A customer's order values are i.i.d. ``Gamma(p, nu)`` (shape ``p``, rate ``nu``), so
the mean of ``x`` order values is ``z_bar | x, nu ~ Gamma(p x, nu x)``; the rate
varies across customers as ``nu ~ Gamma(q, gamma)``. Integrating ``nu`` out gives
the per-customer marginal likelihood

``L(p, q, gamma | x, z_bar) = G(px + q) / (G(px) G(q)) * gamma^q x^(px) z_bar^(px - 1)
/ (gamma + x z_bar)^(px + q)``

and the posterior mean order value

``E[Z | x, z_bar] = (gamma + x z_bar) p / (p x + q - 1)``,

a weighted average of the population mean ``p gamma / (q - 1)`` and the customer's
own mean ``z_bar`` (weight ``p x / (p x + q - 1)`` on the latter); it needs ``q > 1``.

The model assumes that spend per order is independent of purchase frequency; check
it with the Pearson correlation of ``x`` and ``z_bar`` among repeat buyers
(`GammaGamma.frequency_spend_correlation_`; ``fit`` warns above
`CORRELATION_WARNING` in absolute value).

`clv` combines it with a fitted `BGNBD`: expected
orders per month times expected spend per order times a margin, discounted monthly.

References
----------
P. S. Fader, B. G. S. Hardie (2013), "The Gamma-Gamma Model of Monetary Value",
http://www.brucehardie.com/notes/025/; P. S. Fader, B. G. S. Hardie,
K. L. Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
Journal of Marketing Research 42(4):415-430.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from recsys._validation import InstanceOf, Interval, MappingOf, validate_params
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from recsys.models.schema import Array, Spec, Value
from recsys.profiles.base import CustomerModel, as_float_array
from recsys.profiles.bgnbd import BGNBD, require_finite_nonnegative
from recsys.profiles.churn import OwnRhythmRule
from recsys.stats.likelihood import hessian_from_gradient, log_parameter_covariance

__all__ = [
    "CORRELATION_WARNING",
    "DAYS_PER_MONTH",
    "GammaGamma",
    "clv",
    "discounted_purchases",
    "fit_profile_clv",
    "gammagamma_log_likelihood",
    "predict_profile_clv",
    "profile_clv",
]

_PARAM_NAMES = ("p", "q", "gamma")

#: ``|Pearson r|`` of frequency and mean spend among repeat buyers above which
#: `GammaGamma.fit` warns that the independence assumption is doubtful.
CORRELATION_WARNING = 0.3

#: Days per discounting period ("month") in `clv`, as in ``lifetimes``.
DAYS_PER_MONTH = 30.0

_CLV_CONSTRAINTS: dict[str, list[Any]] = {
    "horizon_days": [Interval(float, 0, None, closed="neither")],
    "discount_monthly": [Interval(float, 0, None)],
    "margin": [Interval(float, 0, None, closed="neither")],
}


def gammagamma_log_likelihood(
    params: ArrayLike, x: ArrayLike, mean_spend: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer Gamma-Gamma log-likelihood (customers with ``x > 0``).

    Parameters
    ----------
    params
        ``(p, q, gamma)``, all > 0.
    x
        Repeat orders (> 0).
    mean_spend
        Mean value ``z_bar`` of those orders (> 0).

    Examples
    --------
    >>> round(float(gammagamma_log_likelihood((1.0, 2.0, 1.0), [1], [1.0])[0]), 6)
    -1.386294
    """
    p, q, g = (float(v) for v in np.asarray(params, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    z = np.asarray(mean_spend, dtype=np.float64)
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(z)
        + px * np.log(x)
        - (px + q) * np.log(g + x * z),
        dtype=np.float64,
    )


def _loglik_and_grad(
    log_params: NDArray[np.float64],
    x: NDArray[np.float64],
    z: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> tuple[float, NDArray[np.float64]]:
    """Weighted total log-likelihood and its analytic gradient in log-parameters."""
    p, q, g = np.exp(log_params)
    ll = gammagamma_log_likelihood((p, q, g), x, z)
    px = p * x
    log_gxz = np.log(g + x * z)
    dig = special.digamma(px + q)
    d_p = x * (dig - special.digamma(px) + np.log(z) + np.log(x) - log_gxz)
    d_q = dig - special.digamma(q) + np.log(g) - log_gxz
    d_g = q / g - (px + q) / (g + x * z)
    grad = np.array([p * float(weights @ d_p), q * float(weights @ d_q), g * float(weights @ d_g)])
    return float(weights @ ll), grad


def _check_spend(
    x: ArrayLike, mean_spend: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = as_float_array("x", x)
    z = as_float_array("mean_spend", mean_spend)
    if x.shape != z.shape:
        raise InputDataError(
            f"x and mean_spend must have the same length, got {x.size} and {z.size}"
        )
    require_finite_nonnegative("x", x)
    require_finite_nonnegative("mean_spend", z, " (negative spend: drop returns or net them first)")
    if np.any(x != np.round(x)):
        raise InputDataError("x must hold whole numbers of repeat orders")
    return x, z


class GammaGamma(CustomerModel):
    """Gamma-Gamma model of the mean order value of repeat buyers.

    Parameters
    ----------
    penalizer
        L2 penalty on the log-parameters (0 = plain maximum likelihood).
    max_iter
        Iteration cap of the L-BFGS-B optimiser.

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "gamma"}`` at the maximum likelihood (``gamma`` in spend units;
        ``lifetimes`` calls it ``v``).
    log_likelihood_ : float
        Total log-likelihood of the fitted customers.
    n_customers_ : int
        Customers used in the fit (those with ``x > 0``).
    n_excluded_ : int
        Customers left out of the fit because ``x == 0``.
    frequency_spend_correlation_ : float
        Pearson correlation of ``x`` (purchase frequency) and ``mean_spend`` among the fitted
        customers (NaN when one of them is constant).
    converged_ : bool
    covariance_ : ndarray of shape (3, 3)
        Covariance of ``(p, q, gamma)`` (inverse Hessian of the negative
        log-likelihood at the optimum); `summary` shows its standard errors.

    Examples
    --------
    >>> import numpy as np, recsys as rs
    >>> x = np.array([1, 3, 2, 5, 1, 4, 2, 0])
    >>> z = np.array([30.0, 22.0, 35.0, 25.0, 20.0, 28.0, 33.0, 0.0])
    >>> gg = rs.profiles.GammaGamma().fit(x, z)
    >>> gg.n_customers_, gg.n_excluded_
    (7, 1)
    >>> spend = gg.conditional_expected_spend(x, z)
    >>> bool(spend[-1] == gg.mean_spend())  # one order only: the population mean
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "penalizer": [Interval(float, 0, None)],
        "max_iter": [Interval(int, 1, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (
        Value("params", (MappingOf(_PARAM_NAMES, Interval(float, 0, None, closed="neither")),)),
        Array("covariance", "float64", (3, 3)),
        Value("log_likelihood", (Interval(float, None, None),)),
        Value("n_customers", (Interval(int, 2, None),)),
        Value("n_excluded", (Interval(int, 0, None),)),
        Value("frequency_spend_correlation", (InstanceOf(float, "a number or NaN"),)),
        Value("converged", (InstanceOf(bool),)),
    )

    def __init__(self, penalizer: float = 0.0, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter

    def fit(self, x: ArrayLike, mean_spend: ArrayLike) -> GammaGamma:
        """Maximum-likelihood fit (L-BFGS-B on log-parameters, analytic gradient).

        Customers with ``x == 0`` carry no information on spend variation in this
        model and are excluded from the fit (counted in ``n_excluded_``).

        Parameters
        ----------
        x
            Repeat orders per customer (orders after the first; BG/NBD's ``x``).
        mean_spend
            Mean value of the repeat orders ``z_bar`` (ignored where ``x == 0``).

        Raises
        ------
        InputDataError
            Bad shapes, NaN, negative values (negative spend), a repeat buyer with
            ``mean_spend == 0``, fewer than 2 repeat buyers, or a non-finite optimum.

        Warns
        -----
        DataWarning
            The optimiser did not converge; ``q <= 1`` (the population mean spend
            is infinite); ``|frequency_spend_correlation_| > CORRELATION_WARNING``.
        """
        self._start_fit()
        x_all, z_all = _check_spend(x, mean_spend)
        rep = x_all > 0
        x, z = x_all[rep], z_all[rep]
        if np.any(z <= 0):
            raise InputDataError(
                f"mean_spend must be > 0 for customers with x > 0, found "
                f"{int(np.sum(z <= 0))} with 0 (free orders only?)"
            )
        if x.size < 2:
            raise InputDataError(f"Gamma-Gamma needs at least 2 customers with x > 0, got {x.size}")
        rows, counts = np.unique(np.column_stack([x, z]), axis=0, return_counts=True)
        ux, uz = rows[:, 0], rows[:, 1]
        weights = counts.astype(np.float64)
        scale = float(np.mean(z))  # spend unit so gamma starts near 1
        uz = uz / scale
        total = float(weights.sum())
        pen = float(self.penalizer)

        def objective(log_params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            ll, grad = _loglik_and_grad(log_params, ux, uz, weights)
            value = -ll / total + pen * float(log_params @ log_params)
            gradient = -grad / total + 2.0 * pen * log_params
            if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
                return 1e300, np.zeros(3)
            return value, gradient

        with np.errstate(all="ignore"):
            result = optimize.minimize(
                objective,
                np.zeros(3),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-15.0, 15.0)] * 3,
                options={"maxiter": int(self.max_iter)},
            )
        params = np.exp(result.x)
        params[2] *= scale
        if not np.all(np.isfinite(params)) or result.fun >= 1e299:
            raise InputDataError(
                f"Gamma-Gamma fit failed: non-finite likelihood or parameters ({result.message})"
            )
        if not result.success:
            warnings.warn(
                f"Gamma-Gamma optimiser did not converge: {result.message}; parameters may be poor",
                DataWarning,
                stacklevel=2,
            )
        if params[1] <= 1.0:
            warnings.warn(
                f"Gamma-Gamma q = {params[1]:.4g} <= 1: the population mean spend is infinite "
                "and conditional_expected_spend is undefined (heavy-tailed order values)",
                DataWarning,
                stacklevel=2,
            )
        with np.errstate(all="ignore"):
            corr = float(np.corrcoef(x, z)[0, 1]) if np.std(x) > 0 and np.std(z) > 0 else math.nan
        if math.isfinite(corr) and abs(corr) > CORRELATION_WARNING:
            warnings.warn(
                f"frequency and mean spend are correlated among repeat buyers (Pearson r = "
                f"{corr:.3f}, |r| > {CORRELATION_WARNING}): the Gamma-Gamma independence "
                "assumption is doubtful",
                DataWarning,
                stacklevel=2,
            )
        self.params_ = dict(zip(_PARAM_NAMES, (float(v) for v in params), strict=True))
        self.log_likelihood_ = float(np.sum(gammagamma_log_likelihood(params, x, z)))
        self.n_customers_ = int(x.size)
        self.n_excluded_ = int(x_all.size - x.size)
        self.frequency_spend_correlation_ = corr
        self.converged_ = bool(result.success)

        def gradient(th: NDArray[np.float64]) -> NDArray[np.float64]:
            return -_loglik_and_grad(th, ux, rows[:, 1], weights)[1]

        with np.errstate(all="ignore"):
            hessian = hessian_from_gradient(gradient, np.log(params))
        hessian = hessian + 2.0 * pen * x.size * np.eye(3)
        self.covariance_ = log_parameter_covariance(hessian, params)
        return self

    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        return (
            list(_PARAM_NAMES),
            np.array([self.params_[k] for k in _PARAM_NAMES]),
            self.covariance_,
        )

    def _params(self) -> tuple[float, float, float]:
        if "params_" not in self.__dict__:
            raise NotFittedError("this GammaGamma is not fitted yet; call fit(x, mean_spend)")
        p = self.params_
        if p["q"] <= 1.0:
            raise InputDataError(
                f"expected spend is undefined for the fitted q = {p['q']:.4g} <= 1 "
                "(population mean spend is infinite)"
            )
        return p["p"], p["q"], p["gamma"]

    def mean_spend(self) -> float:
        """Population mean order value ``p gamma / (q - 1)``."""
        p, q, g = self._params()
        return p * g / (q - 1.0)

    def conditional_expected_spend(
        self, x: ArrayLike, mean_spend: ArrayLike
    ) -> NDArray[np.float64]:
        """``E[Z | x, z_bar] = (gamma + x z_bar) p / (p x + q - 1)``.

        For ``x == 0`` (one order only) this is the population mean
        `mean_spend`, whatever ``mean_spend`` holds.
        """
        p, q, g = self._params()
        x, z = _check_spend(x, mean_spend)
        z = np.where(x > 0, z, 0.0)
        return np.asarray((g + x * z) * p / (p * x + q - 1.0), dtype=np.float64)

    def __repr__(self) -> str:
        fitted: Any = getattr(self, "params_", None)
        body = ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()) if fitted else "unfitted"
        return f"GammaGamma({body})"


def clv(
    transactions: BGNBD | OwnRhythmRule,
    spend: GammaGamma,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    mean_spend: ArrayLike,
    *,
    horizon_days: float = 365.0,
    discount_monthly: float = 0.01,
    margin: float = 1.0,
) -> NDArray[np.float64]:
    """Customer lifetime value over ``horizon_days``, discounted per month.

    ``CLV = margin * E[Z | x, z_bar] * sum_m (E[Y(t_m)] - E[Y(t_{m-1})]) / (1 + d)^(t_m / 30)``
    with ``t_m = min(30 m, horizon_days)`` for ``m = 1 .. ceil(horizon_days / 30)``,
    ``E[Y(t)]`` the BG/NBD conditional expected orders in the next ``t`` days and
    ``d = discount_monthly``: each month's expected orders are discounted at the
    month's end (a last partial month at the horizon), as ``lifetimes``'
    ``customer_lifetime_value`` does with ``freq="D"``. With ``d = 0`` it is the
    expected orders in the horizon times the expected spend per order.

    Parameters
    ----------
    transactions
        A `BGNBD` fitted with time in days (or the `OwnRhythmRule` in its place).
    spend
        A fitted `GammaGamma`.
    x, t_x, T
        BG/NBD inputs per customer (days).
    mean_spend
        Mean value of the repeat orders (ignored where ``x == 0``).
    horizon_days
        Length of the future window, days (> 0).
    discount_monthly
        Discount rate per 30-day month (>= 0), e.g. 0.01.
    margin
        Profit margin applied to spend (> 0; 1 = revenue).

    Examples
    --------
    >>> import numpy as np, recsys as rs
    >>> x = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
    >>> t_x = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
    >>> T = np.full(10, 40.0)
    >>> z = np.array([0, 30, 22, 0, 35, 25, 20, 0, 28, 33.0])
    >>> bg = rs.profiles.BGNBD().fit(x, t_x, T)
    >>> gg = rs.profiles.GammaGamma().fit(x, z)
    >>> value = rs.profiles.clv(bg, gg, x, t_x, T, z, horizon_days=90)
    >>> bool(np.all(value > 0))
    True
    """
    validate_params(
        "clv",
        {"horizon_days": horizon_days, "discount_monthly": discount_monthly, "margin": margin},
        _CLV_CONSTRAINTS,
    )
    horizon, d, m = float(horizon_days), float(discount_monthly), float(margin)
    per_order = spend.conditional_expected_spend(x, mean_spend)
    orders = discounted_purchases(transactions, x, t_x, T, horizon_days=horizon, discount_monthly=d)
    return np.asarray(m * per_order * orders, dtype=np.float64)


def discounted_purchases(
    transactions: BGNBD | OwnRhythmRule,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    horizon_days: float,
    discount_monthly: float,
) -> NDArray[np.float64]:
    """``sum_m (E[Y(t_m)] - E[Y(t_{m-1})]) / (1 + d)^(t_m / 30)``: the order factor of `clv`.

    Examples
    --------
    >>> import numpy as np, recsys as rs
    >>> bg = rs.profiles.BGNBD()
    >>> bg.params_ = {"r": 1.0, "alpha": 30.0, "a": 1.5, "b": 5.0}
    >>> flat = discounted_purchases(bg, [2], [50.0], [60.0], horizon_days=90, discount_monthly=0)
    >>> bool(np.isclose(flat[0], bg.conditional_expected_purchases(90, [2], [50.0], [60.0])[0]))
    True
    """
    n_months = math.ceil(float(horizon_days) / DAYS_PER_MONTH - 1e-12)
    value = np.zeros(np.asarray(x).size, dtype=np.float64)
    previous = np.zeros_like(value)
    for month in range(1, n_months + 1):
        t = min(month * DAYS_PER_MONTH, float(horizon_days))
        expected = transactions.conditional_expected_purchases(t, x, t_x, T)
        value += (expected - previous) / (1.0 + float(discount_monthly)) ** (t / DAYS_PER_MONTH)
        previous = expected
    return value


def profile_clv(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    mean_spend: ArrayLike,
    *,
    horizon_days: float,
    discount_monthly: float,
    margin: float,
) -> dict[str, NDArray[np.float64]] | None:
    """``expected_order_value`` and ``clv`` per customer, as in `recsys.build_profiles`.

    Fits BG/NBD on ``(x, t_x, T)`` (days) and Gamma-Gamma on the repeat
    buyers with a positive ``mean_spend`` (repeat buyers whose repeat orders were all
    free are fitted as one-order customers and get the population mean spend), then
    `clv`. Returns None with a `DataWarning` when
    either model cannot be fitted. Warnings of the fits (non-convergence, the
    frequency-spend correlation caveat) pass through.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
    >>> t_x = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
    >>> z = np.array([0, 30, 22, 0, 35, 25, 20, 0, 28, 33.0])
    >>> out = profile_clv(x, t_x, np.full(10, 40.0), z, horizon_days=90,
    ...                   discount_monthly=0.01, margin=1.0)
    >>> sorted(out)
    ['clv', 'expected_order_value']
    """
    try:
        models = fit_profile_clv(x, t_x, T, mean_spend)
        return predict_profile_clv(
            models,
            x,
            t_x,
            T,
            mean_spend,
            horizon_days=horizon_days,
            discount_monthly=discount_monthly,
            margin=margin,
        )
    except InputDataError as err:
        warnings.warn(f"CLV columns are null: {err}", DataWarning, stacklevel=3)
        return None


def fit_profile_clv(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    mean_spend: ArrayLike,
    transactions: BGNBD | OwnRhythmRule | None = None,
) -> tuple[BGNBD | OwnRhythmRule, GammaGamma]:
    """The two fits of `profile_clv` (on the whole population): BG/NBD and Gamma-Gamma.

    ``transactions``: a model of the purchase counts already fitted on these
    customers (not refitted). Raises `InputDataError` when either cannot be fitted.
    """
    x = as_float_array("x", x)
    z = as_float_array("mean_spend", mean_spend)
    bg = transactions if transactions is not None else BGNBD().fit(x, t_x, T)
    x_spend = np.where(z > 0, x, 0.0)  # all repeat orders free: as one-order customers
    return bg, GammaGamma().fit(x_spend, z)


def predict_profile_clv(
    models: tuple[BGNBD | OwnRhythmRule, GammaGamma],
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    mean_spend: ArrayLike,
    *,
    horizon_days: float,
    discount_monthly: float,
    margin: float,
) -> dict[str, NDArray[np.float64]]:
    """``expected_order_value`` and ``clv`` of any customers from `fit_profile_clv`'s models
    (element by element: a shard of the population gets its own rows' values)."""
    bg, gg = models
    x = np.asarray(x, dtype=np.float64)
    z = np.asarray(mean_spend, dtype=np.float64)
    x_spend = np.where(z > 0, x, 0.0)
    spend = gg.conditional_expected_spend(x_spend, z)
    orders = discounted_purchases(
        bg, x, t_x, T, horizon_days=horizon_days, discount_monthly=discount_monthly
    )
    value = float(margin) * spend * orders
    return {"expected_order_value": spend, "clv": value}
