"""Numba kernels behind `recsys.scoring`: one bounded-heap top-K selection (dense
top-K, kNN scoring, item-similarity pruning) and one sparse row accumulator (kNN scoring,
the rows of ``X.T @ X``).

Conventions shared by every kernel here:

* A row's top-K lives in a *min-heap* of size ``k`` stored in the output row itself
  (``out_scores[i, :]``, ``out_ids[i, :]``) with its current number of entries in ``sizes``.
  The root is the *worst* entry kept so far, where "worse" means a lower score, or the
  same score and a higher item index (ties go to the lower item index). ``_offer`` adds
  one entry; ``_offer_all`` a buffer of candidates in any order (kNN scoring, item
  similarity); ``_scan_range`` a run of dense score columns in increasing item order.
* NaN scores are never eligible. ``-inf`` scores are eligible (and sort after finite ones).
* ``_finish_row`` heap-sorts a row in place to best-first order and pads the unused tail
  with ``-1`` / ``-inf``; ``_sort_row_by_index`` instead orders it by increasing item
  index, for rows that become CSR rows (the pruned item similarity).
* ``_accumulate_row`` sums one row of a sparse product ``a @ b`` into a dense float64
  buffer that is never cleared (a per-row stamp marks the columns already reset) and
  lists the columns it reached; the caller then visits only those.

Every row is computed independently of the others and in a fixed order, so the results do
not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# scores tested at once for "any above the threshold" (see _scan_range), and the width of
# the bit masks that then locate the hits of a run
_RUN = 128
_MASK = 64

__all__ = [
    "gather_rows_kernel",
    "knn_topk_kernel",
    "prune_rows_kernel",
    "select_kernel",
    "similarity_rows_kernel",
    "topk_fused_kernel",
]


@njit(cache=True, nogil=True, inline="always")
def _worse(s_a: float, i_a: int, s_b: float, i_b: int) -> bool:
    """True when entry a ranks below entry b (lower score, or tie and higher index)."""
    return s_a < s_b or (s_a == s_b and i_a > i_b)


# The heap helpers take the 2-D output arrays and a row index rather than row views:
# every Numba array view costs an atomic reference-count update on the parent, and with
# one view per (row, tile) those updates from several threads on the same counter were
# measured to cost more than the scan itself.


@njit(cache=True, nogil=True)
def _sift_down(heap_s, heap_i, h, size, pos, s, g):
    """Place (s, g) at ``pos`` of row ``h``'s min-heap of ``size`` entries; sift it down."""
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        other = child + 1
        if other < size and _worse(
            heap_s[h, other], heap_i[h, other], heap_s[h, child], heap_i[h, child]
        ):
            child = other
        if _worse(heap_s[h, child], heap_i[h, child], s, g):
            heap_s[h, pos] = heap_s[h, child]
            heap_i[h, pos] = heap_i[h, child]
            pos = child
        else:
            break
    heap_s[h, pos] = s
    heap_i[h, pos] = g


@njit(cache=True, nogil=True)
def _offer(heap_s, heap_i, h, size, k, s, g):
    """Offer (score s, item g) to row ``h``'s heap of ``size`` of at most ``k`` entries.

    Returns the new size. NaN is never accepted.
    """
    if s != s:
        return size
    if size < k:
        pos = size
        while pos > 0:
            parent = (pos - 1) >> 1
            if _worse(s, g, heap_s[h, parent], heap_i[h, parent]):
                heap_s[h, pos] = heap_s[h, parent]
                heap_i[h, pos] = heap_i[h, parent]
                pos = parent
            else:
                break
        heap_s[h, pos] = s
        heap_i[h, pos] = g
        return size + 1
    if _worse(heap_s[h, 0], heap_i[h, 0], s, g):
        _sift_down(heap_s, heap_i, h, size, 0, s, g)
    return size


