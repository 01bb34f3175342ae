"""Array helpers shared across packages."""

from __future__ import annotations

import numpy as np


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, ascending (``np.unique`` by sorting).

    numpy 2.4's ``np.unique`` hashes, which is far slower than a sort on
    large arrays of mostly distinct int64 keys (user x item pair keys);
    ``benchmarks/RESULTS.md`` has the measurement.

    Examples
    --------
    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    ordered = np.sort(np.asarray(values))
    if ordered.size == 0:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
