"""Simulated experiments with known individual effects, shared by the uplift-model tests."""

from __future__ import annotations

import numpy as np
import polars as pl

import recsys as rs


def simulate(
    n: int, treated_share: float = 0.5, *, binary: bool = True, seed: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """An experiment frame and each customer's true effect ``tau``.

    Features ``x1..x4``; the baseline depends on ``x1, x2`` (non-linearly), the effect on
    ``x3`` only, negative for ``x3 < -0.5`` (customers the treatment puts off).
    ``churn_risk`` follows the baseline (low baseline = high risk), not the effect.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = (rng.random(n) < treated_share).astype(np.int64)
    if binary:
        base = 1 / (1 + np.exp(-(-1.0 + 1.2 * np.sin(2 * x[:, 0]) + 0.8 * x[:, 1])))
        tau = np.clip(0.12 * (x[:, 2] + 0.5), -base, 1 - base)
        y = (rng.random(n) < base + tau * t).astype(np.int64)
    else:
        base = 3 * np.sin(2 * x[:, 0]) + 2 * x[:, 1] ** 2
        tau = 1.0 * (x[:, 2] + 0.5)
        y = base + tau * t + rng.normal(size=n)
    churn_risk = -base + rng.normal(scale=0.1 * np.std(base), size=n)
    frame = pl.DataFrame(
        {
            "user_id": np.arange(n),
            "arm": np.where(t == 1, "offer", "control"),
            "outcome": y,
            "x1": x[:, 0],
            "x2": x[:, 1],
            "x3": x[:, 2],
            "x4": x[:, 3],
            "churn_risk": churn_risk,
        }
    )
    return frame, tau


def simulate_peeking(
    runs: int, days: int, per_day: int, p0: float, p1: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Experiments looked at daily through `recsys.uplift.sequential`.

    Each run: ``per_day`` new units per arm per day for ``days`` days, retained with
    probability ``p1`` (treatment) or ``p0`` (control); each day's count of retained units
    is one binomial draw. Returns, per run: ever rejected by the confidence sequence,
    ever rejected by the daily fixed-sample z-test, and the first day the sequence
    rejects (NaN if never).
    """
    rng = np.random.default_rng(seed)
    ever_cs = np.zeros(runs, dtype=bool)
    ever_z = np.zeros(runs, dtype=bool)
    first = np.full(runs, np.nan)
    day = np.tile(np.repeat(np.arange(1, days + 1), per_day), 2)
    arm = np.repeat(["treatment", "control"], days * per_day)
    slot = np.arange(per_day)
    for r in range(runs):
        retained = [rng.binomial(per_day, p, size=days) for p in (p1, p0)]
        frame = pl.DataFrame(
            {
                "arm": arm,
                "day": day,
                "retained": np.concatenate([(slot < c[:, None]).ravel() for c in retained]),
            }
        )
        out = rs.uplift.sequential(frame, "arm", "control", "retained", time="day")
        rejected = out["rejected"].to_numpy()
        ever_cs[r] = rejected.any()
        ever_z[r] = (out["p_value_fixed"].to_numpy() < 0.05).any()
        if ever_cs[r]:
            first[r] = np.argmax(rejected) + 1
    return ever_cs, ever_z, first
