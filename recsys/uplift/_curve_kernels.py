"""Numba kernels of the targeting curves: the area under a curve, per bootstrap resample.

A bootstrap resample of ``n`` rows is drawn as counts ``c_i`` (row ``i`` appears ``c_i``
times) by the engine of `recsys.stats` (`recsys.stats.draw_counts`, one seed
state per resample), so the result does not depend on the thread count. The ranking by
score is the same in every resample (a repeated row keeps its rank), so each resample is
one weighted pass over the rows in a precomputed order. Cumulative sums at checkpoints
(curves, uplift at k, percentiles) need no kernel of their own:
`recsys.stats.bootstrap_sums` with ``ends``.
"""

from __future__ import annotations

import numba
import numpy as np

from recsys.stats import draw_counts

__all__ = ["auc_resamples", "curve_area"]


@numba.njit(cache=True)
def curve_area(
    y: np.ndarray,
    t: np.ndarray,
    perm: np.ndarray,
    ends: np.ndarray,
    counts: np.ndarray,
    kind: int,
) -> tuple[float, float, float]:
    """Trapezoid area under a Qini (kind 0) or uplift (kind 1) curve; also N and the end value.

    ``y``, ``t``, ``ends`` are in the curve's order; row ``i`` has weight
    ``counts[perm[i]]`` (``counts[i]`` when ``perm`` is empty). Points are taken at the last
    row of each group of tied scores (``ends``), starting from ``(0, 0)``; x is the
    (weighted) number of customers targeted.
    """
    nt = 0.0
    nc = 0.0
    yt = 0.0
    yc = 0.0
    x_prev = 0.0
    v_prev = 0.0
    area = 0.0
    permuted = perm.size > 0
    for i in range(y.size):
        w = float(counts[perm[i]] if permuted else counts[i])
        wt = w * t[i]  # branch-free: treatment is random, a branch would mispredict half the time
        nt += wt
        nc += w - wt
        yt += wt * y[i]
        yc += (w - wt) * y[i]
        if ends[i]:
            if kind == 0:
                v = yt - yc * nt / nc if nc > 0 else yt
            else:
                v = ((yt / nt if nt > 0 else 0.0) - (yc / nc if nc > 0 else 0.0)) * (nt + nc)
            x = nt + nc
            area += (x - x_prev) * (v + v_prev) * 0.5
            x_prev = x
            v_prev = v
    return area, x_prev, v_prev


@numba.njit(parallel=True, cache=True)
def auc_resamples(
    y: np.ndarray,
    t: np.ndarray,
    ends: np.ndarray,
    perms: np.ndarray,
    y_perm: np.ndarray,
    t_perm: np.ndarray,
    ends_perm: np.ndarray,
    kind: int,
    seeds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per resample (one per seed state of ``seeds``): area under the curve in the score
    order (column 0) and in each extra order ``perms[j]`` (column j + 1, positions into the
    score order), N, the end value, and control responders minus treated non-responders
    (picks the perfect uplift curve).
    """
    n = y.size
    m = perms.shape[0]
    n_resamples = seeds.size
    areas = np.empty((n_resamples, m + 1))
    totals = np.empty(n_resamples)
    finals = np.empty(n_resamples)
    balance = np.empty(n_resamples)
    identity = np.empty(0, dtype=np.int64)
    for b in numba.prange(n_resamples):
        counts = np.empty(n, dtype=np.uint8)
        draw_counts(seeds[b], counts)
        a, x, v = curve_area(y, t, identity, ends, counts, kind)
        areas[b, 0] = a
        totals[b] = x
        finals[b] = v
        for j in range(m):
            areas[b, j + 1] = curve_area(
                y_perm[j], t_perm[j], perms[j], ends_perm[j], counts, kind
            )[0]
        balance_b = 0.0
        if m == 2:  # only the perfect uplift curve needs it
            for i in range(n):
                # +1 for a control responder, -1 for a treated non-responder
                balance_b += counts[i] * ((1.0 - t[i]) * (y[i] == 1) - t[i] * (y[i] == 0))
        balance[b] = balance_b
    return areas, totals, finals, balance