@njit(cache=True, nogil=True)
def _offer_all(values, items, n, heap_s, heap_i, h, k):
    """Offer ``values[:n]`` (items ``items[:n]``, unique, in any order) to row ``h``'s empty
    heap of at most ``k`` entries; return its size. NaN is never accepted.

    The first ``k`` non-NaN candidates are copied and heapified (Floyd); after that the
    root is kept in locals, so the common case (a candidate that does not beat the root)
    costs one comparison. Offering candidates one ``_offer`` call at a time from the loop
    that computes them was measured about 1.7x slower on the item similarity (per-call
    overhead), and inlining ``_offer`` there no faster.
    """
    size = 0
    t = 0
    while size < k and t < n:
        s = values[t]
        if s == s:
            heap_s[h, size] = s
            heap_i[h, size] = items[t]
            size += 1
        t += 1
    for start in range(size // 2 - 1, -1, -1):
        _sift_down(heap_s, heap_i, h, size, start, heap_s[h, start], heap_i[h, start])
    if size < k:
        return size
    root_s = heap_s[h, 0]
    root_i = heap_i[h, 0]
    for p in range(t, n):
        s = values[p]
        g = items[p]
        if _worse(root_s, root_i, s, g):  # False for NaN
            _sift_down(heap_s, heap_i, h, size, 0, s, g)
            root_s = heap_s[h, 0]
            root_i = heap_i[h, 0]
    return size


@njit(cache=True, nogil=True)
def _finish_row(heap_s, heap_i, h, size):
    """Heap-sort row ``h`` in place to best-first order; pad the tail with -1/-inf."""
    for end in range(size - 1, 0, -1):
        worst_s = heap_s[h, 0]
        worst_i = heap_i[h, 0]
        _sift_down(heap_s, heap_i, h, end, 0, heap_s[h, end], heap_i[h, end])
        heap_s[h, end] = worst_s
        heap_i[h, end] = worst_i
    for t in range(size, heap_s.shape[1]):
        heap_s[h, t] = -np.inf
        heap_i[h, t] = -1


@njit(cache=True, nogil=True)
def _sort_row_by_index(heap_s, heap_i, h, size):
    """Reorder the ``size`` entries of row ``h`` (a selected top-K, item indices unique) by
    increasing item index, carrying the scores: the order of a CSR row. Once per row, so
    the small copies do not matter."""
    order = np.argsort(heap_i[h, :size])
    scores = heap_s[h, :size][order]
    items = heap_i[h, :size][order]
    heap_s[h, :size] = scores
    heap_i[h, :size] = items


@njit(cache=True, nogil=True, inline="always")
def _accumulate_row(
    a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, r, stamp, acc, touched_by, touched
):
    """Row ``r`` of the sparse product ``a @ b`` (CSR arrays) into the dense buffer ``acc``.

    Sets ``acc[j] = sum_p a[r, p] * b[p, j]`` (float64, summed in ``a``'s row order, then
    ``b``'s, so the result does not depend on the caller's threads) for every column ``j``
    that the row reaches, and returns their number ``n`` with the columns in
    ``touched[:n]`` (first-reached order). ``acc`` is never cleared: a column's slot is
    reset the first time it is reached under ``stamp`` (unique per row of the caller's
    task, > 0), recorded in ``touched_by``. Columns not reached keep stale values.
    """
    n_touched = 0
    for p in range(a_indptr[r], a_indptr[r + 1]):
        row = a_indices[p]
        weight = np.float64(a_data[p])
        for q in range(b_indptr[row], b_indptr[row + 1]):
            j = b_indices[q]
            if touched_by[j] != stamp:
                touched_by[j] = stamp
                acc[j] = 0.0
                touched[n_touched] = j
                n_touched += 1
            acc[j] += weight * b_data[q]
    return n_touched


@njit(cache=True, nogil=True)
def _task_buffers(n_columns):
    """One parallel task's buffers for ``_accumulate_row`` and ``_offer_all``: ``acc``,
    ``touched_by`` (zeroed: no stamp is 0), ``touched`` and candidate ``values``."""
    return (
        np.zeros(n_columns, dtype=np.float64),
        np.zeros(n_columns, dtype=np.int64),
        np.empty(n_columns, dtype=np.int64),
        np.empty(n_columns, dtype=np.float32),
    )


@njit(cache=True, nogil=True, inline="always")
def _task_range(task, n, n_tasks):
    """The contiguous rows ``[lo, hi)`` of ``n`` that parallel task ``task`` of ``n_tasks``
    owns (empty for the trailing tasks when ``n_tasks`` does not divide ``n``)."""
    per_task = (n + n_tasks - 1) // n_tasks
    lo = min(n, task * per_task)
    return lo, min(n, lo + per_task)


@njit(cache=True, nogil=True, inline="always")
def _skip_excluded(excl_indices, e, e_hi, g):
    """Move the cursor ``e`` over the sorted exclusions ``excl_indices[e:e_hi]`` below item
    ``g``; return (whether ``g`` is excluded, the new cursor). Items are visited in
    increasing order, so one cursor walks each row's exclusions once (duplicates too)."""
    while e < e_hi and excl_indices[e] < g:
        e += 1
    return e < e_hi and excl_indices[e] == g, e


@njit(cache=True, nogil=True, inline="always")
def _any_above(scores, row, first, threshold):
    """Whether any of ``scores[row, first:first + _RUN]`` exceeds ``threshold``: a
    branch-free loop of compile-time length that LLVM vectorises. Unsigned indices skip
    Numba's negative-index wraparound, which would otherwise keep the loop scalar
    (measured 2.5x slower)."""
    above = False
    for t in range(_RUN):
        above |= scores[row, first + np.uintp(t)] > threshold
    return above


@njit(cache=True, nogil=True, inline="always")
def _above_mask(scores, row, first, threshold):
    """Bit ``t`` set where ``scores[row, first + t] > threshold``, ``t < _MASK`` (uint64):
    branch-free, vectorised like ``_any_above``."""
    mask = np.uint64(0)
    for t in range(_MASK):
        mask |= np.uint64(scores[row, first + np.uintp(t)] > threshold) << np.uint64(t)
    return mask


@intrinsic
def _trailing_zeros(typingctx, value):
    """The index of the lowest set bit of a nonzero uint64 (LLVM ``cttz``)."""
    if value != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True, inline="always")
