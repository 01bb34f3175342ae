"""Always-valid sequential readout: formula, error rate under peeking, detection, bad input."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from tests.uplift._simulate import simulate_peeking


def test_false_positive_rate_under_daily_peeking() -> None:
    # deterministic (fixed seed); the benchmark runs 2000+ runs for the reported figure
    ever_cs, ever_z, _ = simulate_peeking(300, 30, 200, 0.2, 0.2, seed=11)
    assert ever_cs.mean() <= 0.05
    assert ever_z.mean() > 0.10  # the naive daily z-test is far above alpha


def test_detects_a_real_effect() -> None:
    ever_cs, _, first = simulate_peeking(100, 30, 200, 0.20, 0.25, seed=12)
    assert ever_cs.mean() > 0.9
    assert np.nanmean(first) < 15


def test_boundary_formula() -> None:
    v, t2, a = 4e-4, 0.05**2, 0.05
    _low, high, lr = rs.uplift.confidence_sequence(0.03, v, alpha=a, tau=0.05)
    half = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / a) + math.log((v + t2) / v)))
    assert high[0] - 0.03 == pytest.approx(half)
    # at the boundary the mixture likelihood ratio is exactly 1 / alpha
    _, _, lr_edge = rs.uplift.confidence_sequence(half, v, alpha=a, tau=0.05)
    assert lr_edge[0] == pytest.approx(1 / a)
    assert lr[0] < 1 / a


def _frame() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = 4000
    arm = rng.choice(["t", "c"], size=n)
    return pl.DataFrame(
        {
            "user_id": np.arange(n),
            "arm": arm,
            "retained": (rng.random(n) < 0.3).astype(int),
            "day": rng.integers(1, 11, size=n),
        }
    )


def test_one_row_per_look_and_cumulative_counts() -> None:
    df = _frame()
    out = rs.uplift.sequential(df, "arm", "c", "retained", time="day", unit="user_id")
    assert out.height == 10
    assert out["day"].to_list() == list(range(1, 11))
    last = out.row(-1, named=True)
    assert last["n"] == int((df["arm"] == "t").sum())
    assert last["rate"] == pytest.approx(df.filter(pl.col("arm") == "t")["retained"].mean())
    assert (out["cs_low"] <= out["estimate"]).all()
    assert (out["p_value"].diff().drop_nulls() <= 1e-12).all()  # running, never increases
    single = rs.uplift.sequential(df, "arm", "c", "retained")
    assert single.height == 1
    assert single["estimate"][0] == pytest.approx(last["estimate"])


def test_bad_input() -> None:
    df = _frame()
    with pytest.raises(InputDataError, match="one arm"):
        rs.uplift.sequential(df.filter(pl.col("arm") == "c"), "arm", "c", "retained")
    with pytest.raises(InputDataError, match="control"):
        rs.uplift.sequential(df, "arm", "nope", "retained")
    two = pl.concat([df, df.head(1).with_columns(arm=pl.lit("t" if df["arm"][0] == "c" else "c"))])
    with pytest.raises(InputDataError, match="more than one arm"):
        rs.uplift.sequential(two, "arm", "c", "retained", unit="user_id")
    with pytest.raises(InputDataError, match="0/1"):
        rs.uplift.sequential(
            df.with_columns(retained=pl.col("retained") * 2), "arm", "c", "retained"
        )
    with pytest.raises(InputDataError, match="tau"):
        rs.uplift.sequential(df, "arm", "c", "retained", tau=0)


def _experiment() -> pl.DataFrame:
    return pl.DataFrame({"arm": ["t", "c"] * 50, "retained": [1, 0, 0, 1] * 25})


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05", None, float("nan"), True])
def test_alpha_outside_zero_one_is_a_typed_error(alpha) -> None:
    with pytest.raises(InputDataError, match="alpha"):
        rs.uplift.sequential(_experiment(), "arm", "c", "retained", alpha=alpha)
    with pytest.raises(InputDataError, match="alpha"):
        rs.uplift.confidence_sequence(0.02, 1e-4, alpha=alpha)


@pytest.mark.parametrize("tau", [0, -1, "0.05", None, float("inf")])
def test_tau_must_be_a_positive_number(tau) -> None:
    with pytest.raises(InputDataError, match="tau"):
        rs.uplift.sequential(_experiment(), "arm", "c", "retained", tau=tau)
    with pytest.raises(InputDataError, match="tau"):
        rs.uplift.confidence_sequence(0.02, 1e-4, tau=tau)


@pytest.mark.parametrize(
    ("estimate", "variance", "named"),
    [
        ([0.1, 0.2], [1e-4, 1e-4, 1e-4], "same length"),
        (["a"], [1e-4], "estimate"),
        ([0.1], ["a"], "variance"),
        ([0.1], [0.0], "variance"),
        ([0.1], [-1e-4], "variance"),
        ([float("nan")], [1e-4], "estimate"),
        ([0.1], [float("inf")], "variance"),
        ([[0.1]], [[1e-4]], "estimate"),
    ],
)
def test_confidence_sequence_checks_its_arrays(estimate, variance, named: str) -> None:
    with pytest.raises(InputDataError, match=named):
        rs.uplift.confidence_sequence(estimate, variance)


def test_confidence_sequence_scalar_variance_applies_to_every_estimate() -> None:
    low, high, _ = rs.uplift.confidence_sequence([0.0, 0.1], 1e-4)
    np.testing.assert_allclose(high - low, [high[0] - low[0]] * 2)


@pytest.mark.parametrize("srm_alpha", ["0.001", None, 0, 2])
def test_uplift_table_srm_alpha_is_checked(srm_alpha) -> None:
    with pytest.raises(InputDataError, match="srm_alpha"):
        rs.uplift.uplift_table(_experiment(), "arm", "retained", "c", srm_alpha=srm_alpha)


def test_uplift_table_bootstrap_is_checked_even_where_unused() -> None:
    with pytest.raises(InputDataError, match="bootstrap"):
        rs.uplift.uplift_table(_experiment(), "arm", "retained", "c", bootstrap="x")
