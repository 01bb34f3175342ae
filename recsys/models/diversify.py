"""Diversified buy-again lists: one slot per "need" rather than ten variants of one.

A customer's most likely repurchases are often items bought together (colour
variants of one product, the parts of one set): when the customer rebuys one
they rebuy the others, and when they do not, none. For a hit rate (at least one
of the ``k`` items bought) such items share one chance. `diversified_values`
re-orders each customer's bought items greedily: the next item maximises
``p * prod(1 - diversity * cosine(item, chosen))`` over the items chosen so far,
where ``cosine`` is the co-basket cosine of two items in the training baskets
(`basket_cosine`) and ``p`` the model's probability. The re-ordered items get
the same values in their new order, so the scores keep their range.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from recsys._arrays import sorted_unique
from recsys.data.canonical import US_PER_DAY

__all__ = ["POOL", "basket_cosine", "diversified_values"]

#: Each customer's most likely items that the greedy re-orders (the rest keep their order).
POOL = 60


def basket_cosine(
    user_index: np.ndarray, item_index: np.ndarray, times_us: np.ndarray, n_items: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Co-basket counts of item pairs and baskets per item; a basket is a customer-day.

    Parameters
    ----------
    user_index, item_index
        Integer indices of each purchase row.
    times_us
        int64 microseconds since the epoch of each row.
    n_items
        Catalogue size.

    Returns
    -------
    together, baskets
        CSR ``[n_items, n_items]`` float64 of the baskets holding both items
        (sorted indices), and float64 ``[n_items]`` of the baskets holding each.
        The cosine of ``a`` and ``b`` is
        ``together[a, b] / sqrt(baskets[a] * baskets[b])``.

    Examples
    --------
    >>> import numpy as np
    >>> day = 86_400_000_000
    >>> together, baskets = basket_cosine(np.array([0, 0, 0, 1]), np.array([0, 1, 1, 0]),
    ...                                   np.array([0, 0, day, 0]), 2)
    >>> together.toarray().tolist(), baskets.tolist()
    ([[2.0, 1.0], [1.0, 2.0]], [2.0, 2.0])
    """
    day = np.asarray(times_us, dtype=np.int64) // US_PER_DAY
    day = day - (int(day.min()) if day.size else 0)
    span = int(day.max()) + 1 if day.size else 1
    basket_key = np.asarray(user_index, dtype=np.int64) * span + day
    pair = sorted_unique(basket_key * max(n_items, 1) + np.asarray(item_index, dtype=np.int64))
    basket = np.searchsorted(sorted_unique(pair // max(n_items, 1)), pair // max(n_items, 1))
    rows = sp.csr_matrix(
        (np.ones(len(pair)), (basket, pair % max(n_items, 1))),
        shape=(int(basket.max()) + 1 if basket.size else 0, n_items),
    )
    together = sp.csr_matrix(rows.T @ rows)
    together.sort_indices()
    return together, np.asarray(rows.sum(axis=0), dtype=np.float64).ravel()


@numba.njit(cache=True)
def _count(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, a: int, b: int) -> float:
    lo, hi = indptr[a], indptr[a + 1]
    j = lo + np.searchsorted(indices[lo:hi], b)
    return data[j] if j < hi and indices[j] == b else 0.0


@numba.njit(parallel=True, cache=True)
def _greedy(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    t_indptr: np.ndarray,
    t_indices: np.ndarray,
    t_data: np.ndarray,
    baskets: np.ndarray,
    diversity: float,
    pool: int,
) -> np.ndarray:
    out = values.copy()
    for u in numba.prange(len(indptr) - 1):  # customers are independent: deterministic
        start, end = indptr[u], indptr[u + 1]
        if end - start < 2:
            continue
        # Most likely first, ties toward the lower item index (the ranker's order).
        order = np.argsort(-values[start:end].astype(np.float64), kind="mergesort")
        m = min(end - start, pool)
        entry = start + order[:m]
        items = indices[entry]
        p = values[entry].astype(np.float64)
        keep = np.ones(m)
        free = np.ones(m, dtype=np.bool_)
        previous = np.inf
        for step in range(m):
            best, best_value = -1, -np.inf
            for j in range(m):
                if free[j] and p[j] * keep[j] > best_value:
                    best, best_value = j, p[j] * keep[j]
            free[best] = False
            # The step-th largest value, strictly below the one before (the ranker
            # breaks ties by item index, which would undo the greedy order).
            value = min(values[entry[step]], np.nextafter(np.float32(previous), np.float32(0)))
            out[entry[best]] = value
            previous = value
            a = items[best]
            for j in range(m):
                if free[j]:
                    b = items[j]
                    together = _count(t_indptr, t_indices, t_data, a, b)
                    if together > 0:
                        keep[j] *= 1.0 - diversity * together / np.sqrt(baskets[a] * baskets[b])
    return out


def diversified_values(
    matrix: sp.csr_matrix,
    values: np.ndarray,
    together: sp.csr_matrix,
    baskets: np.ndarray,
    diversity: float,
    pool: int = POOL,
) -> np.ndarray:
    """Each customer's bought-item values, re-assigned in the greedy diversified order.

    Parameters
    ----------
    matrix
        The training matrix (customers x items, sorted indices): the bought items.
    values
        float32 values > 0 aligned with ``matrix.data`` (higher = more likely).
    together, baskets
        From `basket_cosine`.
    diversity
        Discount per unit of co-basket cosine with an item already chosen, in
        ``[0, 1]``; 0 leaves the order unchanged.
    pool
        Each customer's most likely items that are re-ordered.

    Returns
    -------
    numpy.ndarray
        float32 values aligned with ``matrix.data``: within each customer's pool,
        the pool's values in decreasing order (each strictly below the one before)
        assigned in the greedy order; outside the pool, unchanged.

    Examples
    --------
    Items 0 and 1 are always bought together, item 2 alone: with full
    diversity the second slot goes to item 2.

    >>> import numpy as np, scipy.sparse as sp
    >>> matrix = sp.csr_matrix(np.ones((1, 3)))
    >>> together = sp.csr_matrix(np.array([[2.0, 2, 0], [2, 2, 0], [0, 0, 1]]))
    >>> v = diversified_values(matrix, np.array([0.9, 0.8, 0.5], np.float32), together,
    ...                        np.array([2.0, 2.0, 1.0]), 1.0)
    >>> np.argsort(-v).tolist()
    [0, 2, 1]
    """
    if diversity == 0:
        return np.asarray(values, dtype=np.float32).copy()
    return _greedy(
        matrix.indptr.astype(np.int64),
        matrix.indices.astype(np.int64),
        np.asarray(values, dtype=np.float32),
        together.indptr.astype(np.int64),
        together.indices.astype(np.int64),
        together.data.astype(np.float64),
        np.asarray(baskets, dtype=np.float64),
        float(diversity),
        int(pool),
    )
