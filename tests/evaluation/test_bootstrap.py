"""Bootstrap CIs against a slow per-resample reference and statistical properties."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.evaluation import bootstrap_ci, bootstrap_means, resample_counts
from recsys.exceptions import InputDataError


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


@pytest.mark.parametrize("n_columns", [1, 9])  # direct summing and the count-matrix path
def test_both_kernels_match_the_reference(n_columns: int) -> None:
    rng = np.random.default_rng(n_columns)
    values = rng.random((41, n_columns))
    values[rng.random((41, n_columns)) < 0.1] = np.nan
    counts = resample_counts(41, 64, seed=2)
    weights = np.where(np.isnan(values), 0.0, 1.0)
    expected = (counts @ np.nan_to_num(values)) / (counts @ weights)
    np.testing.assert_allclose(bootstrap_means(values, 64, seed=2), expected, rtol=1e-12)
