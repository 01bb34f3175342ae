"""Lifecycle thresholds: Kaplan-Meier quantiles of the gaps (open gaps censored) recover a
known gap distribution from a short history; an unidentified threshold warns."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from recsys.exceptions import DataWarning
from recsys.profiles import ProfileConfig
from recsys.profiles.lifecycle import lifecycle_thresholds

MEAN_GAP = 60.0
TRUE = MEAN_GAP * np.log(1.0 / (1.0 - np.array([0.5, 0.8, 0.95])))  # 41.6, 96.6, 179.7


def observed_shop(history: float, n_customers: int = 20_000, seed: int = 0):
    """Customers ordering forever with exponential gaps (mean 60 days), seen over
    ``[0, history)``: the completed gaps, each seen customer's open gap, the history."""
    rng = np.random.default_rng(seed)
    completed, open_days, first = [], [], []
    for _ in range(n_customers):
        # stationary: the first order in the window is an exponential wait away
        t = np.cumsum(rng.exponential(MEAN_GAP, 40))
        t = t[t < history]
        if t.size == 0:
            continue
        completed.append(np.diff(t))
        open_days.append(history - t[-1])
        first.append(t[0])
    gaps = np.concatenate(completed)
    return gaps, np.array(open_days), history - min(first)


def thresholds(gaps: np.ndarray, open_days: np.ndarray, history: float) -> np.ndarray:
    frame = pl.DataFrame({"gap": gaps, "count": np.ones(gaps.size, dtype=np.int64)})
    return np.array(lifecycle_thresholds(frame, open_days, history, ProfileConfig()))


def test_short_history_recovers_the_true_quantiles() -> None:
    gaps, open_days, history = observed_shop(365.0)
    old = np.quantile(gaps, [0.5, 0.8, 0.95])
    assert np.all(old < 0.9 * TRUE)  # the completed gaps alone are biased short
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        new = thresholds(gaps, open_days, history)
    np.testing.assert_allclose(new, TRUE, rtol=0.06)


def test_too_short_a_history_warns_and_uses_its_length() -> None:
    gaps, open_days, history = observed_shop(45.0)
    assert np.quantile(gaps, 0.95) < 45.0  # the old churned threshold: inside the history
    with pytest.warns(DataWarning) as caught:
        new, dormant, churned = thresholds(gaps, open_days, history)
    messages = [str(w.message) for w in caught]
    assert any(
        m.startswith(
            f"the history ({history:.0f} days) is too short to tell when a customer is dormant"
        )
        for m in messages
    )
    assert any("customer is churned" in m for m in messages)
    assert dormant == churned == history
    assert new == pytest.approx(TRUE[0], rel=0.1)  # 41.6 days: within the 45-day history


def test_one_order_customers_open_gaps_count() -> None:
    # 100 gaps of 10 days ended; 100 one-order customers waiting 30 days: their open gaps
    # keep half the spells running past 30 days, so the median is 10 and 0.8 is unknown
    gaps = pl.DataFrame({"gap": [10.0], "count": [100]})
    with pytest.warns(DataWarning, match="customer is dormant"):
        got = lifecycle_thresholds(gaps, np.full(100, 30.0), 40.0, ProfileConfig())
    assert got == (10.0, 40.0, 40.0)
    configured = ProfileConfig(dormant_days=20.0, churned_days=35.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert lifecycle_thresholds(gaps, np.full(100, 30.0), 40.0, configured) == (
            10.0,
            20.0,
            35.0,
        )
