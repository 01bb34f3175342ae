"""The bootstrap engine against plain-numpy references, and its statistical properties."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.exceptions import InputDataError
from recsys.stats import (
    bootstrap_ci,
    bootstrap_means,
    bootstrap_sums,
    percentile_ci,
    ratio_ci,
    resample_counts,
    resample_seeds,
)
from tests.stats.reference import (
    reference_counts,
    reference_means,
    reference_percentile_ci,
    reference_sums,
)


def test_counts_are_a_multinomial_resample() -> None:
    counts = resample_counts(50, 400, seed=3)
    assert counts.shape == (400, 50)
    assert np.all(counts.sum(axis=1) == 50)
    assert np.all(counts >= 0)
    assert np.all(counts == np.round(counts))
    # each user is drawn once per resample on average
    assert counts.mean() == pytest.approx(1.0)
    assert counts.mean(axis=0) == pytest.approx(np.ones(50), abs=0.2)
    assert np.array_equal(counts, resample_counts(50, 400, seed=3))
    assert not np.array_equal(counts, resample_counts(50, 400, seed=4))


def test_matches_slow_reference_loop() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((37, 3))
    values[rng.random((37, 3)) < 0.2] = np.nan
    counts = resample_counts(37, 120, seed=5)
    expected = np.empty((120, 3))
    for r in range(120):  # the slow way: expand each resample into its drawn users
        drawn = np.repeat(np.arange(37), counts[r].astype(int))
        for j in range(3):
            column = values[drawn, j]
            expected[r, j] = np.nanmean(column)
    got = bootstrap_means(values, 120, seed=5)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    low, high = bootstrap_ci(values, 120, seed=5, confidence=0.9)
    np.testing.assert_allclose(low, np.quantile(expected, 0.05, axis=0))
    np.testing.assert_allclose(high, np.quantile(expected, 0.95, axis=0))


def test_ci_contains_estimate_and_narrows_with_more_users() -> None:
    rng = np.random.default_rng(1)
    widths = []
    for n in (200, 2000, 20000):
        hits = (rng.random(n) < 0.4).astype(float)
        low, high = bootstrap_ci(hits, 500, seed=0)
        assert low[0] <= hits.mean() <= high[0]
        widths.append(high[0] - low[0])
        # close to the normal-theory width 2 * 1.96 * sd / sqrt(n)
        assert widths[-1] == pytest.approx(2 * 1.96 * hits.std() / np.sqrt(n), rel=0.15)
    assert widths[0] > widths[1] > widths[2]


def test_coverage_of_true_mean() -> None:
    rng = np.random.default_rng(2)
    inside = 0
    for rep in range(100):
        sample = (rng.random(300) < 0.3).astype(float)
        low, high = bootstrap_ci(sample, 300, seed=rep)
        inside += low[0] <= 0.3 <= high[0]
    assert 88 <= inside <= 100  # nominal 95%


def test_edge_cases() -> None:
    assert np.isnan(bootstrap_means(np.empty((0, 2)), 10)).all()
    assert np.isnan(bootstrap_ci(np.full(5, np.nan), 10)[0]).all()
    with pytest.raises(InputDataError, match="bootstrap"):
        bootstrap_means(np.ones(3), 0)
    with pytest.raises(InputDataError, match="confidence"):
        bootstrap_ci(np.ones(3), 10, confidence=1.5)
    with pytest.raises(InputDataError, match="seed"):
        resample_seeds(3, seed=-1)
    with pytest.raises(InputDataError, match="ends"):
        bootstrap_sums(np.ones(3), 2, ends=[2, 1])
    with pytest.raises(InputDataError, match="at most 4,294,967,295 rows"):
        resample_counts(2**32, 1)
    with pytest.raises(InputDataError, match="dimensional"):
        bootstrap_sums(np.ones((2, 2, 2)), 2)
    assert bootstrap_sums(np.ones((4, 2)), 0).shape == (0, 2)
    low, high = percentile_ci(np.empty((0, 3)))
    assert np.isnan(low).all()
    assert np.isnan(high).all()


@pytest.mark.parametrize("n_columns", [1, 9, 20])  # few and many columns: one kernel, no BLAS
def test_means_match_the_reference(n_columns: int) -> None:
    rng = np.random.default_rng(n_columns)
    values = rng.random((41, n_columns))
    values[rng.random((41, n_columns)) < 0.1] = np.nan
    counts = resample_counts(41, 64, seed=2)
    weights = np.where(np.isnan(values), 0.0, 1.0)
    expected = (counts @ np.nan_to_num(values)) / (counts @ weights)
    np.testing.assert_allclose(bootstrap_means(values, 64, seed=2), expected, rtol=1e-12)
    np.testing.assert_allclose(
        bootstrap_means(values, 64, seed=2), reference_means(values, counts), rtol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    bootstrap=st.integers(0, 40),
    seed=st.integers(0, 2**63),
    stream=st.lists(st.integers(0, 5), max_size=2).map(tuple),
)
def test_counts_equal_the_numpy_reference(n, bootstrap, seed, stream) -> None:
    got = resample_counts(n, bootstrap, seed, stream)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, reference_counts(n, bootstrap, seed, stream))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 80),
    m=st.integers(1, 20),
    bootstrap=st.integers(1, 50),
    n_ends=st.integers(0, 5),
)
def test_sums_equal_the_fixed_order_reference(seed, n, m, bootstrap, n_ends) -> None:
    """Bit for bit: the kernel adds c_i v_ij over rows in order, like a sequential cumsum."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, m)) * 10.0 ** rng.integers(-3, 4, size=m)
    ends = np.sort(rng.integers(0, n + 1, n_ends))
    counts = reference_counts(n, bootstrap, seed)
    np.testing.assert_array_equal(
        bootstrap_sums(values, bootstrap, seed), reference_sums(values, counts)
    )
    np.testing.assert_array_equal(
        bootstrap_sums(values, bootstrap, seed, ends=ends), reference_sums(values, counts, ends)
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.integers(0, 30), m=st.integers(1, 4))
def test_percentile_ci_equals_reference(seed, b, m) -> None:
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(b, m, 2))
    draws[rng.random((b, m, 2)) < 0.3] = np.nan
    for confidence in (0.5, 0.9, 0.95):
        low, high = percentile_ci(draws, confidence)
        ref_low, ref_high = reference_percentile_ci(draws, confidence)
        assert low.shape == high.shape == (m, 2)
        np.testing.assert_array_equal(low, ref_low)
        np.testing.assert_array_equal(high, ref_high)


