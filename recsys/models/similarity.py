"""Item-item similarity for ItemKNN: sparse products plus Numba top-k pruning.

All kinds are ``numerator / (denominator + shrink)`` over the users x items matrix ``X``
(items are columns; ``x_i`` is item ``i``'s column):

===================== ====================================== ==================================
kind                  numerator                              denominator
===================== ====================================== ==================================
``cosine``            ``<x_i, x_j>``                         ``|x_i| |x_j|``
``asymmetric_cosine`` ``<x_i, x_j>``                         ``n_i ** alpha * n_j ** (1-alpha)``
``jaccard``           ``|U_i & U_j|`` (binarised ``X``)      ``|U_i| + |U_j| - |U_i & U_j|``
``bm25``              ``<w_i, w_j>`` (BM25-weighted ``X``)   ``1``
===================== ====================================== ==================================

where ``n_i = |x_i|^2 = sum_u X[u, i]^2`` is the *squared* norm, so asymmetric cosine
is ``<x_i, x_j> / (|x_i|^(2 alpha) |x_j|^(2 (1 - alpha)) + shrink)`` as in Aiolli (2013),
"Efficient top-N recommendation for very large scale binary rated datasets" (on binary
data ``n_i`` is the item's number of buyers); ``alpha = 0.5`` gives cosine. Row ``i`` of
the result holds the neighbours ``j`` of item ``i``, so with ``alpha > 0.5`` popular
*neighbours* are penalised less than popular query items.

BM25 weights are those of ``implicit.nearest_neighbours.bm25_weight`` applied to the
items x users matrix (items are the "documents", users the "terms")::

    idf[u]   = log(n_items) - log(1 + number of items user u bought)
    norm[i]  = (1 - B) + B * sum_u X[u, i] / mean_i(sum_u X[u, i])
    w[u, i]  = X[u, i] * (K1 + 1) / (K1 * norm[i] + X[u, i]) * idf[u]

so ``similarity="bm25"`` with ``shrink=0`` has the similarity values of implicit's
``BM25Recommender`` (and ``"cosine"`` those of ``CosineRecommender``); ``shrink`` only
rescales BM25 (its denominator is 1). Unlike implicit, the item itself is never its own
neighbour: implicit's ``K`` counts the item itself, so ``k = K - 1`` here keeps the same
other neighbours.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from recsys._validation import check_in, check_positive_int, resolve_num_threads
from recsys.exceptions import InputDataError
from recsys.scoring._checks import thread_limits
from recsys.scoring._kernels import _finish_row, _offer

__all__ = ["SIMILARITIES", "bm25_weight", "item_similarity", "prune_topk_rows"]

SIMILARITIES = ("cosine", "asymmetric_cosine", "jaccard", "bm25")

# Upper bound on the multiply-adds of one row block of X.T @ X (about its peak entries
# before pruning); keeps memory bounded for large catalogues.
_BLOCK_PRODUCTS = 20_000_000


@njit(parallel=True, cache=True, nogil=True)
def _select_rows(indptr, indices, data, k, first_row, top_s, top_i, counts):
    n_rows = indptr.shape[0] - 1
    for r in prange(n_rows):
        heap_s = top_s[r]
        heap_i = top_i[r]
        size = 0
        diagonal = first_row + r
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if j == diagonal:
                continue
            size = _offer(heap_s, heap_i, size, k, np.float32(data[p]), j)
        _finish_row(heap_s, heap_i, size)
        # neighbours in increasing column order (sorted CSR indices)
        order = np.argsort(heap_i[:size], kind="mergesort")
        kept_i = heap_i[:size][order].copy()
        kept_s = heap_s[:size][order].copy()
        heap_i[:size] = kept_i
        heap_s[:size] = kept_s
        counts[r] = size


@njit(parallel=True, cache=True, nogil=True)
def _gather_rows(top_s, top_i, out_indptr, out_indices, out_data):
    for r in prange(top_s.shape[0]):
        start = out_indptr[r]
        for t in range(out_indptr[r + 1] - start):
            out_indices[start + t] = top_i[r, t]
            out_data[start + t] = top_s[r, t]


def prune_topk_rows(csr: Any, k: int, *, first_row: int = 0, num_threads: int = 0) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of every row of a sparse matrix (Numba).

    Ties go to the lower column index, NaN entries are dropped, and the diagonal entry
    (column ``first_row + r`` for row ``r``, so a row block of a square matrix can be
    pruned on its own) is removed. Duplicate entries are not summed: pass a canonical
    matrix. Stored explicit zeros count as entries.

    Parameters
    ----------
    csr : scipy sparse matrix, shape (b, m)
    k : int
        Entries kept per row, >= 1.
    first_row : int, default 0
        Index, in the square matrix, of the first row of ``csr``.
    num_threads : int, default 0
        Numba threads (0 = all cores).

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (b, m), sorted indices.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.models.similarity import prune_topk_rows
    >>> s = sp.csr_matrix(np.array([[1, .5, .2, .5], [.1, 1, .3, .2]], dtype=np.float32))
    >>> prune_topk_rows(s, 2).toarray().tolist()
    [[0.0, 0.5, 0.0, 0.5], [0.0, 0.0, 0.30000001192092896, 0.20000000298023224]]
    """
    if not sp.issparse(csr):
        raise InputDataError(f"csr must be a scipy sparse matrix, got {type(csr).__name__}")
    k = check_positive_int("k", k)
    first_row = check_positive_int("first_row", first_row, allow_zero=True)
    mat = sp.csr_matrix(csr)
    n_rows, n_cols = mat.shape
    width = min(k, n_cols)
    top_s = np.empty((n_rows, max(width, 1)), dtype=np.float32)
    top_i = np.empty((n_rows, max(width, 1)), dtype=np.int32)
    counts = np.zeros(n_rows, dtype=np.int64)
    if n_rows and width:
        with thread_limits(num_threads):
            _select_rows(
                mat.indptr.astype(np.int64, copy=False),
                mat.indices.astype(np.int64, copy=False),
                mat.data.astype(np.float32, copy=False),
                width,
                first_row,
                top_s,
                top_i,
                counts,
            )
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=out_indptr[1:])
    nnz = int(out_indptr[-1])
    out_indices = np.empty(nnz, dtype=np.int32)
    out_data = np.empty(nnz, dtype=np.float32)
    if nnz:
        with thread_limits(num_threads):
            _gather_rows(top_s, top_i, out_indptr, out_indices, out_data)
    index_dtype = np.int32 if nnz < 2**31 else np.int64
    result = sp.csr_matrix(
        (out_data, out_indices.astype(index_dtype), out_indptr.astype(index_dtype)),
        shape=(n_rows, n_cols),
    )
    result.has_sorted_indices = True
    return result