def _take_hits(
    scores, row, first, lowest, base, col_map, use_map, excl_indices, e, e_hi,
    heap_s, heap_i, h, size, threshold,
):  # fmt: skip
    """Offer to the full heap of row ``h`` the columns ``lowest <= c < first + _MASK``
    (``first <= lowest``) of tile row ``row`` that score above ``threshold``, in column
    order; return the new (threshold, exclusion cursor). Columns whose bit is set are
    rechecked: the threshold rises as the heap takes items."""
    mask = _above_mask(scores, row, np.uintp(first - base), threshold)
    if lowest > first:
        mask &= ~((np.uint64(1) << np.uint64(lowest - first)) - np.uint64(1))
    while mask != 0:
        c = first + np.int64(_trailing_zeros(mask))  # type: ignore[call-arg]  # Numba passes typingctx
        mask &= mask - np.uint64(1)
        s = scores[row, np.uintp(c - base)]
        if s > threshold:
            g = col_map[c] if use_map else c
            excluded, e = _skip_excluded(excl_indices, e, e_hi, g)
            if not excluded:
                _sift_down(heap_s, heap_i, h, size, 0, s, g)
                threshold = heap_s[h, 0]
    return threshold, e


@njit(cache=True, nogil=True, inline="always")
def _row_above(scores, r, width, threshold):
    """Whether any of ``scores[r, :width]`` exceeds ``threshold``: runs of ``_any_above``
    combined without a branch, then the last partial run."""
    row = np.uintp(r)
    above = False
    n_full = width // _RUN
    for run in range(n_full):
        above |= _any_above(scores, row, np.uintp(run * _RUN), threshold)
    for t in range(n_full * _RUN, width):
        above |= scores[row, np.uintp(t)] > threshold
    return above


