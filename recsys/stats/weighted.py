"""The backtest's statistics, on weighted rows: one weight row per bootstrap resample.

A bootstrap resample of customers is a vector of counts (customer ``c`` drawn ``w_c``
times); every statistic here takes a ``(n_resamples, n_rows)`` weight matrix (a row's
weight is its customer's count) and returns one value per resample, equal to the
statistic computed on the resample written out row by row (``w = 1`` everywhere is the
statistic of the data itself). So AUC, Spearman, top-decile capture and medians are
exact on each resample, and a model and its naive rule evaluated with the same weights
are paired.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "auc",
    "base_rate_brier",
    "brier",
    "mean",
    "median",
    "spearman",
    "spend_captured",
    "top_decile_capture",
]


def _groups(score: np.ndarray, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Row order by score (stable: ties keep row order) and the start of each tie group."""
    order = np.argsort(-score if descending else score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def auc(w: np.ndarray, score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC of ``score`` for the positives ``y == 1`` (ties count one half).

    ``Σ_pos Σ_neg w_i w_j ([s_i > s_j] + ½[s_i = s_j]) / (W_pos W_neg)``; NaN in a
    resample without a positive or without a negative.
    """
    order, starts = _groups(score)
    ws = w[:, order]
    pos = np.add.reduceat(ws * y[order], starts, axis=1)
    neg = np.add.reduceat(ws * (1.0 - y[order]), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _midranks(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Each row's midrank in its resample (ties share the mean of their ranks)."""
    order, starts = _groups(x)
    ws = w[:, order]
    group_w = np.add.reduceat(ws, starts, axis=1)
    rank = np.cumsum(group_w, axis=1) - group_w + (group_w + 1.0) / 2.0
    sizes = np.diff(np.r_[starts, x.size])
    out = np.empty_like(ws)
    out[:, order] = np.repeat(rank, sizes, axis=1)
    return out


def spearman(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation (midranks; scipy's ``spearmanr``) of each resample."""
    rx, ry = _midranks(w, x), _midranks(w, y)
    total = w.sum(axis=1, keepdims=True)
    mx = (w * rx).sum(axis=1, keepdims=True) / total
    my = (w * ry).sum(axis=1, keepdims=True) / total
    dx, dy = rx - mx, ry - my
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * dx * dy).sum(axis=1) / np.sqrt(
            (w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1)
        )


def top_decile_capture(w: np.ndarray, score: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Share of the total ``value`` held by the top 10% of customers by ``score``.

    The top ``max(1, ⌊n / 10⌋)`` of the ``n`` (resampled) customers, highest score
    first, ties in row order.
    """
    order = np.argsort(-score, kind="stable")
    ws, v = w[:, order], value[order]
    total = ws.sum(axis=1, keepdims=True)
    top = np.maximum(1.0, np.floor(total / 10.0))
    before = np.cumsum(ws, axis=1) - ws
    taken = np.clip(top - before, 0.0, ws)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (taken * v).sum(axis=1) / (ws * v).sum(axis=1)


def _gain_area(ws: np.ndarray, v: np.ndarray) -> np.ndarray:
    # rows in ranking order, each written out w times: Σ over written rows of the running
    # total after it = Σ_i (w_i C_i + v_i w_i (w_i + 1) / 2), C_i the total before row i
    before = np.cumsum(ws * v, axis=1) - ws * v
    return (ws * before + v * ws * (ws + 1.0) / 2.0).sum(axis=1)


def spend_captured(w: np.ndarray, score: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Area under the gain curve of the ranking by ``score``, as a share of the best one's.

    Customers ranked by ``score`` (highest first, ties in row order): the running share
    of the total ``value`` after each customer, averaged over customers, divided by the
    same average for the customers ranked by ``value`` itself. 1 = the best possible
    ranking; a random ranking gets about ``(n + 1) / 2n`` of the best one's area divided
    by it. Top-decile capture reads one point of this curve; this reads all of them.
    """
    by_score = np.argsort(-score, kind="stable")
    best = np.argsort(-value, kind="stable")
    with np.errstate(invalid="ignore", divide="ignore"):
        return _gain_area(w[:, by_score], value[by_score]) / _gain_area(w[:, best], value[best])


def brier(w: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean squared error ``Σ w (p - y)² / Σ w`` of probabilities ``p``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * (p - y) ** 2).sum(axis=1) / w.sum(axis=1)


def base_rate_brier(w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Brier score of the constant forecast ``ȳ`` (the resample's own rate): ``ȳ (1 - ȳ)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (w * y).sum(axis=1) / w.sum(axis=1)
    return rate * (1.0 - rate)


def mean(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Weighted mean ``Σ w v / Σ w``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * v).sum(axis=1) / w.sum(axis=1)


def median(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``numpy.median`` of each resample written out (the mean of the two middle values)."""
    order = np.argsort(v, kind="stable")
    sv = v[order]
    cum = np.cumsum(w[:, order], axis=1)
    out = np.full(w.shape[0], np.nan)
    for r in range(w.shape[0]):
        n = cum[r, -1] if cum.shape[1] else 0.0
        if n <= 0:
            continue
        lo = np.searchsorted(cum[r], np.floor((n - 1) / 2), side="right")
        hi = np.searchsorted(cum[r], np.ceil((n - 1) / 2), side="right")
        out[r] = (sv[lo] + sv[hi]) / 2.0
    return out
