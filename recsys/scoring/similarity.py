"""Item-item similarity for ItemKNN: sparse products plus Numba top-k pruning.

All kinds are ``numerator / (denominator + shrink)`` over the users x items matrix ``X``
(items are columns; ``x_i`` is item ``i``'s column):

===================== ====================================== ==================================
kind                  numerator                              denominator
===================== ====================================== ==================================
``cosine``            ``<x_i, x_j>``                         ``|x_i| |x_j|``
``asymmetric_cosine`` ``<x_i, x_j>``                         ``n_i ** a * n_j ** (1 - a)``
``jaccard``           ``|U_i & U_j|`` (binarised ``X``)      ``|U_i| + |U_j| - |U_i & U_j|``
``bm25``              ``<w_i, w_j>`` (BM25-weighted ``X``)   ``1``
===================== ====================================== ==================================

where ``a`` is ``asymmetry`` and ``n_i = |x_i|^2 = sum_u X[u, i]^2`` is the *squared*
norm, so asymmetric cosine is ``<x_i, x_j> / (|x_i|^(2a) |x_j|^(2 (1 - a)) + shrink)`` as in
Aiolli (2013),
"Efficient top-N recommendation for very large scale binary rated datasets" (on binary
data ``n_i`` is the item's number of buyers); ``asymmetry = 0.5`` gives cosine. Row ``i`` of
the result holds the neighbours ``j`` of item ``i``, so with ``asymmetry > 0.5`` popular
*neighbours* are penalised less than popular query items.

BM25 weights are those of ``implicit.nearest_neighbours.bm25_weight`` applied to the
items x users matrix (items are the "documents", users the "terms")::

    idf[u]   = log(n_items) - log(1 + number of items user u bought)
    norm[i]  = (1 - B) + B * sum_u X[u, i] / mean_i(sum_u X[u, i])
    w[u, i]  = X[u, i] * (K1 + 1) / (K1 * norm[i] + X[u, i]) * idf[u]

so ``similarity="bm25"`` with ``shrink=0`` has the similarity values of implicit's
``BM25Recommender`` (and ``"cosine"`` those of ``CosineRecommender``); ``shrink`` only
rescales BM25 (its denominator is 1). Unlike implicit, the item itself is never its own
neighbour: implicit keeps the item among its own ``K`` neighbours (for cosine it is always
the most similar, similarity 1), so ``k = K - 1`` here keeps the same other neighbours
(for BM25 only when the item's self-similarity is its largest, which is usual but not
guaranteed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._threads import thread_limits
from recsys._validation import check_in, check_positive_int, resolve_num_threads
from recsys.exceptions import InputDataError
from recsys.scoring import _kernels

__all__ = ["SIMILARITIES", "bm25_weight", "item_similarity", "prune_topk_rows"]

SIMILARITIES = ("cosine", "asymmetric_cosine", "jaccard", "bm25")

_NO_FACTORS = np.zeros(0, dtype=np.float64)


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
    >>> from recsys.scoring import prune_topk_rows
    >>> s = sp.csr_matrix(np.array([[1, .5, .2, .5], [.1, 1, .3, .2]], dtype=np.float32))
    >>> prune_topk_rows(s, 2).toarray().tolist()
    [[0.0, 0.5, 0.0, 0.5], [0.0, 0.0, 0.30000001192092896, 0.20000000298023224]]
    """
    if not sp.issparse(csr):
        raise InputDataError(f"csr must be a scipy sparse matrix, got {type(csr).__name__}")
    k = check_positive_int("k", k)
    first_row = check_positive_int("first_row", first_row, allow_zero=True)
    mat = sp.csr_matrix(csr)
    return _prune_rows(mat, k, first_row, 0, _NO_FACTORS, _NO_FACTORS, 0.0, num_threads)