@njit(cache=True, nogil=True, inline="always")
def _scan_range(
    scores, r, lo, hi, base, col_map, use_map, gather, excl_indices, e, e_hi,
    heap_s, heap_i, h, size, k,
):  # fmt: skip
    """Offer the columns ``lo <= c < hi`` of ``scores`` row ``r`` to heap row ``h``, except
    the items in ``excl_indices[e:e_hi]`` (sorted; ``e`` is the row's cursor, see
    ``_skip_excluded``). Returns (heap size, cursor).

    Column ``c`` is item ``col_map[c]`` if ``use_map`` else item ``c``. Its score is
    ``scores[r, col_map[c]]`` if ``gather`` (a full-width row restricted to candidates)
    else ``scores[r, c - base]`` (a tile starting at column ``base``).

    Items arrive in increasing index order, so once the heap is full a new item can only
    enter with a strictly higher score than the root (a tie loses to the lower index).
    Exclusions are looked up only for the few scores that pass that test.
    """
    c = lo
    while size < k and c < hi:
        g = col_map[c] if use_map else c
        s = scores[r, g] if gather else scores[r, c - base]
        excluded, e = _skip_excluded(excl_indices, e, e_hi, g)
        if not excluded:
            size = _offer(heap_s, heap_i, h, size, k, s, g)
        c += 1
    if size < k:
        return size, e
    threshold = heap_s[h, 0]
    if gather:
        for c2 in range(c, hi):
            s = scores[r, col_map[c2]]
            if s > threshold:
                g = col_map[c2]
                excluded, e = _skip_excluded(excl_indices, e, e_hi, g)
                if not excluded:
                    _sift_down(heap_s, heap_i, h, size, 0, s, g)
                    threshold = heap_s[h, 0]
        return size, e
    # Most scores lose to the threshold: test a run of _RUN scores for "any above"; in a
    # run that has one, branch-free bit masks locate the scores above it. A hit then
    # costs about one mispredicted branch, where visiting the run's scores one by one
    # (or 16 at a time, then one by one) cost several: measured 3-4% of the whole
    # product on 40000 items, k=10.
    row = np.uintp(r)
    start = c
    while start + _RUN <= hi:
        if _any_above(scores, row, np.uintp(start - base), threshold):
            for first in range(start, start + _RUN, _MASK):
                threshold, e = _take_hits(
                    scores, row, first, first, base, col_map, use_map,
                    excl_indices, e, e_hi, heap_s, heap_i, h, size, threshold,
                )  # fmt: skip
        start += _RUN
    # the last, partial run: masks that end at hi and reach back over columns already seen
    # (their bits cleared), or one score at a time in a tile narrower than a mask
    while start < hi:
        first = min(start, hi - _MASK)
        if first < base:
            for c2 in range(start, hi):
                s = scores[row, np.uintp(c2 - base)]
                if s > threshold:
                    g = col_map[c2] if use_map else c2
                    excluded, e = _skip_excluded(excl_indices, e, e_hi, g)
                    if not excluded:
                        _sift_down(heap_s, heap_i, h, size, 0, s, g)
                        threshold = heap_s[h, 0]
            break
        threshold, e = _take_hits(
            scores, row, first, start, base, col_map, use_map,
            excl_indices, e, e_hi, heap_s, heap_i, h, size, threshold,
        )  # fmt: skip
        start = first + _MASK
    return size, e


@njit(parallel=True, cache=True, nogil=True)
def select_kernel(
    scores,
    row_offset,
    base,
    n_cols,
    col_map,
    use_map,
    gather,
    excl_indptr,
    excl_indices,
    out_scores,
    out_ids,
    sizes,
    k,
    finish,
):
    """Offer a block of scores to the heaps of rows ``row_offset + r``.

    ``scores`` is [b, w]. Columns ``base <= c < base + n_cols`` of the column space are
    offered (see ``_scan_range`` for ``col_map``/``gather``), skipping the items of
    ``excl_indices[excl_indptr[i]:excl_indptr[i + 1]]`` for output row ``i``. With
    ``finish`` the rows are sorted and padded afterwards. Rows are processed in parallel.
    """
    b = scores.shape[0]
    for r in prange(b):
        i = row_offset + r
        sizes[i], _ = _scan_range(
            scores, r, base, base + n_cols, base, col_map, use_map, gather,
            excl_indices, excl_indptr[i], excl_indptr[i + 1],
            out_scores, out_ids, i, sizes[i], k,
        )  # fmt: skip
        if finish:
            _finish_row(out_scores, out_ids, i, sizes[i])


