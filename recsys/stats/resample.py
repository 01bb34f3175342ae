"""The bootstrap engine: per-resample counts from a seed, sums in a fixed order.

A bootstrap resample of ``n`` rows is a vector of counts ``c`` (row ``i`` is drawn
``c_i`` times, ``Σ c_i = n``). Resample ``r`` draws its ``n`` rows from its own
splitmix64 stream, started at the ``r``-th word of
``numpy.random.SeedSequence(seed, spawn_key=stream)``; each draw maps the high 32 bits
of the stream's output onto ``[0, n)`` by Lemire's multiply-shift. So resample ``r``
depends only on ``(seed, stream, r, n)``: not on the thread that computes it, nor on
how many resamples are drawn.

Every resampled statistic is then a weighted sum ``Σ c_i v_i`` taken in row order,
a fixed order (no BLAS product, whose reduction order depends on the thread count), so
results are bit-identical at any ``NUMBA_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``. For
integer values (0/1 hits, retained customers) in a few columns every partial sum is exact,
so each draw is added as it comes, without a count array: the same numbers, faster.
Resamples are processed in blocks that share one pass over the rows; a block's size
changes the speed, never the result.

``values`` with one column per statistic (metrics, models, arms) share the same
resamples, which is what makes differences between columns *paired*.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from recsys._validation import check_positive_int, check_probability
from recsys.exceptions import InputDataError

__all__ = [
    "bootstrap_ci",
    "bootstrap_means",
    "bootstrap_sums",
    "draw_counts",
    "percentile_ci",
    "ratio_ci",
    "resample_counts",
    "resample_seeds",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_BLOCK_BYTES = 1 << 22  # counts of one block of resamples: at most 4 MB per thread
_MAX_BLOCK = 16
# From this many columns, one pass over the rows for a block of resamples, skipping undrawn
# rows, beats both a branch-free pass and adding each draw as it comes (integer values).
_SKIP_MIN_COLUMNS = 8
_MAX_ROWS = (1 << 32) - 1  # draws map 32 random bits onto the rows


@njit(cache=True, inline="always")
def _draw(state: np.uint64, n: np.uint64) -> tuple[np.uint64, np.uint64]:  # pragma: no cover
    # splitmix64 step, then Lemire's multiply-shift of the high 32 bits onto [0, n)
    state += _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return state, ((z >> np.uint64(32)) * n) >> np.uint64(32)


@njit(cache=True)
def draw_counts(state: np.uint64, out: np.ndarray) -> None:  # pragma: no cover - jit
    """Counts of one resample of ``out.size`` rows into ``out`` (uint8), from its seed state.

    ``state`` is the resample's word from `resample_seeds`. A count above 255 has
    probability below ``n e⁻¹ / 255!`` (nil), so uint8 is safe and keeps the counts of a
    million rows in cache. Numba-compiled: callable from other Numba kernels, which is
    how every resampled statistic of the library draws its rows.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.empty(6, dtype=np.uint8)
    >>> draw_counts(resample_seeds(1, seed=0)[0], counts)
    >>> int(counts.sum())
    6
    """
    n = np.uint64(out.size)
    out[:] = 0
    for _ in range(out.size):
        state, row = _draw(state, n)
        out[row] += 1


@njit(cache=True, parallel=True)
def _integer_sums(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:  # pragma: no cover
    # The same draws as draw_counts, each drawn row added as it comes (no count array).
    # Only for integer values whose sums stay below 2^53: every partial sum is then exact,
    # so the result equals the fixed-order sum of _prefix_sums bit for bit, faster.
    n, m = values.shape
    out = np.zeros((seeds.size, m))
    nn = np.uint64(n)
    for r in prange(seeds.size):
        state = seeds[r]
        acc = np.zeros(m)
        for _ in range(n):
            state, row = _draw(state, nn)
            for j in range(m):
                acc[j] += values[row, j]
        out[r] = acc
    return out


@njit(cache=True, parallel=True)
def _prefix_sums(
    values: np.ndarray, ends: np.ndarray, seeds: np.ndarray, block: int, skip_undrawn: bool
) -> np.ndarray:  # pragma: no cover - jit
    # out[r, e, j] = sum over rows i < ends[e] of counts_r[i] * values[i, j], rows in order.
    # Adding 0 * v for an undrawn row changes nothing when v is finite: skipping it is only a
    # speed choice (worth it with many columns), or needed when v may be inf or NaN.
    n, m = values.shape
    n_resamples = seeds.size
    k = ends.size
    out = np.zeros((n_resamples, k, m))
    n_blocks = (n_resamples + block - 1) // block
    for b in prange(n_blocks):
        start = b * block
        width = min(block, n_resamples - start)
        counts = np.empty((width, n), dtype=np.uint8)
        for r in range(width):
            draw_counts(seeds[start + r], counts[r])
        acc = np.zeros((width, m))
        e = 0
        while e < k and ends[e] == 0:
            e += 1
        for i in range(n):
            row = values[i]
            for r in range(width):
                w = float(counts[r, i])
                if skip_undrawn and w == 0.0:
                    continue
                for j in range(m):
                    acc[r, j] += w * row[j]
            while e < k and ends[e] == i + 1:
                for r in range(width):
                    for j in range(m):
                        out[start + r, e, j] = acc[r, j]
                e += 1
    return out


def resample_seeds(bootstrap: int, seed: int = 0, stream: tuple[int, ...] = ()) -> np.ndarray:
    """The seed state (uint64) of each of ``bootstrap`` resamples.

    Word ``r`` of ``numpy.random.SeedSequence(seed, spawn_key=stream)``: it depends only on
    ``(seed, stream, r)``, so the first resamples are the same whatever ``bootstrap`` is.
    ``stream`` keys independent sets of resamples under one seed (for example one per
    arm of an experiment).

    Examples
    --------
    >>> s = resample_seeds(4, seed=1)
    >>> s.dtype.name, bool((s[:2] == resample_seeds(2, seed=1)).all())
    ('uint64', True)
    >>> bool((resample_seeds(2, seed=1, stream=(1,)) != s[:2]).all())
    True
    """
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputDataError(f"seed must be a non-negative integer, got {seed!r}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=tuple(int(s) for s in stream))
    return sequence.generate_state(bootstrap, dtype=np.uint64)


def resample_counts(
    n: int, bootstrap: int, seed: int = 0, stream: tuple[int, ...] = ()
) -> np.ndarray:
    """How many times each of ``n`` rows is drawn in each resample: int64 ``(bootstrap, n)``.

    Each row sums to ``n``; row ``r`` depends only on ``(seed, stream, r)``. The exact
    multinomial (with-replacement) bootstrap that every statistic of `recsys.stats`
    uses, materialised for reference checks.

    Examples
    --------
    >>> c = resample_counts(5, 3, seed=0)
    >>> c.shape, c.sum(axis=1).tolist()
    ((3, 5), [5, 5, 5])
    """
    n = _check_rows(check_positive_int("n", n))
    seeds = resample_seeds(bootstrap, seed, stream)
    out = np.empty((seeds.size, n), dtype=np.uint8)
    for r, state in enumerate(seeds):
        draw_counts(state, out[r])
    return out.astype(np.int64)


def _check_rows(n: int) -> int:
    if n > _MAX_ROWS:
        raise InputDataError(f"the bootstrap resamples at most {_MAX_ROWS:,} rows, got {n:,}")
    return n


def _as_columns(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputDataError(f"values must be 1- or 2-dimensional, got shape {values.shape}")
    _check_rows(values.shape[0])
    return np.ascontiguousarray(values)


def _exact_integer_sums(values: np.ndarray) -> bool:
    """Whether every value is an integer and any sum of n of them is below 2^53 (exact)."""
    if values.size == 0 or not np.array_equal(values, np.round(values)):
        return False
    return float(np.abs(values).max()) * values.shape[0] < 2.0**53


def bootstrap_sums(
    values: Any,
    bootstrap: int = 1000,
    seed: int = 0,
    *,
    ends: Any = None,
    stream: tuple[int, ...] = (),
) -> np.ndarray:
    """Resampled column sums ``Σ c_i v_ij`` of ``values`` ``(n_rows, n_columns)``.

    Parameters
    ----------
    values
        ``(n_rows,)`` or ``(n_rows, n_columns)``; a NaN or infinite value enters only the
        sums of the resamples that draw its row.
    bootstrap
        Number of resamples of the rows (with replacement).
    seed, stream
        See `resample_seeds`.
    ends
        Optional ascending row counts in ``[0, n_rows]``: the sums over the first
        ``ends[e]`` rows of each resample (prefix sums at checkpoints).

    Returns
    -------
    numpy.ndarray
        ``(bootstrap, n_columns)``, or ``(bootstrap, len(ends), n_columns)`` with ``ends``.
        Bit-identical at any thread count.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[1.0, 0.0], [1.0, 2.0], [1.0, 4.0]])
    >>> sums = bootstrap_sums(v, 4, seed=0)
    >>> sums.shape, sums[:, 0].tolist()           # column 0 counts the drawn rows
    ((4, 2), [3.0, 3.0, 3.0, 3.0])
    >>> bool(np.array_equal(sums, resample_counts(3, 4, seed=0) @ v))
    True
    >>> bootstrap_sums(v, 4, seed=0, ends=[0, 1, 3]).shape
    (4, 3, 2)
    """
    values = _as_columns(values)
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    n, m = values.shape
    if ends is None:
        checkpoints = np.array([n], dtype=np.int64)
    else:
        checkpoints = np.asarray(ends, dtype=np.int64).ravel()
        if checkpoints.size and (
            checkpoints[0] < 0 or checkpoints[-1] > n or np.any(np.diff(checkpoints) < 0)
        ):
            raise InputDataError(f"ends must be ascending row counts in [0, {n}], got {ends!r}")
    seeds = resample_seeds(bootstrap, seed, stream)
    if n == 0 or bootstrap == 0:
        out = np.zeros((bootstrap, checkpoints.size, m))
    else:
        finite = bool(np.isfinite(values).all())
        if ends is None and m < _SKIP_MIN_COLUMNS and finite and _exact_integer_sums(values):
            return _integer_sums(values, seeds)
        block = max(1, min(_MAX_BLOCK, _BLOCK_BYTES // n, bootstrap // 8))
        skip = m >= _SKIP_MIN_COLUMNS or not finite
        out = _prefix_sums(values, checkpoints, seeds, block, skip)
    return out[:, 0, :] if ends is None else out


def bootstrap_means(
    values: Any, bootstrap: int = 1000, seed: int = 0, *, stream: tuple[int, ...] = ()
) -> np.ndarray:
    """Bootstrap distribution of the column means of ``values`` ``(n_rows, n_columns)``.

    NaN marks a row for which a column is undefined (for example a user with no new test
    items in "new items only" mode): the resampled mean of that column is the mean over
    the drawn rows for which it is defined (NaN if none).

    Returns
    -------
    numpy.ndarray
        ``(bootstrap, n_columns)`` resampled means; all NaN when there are no rows.

    Examples
    --------
    >>> import numpy as np
    >>> means = bootstrap_means(np.array([[0.0], [1.0], [1.0], [0.0]]), 200, seed=1)
    >>> means.shape, bool(0 <= means.min() and means.max() <= 1)
    ((200, 1), True)
    """
    values = _as_columns(values)
    bootstrap = check_positive_int("bootstrap", bootstrap)
    n, m = values.shape
    if n == 0:
        return np.full((bootstrap, m), np.nan)
    defined = ~np.isnan(values)
    if defined.all():
        return bootstrap_sums(values, bootstrap, seed, stream=stream) / n
    stacked = np.concatenate([np.where(defined, values, 0.0), defined.astype(np.float64)], axis=1)
    sums = bootstrap_sums(stacked, bootstrap, seed, stream=stream)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[:, :m] / sums[:, m:]


def percentile_ci(draws: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap ``draws`` ``(bootstrap, ...)``, per statistic.

    The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (numpy's linear
    interpolation) of each statistic over the resamples, NaN draws left out. A statistic
    with no defined draw (or no resamples) gets NaN bounds.

    Returns
    -------
    (ci_low, ci_high)
        Arrays of shape ``draws.shape[1:]``.

    Examples
    --------
    >>> import numpy as np
    >>> low, high = percentile_ci(np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan]]), 0.5)
    >>> low.tolist(), high.tolist()
    ([1.5, nan], [2.5, nan])
    """
    confidence = check_probability("confidence", confidence)
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim == 0:
        raise InputDataError("draws must have a resample axis, got a scalar")
    alpha = (1.0 - confidence) / 2.0
    shape = draws.shape[1:]
    if draws.shape[0] == 0:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    flat = draws.reshape(draws.shape[0], -1)
    missing = np.isnan(flat)
    if not missing.any():
        low, high = np.quantile(flat, [alpha, 1.0 - alpha], axis=0)
        return low.reshape(shape), high.reshape(shape)
    low = np.full(flat.shape[1], np.nan)
    high = np.full(flat.shape[1], np.nan)
    for j in range(flat.shape[1]):  # statistics, not resamples: a handful of quantile calls
        column = flat[~missing[:, j], j]
        if column.size:
            low[j], high[j] = np.quantile(column, [alpha, 1.0 - alpha])
    return low.reshape(shape), high.reshape(shape)


