"""Numba kernels for bootstrap resampling of targeting curves.

A bootstrap resample of ``n`` rows is drawn as multinomial counts ``c_i`` (row ``i``
appears ``c_i`` times): ``n`` uniform draws from a per-resample xorshift generator seeded
by ``splitmix64(seed, b)``, so the result does not depend on the thread count. The
ranking by score is the same in every resample (a repeated row keeps its rank), so each
resample is one weighted pass over the rows in a precomputed order.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["auc_resamples", "checkpoint_resamples", "curve_area", "draw_counts"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STAR = np.uint64(0x2545F4914F6CDD1D)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(cache=True)
def _splitmix64(x: np.uint64) -> np.uint64:
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def draw_counts(n: int, seed: int, resample: int, out: np.ndarray) -> None:
    """Multinomial(n, 1/n) counts of one bootstrap resample into ``out`` (int32[n])."""
    out[:] = 0
    state = _splitmix64(np.uint64(seed) * _GOLDEN + np.uint64(resample))
    if state == 0:
        state = _GOLDEN
    for _ in range(n):
        state ^= state >> np.uint64(12)
        state ^= state << np.uint64(25)
        state ^= state >> np.uint64(27)
        r = state * _STAR
        j = int(float(r >> np.uint64(11)) * _INV53 * n)
        out[j] += 1


@numba.njit(cache=True)
def curve_area(
    y: np.ndarray, t: np.ndarray, order: np.ndarray, ends: np.ndarray, counts: np.ndarray,
    kind: int,
) -> tuple[float, float, float]:
    """Trapezoid area under a Qini (kind 0) or uplift (kind 1) curve; also N and the end value.

    Points are taken at the last row of each group of tied scores (``ends``), starting
    from ``(0, 0)``; x is the (weighted) number of customers targeted.
    """
    nt = 0.0
    nc = 0.0
    yt = 0.0
    yc = 0.0
    x_prev = 0.0
    v_prev = 0.0
    area = 0.0
    for i in range(order.size):
        idx = order[i]
        w = counts[idx]
        if w != 0:
            if t[idx] > 0:
                nt += w
                yt += w * y[idx]
            else:
                nc += w
                yc += w * y[idx]
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
    y: np.ndarray, t: np.ndarray, orders: np.ndarray, ends: np.ndarray, kind: int,
    n_resamples: int, seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per resample: area under each ordering's curve, N, end value, control responders minus
    treated non-responders (used to pick the perfect uplift curve)."""
    n = y.size
    m = orders.shape[0]
    areas = np.empty((n_resamples, m))
    totals = np.empty(n_resamples)
    finals = np.empty(n_resamples)
    balance = np.empty(n_resamples)
    for b in numba.prange(n_resamples):
        counts = np.empty(n, dtype=np.int32)
        draw_counts(n, seed, b, counts)
        for j in range(m):
            a, x, v = curve_area(y, t, orders[j], ends[j], counts, kind)
            areas[b, j] = a
            totals[b] = x
            finals[b] = v
        cr = 0.0
        tn = 0.0
        for i in range(n):
            if t[i] > 0:
                if y[i] == 0:
                    tn += counts[i]
            elif y[i] == 1:
                cr += counts[i]
        balance[b] = cr - tn
    return areas, totals, finals, balance


@numba.njit(parallel=True, cache=True)
def checkpoint_resamples(
    y_sorted: np.ndarray, t_sorted: np.ndarray, checkpoints: np.ndarray, n_resamples: int,
    seed: int,
) -> np.ndarray:
    """Per resample, cumulative (n_treated, sum_y_treated, n_control, sum_y_control) over the
    first ``checkpoints[k]`` rows of the sorted order; shape ``[n_resamples, k, 4]``."""
    n = y_sorted.size
    m = checkpoints.size
    out = np.zeros((n_resamples, m, 4))
    for b in numba.prange(n_resamples):
        counts = np.empty(n, dtype=np.int32)
        draw_counts(n, seed, b, counts)
        nt = 0.0
        yt = 0.0
        nc = 0.0
        yc = 0.0
        k = 0
        while k < m and checkpoints[k] == 0:
            k += 1
        for i in range(n):
            w = counts[i]
            if t_sorted[i] > 0:
                nt += w
                yt += w * y_sorted[i]
            else:
                nc += w
                yc += w * y_sorted[i]
            while k < m and checkpoints[k] == i + 1:
                out[b, k, 0] = nt
                out[b, k, 1] = yt
                out[b, k, 2] = nc
                out[b, k, 3] = yc
                k += 1
    return out