@njit(parallel=True, cache=True, nogil=True)
def topk_fused_kernel(
    queries,
    items,
    k,
    row_tile,
    col_tile,
    n_tasks,
    col_map,
    use_map,
    excl_indptr,
    excl_indices,
    out_scores,
    out_ids,
):
    """Top-K of ``queries @ items.T`` computed tile by tile, never holding the full product.

    Queries are cut into tiles of ``row_tile``; each of the ``n_tasks`` parallel tasks owns
    a contiguous run of query tiles and, for each, walks the items in tiles of
    ``col_tile`` (increasing order, so the tie rule holds across tiles): one small BLAS
    ``sgemm`` per tile into a cache-sized buffer, then the heap scan of that tile. BLAS
    must be limited to one thread by the caller. Tile sizes do not depend on the thread
    count, so the floating-point results do not either.
    """
    n = queries.shape[0]
    m = items.shape[0]
    n_row_tiles = (n + row_tile - 1) // row_tile
    for task in prange(n_tasks):
        # one buffer per task, reused for all of its tiles
        buf = np.empty(row_tile * col_tile, dtype=np.float32)
        sizes = np.zeros(row_tile, dtype=np.int64)
        cursors = np.zeros(row_tile, dtype=np.int64)  # each row's next exclusion
        # each full row's heap root score, in one contiguous array: the heap rows
        # themselves have left L1 by the next tile
        roots = np.empty(row_tile, dtype=np.float32)
        # query tiles split as evenly as possible (ceil-sized shares left one thread up to
        # a task's worth of tiles behind: 36 vs 32 of 68 tiles on 2 threads x 8 tasks)
        for row_tile_index in range(
            task * n_row_tiles // n_tasks, (task + 1) * n_row_tiles // n_tasks
        ):
            r0 = row_tile_index * row_tile
            r1 = min(n, r0 + row_tile)
            n_rows = r1 - r0
            sizes[:] = 0
            for r in range(n_rows):
                cursors[r] = excl_indptr[r0 + r]
            q = queries[r0:r1]
            for c0 in range(0, m, col_tile):
                c1 = min(m, c0 + col_tile)
                tile = buf[: n_rows * (c1 - c0)].reshape((n_rows, c1 - c0))
                np.dot(q, items[c0:c1].T, tile)
                for r in range(n_rows):
                    # a full heap and no score of the tile row above its root: nothing to do
                    # (most rows of most tiles; no exclusion can matter either)
                    if sizes[r] == k and not _row_above(tile, r, c1 - c0, roots[r]):
                        continue
                    i = r0 + r
                    # without exclusions the caller passes an all-empty CSR
                    sizes[r], cursors[r] = _scan_range(
                        tile, r, c0, c1, c0, col_map, use_map, False,
                        excl_indices, cursors[r], excl_indptr[i + 1],
                        out_scores, out_ids, i, sizes[r], k,
                    )  # fmt: skip
                    roots[r] = out_scores[i, 0]
            for r in range(n_rows):
                _finish_row(out_scores, out_ids, r0 + r, sizes[r])


@njit(parallel=True, cache=True, nogil=True)
def knn_topk_kernel(
    ui_indptr,
    ui_indices,
    ui_data,
    sim_indptr,
    sim_indices,
    sim_data,
    n_items,
    k,
    allowed,
    has_cand,
    excl_indptr,
    excl_indices,
    has_excl,
    n_chunks,
    out_scores,
    out_ids,
):
    """Fused sparse kNN scoring and top-K: score[u, j] = sum_i ui[u, i] * sim[i, j].

    Each parallel task owns a contiguous range of users and one dense float64 accumulator
    of ``n_items`` plus a "touched by user" stamp array (``_accumulate_row``), so nothing
    is cleared between users. Only items reached through at least one neighbour are
    eligible. The accumulation order (user row order, then neighbour order) is fixed, so results do
    not depend on the thread count.
    """
    n = ui_indptr.shape[0] - 1
    for chunk in prange(n_chunks):
        u0, u1 = _task_range(chunk, n, n_chunks)
        if u0 >= u1:
            continue
        acc, touched_by, touched, values = _task_buffers(n_items)
        blocked_by = np.zeros(n_items, dtype=np.int64)
        for u in range(u0, u1):
            stamp = u + 1
            if has_excl:
                for p in range(excl_indptr[u], excl_indptr[u + 1]):
                    blocked_by[excl_indices[p]] = stamp
            n_touched = _accumulate_row(
                ui_indptr, ui_indices, ui_data, sim_indptr, sim_indices, sim_data,
                u, stamp, acc, touched_by, touched,
            )  # fmt: skip
            n_eligible = 0
            for t in range(n_touched):
                j = touched[t]
                if has_excl and blocked_by[j] == stamp:
                    continue
                if has_cand and not allowed[j]:
                    continue
                values[n_eligible] = np.float32(acc[j])
                touched[n_eligible] = j  # compacts in place: n_eligible <= t
                n_eligible += 1
            size = _offer_all(values, touched, n_eligible, out_scores, out_ids, u, k)
            _finish_row(out_scores, out_ids, u, size)