def bootstrap_ci(
    values: Any, bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the column means of ``values`` over rows.

    Parameters
    ----------
    values
        Per-row values, ``(n_rows,)`` or ``(n_rows, n_columns)``; NaN = undefined.
    bootstrap
        Number of resamples of the rows (with replacement).
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
    return percentile_ci(bootstrap_means(values, bootstrap, seed), confidence)


def ratio_ci(
    numerator: Any,
    denominator: Any,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the ratio of sums ``Σ numerator / Σ denominator``.

    Each resample draws rows (pairs of ``numerator[i]``, ``denominator[i]``) with
    replacement and divides the two resampled sums (`bootstrap_sums`). A resample whose
    denominator sums to zero gives an infinite ratio (counted, so it can widen the
    interval to infinity), or NaN for ``0 / 0`` (left out, as in `percentile_ci`).

    Parameters
    ----------
    numerator, denominator
        Per-row values, ``(n_rows,)`` each, e.g. realised and projected spend per customer.
    bootstrap
        Number of resamples of the rows (with replacement).
    seed
        Seed; the same seed gives the same interval at any thread count.
    confidence
        Coverage of the interval, e.g. 0.95 for the 2.5% and 97.5% percentiles.

    Returns
    -------
    (ci_low, ci_high)
        Floats; NaN without rows, without resamples, or when no resample's ratio is defined.

    Examples
    --------
    >>> import numpy as np
    >>> realised, projected = np.array([0.0, 3.0, 5.0, 2.0]), np.array([1.0, 2.0, 4.0, 1.0])
    >>> low, high = ratio_ci(realised, projected, 200, seed=0, confidence=0.9)
    >>> counts = resample_counts(4, 200, seed=0)          # the same resamples, plain numpy
    >>> ratios = (counts @ realised) / (counts @ projected)
    >>> bool(np.allclose([low, high], np.quantile(ratios, [0.05, 0.95])))
    True
    """
    confidence = check_probability("confidence", confidence)
    num = np.asarray(numerator, dtype=np.float64).ravel()
    den = np.asarray(denominator, dtype=np.float64).ravel()
    if num.size != den.size:
        raise InputDataError(
            f"numerator and denominator must have one value per row each, got {num.size} "
            f"and {den.size}"
        )
    sums = bootstrap_sums(np.column_stack([num, den]), bootstrap, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = percentile_ci(sums[:, 0] / sums[:, 1], confidence)
    return float(low), float(high)
