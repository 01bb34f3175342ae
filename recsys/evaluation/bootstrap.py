"""Percentile bootstrap over users, vectorised.

Resampling users with replacement ``n_resamples`` times is done without a Python
loop over resamples: a parallel Numba kernel draws each resample's users from its
own splitmix64 stream (seeded per resample, so the result does not depend on the
thread count) and sums the drawn users' values. With many columns it instead
writes how many times each user is drawn, for a block of resamples, and one BLAS
product of that ``(block, n_users)`` count matrix with the ``(n_users, n_columns)``
matrix of per-user values gives the resampled sums of every column at once. Every metric,
k, mode and model evaluated on the same users shares the same resamples, which
is what makes differences between models *paired*.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from recsys._validation import check_positive_int, check_probability
from recsys.exceptions import InputDataError

__all__ = ["bootstrap_ci", "bootstrap_means", "resample_counts"]

_BLOCK = 50
_DIRECT_MAX_COLUMNS = 12


@njit(cache=True, parallel=True)
def _fill_counts(n: int, seeds: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - jit
    for r in prange(seeds.shape[0]):
        row = out[r]
        row[:] = 0.0
        state = seeds[r]
        for _ in range(n):
            # splitmix64 step, then Lemire's multiply-shift to map onto [0, n)
            state += np.uint64(0x9E3779B97F4A7C15)
            z = state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            pick = ((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
            row[pick] += 1.0


@njit(cache=True, parallel=True)
def _resampled_sums(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    # Same draws as _fill_counts, summing the drawn rows directly (no count matrix):
    # faster when there are few columns.
    n, m = values.shape
    out = np.zeros((seeds.shape[0], m))
    for r in prange(seeds.shape[0]):
        acc = np.zeros(m)
        state = seeds[r]
        for _ in range(n):
            state += np.uint64(0x9E3779B97F4A7C15)
            z = state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            pick = ((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
            for j in range(m):
                acc[j] += values[pick, j]
        out[r] = acc
    return out


def _seeds(n_resamples: int, seed: int) -> np.ndarray:
    return np.random.SeedSequence(seed).generate_state(n_resamples, dtype=np.uint64)


def resample_counts(n: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """How many times each of ``n`` users is drawn in each resample: float64 ``(n_resamples, n)``.

    Each row sums to ``n``. Row ``r`` depends only on ``(seed, r)``. This is the
    exact multinomial (with-replacement) bootstrap, exposed for reference checks.

    Examples
    --------
    >>> c = resample_counts(5, 3, seed=0)
    >>> c.shape, c.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    """
    n = check_positive_int("n", n)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    out = np.empty((n_resamples, n), dtype=np.float64)
    _fill_counts(n, _seeds(n_resamples, seed), out)
    return out


def bootstrap_means(values: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of the column means of ``values`` ``(n_users, n_columns)``.

    NaN marks a user for whom a column is undefined (for example no new test
    items in "new items only" mode): the resampled mean of that column is the
    mean over the drawn users for whom it is defined (NaN if none).

    Returns
    -------
    numpy.ndarray
        ``(n_resamples, n_columns)`` resampled means.

    Examples
    --------
    >>> import numpy as np
    >>> means = bootstrap_means(np.array([[0.0], [1.0], [1.0], [0.0]]), 200, seed=1)
    >>> means.shape, bool(0 <= means.min() and means.max() <= 1)
    ((200, 1), True)
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputDataError(f"values must be 1- or 2-dimensional, got shape {values.shape}")
    n_resamples = check_positive_int("bootstrap", n_resamples)
    n, m = values.shape
    if n == 0:
        return np.full((n_resamples, m), np.nan)
    defined = ~np.isnan(values)
    complete = bool(defined.all())
    stacked = (
        values
        if complete
        else np.concatenate([np.where(defined, values, 0.0), defined.astype(np.float64)], axis=1)
    )
    stacked = np.ascontiguousarray(stacked)
    seeds = _seeds(n_resamples, seed)
    if stacked.shape[1] <= _DIRECT_MAX_COLUMNS:
        out = _resampled_sums(stacked, seeds)
    else:  # many columns: one count matrix per block of resamples, then a BLAS product
        out = np.empty((n_resamples, stacked.shape[1]), dtype=np.float64)
        block = np.empty((min(_BLOCK, n_resamples), n), dtype=np.float64)
        for start in range(0, n_resamples, _BLOCK):
            stop = min(start + _BLOCK, n_resamples)
            counts = block[: stop - start]
            _fill_counts(n, seeds[start:stop], counts)
            out[start:stop] = counts @ stacked
    if complete:
        return out / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return out[:, :m] / out[:, m:]


def bootstrap_ci(
    values: np.ndarray, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the column means of ``values`` over users.

    Parameters
    ----------
    values
        Per-user values, ``(n_users,)`` or ``(n_users, n_columns)``; NaN = undefined.
    n_resamples
        Number of bootstrap resamples of the users (with replacement).
    seed
        Seed; the same seed gives the same interval at any thread count.
    confidence
        Coverage of the interval, e.g. 0.95 for the 2.5% and 97.5% percentiles.

    Returns
    -------
    (ci_low, ci_high)
        Arrays of shape ``(n_columns,)``.

    Examples
    --------
    >>> import numpy as np
    >>> hits = np.random.default_rng(0).random(2000) < 0.3
    >>> low, high = bootstrap_ci(hits.astype(float), 500, seed=0)
    >>> bool(low[0] < hits.mean() < high[0])
    True
    """
    confidence = check_probability("confidence", confidence)
    means = bootstrap_means(values, n_resamples, seed)
    return _percentiles(means, confidence)


def _percentiles(means: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    low = np.full(means.shape[1], np.nan)
    high = np.full(means.shape[1], np.nan)
    for j in range(means.shape[1]):  # columns, not resamples: a handful of quantile calls
        column = means[:, j]
        column = column[~np.isnan(column)]
        if column.size:
            low[j], high[j] = np.quantile(column, [alpha, 1.0 - alpha])
    return low, high
