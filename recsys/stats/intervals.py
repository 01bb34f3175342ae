"""Closed-form intervals and tests for proportions and means (vectorised numpy, no I/O).

Every function works on arrays of sufficient statistics (counts, sums, sums of squares),
so a table over millions of rows is computed from a group-by, not row by row.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from recsys._warnings import warn_caller
from recsys.exceptions import DataWarning

__all__ = [
    "Estimate",
    "newcombe_interval",
    "relative_interval_binary",
    "relative_interval_means",
    "two_proportion_p_value",
    "wald_interval",
    "welch",
    "wilson_interval",
    "z_value",
]


class Estimate(NamedTuple):
    """A point estimate with its confidence interval.

    Examples
    --------
    >>> Estimate(0.1, 0.05, 0.15, 0.95).value
    0.1
    """

    value: float
    ci_low: float
    ci_high: float
    confidence: float


def z_value(confidence: float) -> float:
    """The two-sided normal quantile ``z`` with ``P(|Z| < z) = confidence`` (1.96 for 0.95)."""
    from scipy import stats  # here, not at import: scipy.stats costs ~70 MB per process

    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: ArrayLike, n: ArrayLike, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``x / n``.

    ``(x + z²/2) / (n + z²)  ±  z / (n + z²) * sqrt(x (n - x) / n + z²/4)``.
    Defined for ``x = 0`` and ``x = n``; ``n = 0`` gives ``[0, 1]``.

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([0.0]), np.array([10.0]), 1.959964)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0, 0.2775)
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (x + z2 / 2) / (n + z2)
        half = z / (n + z2) * np.sqrt(np.where(n > 0, x * (n - x) / np.maximum(n, 1), 0) + z2 / 4)
    lo = np.clip(np.where(n > 0, centre - half, 0.0), 0.0, 1.0)
    hi = np.clip(np.where(n > 0, centre + half, 1.0), 0.0, 1.0)
    return lo, hi


def newcombe_interval(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval (his method 10) for ``p1 - p0``.

    With Wilson intervals ``[l1, u1]`` for ``p1 = x1/n1`` and ``[l0, u0]`` for ``p0``::

        low  = (p1 - p0) - sqrt((p1 - l1)² + (u0 - p0)²)
        high = (p1 - p0) + sqrt((u1 - p1)² + (p0 - l0)²)

    Newcombe (1998), Statistics in Medicine 17:873-890. Defined at 0% and 100% rates
    and for one customer per arm.

    Examples
    --------
    Newcombe's example (f): 56/70 vs 48/80 gives 0.2000 [0.0524, 0.3339].

    >>> lo, hi = newcombe_interval(
    ...     np.array([56]), np.array([70]), np.array([48]), np.array([80]), 1.959964
    ... )
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0524, 0.3339)
    """
    x1, n1, x0, n0 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x0, n0))
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, z)
    l0, u0 = wilson_interval(x0, n0, z)
    d = p1 - p0
    return d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p0 - l0) ** 2
    )


