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


@numba.njit(cache=True)
def _splitmix64(x: np.uint64) -> np.uint64:
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def draw_counts(n: int, seed: int, resample: int, out: np.ndarray) -> None:
    """Multinomial(n, 1/n) counts of one bootstrap resample into ``out`` (uint8[n]).

    A count above 255 has probability below n·e⁻¹/255! (nil), so uint8 is safe and keeps
    the array small enough to stay in cache.
    """
    out[:] = 0
    state = _splitmix64(np.uint64(seed) * _GOLDEN + np.uint64(resample))
    if state == 0:
        state = _GOLDEN
    nn = np.uint64(n)
    for _ in range(n):
        state ^= state >> np.uint64(12)
        state ^= state << np.uint64(25)
        state ^= state >> np.uint64(27)
        r = (state * _STAR) >> np.uint64(32)
        out[(r * nn) >> np.uint64(32)] += 1


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
    n_resamples: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per resample: area under the curve in the score order (column 0) and in each extra
    order ``perms[j]`` (column j + 1, positions into the score order), N, the end value,
    and control responders minus treated non-responders (picks the perfect uplift curve).
    """
    n = y.size
    m = perms.shape[0]
    areas = np.empty((n_resamples, m + 1))
    totals = np.empty(n_resamples)
    finals = np.empty(n_resamples)
    balance = np.empty(n_resamples)
    identity = np.empty(0, dtype=np.int64)
    for b in numba.prange(n_resamples):
        counts = np.empty(n, dtype=np.uint8)
        draw_counts(n, seed, b, counts)
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


@numba.njit(parallel=True, cache=True)
def checkpoint_resamples(
    y_sorted: np.ndarray,
    t_sorted: np.ndarray,
    checkpoints: np.ndarray,
    n_resamples: int,
    seed: int,
) -> np.ndarray:
    """Per resample, cumulative (n_treated, sum_y_treated, n_control, sum_y_control) over the
    first ``checkpoints[k]`` rows of the sorted order; shape ``[n_resamples, k, 4]``."""
    n = y_sorted.size
    m = checkpoints.size
    out = np.zeros((n_resamples, m, 4))
    for b in numba.prange(n_resamples):
        counts = np.empty(n, dtype=np.uint8)
        draw_counts(n, seed, b, counts)
        nt = 0.0
        yt = 0.0
        nc = 0.0
        yc = 0.0
        k = 0
        while k < m and checkpoints[k] == 0:
            k += 1
        for i in range(n):
            w = float(counts[i])
            wt = w * t_sorted[i]
            nt += wt
            nc += w - wt
            yt += wt * y_sorted[i]
            yc += (w - wt) * y_sorted[i]
            while k < m and checkpoints[k] == i + 1:
                out[b, k, 0] = nt
                out[b, k, 1] = yt
                out[b, k, 2] = nc
                out[b, k, 3] = yc
                k += 1
    return out