def _prune_rows(
    mat: sp.csr_matrix,
    k: int,
    first_row: int,
    mode: int,
    row_factor: np.ndarray,
    col_factor: np.ndarray,
    shrink: float,
    num_threads: int,
) -> sp.csr_matrix:
    """prune_topk_rows without the checks, with the similarity transform of
    ``_kernels.prune_rows_kernel``."""
    n_rows, n_cols = mat.shape
    width = min(k, n_cols)
    top_s, top_i, counts = _kept_rows(n_rows, width)
    if n_rows and width:
        with thread_limits(num_threads):
            _kernels.prune_rows_kernel(
                *_kernel_arrays(mat),
                width,
                first_row,
                mode,
                row_factor,
                col_factor,
                shrink,
                top_s,
                top_i,
                counts,
            )
    return _to_csr(top_s, top_i, counts, n_cols, num_threads)


def _kept_rows(n_rows: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row buffers of the kept entries (scores, item indices) and their counts."""
    return (
        np.empty((n_rows, max(width, 1)), dtype=np.float32),
        np.empty((n_rows, max(width, 1)), dtype=np.int32),
        np.zeros(n_rows, dtype=np.int64),
    )


def _kernel_arrays(mat: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, indices, data) as the similarity kernels take them: int64, int64, float64."""
    return (
        mat.indptr.astype(np.int64, copy=False),
        mat.indices.astype(np.int64, copy=False),
        mat.data.astype(np.float64, copy=False),
    )


def _to_csr(
    top_s: np.ndarray, top_i: np.ndarray, counts: np.ndarray, n_cols: int, num_threads: int
) -> sp.csr_matrix:
    """CSR (float32, sorted indices) from per-row kept entries ``top_*[r, :counts[r]]``."""
    n_rows = counts.shape[0]
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=out_indptr[1:])
    nnz = int(out_indptr[-1])
    out_indices = np.empty(nnz, dtype=np.int32)
    out_data = np.empty(nnz, dtype=np.float32)
    if nnz:
        with thread_limits(num_threads):
            _kernels.gather_rows_kernel(top_s, top_i, out_indptr, out_indices, out_data)
    index_dtype = np.int32 if nnz < 2**31 else np.int64
    result = sp.csr_matrix(
        (out_data, out_indices.astype(index_dtype), out_indptr.astype(index_dtype)),
        shape=(n_rows, n_cols),
    )
    result.has_sorted_indices = True
    return result


def _fused_similarity(
    x: sp.csr_matrix,
    xt: sp.csr_matrix,
    k: int,
    mode: int,
    row_factor: np.ndarray,
    col_factor: np.ndarray,
    shrink: float,
    num_threads: int,
) -> sp.csr_matrix:
    """All rows of the pruned similarity with the fused Numba kernel (no X.T @ X)."""
    n_items = x.shape[1]
    width = min(k, n_items)
    top_s, top_i, counts = _kept_rows(n_items, width)
    if n_items and width and x.nnz:
        with thread_limits(num_threads) as threads:
            _kernels.similarity_rows_kernel(
                *_kernel_arrays(xt),
                *_kernel_arrays(x),
                width,
                mode,
                row_factor,
                col_factor,
                shrink,
                # many small tasks: popular items cost far more than rare ones
                max(1, min(n_items, threads * 16)),
                top_s,
                top_i,
                counts,
            )
    return _to_csr(top_s, top_i, counts, n_items, num_threads)


