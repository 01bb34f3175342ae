"""Strategies the library measured and did not keep, for the benchmarks' comparison rows.

Each has the contract and results of the library function it stands next to:

* ``topk_blocked``: :func:`recsys.scoring.topk` as a multithreaded BLAS product per block
  of queries sized from ``memory_budget_mb``, then the parallel Numba selection of
  :func:`recsys.scoring.select_topk` (``benchmarks/bench_scoring.py``).
* ``item_similarity_blocked``: :func:`recsys.scoring.item_similarity` as scipy sparse
  products ``X.T @ X`` on blocks of rows, each pruned by Numba before the next
  (``benchmarks/bench_models.py``).

They use the library's private helpers so that only the strategy differs; the tests in
``tests/benchmarks/`` check that they agree with the library.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._threads import thread_limits
from recsys._validation import resolve_num_threads
from recsys.scoring import _kernels, dense
from recsys.scoring import similarity as simmod
from recsys.scoring._checks import empty_result

__all__ = ["item_similarity_blocked", "topk_blocked"]

# Upper bound on the multiply-adds of one row block of X.T @ X (about its peak entries
# before pruning); keeps memory bounded for large catalogues.
BLOCK_PRODUCTS = 20_000_000


def topk_blocked(
    queries: Any,
    item_factors: Any,
    k: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int = 0,
    memory_budget_mb: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`recsys.scoring.topk` by blocks: a multithreaded BLAS product per block of
    queries sized from ``memory_budget_mb``, then a parallel Numba selection.

    Same contract and results as ``topk`` (up to BLAS rounding, which may differ with
    the BLAS thread count).
    """
    q, items, k, indptr, indices, cands, budget = dense._prepare(
        queries, item_factors, k, exclude, candidates, memory_budget_mb
    )
    n = q.shape[0]
    out_ids, out_scores = empty_result(n, k)
    if cands is not None:
        items = np.ascontiguousarray(items[cands])
    m = items.shape[0]
    if n == 0 or m == 0:
        return out_ids, out_scores
    col_map = cands if cands is not None else np.zeros(0, dtype=np.int64)
    block = max(1, min(n, budget // (4 * m)))
    buf = np.empty(block * m, dtype=np.float32)
    sizes = np.zeros(n, dtype=np.int64)
    threads = resolve_num_threads(num_threads)
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        scores = buf[: (r1 - r0) * m].reshape(r1 - r0, m)
        with thread_limits(num_threads, blas_threads=threads):
            np.dot(q[r0:r1], items.T, out=scores)
        with thread_limits(num_threads, blas_threads=1):
            _kernels.select_kernel(
                scores,
                r0,
                0,
                m,
                col_map,
                cands is not None,
                False,
                indptr,
                indices,
                out_scores,
                out_ids,
                sizes,
                k,
                True,
            )
    return out_ids, out_scores


def row_blocks(
    xt: sp.csr_matrix, x: sp.csr_matrix, max_products: int = BLOCK_PRODUCTS
) -> list[tuple[int, int]]:
    """Item ranges whose rows of X.T @ X each need at most ~``max_products`` multiply-adds."""
    user_lengths = np.diff(x.indptr).astype(np.float64)
    products = xt.copy()
    products.data = np.ones_like(products.data, dtype=np.float64)
    per_item = products @ user_lengths
    bounds = [0]
    running = 0.0
    for i, cost in enumerate(per_item):
        if running and running + cost > max_products:
            bounds.append(i)
            running = 0.0
        running += cost
    bounds.append(xt.shape[0])
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def item_similarity_blocked(
    user_items: Any,
    *,
    similarity: str = "cosine",
    neighbors: int = 100,
    shrink: float = 0.0,
    asymmetry: float = 0.5,
    bm25_k1: float = 1.2,
    bm25_b: float = 0.75,
    num_threads: int = 0,
    max_products: int = BLOCK_PRODUCTS,
) -> sp.csr_matrix:
    """:func:`recsys.scoring.item_similarity` by scipy products on row blocks of
    ``X.T @ X`` (each of at most ~``max_products`` multiply-adds), each pruned by
    ``prune_topk_rows``'s kernel with the similarity transform. Same result."""
    x, xt, k, mode, row_factor, col_factor, shrink = simmod._similarity_inputs(
        user_items, similarity, neighbors, shrink, asymmetry, bm25_k1, bm25_b, num_threads
    )
    n_items = x.shape[1]
    blocks = []
    for lo, hi in row_blocks(xt, x, max_products):
        dots = (xt[lo:hi] @ x).tocsr()
        blocks.append(
            simmod._prune_rows(dots, k, lo, mode, row_factor, col_factor, shrink, num_threads)
        )
    if not blocks:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    result = sp.vstack(blocks, format="csr").astype(np.float32)
    result.has_sorted_indices = True
    return result
