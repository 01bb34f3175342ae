"""Top-K selection over dense scores: ``topk`` (factor products) and ``select_topk``."""

from __future__ import annotations

from typing import Any

import numpy as np

from recsys._threads import thread_limits
from recsys._validation import check_positive_int
from recsys.exceptions import InputDataError
from recsys.scoring import _kernels
from recsys.scoring._checks import (
    check_candidates,
    check_dense,
    check_exclude,
    check_k,
    empty_result,
)

__all__ = ["select_topk", "topk"]

# Tile of the fused strategy: ROW_TILE queries x COL_TILE items of float32 scores per task
# (512 x 256 x 4 B = 512 KiB, half a core's L2), so the sgemm output is scanned while it is
# still in cache. Measured single-threaded on 2048 x 40000 x 64 (2-core AMD EPYC with
# AVX-512, best of 30 under load), with the selection: 512 x 256 0.129 s, 256 x 512
# 0.135 s (the bare products 0.114 s and 0.121 s); 128 x 1024 and 64 x 1024 were 20-40%
# slower products. Fixed sizes (not derived from the thread count) keep the BLAS
# floating-point results identical whatever ``num_threads`` is.
ROW_TILE = 512
COL_TILE = 256


def _prepare(
    queries: Any,
    item_factors: Any,
    k: Any,
    exclude: Any,
    candidates: Any,
    memory_budget_mb: Any,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray | None, int]:
    q = check_dense("queries", queries)
    items = check_dense("item_factors", item_factors)
    if q.shape[1] != items.shape[1]:
        raise InputDataError(
            f"queries and item_factors must have the same number of factors (columns), got "
            f"{q.shape[1]} and {items.shape[1]}"
        )
    k = check_k(k)
    budget = check_positive_int("memory_budget_mb", memory_budget_mb) * 2**20
    indptr, indices = check_exclude(exclude, q.shape[0], items.shape[0])
    cands = check_candidates(candidates, items.shape[0])
    return q, items, k, indptr, indices, cands, budget


