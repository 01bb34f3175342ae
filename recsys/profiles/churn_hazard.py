"""How long a customer's silence is by their own rhythm: a gamma renewal model of the
gaps between their orders, each customer's pace shrunk to the shop's.

A customer still buying places orders with gaps ``G ~ Gamma(shape, rate λ)``: ``shape``
is one for the whole shop (how regular customers are: 1 is a Poisson process, above 1
more regular), ``λ`` is the customer's own pace, drawn from ``Gamma(a, b)`` across
customers. After ``m`` gaps summing to ``S`` days, ``λ`` is ``Gamma(a + m shape, b +
S)``; marginally ``G / (b + S)`` is then beta-prime(``shape``, ``a + m shape``), so

``P(G > t) = I_{B / (B + t)}(A, shape)``, with ``A = a + m shape``, ``B = b + S``

(``I`` the regularised incomplete beta function). The chance that a customer whose last
order was ``R`` days ago, if still buying, places none in the next ``H`` days is
``P(G > R + H | G > R) = P(G > R + H) / P(G > R)`` (`GapSurvival.probability_silent`):
the current, censored gap updates the pace too. Unlike BG/NBD's Poisson process, a
regular customer (``shape > 1``) who is late by their own rhythm is *more* likely to buy
soon if still buying, and an irregular one less.

``shape`` is fitted by its conditional likelihood given each customer's total (the
normalised gaps ``g / S`` are Dirichlet(``shape``, ...), whatever ``λ``: customers
with two gaps or more), then ``a, b`` by the marginal likelihood of the totals ``S``
(customers with one gap or more).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from recsys._validation import Interval
from recsys.exceptions import InputDataError
from recsys.models.schema import Spec, Value
from recsys.profiles.base import CustomerModel, as_float_array

__all__ = ["GapSurvival"]

_BOUNDS = (-6.0, 6.0)  # log of shape, a and b/mean-gap: e^-6 .. e^6


class GapSurvival(CustomerModel):
    """Gamma renewal model of the gaps between orders (module docstring).

    Fitted from each customer's sufficient statistics: ``gaps`` (the number of gaps
    between their orders: orders - 1), ``total`` (the days from their first to their
    last order, the sum of the gaps) and ``log_total`` (the sum of the logs of the gaps).

    Attributes
    ----------
    shape_
        The gaps' gamma shape (one for the shop).
    a_, b_
        Shape and rate of the gamma distribution of the customers' paces ``λ``.
    n_customers_
        Customers with at least one gap (those that fit ``a_, b_``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pace = rng.gamma(4.0, 1 / 120.0, 3000)  # a = 4, b = 120: a gap of 40 days on average
    >>> gaps = rng.gamma(3.0, 1 / pace[:, None], (3000, 5))  # shape 3: fairly regular
    >>> model = GapSurvival().fit(np.full(3000, 5), gaps.sum(1), np.log(gaps).sum(1))
    >>> round(model.shape_, 1), round(model.a_, 1), round(model.b_)
    (3.0, 4.0, 121)
    >>> # 5 gaps of 30 days, the last order 10 vs 60 days ago: none in the next 30 days?
    >>> model.probability_silent(30, [5, 5], [150.0, 150.0], [10.0, 60.0]).round(2).tolist()
    [0.5, 0.31]
    """

    schema: ClassVar[tuple[Spec, ...]] = (
        Value("shape", (Interval(float, 0, None),)),
        Value("a", (Interval(float, 0, None),)),
        Value("b", (Interval(float, 0, None),)),
        Value("n_customers", (Interval(int, 1, None),)),
    )

    def fit(self, gaps: ArrayLike, total: ArrayLike, log_total: ArrayLike) -> GapSurvival:
        """Fit ``shape``, then ``a, b``, from each customer's gaps (module docstring).

        Raises
        ------
        InputDataError
            Arrays of different lengths, negative or non-finite values, a gap of
            0 days (``log_total`` not finite), or fewer than two customers with a gap.
        """
        self._start_fit()
        m = as_float_array("gaps", gaps)
        s = as_float_array("total", total)
        logs = as_float_array("log_total", log_total)
        if not (m.size == s.size == logs.size):
            raise InputDataError(
                f"GapSurvival.fit: gaps, total and log_total must have one value per "
                f"customer, got {m.size}, {s.size} and {logs.size}"
            )
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s)) and np.all(np.isfinite(logs))):
            raise InputDataError(
                "GapSurvival.fit: gaps, total and log_total must be finite (a gap of 0 "
                "days makes log_total -inf: count gaps between distinct days)"
            )
        if np.any(m < 0) or np.any(s < 0) or np.any((m > 0) & (s <= 0)):
            raise InputDataError(
                "GapSurvival.fit: gaps and total must be >= 0, total > 0 where gaps > 0"
            )
        some = m > 0
        if some.sum() < 2:
            raise InputDataError(
                f"GapSurvival.fit needs two customers with a gap between orders, got "
                f"{int(some.sum())}"
            )
        many = m > 1
        if many.any():
            mm, dirichlet = m[many], logs[many] - m[many] * np.log(s[many])

            def shape_loss(log_k: float) -> float:
                k = np.exp(log_k)
                ll = special.gammaln(mm * k) - mm * special.gammaln(k) + (k - 1.0) * dirichlet
                return -float(ll.sum())

            res = optimize.minimize_scalar(shape_loss, bounds=_BOUNDS, method="bounded")
            self.shape_ = float(np.exp(res.x))
        else:
            self.shape_ = 1.0
        mk, ss = m[some] * self.shape_, s[some]
        scale = float(np.mean(ss / m[some]))  # a typical gap: b is found relative to it

        def prior_loss(theta: NDArray[np.float64]) -> float:
            a, b = np.exp(theta[0]), np.exp(theta[1]) * scale
            ll = (
                special.gammaln(mk + a)
                - special.gammaln(a)
                + a * np.log(b)
                - (mk + a) * np.log(b + ss)
            )
            return -float(ll.sum())

        res2 = optimize.minimize(
            prior_loss, np.zeros(2), method="L-BFGS-B", bounds=[_BOUNDS, _BOUNDS]
        )
        self.a_ = float(np.exp(res2.x[0]))
        self.b_ = float(np.exp(res2.x[1]) * scale)
        self.n_customers_ = int(some.sum())
        return self

    def survival(self, days: ArrayLike, gaps: ArrayLike, total: ArrayLike) -> NDArray[np.float64]:
        """``P(G > days)``: the chance the customer's next gap exceeds ``days``."""
        self._check_fitted()
        t, m, s = (np.asarray(v, dtype=np.float64) for v in (days, gaps, total))
        big_a, big_b = self.a_ + m * self.shape_, self.b_ + s
        return np.asarray(special.betainc(big_a, self.shape_, big_b / (big_b + t)))

    def probability_silent(
        self, horizon_days: float, gaps: ArrayLike, total: ArrayLike, recency: ArrayLike
    ) -> NDArray[np.float64]:
        """``P(G > R + H | G > R)``: no order in the next ``horizon_days`` for a customer
        still buying whose last order was ``recency`` days ago.

        Where both tails underflow it takes their limit, ``((B + R) / (B + R + H)) ** A``.
        """
        m, s, r = (as_float_array(n, v) for n, v in (("gaps", gaps), ("total", total),
                                                       ("recency", recency)))  # fmt: skip
        h = float(horizon_days)
        later, now = self.survival(r + h, m, s), self.survival(r, m, s)
        big_a, big_b = self.a_ + m * self.shape_, self.b_ + s
        limit = np.exp(big_a * (np.log(big_b + r) - np.log(big_b + r + h)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(now > 1e-250, later / np.maximum(now, 1e-300), limit)
        return np.clip(ratio, 0.0, 1.0)
