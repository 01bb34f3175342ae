"""Multiple testing: adjusting a family of p-values."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["bonferroni", "holm"]


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values.

    Sorted ascending, ``p_(i) * (m - i)`` (``i`` from 0), made monotone, capped at 1.
    NaN p-values are left out of the family and stay NaN.

    Examples
    --------
    >>> import numpy as np
    >>> holm(np.array([0.01, 0.04, 0.03])).round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def bonferroni(p_values: ArrayLike) -> np.ndarray:
    """Bonferroni's adjustment of a family of p-values: each times the family's size,
    capped at 1. NaN p-values are left out of the family and stay NaN.

    Examples
    --------
    >>> import numpy as np
    >>> bonferroni(np.array([0.01, 0.04, np.nan, 0.5])).round(4).tolist()
    [0.03, 0.12, nan, 1.0]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = int(np.count_nonzero(~np.isnan(p)))
    return np.minimum(p * m, 1.0)