# ------------------------------------------------------------------ item similarity
# The pruned item-item similarity of recsys.scoring.similarity: each row's candidates
# are computed into a contiguous buffer, selected with the same heap (_offer_all, ties
# to the lower item index), then the kept entries sorted by item index.


@njit(cache=True, nogil=True, inline="always")
def _safe_ratio(dot, denominator):
    return dot / denominator if denominator > 0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def _similarity_value(mode, dot, factor_i, factor_j, shrink):
    """Mode 0: ``dot``; mode 1: ``dot / (factor_i * factor_j + shrink)`` (cosine,
    asymmetric cosine, bm25); mode 2: ``dot / (factor_i + factor_j - dot + shrink)``
    (jaccard). A denominator <= 0 gives 0."""
    if mode == 0:
        return dot
    if mode == 1:
        return _safe_ratio(dot, factor_i * factor_j + shrink)
    return _safe_ratio(dot, factor_i + factor_j - dot + shrink)


@njit(parallel=True, cache=True, nogil=True)
def prune_rows_kernel(
    indptr, indices, data, k, first_row, mode, row_factor, col_factor, shrink, top_s, top_i, counts
):
    """Per CSR row ``r`` (item ``i = first_row + r``): the k largest similarities
    ``_similarity_value(mode, data, row_factor[i], col_factor[j], shrink)`` off the
    diagonal, NaN dropped, in ``top_*[r, :counts[r]]`` sorted by column."""
    n_rows = indptr.shape[0] - 1
    for r in prange(n_rows):
        lo = indptr[r]
        hi = indptr[r + 1]
        values = np.empty(hi - lo, dtype=np.float32)
        columns = np.empty(hi - lo, dtype=np.int64)
        n = 0
        diagonal = first_row + r
        factor_i = row_factor[diagonal] if mode else 0.0
        for p in range(lo, hi):
            j = indices[p]
            if j == diagonal:
                continue
            factor_j = col_factor[j] if mode else 0.0
            values[n] = np.float32(_similarity_value(mode, data[p], factor_i, factor_j, shrink))
            columns[n] = j
            n += 1
        size = _offer_all(values, columns, n, top_s, top_i, r, k)
        _sort_row_by_index(top_s, top_i, r, size)
        counts[r] = size


@njit(parallel=True, cache=True, nogil=True)
def similarity_rows_kernel(
    xt_indptr,
    xt_indices,
    xt_data,
    x_indptr,
    x_indices,
    x_data,
    k,
    mode,
    row_factor,
    col_factor,
    shrink,
    n_tasks,
    top_s,
    top_i,
    counts,
):
    """Row i of X.T @ X accumulated in a dense float64 buffer (``_accumulate_row``, as
    implicit's all_pairs_knn does), turned into similarities and pruned to k like
    ``prune_rows_kernel``, without ever holding more than one row per task. Each task
    owns a contiguous range of items."""
    n_items = xt_indptr.shape[0] - 1
    for task in prange(n_tasks):
        i0, i1 = _task_range(task, n_items, n_tasks)
        if i0 >= i1:
            continue
        acc, touched_by, touched, values = _task_buffers(n_items)
        for i in range(i0, i1):
            n_touched = _accumulate_row(
                xt_indptr, xt_indices, xt_data, x_indptr, x_indices, x_data,
                i, i + 1, acc, touched_by, touched,
            )  # fmt: skip
            factor_i = row_factor[i]
            n = 0
            for t in range(n_touched):
                j = touched[t]
                if j == i:
                    continue
                values[n] = np.float32(
                    _similarity_value(mode, acc[j], factor_i, col_factor[j], shrink)
                )
                touched[n] = j  # compacts in place: n <= t
                n += 1
            size = _offer_all(values, touched, n, top_s, top_i, i, k)
            _sort_row_by_index(top_s, top_i, i, size)
            counts[i] = size


@njit(parallel=True, cache=True, nogil=True)
def gather_rows_kernel(top_s, top_i, out_indptr, out_indices, out_data):
    """Copy ``top_*[r, :counts[r]]`` into the CSR arrays (``out_indptr`` from the counts)."""
    for r in prange(top_s.shape[0]):
        start = out_indptr[r]
        for t in range(out_indptr[r + 1] - start):
            out_indices[start + t] = top_i[r, t]
            out_data[start + t] = top_s[r, t]
