"""Sparse item-kNN scoring fused with top-K selection: ``knn_topk``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._threads import thread_limits
from recsys.exceptions import InputDataError
from recsys.scoring import _kernels
from recsys.scoring._checks import (
    check_candidates,
    check_exclude,
    check_k,
    empty_result,
)

__all__ = ["knn_topk"]


def _check_csr(name: str, matrix: Any) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise InputDataError(
            f"{name} must be a scipy sparse matrix (CSR), got {type(matrix).__name__}"
        )
    csr = sp.csr_matrix(matrix)
    if not np.issubdtype(csr.dtype, np.floating) and not np.issubdtype(csr.dtype, np.integer):
        raise InputDataError(f"{name} must hold real numbers, got dtype {csr.dtype}")
    return csr


def knn_topk(
    user_items: Any,
    similarity: Any,
    k: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items by item-kNN score, without materialising the users x items scores.

    ``score[u, j] = sum_i user_items[u, i] * similarity[i, j]``, accumulated in float64
    per user (in a dense accumulator of size m per parallel task) and selected with a
    bounded min-heap right away.

    Only items *reached* through a neighbour (``similarity[i, j]`` stored for some item
    ``i`` in the user's row) are eligible, even when their accumulated score is zero or
    negative; items never reached are not scored and never returned, so a user whose
    history reaches fewer than ``k`` items gets a padded row. Duplicate entries in either
    matrix are summed.

    Parameters
    ----------
    user_items : scipy sparse matrix, shape (n, r)
        Users' histories (weights), one row per query.
    similarity : scipy sparse matrix, shape (r, m)
        Row ``i`` holds the neighbours of item ``i`` and their similarities (square
        for item-kNN; any ``r x m`` matrix gives the top-K of a sparse product).
    k : int
        Number of items per user, >= 1 (may exceed m; rows are padded).
    exclude : scipy sparse matrix, shape (n, m), optional
        Row ``u`` holds the items never to return for user ``u`` (typically
        ``user_items`` itself, to hide items already bought).
    candidates : 1-D array of int, optional
        Item indices allowed for every user; out-of-range indices raise ``InputDataError``.
    num_threads : int, default 0
        Numba threads (0 = all cores).

    Returns
    -------
    ids : ndarray of int32, shape (n, k)
        Item indices, best first, ties to the lower item index, padded with -1.
    scores : ndarray of float32, shape (n, k)
        Scores, padded with -inf.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from recsys.scoring import knn_topk
    >>> history = sp.csr_matrix(np.array([[1, 0, 0]], dtype=np.float32))
    >>> sim = sp.csr_matrix(np.array([[0, .5, .2], [.5, 0, 0], [.2, 0, 0]], dtype=np.float32))
    >>> ids, scores = knn_topk(history, sim, 3)
    >>> ids.tolist()
    [[1, 2, -1]]
    """
    ui = _check_csr("user_items", user_items)
    sim = _check_csr("similarity", similarity)
    k = check_k(k)
    n, m = ui.shape[0], sim.shape[1]
    if sim.shape[0] != ui.shape[1]:
        raise InputDataError(
            f"similarity must have one row per column of user_items ({ui.shape[1]}), "
            f"got shape {sim.shape}"
        )
    indptr, indices = check_exclude(exclude, n, m)
    cands = check_candidates(candidates, m)
    out_ids, out_scores = empty_result(n, k)
    if n == 0 or m == 0:
        return out_ids, out_scores
    allowed = np.zeros(m if cands is not None else 0, dtype=np.bool_)
    if cands is not None:
        allowed[cands] = True
    with thread_limits(num_threads, blas_threads=1) as threads:
        # a fixed number of tasks per thread for load balance; each owns one accumulator
        n_chunks = max(1, min(n, threads * 8))
        _kernels.knn_topk_kernel(
            # index arrays as scipy holds them (no copy of the user x item matrix)
            ui.indptr,
            ui.indices,
            ui.data.astype(np.float32, copy=False),
            sim.indptr,
            sim.indices,
            sim.data.astype(np.float32, copy=False),
            m,
            k,
            allowed,
            cands is not None,
            indptr,
            indices,
            exclude is not None,
            n_chunks,
            out_scores,
            out_ids,
        )
    return out_ids, out_scores
