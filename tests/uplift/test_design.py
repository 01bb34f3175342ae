"""sample_size and minimum_detectable_effect: hand-worked values, inversion, simulated power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import recsys as rs
from recsys.exceptions import InputDataError


def test_binary_sample_size_hand_worked():
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    n = (za * math.sqrt(0.11 * 0.89 * 2) + zb * math.sqrt(0.1 * 0.9 + 0.12 * 0.88)) ** 2 / 0.02**2
    assert rs.uplift.sample_size(0.10, 0.02) == (math.ceil(n), math.ceil(n))
    assert rs.uplift.sample_size(0.10, 0.02).n_control == 3841


def test_unequal_ratio_and_negative_mde():
    ss = rs.uplift.sample_size(0.3, 0.05, ratio=3)
    assert ss.n_treatment == math.ceil(3 * ss.n_control - 1e-9)
    assert ss.n_control < rs.uplift.sample_size(0.3, 0.05).n_control
    assert rs.uplift.sample_size(0.3, -0.05).n_control > 0


def test_continuous_sample_size_hand_worked():
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.9)
    n = (za + zb) ** 2 * 15.0**2 * 2 / 3.0**2
    assert rs.uplift.sample_size(40.0, 3.0, power=0.9, sd=15.0).n_control == math.ceil(n)


def test_mde_inverts_sample_size():
    for p0, mde in [(0.02, 0.005), (0.1, 0.02), (0.5, 0.03)]:
        n = rs.uplift.sample_size(p0, mde)
        back = rs.uplift.minimum_detectable_effect(n.n_control, n.n_treatment, p0)
        assert back == pytest.approx(mde, rel=2e-3)
        assert back <= mde
    d = rs.uplift.minimum_detectable_effect(1000, 2000, 0.0, sd=5.0, power=0.9)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.9)
    assert d == pytest.approx((za + zb) * 5.0 * math.sqrt(1 / 1000 + 1 / 2000))


def test_power_by_simulation():
    """At the planned size the pooled z-test rejects about 80% of the time."""
    p0, mde = 0.1, 0.03
    n = rs.uplift.sample_size(p0, mde).n_control
    rng = np.random.default_rng(1)
    sims = 20_000
    x0 = rng.binomial(n, p0, sims)
    x1 = rng.binomial(n, p0 + mde, sims)
    pooled = (x0 + x1) / (2 * n)
    z = (x1 - x0) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    power = np.mean(np.abs(z) > stats.norm.ppf(0.975))
    assert power == pytest.approx(0.8, abs=0.015)


def test_bad_input():
    with pytest.raises(InputDataError, match="baseline_rate"):
        rs.uplift.sample_size(1.2, 0.01)
    with pytest.raises(InputDataError, match=r"baseline_rate \+ mde"):
        rs.uplift.sample_size(0.95, 0.1)
    with pytest.raises(InputDataError, match="mde"):
        rs.uplift.sample_size(0.1, 0.0)
    with pytest.raises(InputDataError, match="alpha"):
        rs.uplift.sample_size(0.1, 0.01, alpha=0)
    with pytest.raises(InputDataError, match="ratio"):
        rs.uplift.sample_size(0.1, 0.01, ratio=-1)
    with pytest.raises(InputDataError, match="sd"):
        rs.uplift.sample_size(10.0, 1.0, sd=0.0)
    with pytest.raises(InputDataError, match="n_control"):
        rs.uplift.minimum_detectable_effect(0, 10, 0.1)
    with pytest.raises(InputDataError, match="no uplift"):
        rs.uplift.minimum_detectable_effect(1, 1, 0.5)
