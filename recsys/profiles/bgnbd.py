"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

Each customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)`` while alive and,
right after each purchase, drops out for good with probability
``p ~ Beta(a, b)``. From each customer's repeat-purchase count ``x`` (purchases
after the first), the time of the last purchase since the first ``t_x``
(recency in the BG/NBD sense) and the time since the first purchase ``T``, the
model gives the probability the customer is still alive and the purchases
expected in a future period.

References
----------
P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science
24(2):275-284. The log-likelihood is eq. (6) of the paper, written with
``gammaln``/``logaddexp`` as in the ``lifetimes`` package.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, ParamSpec, TypeVar

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy import special

from recsys._validation import InstanceOf, Interval, MappingOf, Options, check_param
from recsys.data.sources import to_frame
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from recsys.models.schema import Array, Spec, Value
from recsys.profiles.base import CustomerModel, as_float_array
from recsys.profiles.bgnbd_likelihood import loglik_and_grad, maximise
from recsys.stats.likelihood import hessian_from_gradient, log_parameter_covariance

__all__ = ["BGNBD", "bgnbd_inputs", "bgnbd_log_likelihood"]

_PARAM_NAMES = ("r", "alpha", "a", "b")
_P = ParamSpec("_P")
_R = TypeVar("_R")
_PROFILE_COLUMNS = ("frequency", "recency_days", "tenure_days")