def bm25_weight(user_items: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25-weighted copy (float64) of a users x items matrix, as implicit weights it.

    Same values as ``implicit.nearest_neighbours.bm25_weight(user_items.T, k1, b).T``:
    items are the documents (length-normalised), users the terms (idf).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.models.similarity import bm25_weight
    >>> x = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 2.0]]))
    >>> bool(bm25_weight(x)[0, 0] < 0)  # idf of a user who bought every item is negative
    True
    """
    x = sp.csr_matrix(user_items, dtype=np.float64)
    n_users, n_items = x.shape
    coo = x.tocoo()
    items_per_user = np.bincount(coo.row, minlength=n_users)
    idf = np.log(float(n_items)) - np.log1p(items_per_user)
    item_sums = np.bincount(coo.col, weights=coo.data, minlength=n_items)
    mean_length = item_sums.mean() if n_items else 1.0
    length_norm = (1.0 - b) + b * item_sums / mean_length
    data = coo.data * (k1 + 1.0) / (k1 * length_norm[coo.col] + coo.data) * idf[coo.row]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=x.shape)


def _row_blocks(xt: sp.csr_matrix, x: sp.csr_matrix) -> list[tuple[int, int]]:
    """Item ranges whose rows of X.T @ X each need at most ~_BLOCK_PRODUCTS multiply-adds."""
    user_lengths = np.diff(x.indptr).astype(np.float64)
    products = xt.copy()
    products.data = np.ones_like(products.data, dtype=np.float64)
    per_item = products @ user_lengths
    bounds = [0]
    running = 0.0
    for i, cost in enumerate(per_item):
        if running and running + cost > _BLOCK_PRODUCTS:
            bounds.append(i)
            running = 0.0
        running += cost
    bounds.append(xt.shape[0])
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def item_similarity(
    user_items: Any,
    *,
    similarity: str = "cosine",
    k: int = 100,
    shrink: float = 0.0,
    alpha: float = 0.5,
    bm25_k1: float = 1.2,
    bm25_b: float = 0.75,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """Item-item similarity pruned to each item's ``k`` nearest neighbours.

    Computed from ``X.T @ X`` on the (weighted or binarised) users x items matrix with
    scipy sparse products, one block of item rows at a time, each block pruned (Numba)
    before the next is computed, so memory stays near the size of the result. Formulas
    are in the module docstring.

    Parameters
    ----------
    user_items : scipy sparse matrix, shape (n_users, n_items)
        Interaction weights (counts, binary, time-decayed, ...), non-negative.
    similarity : {"cosine", "asymmetric_cosine", "jaccard", "bm25"}, default "cosine"
    k : int, default 100
        Neighbours kept per item (the item itself is never its own neighbour).
    shrink : float, default 0.0
        Added to every denominator; damps similarities supported by few users.
    alpha : float, default 0.5
        Asymmetric cosine exponent, in [0, 1].
    bm25_k1, bm25_b : float, default 1.2, 0.75
        BM25 parameters (``K1``, ``B`` in implicit).
    num_threads : int, default 0
        Numba threads for pruning (0 = all cores).

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n_items, n_items)
        Row ``i`` holds the neighbours of item ``i`` (sorted indices). Pairs that no user
        shares are absent.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.models.similarity import item_similarity
    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=np.float32))
    >>> s = item_similarity(x, similarity="jaccard", k=1)
    >>> s.toarray().round(3).tolist()
    [[0.0, 0.667, 0.0], [0.667, 0.0, 0.0], [0.0, 0.333, 0.0]]
    """
    check_in("similarity", similarity, SIMILARITIES)
    k = check_positive_int("k", k)
    resolve_num_threads(num_threads)
    shrink = float(shrink)
    if not np.isfinite(shrink) or shrink < 0:
        raise InputDataError(f"shrink must be a finite number >= 0, got {shrink!r}")
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise InputDataError(f"alpha must be in [0, 1], got {alpha!r}")
    for name, value in (("bm25_k1", bm25_k1), ("bm25_b", bm25_b)):
        if not np.isfinite(float(value)) or float(value) < 0:
            raise InputDataError(f"{name} must be a finite number >= 0, got {value!r}")
    if not sp.issparse(user_items):
        raise InputDataError(
            "user_items must be a scipy sparse matrix (users x items), "
            f"got {type(user_items).__name__}"
        )
    x = sp.csr_matrix(user_items, dtype=np.float64)
    x.sum_duplicates()
    x.eliminate_zeros()
    if x.nnz and (not np.isfinite(x.data).all() or (x.data < 0).any()):
        raise InputDataError("user_items must hold finite, non-negative weights")
    n_items = x.shape[1]

    if similarity == "jaccard":
        x.data = np.ones_like(x.data)
    elif similarity == "bm25":
        x = bm25_weight(x, float(bm25_k1), float(bm25_b))
    squared = np.asarray(x.multiply(x).sum(axis=0)).ravel()
    xt = x.T.tocsr()

    blocks = []
    for lo, hi in _row_blocks(xt, x):
        dots = (xt[lo:hi] @ x).tocsr()
        rows = np.repeat(np.arange(lo, hi), np.diff(dots.indptr))
        cols = dots.indices
        if similarity == "cosine":
            denominator = np.sqrt(squared[rows] * squared[cols])
        elif similarity == "asymmetric_cosine":
            denominator = squared[rows] ** alpha * squared[cols] ** (1.0 - alpha)
        elif similarity == "jaccard":
            # on binary data the squared norm is the item's number of buyers
            denominator = squared[rows] + squared[cols] - dots.data
        else:
            denominator = np.ones_like(dots.data)
        denominator += shrink
        with np.errstate(divide="ignore", invalid="ignore"):
            dots.data = np.where(denominator > 0, dots.data / denominator, 0.0)
        blocks.append(prune_topk_rows(dots, k, first_row=lo, num_threads=num_threads))
    if not blocks:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    result = sp.vstack(blocks, format="csr").astype(np.float32)
    result.has_sorted_indices = True
    return result