def test_resample_depends_only_on_seed_stream_and_index() -> None:
    assert np.array_equal(resample_counts(30, 10, seed=7)[:4], resample_counts(30, 4, seed=7))
    a = resample_counts(30, 5, seed=7, stream=(1,))
    assert not np.array_equal(a, resample_counts(30, 5, seed=7))
    assert not np.array_equal(a, resample_counts(30, 5, seed=7, stream=(2,)))


def test_identical_at_any_numba_thread_count() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(3000, 30))  # many columns: once a BLAS product
    expected = bootstrap_sums(values, 64, seed=1)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = bootstrap_sums(values, 64, seed=1)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(expected, single)


def test_resampling_lives_only_in_stats() -> None:
    for name in ("bootstrap_ci", "bootstrap_means", "resample_counts"):
        assert not hasattr(rs.evaluation, name), name
    assert not hasattr(rs.uplift, "Estimate")
    with pytest.raises(AttributeError):
        _ = rs.uplift.no_such_name


@pytest.mark.parametrize("n_columns", [1, 12])  # branch-free and skipping loops
def test_non_finite_value_enters_only_the_resamples_that_draw_it(n_columns: int) -> None:
    values = np.ones((30, n_columns))
    values[7] = np.inf
    counts = reference_counts(30, 40, seed=9)
    sums = bootstrap_sums(values, 40, seed=9)
    drawn = counts[:, 7] > 0
    assert drawn.any()
    assert (~drawn).any()
    assert np.isinf(sums[drawn]).all()
    assert np.isfinite(sums[~drawn]).all()
    np.testing.assert_array_equal(sums, reference_sums(values, counts))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 80),
    m=st.integers(1, 12),
    bootstrap=st.integers(1, 50),
    scale=st.sampled_from([1, 1000, 2**40]),
)
def test_integer_values_take_the_direct_path_with_the_same_sums(seed, n, m, bootstrap, scale):
    """0/1 hits and counts: each draw added as it comes equals the fixed-order reference."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-1, 2, size=(n, m)).astype(np.float64) * scale
    counts = reference_counts(n, bootstrap, seed)
    expected = reference_sums(values, counts)
    np.testing.assert_array_equal(bootstrap_sums(values, bootstrap, seed), expected)
    ends = np.array([0, n // 2, n])  # the prefix kernel, same draws
    np.testing.assert_array_equal(
        bootstrap_sums(values, bootstrap, seed, ends=ends)[:, -1], expected
    )


def test_ratio_ci_is_the_percentile_interval_of_resampled_ratios_of_sums() -> None:
    rng = np.random.default_rng(7)
    realised = rng.poisson(2.0, 60).astype(float)
    projected = np.where(rng.random(60) < 0.7, rng.gamma(2.0, 1.5, 60), 0.0)
    projected[:55] = 0.0  # few rows carry the denominator: some resamples divide by zero
    counts = reference_counts(60, 300, seed=5)
    drawn = [np.repeat(np.arange(60), c) for c in counts]
    with np.errstate(invalid="ignore", divide="ignore"):  # x / 0 = inf, 0 / 0 = NaN
        ratios = np.array([realised[d].sum() / projected[d].sum() for d in drawn])
    assert np.isinf(ratios).any()
    assert np.isfinite(ratios).any()
    defined = ratios[~np.isnan(ratios)]
    expected = np.quantile(defined, [0.05, 0.95])
    assert ratio_ci(realised, projected, 300, seed=5, confidence=0.9) == pytest.approx(
        tuple(expected), rel=1e-12
    )


def test_ratio_ci_is_nan_without_rows_and_checks_lengths() -> None:
    low, high = ratio_ci(np.array([]), np.array([]), 50, seed=0)
    assert np.isnan(low)
    assert np.isnan(high)
    with pytest.raises(InputDataError, match="numerator and denominator"):
        ratio_ci(np.ones(3), np.ones(2), 50)
