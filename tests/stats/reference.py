"""Plain-numpy references for the bootstrap engine of recsys.stats (no Numba, no BLAS)."""

from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def reference_counts(
    n: int, bootstrap: int, seed: int = 0, stream: tuple[int, ...] = ()
) -> np.ndarray:
    """Counts (int64 ``[bootstrap, n]``): resample r is n splitmix64 draws from its seed word.

    Written from the definition: state_k = seed_r + k * golden (mod 2^64), k = 1..n, mixed by
    splitmix64's finaliser; row = (high 32 bits * n) >> 32 (Lemire's multiply-shift).
    """
    seeds = np.random.SeedSequence(seed, spawn_key=stream).generate_state(bootstrap, np.uint64)
    steps = np.arange(1, n + 1, dtype=np.uint64)
    states = seeds[:, None] + steps[None, :] * GOLDEN  # uint64 arrays wrap modulo 2^64
    z = (states ^ (states >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    z = z ^ (z >> np.uint64(31))
    rows = ((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
    counts = np.zeros((bootstrap, n), dtype=np.int64)
    for r in range(bootstrap):
        counts[r] = np.bincount(rows[r].astype(np.int64), minlength=n)
    return counts


def reference_sums(
    values: np.ndarray, counts: np.ndarray, ends: np.ndarray | None = None
) -> np.ndarray:
    """Σ_i c_i v_ij over rows in order (sequential cumulative sums), at ``ends`` or at n."""
    values = values.reshape(values.shape[0], -1)
    n, m = values.shape
    checkpoints = np.array([n]) if ends is None else np.asarray(ends)
    out = np.zeros((counts.shape[0], checkpoints.size, m))
    for r in range(counts.shape[0]):
        with np.errstate(invalid="ignore"):  # 0 * inf, set to 0 below
            terms = counts[r][:, None].astype(np.float64) * values
        terms[counts[r] == 0] = 0.0  # undrawn rows add nothing
        running = np.concatenate([np.zeros((1, m)), np.cumsum(terms, axis=0)])
        out[r] = running[checkpoints]
    return out[:, 0] if ends is None else out


def reference_means(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Resampled means, expanding each resample into its drawn rows (NaN = undefined)."""
    values = values.reshape(values.shape[0], -1)
    out = np.empty((counts.shape[0], values.shape[1]))
    for r in range(counts.shape[0]):
        drawn = np.repeat(np.arange(values.shape[0]), counts[r])
        for j in range(values.shape[1]):
            column = values[drawn, j]
            column = column[~np.isnan(column)]
            out[r, j] = column.mean() if column.size else np.nan
    return out


def reference_percentile_ci(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column quantiles of the non-NaN draws (NaN where none)."""
    alpha = (1 - confidence) / 2
    flat = draws.reshape(draws.shape[0], int(np.prod(draws.shape[1:])))
    low = np.full(flat.shape[1], np.nan)
    high = np.full(flat.shape[1], np.nan)
    for j in range(flat.shape[1]):
        column = flat[:, j][~np.isnan(flat[:, j])]
        if column.size:
            low[j] = np.quantile(column, alpha)
            high[j] = np.quantile(column, 1 - alpha)
    return low.reshape(draws.shape[1:]), high.reshape(draws.shape[1:])