def bm25_weight(user_items: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25-weighted copy (float64) of a users x items matrix, as implicit weights it.

    Same values as ``implicit.nearest_neighbours.bm25_weight(user_items.T, k1, b).T``:
    items are the documents (length-normalised), users the terms (idf).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.scoring import bm25_weight
    >>> x = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 2.0]]))
    >>> bool(bm25_weight(x)[0, 0] < 0)  # idf of a user who bought every item is negative
    True
    """
    x = sp.csr_matrix(user_items, dtype=np.float64)
    n_users, n_items = x.shape
    coo = x.tocoo()
    items_per_user = np.bincount(coo.row, minlength=n_users)
    idf = np.log(float(max(n_items, 1))) - np.log1p(items_per_user)  # no items: unused
    item_sums = np.bincount(coo.col, weights=coo.data, minlength=n_items)
    mean_length = item_sums.mean() if n_items else 0.0
    if not mean_length > 0:  # no weight at all: nothing to normalise (and no 0 / 0)
        mean_length = 1.0
    length_norm = (1.0 - b) + b * item_sums / mean_length
    data = coo.data * (k1 + 1.0) / (k1 * length_norm[coo.col] + coo.data) * idf[coo.row]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=x.shape)


def item_similarity(
    user_items: Any,
    *,
    similarity: str = "cosine",
    neighbors: int = 100,
    shrink: float = 0.0,
    asymmetry: float = 0.5,
    bm25_k1: float = 1.2,
    bm25_b: float = 0.75,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """Item-item similarity pruned to each item's ``neighbors`` nearest neighbours.

    Row ``i`` of ``X.T @ X`` on the (weighted or binarised) users x items matrix is
    accumulated by a parallel Numba kernel in a dense buffer of one row per task, turned
    into similarities and pruned to ``neighbors`` before the next row, so memory stays near the
    size of the result. (The alternative, scipy sparse products on blocks of rows each
    pruned before the next, gives identical results and was measured 1.2-1.4x slower on
    Online Retail; ``benchmarks/_alternatives.py`` keeps it for the benchmark.) Formulas
    are in the docstring of `recsys.scoring.similarity`.

    Parameters
    ----------
    user_items : scipy sparse matrix, shape (n_users, n_items)
        Interaction weights (counts, binary, time-decayed, ...), non-negative.
    similarity : {"cosine", "asymmetric_cosine", "jaccard", "bm25"}, default "cosine"
    neighbors : int, default 100
        Neighbours kept per item (the item itself is never its own neighbour).
    shrink : float, default 0.0
        Added to every denominator; damps similarities supported by few users.
    asymmetry : float, default 0.5
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
    >>> from recsys.scoring import item_similarity
    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=np.float32))
    >>> s = item_similarity(x, similarity="jaccard", neighbors=1)
    >>> s.toarray().astype(float).round(3).tolist()
    [[0.0, 0.667, 0.0], [0.667, 0.0, 0.0], [0.0, 0.333, 0.0]]
    """
    x, xt, k, mode, row_factor, col_factor, shrink = _similarity_inputs(
        user_items, similarity, neighbors, shrink, asymmetry, bm25_k1, bm25_b, num_threads
    )
    return _fused_similarity(x, xt, k, mode, row_factor, col_factor, shrink, num_threads)


def _similarity_inputs(
    user_items: Any,
    similarity: str,
    k: int,
    shrink: float,
    asymmetry: float,
    bm25_k1: float,
    bm25_b: float,
    num_threads: int,
) -> tuple[sp.csr_matrix, sp.csr_matrix, int, int, np.ndarray, np.ndarray, float]:
    """Checked arguments of ``item_similarity``: the (weighted or binarised) users x items
    matrix ``x`` (float64, canonical), ``x.T`` as CSR, ``k``, and the ``mode``, factors and
    ``shrink`` of ``_similarity_value``. Also used by the benchmarks' alternatives."""
    check_in("similarity", similarity, SIMILARITIES)
    k = check_positive_int("neighbors", k)
    resolve_num_threads(num_threads)
    shrink = float(shrink)
    if not np.isfinite(shrink) or shrink < 0:
        raise InputDataError(f"shrink must be a finite number >= 0, got {shrink!r}")
    asymmetry = float(asymmetry)
    if not 0.0 <= asymmetry <= 1.0:
        raise InputDataError(f"asymmetry must be in [0, 1], got {asymmetry!r}")
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

    if similarity == "cosine":
        mode, row_factor, col_factor = 1, np.sqrt(squared), np.sqrt(squared)
    elif similarity == "asymmetric_cosine":
        mode, row_factor, col_factor = 1, squared**asymmetry, squared ** (1.0 - asymmetry)
    elif similarity == "jaccard":
        # on binary data the squared norm is the item's number of buyers
        mode, row_factor, col_factor = 2, squared, squared
    else:
        mode, row_factor, col_factor = 1, np.ones(n_items), np.ones(n_items)
    return x, xt, k, mode, row_factor, col_factor, shrink
