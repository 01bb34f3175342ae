"""The repurchase-interval estimator: how many days a customer takes to buy an item again.

One estimator, three views of it, used by `recsys.due_items`, `recsys.BuyAgain` and
`recsys.Repurchase`:

* `pair_interval`: a (customer, item) pair's own mean interval, ``span / (n - 1)``
  for ``n`` purchase occasions spread over ``span`` days (the mean of its ``n - 1``
  gaps; undefined for a single occasion);
* `typical_interval`: an item's typical interval, the median of its repeat pairs'
  own intervals;
* `shrunk_interval`: a pair's interval shrunk toward a prior (the item's typical
  interval) in log days, ``exp((k * own_log + c * prior_log) / (k + c))`` with ``k``
  own gaps of mean log ``own_log`` and prior weight ``c`` gaps, so one gap moves a
  new pair little and many gaps make it the customer's own rhythm.

Examples
--------
A customer bought an item on days 0, 10 and 30:

>>> import numpy as np
>>> pair_interval(np.array([30.0]), np.array([3])).tolist()  # two gaps, 10 and 20
[15.0]
>>> own_log = np.array([(np.log(10) + np.log(20)) / 2])  # geometric mean gap ~14.1
>>> shrunk_interval(own_log, np.array([2.0]), np.log(30.0), 2.0).round(3).tolist()
[20.598]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["pair_interval", "shrunk_interval", "typical_interval"]


def pair_interval(span_days: ArrayLike, occasions: ArrayLike) -> NDArray[np.float64]:
    """Own mean interval of each pair, ``span_days / (occasions - 1)`` (NaN below 2).

    Parameters
    ----------
    span_days
        Days from the pair's first to its last purchase occasion.
    occasions
        Purchase occasions (distinct days, or rows) of the pair.
    """
    span = np.asarray(span_days, dtype=np.float64)
    n = np.asarray(occasions, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n >= 2, span / np.maximum(n - 1.0, 1.0), np.nan)


def typical_interval(
    item_index: ArrayLike, intervals: ArrayLike, n_items: int
) -> NDArray[np.float64]:
    """Per item, the median of its pairs' intervals (NaN ones ignored; NaN if none).

    Examples
    --------
    >>> typical_interval([0, 0, 0, 2], [15.0, 5.0, 40.0, np.nan], 3).tolist()
    [15.0, nan, nan]
    """
    items = np.asarray(item_index, dtype=np.int64)
    values = np.asarray(intervals, dtype=np.float64)
    keep = np.isfinite(values)
    items, values = items[keep], values[keep]
    out = np.full(int(n_items), np.nan)
    if items.size:
        order = np.lexsort((values, items))
        items_sorted, values_sorted = items[order], values[order]
        starts = np.flatnonzero(np.r_[True, items_sorted[1:] != items_sorted[:-1]])
        ends = np.r_[starts[1:], items_sorted.size]
        for s, e in zip(starts, ends, strict=True):
            out[items_sorted[s]] = np.median(values_sorted[s:e])
    return out


def shrunk_interval(
    own_log: ArrayLike, n_gaps: ArrayLike, prior_log: ArrayLike, prior_strength: float
) -> NDArray[np.float64]:
    """``exp((k * own_log + c * prior_log) / (k + c))``: the pair's interval in days.

    Parameters
    ----------
    own_log
        Mean log gap of the pair's own repeats (ignored where ``n_gaps`` is 0; may
        be NaN there).
    n_gaps
        The pair's own gaps ``k``.
    prior_log
        Log of the prior interval (the item's typical interval).
    prior_strength
        Weight ``c`` of the prior, in gaps (> 0).
    """
    k = np.asarray(n_gaps, dtype=np.float64)
    own = np.where(k > 0, np.asarray(own_log, dtype=np.float64), 0.0)
    c = float(prior_strength)
    return np.asarray(np.exp((k * own + c * np.asarray(prior_log)) / (k + c)), dtype=np.float64)
