"""GapSurvival: a simulation with a known truth, the survival against numerical
integration, P(silent) against Monte Carlo, underflow, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from recsys.exceptions import InputDataError, NotFittedError
from recsys.profiles.churn_hazard import GapSurvival

SHAPE, A, B = 2.5, 3.0, 90.0  # gaps Gamma(2.5, λ); λ ~ Gamma(3, rate 90): 37.5 days on average


def _simulate(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers with 0..8 gaps from the model: (gaps, total, sum of log gaps)."""
    rng = np.random.default_rng(seed)
    pace = rng.gamma(A, 1.0 / B, n)
    m = rng.integers(0, 9, n)
    gaps = rng.gamma(SHAPE, 1.0 / pace[:, None], (n, 8))
    used = np.arange(8)[None, :] < m[:, None]
    return (
        m.astype(float),
        np.where(used, gaps, 0.0).sum(1),
        np.where(used, np.log(gaps), 0.0).sum(1),
    )


@pytest.fixture(scope="module")
def fitted() -> GapSurvival:
    return GapSurvival().fit(*_simulate())


def test_recovers_the_shape_and_the_pace_distribution(fitted):
    assert fitted.shape_ == pytest.approx(SHAPE, rel=0.05)
    assert fitted.a_ == pytest.approx(A, rel=0.15)
    assert fitted.b_ == pytest.approx(B, rel=0.15)
    assert fitted.a_ / fitted.b_ == pytest.approx(A / B, rel=0.05)  # the mean pace
    m, _, _ = _simulate()
    assert fitted.n_customers_ == int((m > 0).sum())


def test_survival_is_the_integral_over_the_posterior_pace(fitted):
    k, a, b = fitted.shape_, fitted.a_, fitted.b_
    for m, s, t in ((0, 0.0, 20.0), (3, 60.0, 45.0), (8, 400.0, 10.0), (2, 30.0, 200.0)):
        post = stats.gamma(a + m * k, scale=1.0 / (b + s))

        def integrand(lam: float, t: float = t, post=post) -> float:
            return float(post.pdf(lam) * stats.gamma(k, scale=1.0 / lam).sf(t))

        expected, _ = integrate.quad(integrand, 0.0, np.inf, limit=200)
        assert fitted.survival(t, m, s) == pytest.approx(expected, abs=1e-7)


def test_probability_silent_matches_a_simulation(fitted):
    """Draw the pace from its posterior, then the gap: P(G > R + H | G > R)."""
    rng = np.random.default_rng(1)
    k, a, b = fitted.shape_, fitted.a_, fitted.b_
    cases = ((4, 120.0, 10.0, 30.0), (4, 120.0, 70.0, 30.0), (0, 0.0, 5.0, 60.0))
    for m, s, recency, horizon in cases:
        lam = rng.gamma(a + m * k, 1.0 / (b + s), 2_000_000)
        gap = rng.gamma(k, 1.0 / lam)
        alive = gap > recency
        expected = float(np.mean(gap[alive] > recency + horizon))
        got = float(fitted.probability_silent(horizon, [m], [s], [recency])[0])
        assert got == pytest.approx(expected, abs=3e-3)


def test_regular_customers_late_by_their_rhythm_are_due_soon():
    """Shape > 1: a regular customer past their usual gap is less likely to stay silent
    (if still buying) than one who just bought."""
    regular = GapSurvival().fit(*_simulate())
    on_time, late = regular.probability_silent(30, [6, 6], [180.0, 180.0], [5.0, 45.0])
    assert late < on_time


def test_far_tails_take_their_limit_and_stay_in_range(fitted):
    m, s = np.array([8.0, 8.0]), np.array([16.0, 16.0])  # a gap of 2 days, 8 times
    recency = np.array([5e4, 1e6])
    got = fitted.probability_silent(90, m, s, recency)
    big_a, big_b = fitted.a_ + m * fitted.shape_, fitted.b_ + s
    limit = ((big_b + recency) / (big_b + recency + 90)) ** big_a
    assert np.all(np.isfinite(got))
    assert np.all((got >= 0) & (got <= 1))
    np.testing.assert_allclose(got, limit, rtol=1e-3)


def test_bad_input_raises_typed_errors():
    with pytest.raises(InputDataError, match="one value per customer"):
        GapSurvival().fit([1, 2], [3.0], [0.0, 0.0])
    with pytest.raises(InputDataError, match="total > 0"):
        GapSurvival().fit([1, 2], [0.0, 5.0], [0.0, 1.0])
    with pytest.raises(InputDataError, match="finite"):
        GapSurvival().fit([1, 2], [3.0, 5.0], [1.0, -np.inf])
    with pytest.raises(InputDataError, match="two customers with a gap"):
        GapSurvival().fit([0, 0, 3], [0.0, 0.0, 9.0], [0.0, 0.0, 3.0])
    with pytest.raises(InputDataError, match="numbers"):
        GapSurvival().fit(["1", "2"], [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(NotFittedError):
        GapSurvival().probability_silent(30, [1], [10.0], [5.0])