def topk(
    queries: Any,
    item_factors: Any,
    k: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int = 0,
    memory_budget_mb: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items by inner product ``queries @ item_factors.T`` for every query.

    The product is never materialised: queries are processed in tiles of 512 queries x
    256 items. Each parallel task runs one single-threaded BLAS ``sgemm`` per tile into a
    cache-sized buffer and immediately scans it with a bounded min-heap per query
    (O(m log k)), skipping excluded items. This fused strategy was measured about 2x
    faster than a multithreaded BLAS product per large block followed by a parallel
    selection (the block's product leaves the cache before it is scanned), and about
    1.15x the bare tiled product without any selection (100k users x 40k items x 64
    factors, 2 threads; ``benchmarks/bench_scoring.py``). Working memory is one tile per
    thread (512 KiB, shrunk if ``memory_budget_mb`` is smaller) plus the output, so
    1M users x 100k items needs about 80 MB (the output at k=10) beyond the inputs;
    ``exclude`` is copied only if its indices are unsorted, ``item_factors`` only for the
    ``candidates`` rows.

    Parameters
    ----------
    queries : array-like of float, shape (n, f)
        User (query) vectors; converted to float32.
    item_factors : array-like of float, shape (m, f)
        Item vectors; converted to float32.
    k : int
        Number of items per query, >= 1. ``k`` may exceed ``m``: the result always has
        ``k`` columns, padded.
    exclude : scipy sparse matrix, shape (n, m), optional
        Row ``i`` holds the items never to recommend to query ``i`` (its structure counts,
        not its values: an explicit zero still excludes).
    candidates : 1-D array of int, optional
        Item indices allowed for every query; others are never returned. Indices outside
        ``[0, m)`` raise ``InputDataError``; duplicates are ignored.
    num_threads : int, default 0
        Numba threads (0 = all cores). BLAS is held to one thread meanwhile, so the two
        never oversubscribe.
    memory_budget_mb : int, default 256
        Upper bound on the working memory besides the output.

    Returns
    -------
    ids : ndarray of int32, shape (n, k)
        Item indices, best first. Ties go to the lower item index. Rows with fewer than
        ``k`` eligible items are padded with -1.
    scores : ndarray of float32, shape (n, k)
        The matching scores, padded with -inf. NaN scores are never returned.

    Raises
    ------
    InputDataError
        On ``k <= 0``, mismatched shapes, a bad ``exclude`` or out-of-range ``candidates``.

    Examples
    --------
    >>> import numpy as np
    >>> from recsys.scoring import topk
    >>> users = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> items = np.array([[3.0, 0.0], [1.0, 1.0], [0.0, 2.0]], dtype=np.float32)
    >>> ids, scores = topk(users, items, 2)
    >>> ids.tolist(), scores.tolist()
    ([[0, 1], [2, 1]], [[3.0, 1.0], [2.0, 1.0]])
    """
    q, items, k, indptr, indices, cands, budget = _prepare(
        queries, item_factors, k, exclude, candidates, memory_budget_mb
    )
    n = q.shape[0]
    out_ids, out_scores = empty_result(n, k)
    if cands is not None:
        items = np.ascontiguousarray(items[cands])
    if n == 0 or items.shape[0] == 0:
        return out_ids, out_scores
    col_map = cands if cands is not None else np.zeros(0, dtype=np.int64)
    with thread_limits(num_threads, blas_threads=1) as threads:
        col_tile = COL_TILE
        while col_tile > 16 and threads * ROW_TILE * col_tile * 4 > budget:
            col_tile //= 2
        _kernels.topk_fused_kernel(
            q,
            items,
            k,
            ROW_TILE,
            col_tile,
            # several tasks per thread so a slow thread does not hold up the rest
            max(1, min(-(-n // ROW_TILE), threads * 4)),
            col_map,
            cands is not None,
            indptr,
            indices,
            out_scores,
            out_ids,
        )
    return out_ids, out_scores


def select_topk(
    scores: Any,
    k: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` columns of every row of an already computed dense score block.

    Same selection as `topk` (bounded min-heap per row, ties to the lower item
    index, -1/-inf padding, ``k`` may exceed the number of items), for models whose
    scores are not a factor product (popularity, repurchase, blends).

    Parameters
    ----------
    scores : array-like of float, shape (b, m)
        Scores; converted to float32. NaN marks an ineligible item.
    k : int
        Number of items per row, >= 1.
    exclude : scipy sparse matrix, shape (b, m), optional
        Row ``i`` holds the items never to return for row ``i``.
    candidates : 1-D array of int, optional
        Item indices allowed for every row; out-of-range indices raise ``InputDataError``.
    num_threads : int, default 0
        Numba threads (0 = all cores).

    Returns
    -------
    ids : ndarray of int32, shape (b, k)
    scores : ndarray of float32, shape (b, k)

    Examples
    --------
    >>> import numpy as np
    >>> from recsys.scoring import select_topk
    >>> block = np.array([[0.5, 2.0, np.nan, 2.0]], dtype=np.float32)
    >>> ids, top = select_topk(block, 3)
    >>> ids.tolist(), top.tolist()
    ([[1, 3, 0]], [[2.0, 2.0, 0.5]])
    """
    block = check_dense("scores", scores)
    k = check_k(k)
    n, m = block.shape
    indptr, indices = check_exclude(exclude, n, m)
    cands = check_candidates(candidates, m)
    out_ids, out_scores = empty_result(n, k)
    if n == 0:
        return out_ids, out_scores
    col_map = cands if cands is not None else np.zeros(0, dtype=np.int64)
    n_cols = m if cands is None else cands.shape[0]
    sizes = np.zeros(n, dtype=np.int64)
    with thread_limits(num_threads, blas_threads=1):
        _kernels.select_kernel(
            block,
            0,
            0,
            n_cols,
            col_map,
            cands is not None,
            cands is not None,
            indptr,
            indices,
            out_scores,
            out_ids,
            sizes,
            k,
            True,
        )
    return out_ids, out_scores