def bgnbd_inputs(
    profiles: Any,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """BG/NBD's ``(x, t_x, T)`` in days from profile columns (`recsys.build_profiles`).

    ``x = frequency - 1`` (repeat orders), ``T = tenure_days`` (days since the
    first order), ``t_x = T - recency_days`` (days from the first order to the
    last purchase; 0 for one-time buyers). The profile's ``frequency`` counts
    *all* orders and its ``recency_days`` is measured back from ``as_of``; BG/NBD's
    ``x`` counts repeat orders and its ``t_x`` forward from the first order.

    Parameters
    ----------
    profiles
        A frame with ``frequency``, ``recency_days`` and ``tenure_days``.

    Examples
    --------
    >>> import polars as pl
    >>> p = pl.DataFrame({"frequency": [1, 3], "recency_days": [5.0, 2.0],
    ...                   "tenure_days": [5.0, 40.0]})
    >>> [a.tolist() for a in bgnbd_inputs(p)]
    [[0.0, 2.0], [0.0, 38.0], [5.0, 40.0]]
    """
    frame = to_frame(profiles)
    missing = [c for c in _PROFILE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"profiles lack the columns {missing} (expected the output of rs.build_profiles); "
            f"found {frame.columns}"
        )
    big_t = frame["tenure_days"].cast(pl.Float64).to_numpy()
    recency = frame["recency_days"].cast(pl.Float64).to_numpy()
    x = frame["frequency"].cast(pl.Float64).to_numpy() - 1.0
    t_x = np.clip(big_t - recency, 0.0, None)
    t_x[x == 0] = 0.0
    return x, t_x, big_t


def bgnbd_log_likelihood(
    params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer BG/NBD log-likelihood, computed stably in log space.

    ``log L = log G(r+x) - log G(r) + r log(alpha) + log B(a, b+x) - log B(a, b)
    + log[(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)]``
    with the last log taken by ``logaddexp``.

    Parameters
    ----------
    params
        ``(r, alpha, a, b)``, all > 0.
    x, t_x, T
        Repeat purchases ``x``, time of the last purchase since the first ``t_x``
        and age ``T`` per customer (same time unit as ``alpha``).

    Examples
    --------
    >>> float(bgnbd_log_likelihood((1.0, 1.0, 1.0, 1.0), [0], [0.0], [1.0])[0])
    -0.6931471805599453
    """
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    big_t = np.asarray(T, dtype=np.float64)
    head = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    alive_term = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    dead_term = np.full_like(x, -np.inf)
    xr = x[repeat]
    dead_term[repeat] = np.log(a) - np.log(b + xr - 1.0) - (r + xr) * np.log(alpha + t_x[repeat])
    return np.asarray(head + np.logaddexp(alive_term, dead_term), dtype=np.float64)


def _check_rft(
    x_in: ArrayLike, t_x_in: ArrayLike, T: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    x = as_float_array("x", x_in)
    t_x = as_float_array("t_x", t_x_in)
    big_t = as_float_array("T", T)
    if not (x.shape == t_x.shape == big_t.shape):
        raise InputDataError(
            f"x, t_x and T must have the same length, got {x.size}, {t_x.size}, {big_t.size}"
        )
    for name, arr in (("x", x), ("t_x", t_x), ("T", big_t)):
        require_finite_nonnegative(name, arr)
    if np.any(x != np.round(x)):
        raise InputDataError("x must hold whole numbers of repeat purchases")
    if np.any(t_x > big_t + 1e-9):
        raise InputDataError("t_x must not exceed T for any customer")
    if np.any((x == 0) & (t_x != 0)):
        raise InputDataError("t_x must be 0 for customers with x = 0 (no repeat purchase)")
    return x, t_x, big_t


def _durations(name: str, t: Any) -> NDArray[np.float64]:
    """``t`` (a number or array of days) as float64, finite and >= 0, or InputDataError."""
    shape = () if isinstance(t, (str, bytes)) else np.shape(t)
    tt = as_float_array(name, t).reshape(shape)
    require_finite_nonnegative(name, tt)
    return tt


def require_finite_nonnegative(name: str, arr: NDArray[np.float64], hint: str = "") -> None:
    """Raise `InputDataError` naming ``name`` if ``arr`` has NaN/inf or negatives."""
    if not np.all(np.isfinite(arr)):
        raise InputDataError(
            f"{name} must be finite (no NaN/inf), found {int(np.sum(~np.isfinite(arr)))}"
        )
    if np.any(arr < 0):
        raise InputDataError(
            f"{name} must be >= 0, found {int(np.sum(arr < 0))} negative values{hint}"
        )


def _alive_expectation_quadrature(
    t: float,
    x: NDArray[np.float64],
    big_t: NDArray[np.float64],
    r: float,
    alpha: float,
    a: float,
    b: float,
    nodes: int = 48,
) -> NDArray[np.float64]:
    """E[purchases in (T, T + t] | alive at T] by quadrature over the dropout probability.

    Given ``p``, integrating the rate over its posterior ``Gamma(r + x, alpha + T)``
    gives ``(1 - ((alpha + T) / (alpha + T + p t)) ** (r + x)) / p``; ``p`` has the
    posterior ``Beta(a, b + x)``, integrated with Gauss-Jacobi nodes per distinct ``x``.
    """
    out = np.empty_like(x)
    for xv in np.unique(x):
        rows = x == xv
        u, w = special.roots_jacobi(nodes, b + xv - 1.0, a - 1.0)
        p = (1.0 + u) / 2.0
        w = w / w.sum()
        scale = alpha + big_t[rows, None]
        log_ratio = np.log(scale) - np.log(scale + p[None, :] * t)
        inner = -np.expm1((r + xv) * log_ratio) / p[None, :]
        out[rows] = inner @ w
    return out


def _away_from_one(a: float) -> float:
    return a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9


def _extreme(log_params: NDArray[np.float64]) -> list[str]:
    hit = np.abs(log_params) > EXTREME_LOG_PARAMETER
    return [n for n, h in zip(_PARAM_NAMES, hit, strict=True) if h]


def _predictions_finite(
    log_params: NDArray[np.float64],
    scale: float,
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    big_t: NDArray[np.float64],
) -> bool:
    """Whether the expected purchases and P(alive) of the fitted customers are finite
    over a future as long as the mean age (rescaled time)."""
    probe = BGNBD()
    r, alpha, a, b = np.exp(log_params)
    probe.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = probe.conditional_expected_purchases(1.0, x, t_x / scale, big_t / scale)
        none = probe.probability_no_purchase(1.0, x, t_x / scale, big_t / scale)
    return bool(
        np.all(np.isfinite(expected)) and np.all(expected >= 0) and np.all(np.isfinite(none))
    )


#: Beyond ``exp(+-EXTREME_LOG_PARAMETER)`` (in time rescaled to mean ``T`` = 1) a BG/NBD
#: parameter counts as extreme: the data barely identify it.
EXTREME_LOG_PARAMETER = 8.0
#: The light penalty on the log-parameters of the refit when the plain maximum
#: likelihood is extreme or gives non-finite predictions.
RESCUE_PENALIZER = 0.01
STATUSES = ("converged", "not_converged", "penalized", "unidentified")


class BGNBD(CustomerModel):
    """Beta-geometric / negative binomial model of repeat purchases (BG/NBD).

    Parameters
    ----------
    penalizer
        L2 penalty on the log-parameters' distance from 0 (0 = plain maximum
        likelihood); a small value steadies fits on tiny or degenerate data.
    max_iter
        Iteration cap of the L-BFGS-B optimiser.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}`` at the maximum likelihood.
    covariance_ : ndarray of shape (4, 4)
        Covariance of the parameters (inverse Hessian of the negative log-likelihood
        at the optimum, delta method from the log-parameters); NaN where the data do
        not identify them. `summary` shows its standard errors.
    log_likelihood_ : float
        Total log-likelihood at ``params_``.
    n_customers_ : int
    converged_ : bool
    status_ : str
        ``"converged"``; ``"not_converged"`` (the optimiser stopped early);
        ``"penalized"`` (the plain maximum likelihood was extreme or gave non-finite
        predictions, and the refit with `RESCUE_PENALIZER` is kept); ``"unidentified"``
        (even the penalised fit is extreme or its predictions are not finite: the data
        do not identify the model and its predictions should not be used;
        `recsys.build_profiles` then falls back to a stated rule).
    diagnosis_ : str
        Why the status is not ``"converged"`` (empty when it is).

    Notes
    -----
    The model's inputs are ``x`` (repeat purchases: purchases after the first),
    ``t_x`` (time from the first to the last purchase) and ``T`` (time since the
    first purchase). They are *not* the profile columns ``frequency`` (all
    orders) and ``recency_days`` (time since the last purchase):
    `fit_profiles` converts those (`bgnbd_inputs`).

    Examples
    --------
    >>> import numpy as np, recsys as rs
    >>> x = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
    >>> t_x = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
    >>> T = np.full(10, 40.0)
    >>> bg = rs.profiles.BGNBD().fit(x, t_x, T)
    >>> sorted(bg.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(np.all((bg.p_alive(x, t_x, T) > 0) & (bg.p_alive(x, t_x, T) <= 1)))
    True
    >>> bg.summary().columns
    ['parameter', 'estimate', 'std_error', 'ci_low', 'ci_high']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "penalizer": [Interval(float, 0, None)],
        "max_iter": [Interval(int, 1, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (
        Value("params", (MappingOf(_PARAM_NAMES, Interval(float, 0, None, closed="neither")),)),
        Array("covariance", "float64", (4, 4)),
        Value("log_likelihood", (Interval(float, None, None),)),
        Value("n_customers", (Interval(int, 2, None),)),
        Value("converged", (InstanceOf(bool),)),
        Value("status", (Options(*STATUSES),)),
        Value("diagnosis", (InstanceOf(str),)),
    )

    def __init__(self, penalizer: float = 0.0, max_iter: int = 500) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fit
    def fit(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BGNBD:
        """Maximum-likelihood fit with scipy's L-BFGS-B on log-parameters.

        Parameters
        ----------
        x
            Repeat purchases per customer (purchases after the first).
        t_x
            Time from the first to the last purchase (0 when ``x == 0``).
        T
            Time since the first purchase (the customer's age), > 0.

        Raises
        ------
        InputDataError
            Bad parameters, shapes or values (text, NaN, negative), fewer than 2
            customers, no repeat purchase at all, or every customer with ``T == 0``.
            A fit the data do not identify does not raise: see ``status_``.

        Warns
        -----
        DataWarning
            Once, when ``status_`` is not ``"converged"``, with the diagnosis: the
            optimiser stopped without converging; a parameter is extreme (beyond
            ``exp(+-EXTREME_LOG_PARAMETER)`` in the time unit rescaled to mean
            ``T`` = 1; the search is bounded at ``exp(+-12)``), e.g. when nobody
            appears to drop out or purchase rates barely vary between customers, and
            the model was refitted with a light penalty; or the model is not
            identified at all. The parameters are always finite.
        """
        self._start_fit()
        x, t_x, big_t = _check_rft(x, t_x, T)
        if x.size < 2:
            raise InputDataError(f"BG/NBD needs at least 2 customers, got {x.size}")
        if not np.any(x > 0):
            raise InputDataError(
                "BG/NBD cannot be fitted: no customer has a repeat purchase (x > 0), "
                "so the purchase rate and dropout are not identifiable"
            )
        if not np.any(big_t > 0):
            raise InputDataError("BG/NBD cannot be fitted: every customer has T == 0")
        # Identical customers carry identical likelihood terms: fit on the distinct
        # (x, t_x, T) rows weighted by their counts.
        rows, counts = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
        ux, ut, uT = rows[:, 0], rows[:, 1], rows[:, 2]
        weights = counts.astype(np.float64)
        scale = float(np.mean(big_t)) or 1.0  # time unit so alpha starts near 1
        x_values, x_index = np.unique(ux, return_inverse=True)

        def solve(pen: float) -> tuple[NDArray[np.float64], Any]:
            return maximise(
                pen, int(self.max_iter), x_values, x_index, ut / scale, uT / scale, weights
            )

        log_params, result = solve(float(self.penalizer))
        status, diagnosis = "converged", ""
        extreme = _extreme(log_params)
        finite = _predictions_finite(log_params, scale, ux, ut, uT)
        if not result.success:
            status = "not_converged"
            diagnosis = (
                f"BG/NBD optimiser did not converge: {result.message}; parameters may be poor"
            )
        if extreme or not finite:
            what = (
                f"parameters {extreme} are extreme (beyond exp(+-{EXTREME_LOG_PARAMETER:g}) in "
                "rescaled time)"
                if extreme
                else "the maximum-likelihood parameters give non-finite predictions"
            )
            why = (
                "the data barely identify them (e.g. nobody appears to drop out, or "
                "purchase rates barely vary between customers)"
            )
            pen = max(float(self.penalizer), RESCUE_PENALIZER)
            rescued, rescue_result = solve(pen)
            still = _extreme(rescued)
            if still or not _predictions_finite(rescued, scale, ux, ut, uT):
                status = "unidentified"
                diagnosis = (
                    f"BG/NBD is not identified by these data: {what}: {why}; a refit with "
                    f"penalizer={pen:g} did not help"
                    + (f" (parameters {still} stay extreme)" if still else "")
                    + "; its predictions should not be used"
                )
            else:
                log_params, result = rescued, rescue_result
                status = "penalized"
                diagnosis = (
                    f"BG/NBD {what}: {why}; refitted with a light penalty on the "
                    f"log-parameters (penalizer={pen:g}), predictions use those values"
                )
        if diagnosis:
            warnings.warn(diagnosis, DataWarning, stacklevel=2)
        params = np.exp(log_params)
        params[1] *= scale  # alpha is in the time unit of the input
        theta = np.log(params)
        self.params_ = dict(zip(_PARAM_NAMES, (float(v) for v in params), strict=True))
        self.log_likelihood_ = float(np.sum(bgnbd_log_likelihood(params, x, t_x, big_t)))
        self.n_customers_ = int(x.size)
        self.converged_ = bool(result.success)
        self.status_ = status
        self.diagnosis_ = diagnosis

        def gradient(th: NDArray[np.float64]) -> NDArray[np.float64]:
            return -loglik_and_grad(th, x_values, x_index, ut, uT, weights)[1]

        with np.errstate(all="ignore"):
            hessian = hessian_from_gradient(gradient, theta)
        if status == "penalized":  # the curvature of the objective that was maximised
            hessian = hessian + 2.0 * max(
                float(self.penalizer), RESCUE_PENALIZER
            ) * x.size * np.eye(4)
        elif float(self.penalizer) > 0:
            hessian = hessian + 2.0 * float(self.penalizer) * x.size * np.eye(4)
        self.covariance_ = log_parameter_covariance(hessian, params)
        return self

    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        return (
            list(_PARAM_NAMES),
            np.array([self.params_[k] for k in _PARAM_NAMES]),
            self.covariance_,
        )

    def fit_profiles(self, profiles: Any) -> BGNBD:
        """Fit on customer profiles: the output of `recsys.build_profiles`.

        Converts the profile columns to the model's inputs in days with
        `bgnbd_inputs` (``x = frequency - 1``, ``t_x = tenure_days -
        recency_days``, ``T = tenure_days``), as ``build_profiles`` does for
        its churn columns, and calls `fit`.

        Examples
        --------
        >>> import warnings, recsys as rs
        >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     profiles = rs.build_profiles(purchases, as_of="2011-09-09")
        >>> bg = rs.profiles.BGNBD().fit_profiles(profiles)
        >>> bg.n_customers_ == profiles.height
        True
        """
        return self.fit(*bgnbd_inputs(profiles))

    # ------------------------------------------------------------ predictions
    def _params(self) -> tuple[float, float, float, float]:
        if "params_" not in self.__dict__:
            raise NotFittedError("this BGNBD is not fitted yet; call fit(x, t_x, T)")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def log_likelihood(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> float:
        """Total log-likelihood of the given customers under the fitted parameters."""
        x, t_x, big_t = _check_rft(x, t_x, T)
        return float(np.sum(bgnbd_log_likelihood(self._params(), x, t_x, big_t)))

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
        """P(customer still alive at T | x, t_x, T) (eq. 13 of the paper).

        Equals 1 for ``x == 0`` by construction of the model (a customer can
        only drop out right after a purchase).
        """
        r, alpha, a, b = self._params()
        x, t_x, big_t = _check_rft(x, t_x, T)
        out = np.ones_like(x)
        rep = x > 0
        xr = x[rep]
        log_ratio = (
            np.log(a)
            - np.log(b + xr - 1.0)
            + (r + xr) * (np.log(alpha + big_t[rep]) - np.log(alpha + t_x[rep]))
        )
        out[rep] = special.expit(-log_ratio)
        return out

    def expected_purchases(self, t: float | ArrayLike) -> NDArray[np.float64]:
        """E[X(t)]: purchases expected in ``t`` by a new customer (eq. 7).

        The closed form holds for any ``a != 1`` (for ``a < 1`` both factors are
        negative); at ``a == 1`` exactly it is evaluated at ``a = 1 + 1e-9``.
        """
        r, alpha, a, b = self._params()
        a = _away_from_one(a)
        tt = _durations("t", t)
        z = tt / (alpha + tt)
        hyp = special.hyp2f1(r, b, a + b - 1.0, z)
        return np.asarray((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + tt)) ** r * hyp))

    def conditional_expected_purchases(
        self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> NDArray[np.float64]:
        """E[Y(t) | x, t_x, T]: purchases expected in the next ``t`` (eq. 10).

        Valid for any fitted ``a`` (see `expected_purchases`). Where the
        Gauss hypergeometric function overflows (very large ``r``, e.g. when the
        data barely identify it), the same expectation is computed by
        Gauss-Jacobi quadrature over the dropout probability ``p``.
        """
        r, alpha, a, b = self._params()
        a = _away_from_one(a)
        x, t_x, big_t = _check_rft(x, t_x, T)
        t = float(check_param("t", t, Interval(float, 0, None)))
        z = t / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        log_disc = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
        with np.errstate(all="ignore"):
            numer = (a + b + x - 1.0) / (a - 1.0) * (1.0 - np.exp(log_disc) * hyp)
        bad = ~np.isfinite(numer) | (numer < 0)
        if np.any(bad):
            numer[bad] = _alive_expectation_quadrature(t, x[bad], big_t[bad], r, alpha, a, b)
        return np.asarray(numer * self.p_alive(x, t_x, big_t))

    def probability_no_purchase(
        self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> NDArray[np.float64]:
        """P(no purchase in (T, T + t] | x, t_x, T).

        A customer alive at ``T`` keeps the posterior rate
        ``Gamma(r + x, alpha + T)`` and cannot drop out before buying again, so
        ``P = 1 - P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``.
        """
        r, alpha, _, _ = self._params()
        x, t_x, big_t = _check_rft(x, t_x, T)
        t = float(check_param("t", t, Interval(float, 0, None)))
        none_if_alive = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t)))
        return np.asarray(1.0 - self.p_alive(x, t_x, big_t) * (1.0 - none_if_alive))

    def __repr__(self) -> str:
        fitted: Any = getattr(self, "params_", None)
        body = ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()) if fitted else "unfitted"
        return f"BGNBD({body})"
