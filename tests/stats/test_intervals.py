"""Interval and test formulas: published examples, scipy agreement, coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from recsys.exceptions import DataWarning
from recsys.stats import (
    newcombe_interval,
    relative_interval_binary,
    two_proportion_p_value,
    wald_interval,
    welch,
    wilson_interval,
    z_value,
)

Z95 = z_value(0.95)

# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10.
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


@pytest.mark.parametrize(("x1", "n1", "x0", "n0", "low", "high"), NEWCOMBE_TABLE_II)
def test_newcombe_matches_published_table(x1, n1, x0, n0, low, high):
    lo, hi = newcombe_interval(np.array([x1]), np.array([n1]), np.array([x0]), np.array([n0]), Z95)
    assert lo[0] == pytest.approx(low, abs=6e-5)
    assert hi[0] == pytest.approx(high, abs=6e-5)


def test_wilson_matches_scipy():
    for x, n in [(0, 10), (3, 10), (10, 10), (37, 250), (1, 1)]:
        lo, hi = wilson_interval(np.array([x]), np.array([n]), Z95)
        ref = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert lo[0] == pytest.approx(ref.low, abs=1e-9)
        assert hi[0] == pytest.approx(ref.high, abs=1e-9)


def test_two_proportion_p_value_equals_pearson_chi_square():
    for x1, n1, x0, n0 in [(30, 100, 20, 100), (5, 40, 11, 52), (120, 1000, 95, 1010)]:
        table = np.array([[x1, n1 - x1], [x0, n0 - x0]])
        ref = stats.chi2_contingency(table, correction=False).pvalue
        assert two_proportion_p_value(x1, n1, x0, n0) == pytest.approx(ref, rel=1e-10)


def test_two_proportion_p_value_is_one_when_no_variation():
    assert two_proportion_p_value(0, 10, 0, 10) == 1.0
    assert two_proportion_p_value(10, 10, 12, 12) == 1.0


def test_wald_hand_example():
    # d = 0.1, se = sqrt(.3·.7/100 + .2·.8/100) = 0.060828
    lo, hi = wald_interval(np.array([30]), np.array([100]), np.array([20]), np.array([100]), 2.0)
    assert lo[0] == pytest.approx(0.1 - 2 * 0.0608276, abs=1e-6)
    assert hi[0] == pytest.approx(0.1 + 2 * 0.0608276, abs=1e-6)


def test_wald_warns_on_zero_width():
    with pytest.warns(DataWarning, match="zero width"):
        lo, hi = wald_interval(np.array([0]), np.array([10]), np.array([0]), np.array([10]), Z95)
    assert lo[0] == hi[0] == 0.0


def test_welch_matches_scipy_ttest():
    rng = np.random.default_rng(3)
    a = rng.exponential(5.0, 40)
    b = rng.exponential(4.0, 65)
    lo, hi, p, _ = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, 0.9)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert lo == pytest.approx(ci.low, rel=1e-10)
    assert hi == pytest.approx(ci.high, rel=1e-10)


def test_welch_one_customer_warns_nan():
    with pytest.warns(DataWarning, match="fewer than 2"):
        lo, hi, p, _ = welch(1.0, 0.0, 1, 0.0, 0.0, 1, 0.95)
    assert np.isnan(lo)
    assert np.isnan(hi)
    assert np.isnan(p)


def test_katz_relative_interval_hand_example():
    # log(1.5) ± 1.96 sqrt(1/30 - 1/100 + 1/20 - 1/100)
    rel, lo, hi = relative_interval_binary(30, 100, 20, 100, Z95)
    se = np.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert rel == pytest.approx(0.5)
    assert lo == pytest.approx(np.exp(np.log(1.5) - Z95 * se) - 1)
    assert hi == pytest.approx(np.exp(np.log(1.5) + Z95 * se) - 1)


def test_katz_degenerate_counts_are_finite():
    rel, lo, hi = relative_interval_binary(0, 50, 5, 50, Z95)
    assert rel == -1.0
    assert np.isfinite(lo)
    assert np.isfinite(hi)
    assert lo < hi
    with pytest.warns(DataWarning, match="control rate is 0"):
        rel, lo, hi = relative_interval_binary(3, 50, 0, 50, Z95)
    assert np.isnan(rel)


@pytest.mark.parametrize(
    ("method", "n", "p0", "p1"),
    [
        ("newcombe", 400, 0.10, 0.13),
        ("newcombe", 60, 0.05, 0.10),
        ("wald", 2000, 0.10, 0.12),
    ],
)
def test_binary_interval_coverage(method, n, p0, p1):
    """Over 4,000 simulated experiments the 95% interval covers the true uplift 93%-97%."""
    rng = np.random.default_rng(11)
    sims = 4000
    x1 = rng.binomial(n, p1, sims)
    x0 = rng.binomial(n, p0, sims)
    nn = np.full(sims, n)
    fn = newcombe_interval if method == "newcombe" else wald_interval
    lo, hi = fn(x1, nn, x0, nn, Z95)
    coverage = np.mean((lo <= p1 - p0) & (p1 - p0 <= hi))
    assert 0.93 <= coverage <= 0.97, coverage


def test_welch_interval_coverage_on_skewed_spend():
    rng = np.random.default_rng(5)
    sims, n = 3000, 300
    a = rng.exponential(12.0, (sims, n))  # true means 12 and 10
    b = rng.exponential(10.0, (sims, n))
    lo, hi, _, _ = welch(
        a.mean(1),
        a.var(1, ddof=1),
        np.full(sims, n),
        b.mean(1),
        b.var(1, ddof=1),
        np.full(sims, n),
        0.95,
    )
    coverage = np.mean((lo <= 2.0) & (hi >= 2.0))
    assert 0.93 <= coverage <= 0.97, coverage


def test_relative_interval_coverage():
    rng = np.random.default_rng(8)
    sims, n = 4000, 1500
    x1 = rng.binomial(n, 0.12, sims)
    x0 = rng.binomial(n, 0.10, sims)
    _, lo, hi = relative_interval_binary(x1, np.full(sims, n), x0, np.full(sims, n), Z95)
    coverage = np.mean((lo <= 0.2) & (hi >= 0.2))
    assert 0.93 <= coverage <= 0.97, coverage
