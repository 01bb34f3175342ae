"""Churn risk: one-time-buyer survival curve, churn features and the calibrated churn model.

BG/NBD (`recsys.profiles.bgnbd`) says a customer with no repeat purchase is
alive with probability 1, which is known to be wrong. One-time buyers are
handled by `OneTimeBuyerSurvival`, a Kaplan-Meier curve of the time from
the first to the second purchase, estimated from the purchases before ``as_of``
only (customers who have not come back are censored at ``as_of``).

``churn_risk`` is the output of `ChurnCalibrator`, a small logistic
regression on features of the customer's history (see `churn_features`),
fitted by `build_profiles` at an internal cutoff
``as_of - horizon_days``: features from the purchases before the internal
cutoff, outcome = no purchase in ``[cutoff, as_of)``. Only data before
``as_of`` is ever used.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from recsys._validation import InstanceOf, Interval
from recsys.exceptions import InputDataError, ModelFormatError, NotFittedError
from recsys.models.schema import Array, Spec, Value
from recsys.profiles.base import CustomerModel, as_float_array
from recsys.stats.logistic import fit_logistic, logistic_probability

__all__ = [
    "FEATURE_NAMES",
    "ChurnCalibrator",
    "OneTimeBuyerSurvival",
    "OwnRhythmRule",
    "churn_features",
]


class OneTimeBuyerSurvival(CustomerModel):
    """Kaplan-Meier curve of days from the first to the second purchase.

    ``S(d)`` is the probability that a customer has not made a second purchase
    ``d`` whole days after the first. Customers without a second purchase are
    censored at their age (days from the first purchase to ``as_of``). Beyond
    the longest observed duration the curve is held flat (no information about
    later returns).

    Examples
    --------
    >>> import numpy as np
    >>> km = OneTimeBuyerSurvival().fit(np.array([1.5, 3.0, 10.0, 10.0]),
    ...                                 np.array([True, True, False, False]))
    >>> km.survival_[[0, 1, 2, 3, 10]].round(3).tolist()
    [1.0, 1.0, 0.75, 0.75, 0.5]
    """

    schema: ClassVar[tuple[Spec, ...]] = (
        Array("survival", "float64", ("days",), finite=True, low=0.0, high=1.0),
        Value("max_days", (Interval(int, 0, None),)),
        Value("n_customers", (Interval(int, 1, None),)),
        Value("n_returned", (Interval(int, 0, None),)),
    )

    def fit(self, durations_days: ArrayLike, returned: ArrayLike) -> OneTimeBuyerSurvival:
        """Fit from each customer's days to the second purchase (or to ``as_of`` if none).

        Parameters
        ----------
        durations_days
            Days from the first purchase to the second one (``returned``) or to
            ``as_of`` (not returned, censored). >= 0.
        returned
            Whether the customer made a second purchase.
        """
        self._start_fit()
        dur = as_float_array("durations_days", durations_days)
        event = np.asarray(returned, dtype=bool).ravel()
        if dur.size == 0 or dur.size != event.size:
            raise InputDataError(
                "durations_days and returned must be non-empty and of the same length, got "
                f"{dur.size} and {event.size}"
            )
        if not np.all(np.isfinite(dur)) or np.any(dur < 0):
            raise InputDataError("durations_days must be finite and >= 0")
        days = np.floor(dur).astype(np.int64)
        size = int(days.max()) + 2
        events = np.bincount(days[event], minlength=size).astype(np.float64)
        # A customer censored during day d is at risk for events of day d (his own
        # exit time lies inside the day), as is every customer with a later time.
        at_risk = np.bincount(days, minlength=size)[::-1].cumsum()[::-1].astype(np.float64)
        hazard = np.divide(events, at_risk, out=np.zeros(size), where=at_risk > 0)
        # survival_[d] = P(no return within d whole days) = prod of hazards of days < d
        self.survival_ = np.concatenate([[1.0], np.cumprod(1.0 - hazard)])[: size + 1]
        self.max_days_ = int(days.max())
        self.n_customers_ = int(dur.size)
        self.n_returned_ = int(event.sum())
        return self

    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        return [], np.zeros(0), np.zeros((0, 0))  # a nonparametric curve

    def _dims(self) -> dict[str, int]:
        return {"days": self.max_days_ + 3}  # days 0 .. max_days_ + 2

    def _check_state(self) -> None:
        s = self.survival_
        if s[0] != 1.0 or np.any(np.diff(s) > 0):
            raise ModelFormatError("survival_ must start at 1 and never rise")
        if self.n_returned_ > self.n_customers_:
            raise ModelFormatError("n_returned_ exceeds n_customers_")

    def _at(self, days: NDArray[np.float64]) -> NDArray[np.float64]:
        if "survival_" not in self.__dict__:
            raise NotFittedError("this OneTimeBuyerSurvival is not fitted yet")
        index = np.clip(np.floor(days).astype(np.int64), 0, self.survival_.size - 1)
        return np.asarray(self.survival_[index])

    def survival(self, days: ArrayLike) -> NDArray[np.float64]:
        """S(d): probability of no second purchase within ``d`` days of the first."""
        return self._at(np.asarray(days, dtype=np.float64))

    def probability_no_return(
        self, age_days: ArrayLike, horizon_days: float
    ) -> NDArray[np.float64]:
        """P(no second purchase in the next ``horizon_days`` | none after ``age_days``)."""
        age = np.asarray(age_days, dtype=np.float64)
        now = self._at(age)
        later = self._at(age + float(horizon_days))
        return np.divide(later, now, out=np.ones_like(now), where=now > 0)

    def p_alive(self, age_days: ArrayLike) -> NDArray[np.float64]:
        """P(the customer ever returns | no return after ``age_days``), ever = within the
        longest observed duration: ``(S(age) - S(max)) / S(age)``."""
        age = np.asarray(age_days, dtype=np.float64)
        now = self._at(age)
        floor = float(self.survival_[-1])
        return np.divide(now - floor, now, out=np.zeros_like(now), where=now > 0).clip(0.0, 1.0)


class OwnRhythmRule:
    """The stated rule that replaces BG/NBD where the data do not identify it.

    A customer is taken to buy as a Poisson process at their own pace, one order per
    mean gap ``g = t_x / x`` days (repeat buyers; at least 1 day), or ``g = max(T, 1)``
    for one-time buyers. The chance that a customer still buying at that pace would
    have gone ``s = T - t_x`` days without an order is ``exp(-s / g)``: the rule's
    P(alive) (1 for one-time buyers, as in BG/NBD). Then, over the next ``t`` days,
    ``E[orders] = P(alive) t / g`` and
    ``P(no order) = 1 - P(alive) (1 - exp(-t / g))``. Recency is judged against the
    customer's own inter-purchase interval, and every value is finite.

    It has the prediction methods of `BGNBD` (same arguments), so every consumer of
    the BG/NBD predictions takes it in its place.

    Examples
    --------
    >>> rule = OwnRhythmRule()
    >>> # 4 repeat orders over 40 days (one per 10 days), last one 10 days ago
    >>> round(float(rule.p_alive([4], [40.0], [50.0])[0]), 4)  # exp(-10 / 10)
    0.3679
    >>> round(float(rule.conditional_expected_purchases(30, [4], [40.0], [50.0])[0]), 4)
    1.1036
    """

    status_ = "rule"

    @staticmethod
    def _gap(x: NDArray[np.float64], t_x: NDArray[np.float64], big_t: NDArray[np.float64]) -> Any:
        own = np.divide(t_x, x, out=np.zeros_like(t_x), where=x > 0)
        return np.maximum(np.where(x > 0, own, big_t), 1.0)

    @staticmethod
    def _arrays(*arrays: ArrayLike) -> list[NDArray[np.float64]]:
        return [np.asarray(a, dtype=np.float64).ravel() for a in arrays]

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:
        """``exp(-(T - t_x) / g)`` for repeat buyers, 1 for one-time buyers."""
        xx, tx, big_t = self._arrays(x, t_x, T)
        gap = self._gap(xx, tx, big_t)
        return np.where(xx > 0, np.exp(-np.maximum(big_t - tx, 0.0) / gap), 1.0)

    def conditional_expected_purchases(
        self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> NDArray[np.float64]:
        """``P(alive) t / g``: orders expected in the next ``t`` days."""
        xx, tx, big_t = self._arrays(x, t_x, T)
        return np.asarray(self.p_alive(xx, tx, big_t) * float(t) / self._gap(xx, tx, big_t))

    def probability_no_purchase(
        self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> NDArray[np.float64]:
        """``1 - P(alive) (1 - exp(-t / g))``: no order in the next ``t`` days."""
        xx, tx, big_t = self._arrays(x, t_x, T)
        gap = self._gap(xx, tx, big_t)
        return np.asarray(1.0 - self.p_alive(xx, tx, big_t) * -np.expm1(-float(t) / gap))


#: Names of the churn model's features, in the column order of `churn_features`.
FEATURE_NAMES: tuple[str, ...] = (
    "log1p_repeat_purchases",
    "log1p_recency_days",
    "log1p_tenure_days",
    "logit_model_no_purchase",
    "one_time_buyer",
    "log1p_recency_over_mean_gap",
    "log1p_expected_purchases",
    "log1p_decayed_orders_60d",
    "log1p_decayed_orders_180d",
    "log1p_orders_last_90d",
    "log1p_orders_last_30d",
    "log1p_orders_last_180d",
    "log_trend_last_90d_over_previous_90d",
    "log1p_active_months",
    "log1p_recency_over_median_gap",
    "log1p_monetary",
)


def churn_features(
    *,
    repeat_purchases: NDArray[np.float64],
    recency_days: NDArray[np.float64],
    tenure_days: NDArray[np.float64],
    model_no_purchase: NDArray[np.float64],
    expected_purchases: NDArray[np.float64],
    decayed_60: NDArray[np.float64],
    decayed_180: NDArray[np.float64],
    orders_last_90: NDArray[np.float64],
    orders_last_30: NDArray[np.float64],
    orders_last_180: NDArray[np.float64],
    orders_90_to_180: NDArray[np.float64],
    active_months: NDArray[np.float64],
    median_gap: NDArray[np.float64],
    monetary: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """Feature matrix of the churn model (columns `FEATURE_NAMES`; the
    monetary column is left out when there are no prices)."""
    x = repeat_purchases
    one = (x == 0).astype(np.float64)
    mean_gap = np.where(x > 0, (tenure_days - recency_days) / np.maximum(x, 1.0), 1.0)
    rhythm = np.where(x > 0, np.log1p(recency_days / np.maximum(mean_gap, 1.0)), 0.0)
    prob = np.clip(model_no_purchase, 1e-6, 1.0 - 1e-6)
    cols = [
        np.log1p(x),
        np.log1p(recency_days),
        np.log1p(tenure_days),
        special.logit(prob),
        one,
        rhythm,
        np.log1p(np.maximum(expected_purchases, 0.0)),
        np.log1p(decayed_60),
        np.log1p(decayed_180),
        np.log1p(orders_last_90),
        np.log1p(orders_last_30),
        np.log1p(orders_last_180),
        np.log((orders_last_90 + 1.0) / (orders_90_to_180 + 1.0)),
        np.log1p(active_months),
        np.where(x > 0, np.log1p(recency_days / np.maximum(median_gap, 1.0)), 0.0),
    ]
    if monetary is not None:
        cols.append(np.log1p(np.maximum(monetary, 0.0)))
    return np.column_stack(cols).astype(np.float64)


class ChurnCalibrator(CustomerModel):
    """The churn model: L2-regularised logistic regression on standardised features.

    Fitted by the project's one logistic regression (`recsys.stats.logistic`):
    thread-independent weights, and a customer's probability does not depend on the
    other rows.

    Parameters
    ----------
    l2
        Penalty on the squared standardised weights (not on the intercept), per
        customer: the objective is the mean log-loss + ``l2 * |w|^2``.

    Attributes
    ----------
    mean_, scale_ : ndarray
        Feature means and standard deviations of the training rows.
    weights_ : ndarray
        Weights of the standardised features, then the intercept.
    coef_ : ndarray
        Slopes on the raw features.
    intercept_ : float
        Intercept on the raw features.
    covariance_ : ndarray
        Covariance of ``(coef_..., intercept_)`` (inverse penalised Hessian);
        `summary` shows its standard errors.
    converged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = (X[:, 0] + rng.normal(size=500) > 0).astype(float)
    >>> cal = ChurnCalibrator().fit(X, y)
    >>> bool(cal.coef_[0] > 1.0)
    True
    >>> cal.summary()["parameter"].to_list()
    ['x0', 'x1', 'intercept']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"l2": [Interval(float, 0, None)]}
    schema: ClassVar[tuple[Spec, ...]] = (
        Array("mean", "float64", (None,), finite=True),
        Array("scale", "float64", (None,), finite=True, above=0.0),
        Array("weights", "float64", (None,), finite=True),
        Array("coef", "float64", (None,), finite=True),
        Value("intercept", (Interval(float, None, None),)),
        Array("covariance", "float64", (None, None)),
        Value("converged", (InstanceOf(bool),)),
    )

    def __init__(self, l2: float = 1e-3) -> None:
        self.l2 = l2

    def fit(self, X: ArrayLike, y: ArrayLike) -> ChurnCalibrator:
        """Fit on features ``X`` (n, k) and outcomes ``y`` (1 = churned).

        Raises
        ------
        InputDataError
            Bad ``l2``, shapes, non-finite features or outcomes outside {0, 1}.
        """
        self._start_fit()
        xx = np.asarray(X, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        if xx.ndim != 2 or xx.shape[0] != yy.size or yy.size == 0:
            raise InputDataError(f"X must be (n, k) with n = len(y); got {xx.shape} and {yy.size}")
        if not np.all(np.isfinite(xx)):
            raise InputDataError("churn features contain NaN or inf")
        fit = fit_logistic(xx, yy, l2=2.0 * yy.size * float(self.l2), iterations=100)
        raw = fit.raw_coef
        self.mean_, self.scale_, self.weights_ = fit.mean, fit.scale, fit.coef
        self.coef_ = raw[:-1]
        self.intercept_ = float(raw[-1])
        self.covariance_ = fit.covariance
        self.converged_ = fit.converged
        return self

    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        k = self.coef_.size
        known = k in (len(FEATURE_NAMES), len(FEATURE_NAMES) - 1)  # without monetary
        names = list(FEATURE_NAMES[:k]) if known else [f"x{j}" for j in range(k)]
        return [*names, "intercept"], np.append(self.coef_, self.intercept_), self.covariance_

    def _check_state(self) -> None:
        k = self.mean_.size
        shapes = {
            "scale_": (self.scale_.shape, (k,)),
            "weights_": (self.weights_.shape, (k + 1,)),
            "coef_": (self.coef_.shape, (k,)),
            "covariance_": (self.covariance_.shape, (k + 1, k + 1)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ModelFormatError(f"{name} has shape {got}, expected {want}")

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Probability of churn (the positive class) per row.

        Computed column by column (no matrix product), so a row's probability does
        not depend on the other rows: a shard of customers gets the values it gets
        in the whole table (a BLAS product's last bits depend on the row blocking).
        """
        self._check_fitted()
        xx = np.asarray(X, dtype=np.float64)
        if xx.ndim != 2 or xx.shape[1] != self.mean_.size:
            raise InputDataError(
                f"X must have {self.mean_.size} feature columns, got shape {xx.shape}"
            )
        return logistic_probability((self.mean_, self.scale_, self.weights_), xx)