def wald_interval(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wald interval ``(p1 - p0) ± z sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``.

    At 0% or 100% in both arms its width is 0 (a known failure of Wald); a
    `DataWarning` says so.

    Examples
    --------
    >>> lo, hi = wald_interval(
    ...     np.array([30]), np.array([100]), np.array([20]), np.array([100]), 2.0
    ... )
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (-0.0217, 0.2217)
    """
    x1, n1, x0, n0 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x0, n0))
    p1, p0 = x1 / n1, x0 / n0
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    if np.any(se == 0):
        warnings.warn(
            "Wald interval has zero width where both arms are at 0% or 100%; "
            "use method='newcombe' for a meaningful interval",
            DataWarning,
            stacklevel=3,
        )
    d = p1 - p0
    return d - z * se, d + z * se


def two_proportion_p_value(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike
) -> np.ndarray:
    """Two-sided pooled two-proportion z-test (= Pearson chi-square on the 2x2 table).

    ``z = (p1 - p0) / sqrt(p (1 - p) (1/n1 + 1/n0))`` with ``p = (x1 + x0) / (n1 + n0)``.
    When the pooled rate is 0 or 1 the arms cannot differ and the p-value is 1.

    Examples
    --------
    >>> round(float(two_proportion_p_value(30, 100, 20, 100)), 4)
    0.1025
    """
    from scipy import stats

    x1, n1, x0, n0 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x0, n0))
    pooled = (x1 + x0) / (n1 + n0)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    with np.errstate(invalid="ignore", divide="ignore"):
        zstat = (x1 / n1 - x0 / n0) / se
    return np.where(se > 0, 2 * stats.norm.sf(np.abs(zstat)), 1.0)


def welch(
    mean1: ArrayLike,
    var1: ArrayLike,
    n1: ArrayLike,
    mean0: ArrayLike,
    var0: ArrayLike,
    n0: ArrayLike,
    confidence: float,
    *,
    normal: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Welch's interval and t-test for ``mean1 - mean0`` (``var`` with ddof=1).

    ``se = sqrt(v1/n1 + v0/n0)``, ``df = se⁴ / ((v1/n1)²/(n1-1) + (v0/n0)²/(n0-1))``,
    interval ``d ± t_{df, 1-α/2} se`` (``z`` instead of ``t`` with ``normal=True``).
    Returns ``(low, high, p_value, se)``. With ``se = 0`` (no variance in either arm) the
    interval is ``[d, d]`` and the p-value 1 if ``d = 0`` else 0; with fewer than 2
    customers in an arm the variance is unknown: NaN, with a `DataWarning`.

    Examples
    --------
    >>> lo, hi, p, se = welch(
    ...     np.array([5.0]), np.array([4.0]), np.array([20]),
    ...     np.array([4.0]), np.array([9.0]), np.array([30]), 0.95,
    ... )
    >>> round(float(se[0]), 4), round(float(p[0]), 4)
    (0.7071, 0.1638)
    """
    from scipy import stats

    n1 = np.asarray(n1, dtype=np.float64)
    n0 = np.asarray(n0, dtype=np.float64)
    a = np.asarray(var1, dtype=np.float64) / n1
    b = np.asarray(var0, dtype=np.float64) / n0
    se = np.sqrt(a + b)
    d = np.asarray(mean1, dtype=np.float64) - np.asarray(mean0, dtype=np.float64)
    small = (n1 < 2) | (n0 < 2)
    if np.any(small):
        warnings.warn(
            "an arm has fewer than 2 customers: its variance, and so Welch's interval, "
            "is undefined (NaN)",
            DataWarning,
            stacklevel=3,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se**4 / (a**2 / np.maximum(n1 - 1, 1) + b**2 / np.maximum(n0 - 1, 1))
        tstat = d / se
        if normal:
            q = np.full_like(se, z_value(confidence))
            p = 2 * stats.norm.sf(np.abs(tstat))
        else:
            q = stats.t.ppf(0.5 + confidence / 2, df)
            p = 2 * stats.t.sf(np.abs(tstat), df)
    zero = se == 0
    low = np.where(zero, d, d - q * se)
    high = np.where(zero, d, d + q * se)
    p = np.where(zero, np.where(d == 0, 1.0, 0.0), p)
    nan = np.where(small, np.nan, 0.0)
    return low + nan, high + nan, p + nan, se + nan


def relative_interval_binary(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative uplift ``p1/p0 - 1`` with the Katz log risk-ratio interval.

    ``log(RR) ± z sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)``, mapped back as ``RR - 1``. Where a
    count is 0 (or equals n), 0.5 is added to each count of that comparison (Haldane's
    correction) so the interval stays finite. A control rate of 0 leaves the relative
    uplift undefined: NaN with a `DataWarning`.

    Examples
    --------
    >>> rel, lo, hi = relative_interval_binary(30, 100, 20, 100, 1.959964)
    >>> round(float(rel), 2), round(float(lo), 4), round(float(hi), 4)
    (0.5, -0.084, 1.4564)
    """
    x1, n1, x0, n0 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x0, n0))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (x1 / n1) / (x0 / n0) - 1
        degenerate = (x1 == 0) | (x0 == 0) | (x1 == n1) | (x0 == n0)
        c = np.where(degenerate, 0.5, 0.0)
        a1, m1, a0, m0 = x1 + c, n1 + 2 * c, x0 + c, n0 + 2 * c
        log_rr = np.log((a1 / m1) / (a0 / m0))
        se = np.sqrt(1 / a1 - 1 / m1 + 1 / a0 - 1 / m0)
        lo = np.exp(log_rr - z * se) - 1
        hi = np.exp(log_rr + z * se) - 1
    return _undefined_as_nan(x0 == 0, "control rate", rel, lo, hi)


def relative_interval_means(
    diff: ArrayLike,
    se_diff: ArrayLike,
    mean0: ArrayLike,
    se0: ArrayLike,
    cov_diff_mean0: ArrayLike,
    z: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative uplift ``d / m0`` by the delta method.

    ``Var(d/m0) ≈ (Var(d) - 2 (d/m0) Cov(d, m0) + (d/m0)² Var(m0)) / m0²``; interval
    ``r ± z sqrt(Var)``. A control mean of 0 leaves it undefined: NaN with a warning.

    Examples
    --------
    >>> r, lo, hi = relative_interval_means(1.0, 0.5, 4.0, 0.3, -0.09, 2.0)
    >>> round(float(r), 4), round(float(lo), 4), round(float(hi), 4)
    (0.25, -0.0241, 0.5241)
    """
    diff, se_diff, mean0, se0, cov = (
        np.asarray(a, dtype=np.float64) for a in (diff, se_diff, mean0, se0, cov_diff_mean0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        r = diff / mean0
        var = (se_diff**2 - 2 * r * cov + r**2 * se0**2) / mean0**2
        half = z * np.sqrt(np.maximum(var, 0))
    with np.errstate(invalid="ignore"):  # r and half are infinite where undefined
        return _undefined_as_nan(mean0 == 0, "control mean", r, r - half, r + half)


def _undefined_as_nan(
    undefined: np.ndarray, control: str, *values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``values`` with NaN where the relative uplift is undefined (a ``control`` of 0), said."""
    if np.any(undefined):
        warn_caller(f"{control} is 0: relative uplift is undefined (NaN)")
    nan = np.where(undefined, np.nan, 0.0)
    rel, lo, hi = (v + nan for v in values)
    return rel, lo, hi
