"""Plain-numpy references for the scoring kernels (stable sort, explicit tie rule)."""

from __future__ import annotations

import numpy as np


def reference_select(
    scores: np.ndarray,
    k: int,
    excluded: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row by descending score, ties to the lower column; NaN/excluded skipped.

    ``excluded`` is a boolean [n, m] mask, ``allowed`` a boolean [m] mask.
    """
    n = scores.shape[0]
    ids = np.full((n, k), -1, dtype=np.int32)
    top = np.full((n, k), -np.inf, dtype=np.float32)
    for row in range(n):
        eligible = ~np.isnan(scores[row])
        if excluded is not None:
            eligible &= ~excluded[row]
        if allowed is not None:
            eligible &= allowed
        cols = np.flatnonzero(eligible)
        # np.lexsort sorts by the last key first: descending score, then ascending index
        order = cols[np.lexsort((cols, -scores[row, cols].astype(np.float64)))][:k]
        ids[row, : order.size] = order
        top[row, : order.size] = scores[row, order]
    return ids, top


def reference_prune_rows(entries: np.ndarray, k: int, first_row: int = 0) -> np.ndarray:
    """Dense result of keeping each row's k largest entries (``reference_select``'s order).

    ``entries`` is [b, m] with NaN for absent entries; the diagonal (column ``first_row + r``
    of row ``r``) is never kept. Returns the kept values, 0 elsewhere.
    """
    candidates = entries.astype(np.float32)
    rows = np.arange(candidates.shape[0])
    on_diagonal = first_row + rows < candidates.shape[1]
    candidates[rows[on_diagonal], first_row + rows[on_diagonal]] = np.nan
    ids, top = reference_select(candidates, k)
    kept = np.zeros_like(candidates)
    for row in rows:
        found = ids[row] >= 0
        kept[row, ids[row, found]] = top[row, found]
    return kept
