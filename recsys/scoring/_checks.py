"""Input validation shared by the scoring functions (each error names the parameter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._arrays import sorted_unique
from recsys._validation import check_positive_int
from recsys.exceptions import InputDataError

__all__ = [
    "check_candidates",
    "check_dense",
    "check_exclude",
    "check_k",
    "empty_result",
]


def check_k(k: Any) -> int:
    return check_positive_int("k", k)


def check_dense(name: str, array: Any) -> np.ndarray:
    """A 2-D float32 C-contiguous view (or copy) of ``array``."""
    if sp.issparse(array):
        raise InputDataError(f"{name} must be a dense 2-D array, got a scipy sparse matrix")
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise InputDataError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputDataError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_exclude(exclude: Any, n_rows: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices sorted per row) of ``exclude``, not copied when already sorted
    (scipy's int32 or int64 index arrays as they are); an empty int32 CSR if None."""
    if exclude is None:
        return np.zeros(n_rows + 1, dtype=np.int32), np.zeros(0, dtype=np.int32)
    if not sp.issparse(exclude):
        raise InputDataError(
            f"exclude must be a scipy sparse matrix (CSR) of shape ({n_rows}, {n_items}), "
            f"got {type(exclude).__name__}"
        )
    if exclude.shape != (n_rows, n_items):
        raise InputDataError(
            f"exclude must have shape ({n_rows}, {n_items}) (one row per query, one column "
            f"per item), got {exclude.shape}"
        )
    csr = exclude.tocsr()
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    # explicit zeros still mean "exclude": the structure, not the values, is what counts
    return csr.indptr, csr.indices


def check_candidates(candidates: Any, n_items: int) -> np.ndarray | None:
    """Sorted unique int64 item indices of ``candidates``, or None for all items."""
    if candidates is None:
        return None
    arr = np.asarray(candidates)
    if arr.ndim != 1:
        raise InputDataError(f"candidates must be a 1-D array of item indices, got {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        raise InputDataError(f"candidates must hold integer item indices, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= n_items)
    if bad.any():
        raise InputDataError(
            f"candidates holds {int(bad.sum())} item index(es) outside [0, {n_items}), "
            f"for example {int(arr[bad][0])}"
        )
    return sorted_unique(arr).astype(np.int64)


def empty_result(n_rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.full((n_rows, k), -1, dtype=np.int32),
        np.full((n_rows, k), -np.inf, dtype=np.float32),
    )
