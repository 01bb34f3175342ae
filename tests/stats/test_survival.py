"""km_quantiles against a plain-numpy Kaplan-Meier (distinct event times, d_j / n_j)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.exceptions import InputDataError
from recsys.stats.survival import km_quantiles


def numpy_km_quantile(time: np.ndarray, event: np.ndarray, q: float) -> float | None:
    """The textbook product over distinct event times of 1 - d_j / n_j; first t with S <= 1-q."""
    s = 1.0
    for t in np.unique(time[event == 1]):
        at_risk = np.sum(time >= t)
        s *= 1.0 - np.sum((time == t) & (event == 1)) / at_risk
        if s <= 1.0 - q + 1e-12:
            return float(t)
    return None


def test_hand_worked_example() -> None:
    # ended: 3, 3, 8; censored: 3, 5, 10. At 3: 2 of 6 end (the censored 3 is at risk):
    # S = 2/3; at 8: 1 of 2 ends, S = 1/3; never below 1/3.
    spells = pl.DataFrame({"time": [3.0, 3, 3, 5, 8, 10], "event": [1, 0, 1, 0, 1, 0]})
    got = km_quantiles(spells, (0.3, 0.5, 0.6, 0.7)).row(0, named=True)
    assert got == {"km_0.3": 3.0, "km_0.5": 8.0, "km_0.6": 8.0, "km_0.7": None, "events": 3.0}


@pytest.mark.parametrize("seed", range(5))
def test_matches_numpy_reference_with_ties_groups_and_weights(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    time = rng.integers(0, 40, n).astype(float)  # many ties
    event = (rng.random(n) < 0.6).astype(int)
    group = rng.integers(0, 3, n)
    quantiles = (0.25, 0.5, 0.8, 0.95)
    got = km_quantiles(
        pl.DataFrame({"g": group, "time": time, "event": event}), quantiles, by="g"
    ).sort("g")
    for row in got.iter_rows(named=True):
        mask = group == row["g"]
        for q in quantiles:
            assert row[f"km_{q:g}"] == numpy_km_quantile(time[mask], event[mask], q)
        assert row["events"] == event[mask].sum()
    # the same spells collapsed to (time, event, count) rows give the same quantiles
    frame = pl.DataFrame({"time": time, "event": event})
    counted = frame.group_by("time", "event").agg(pl.len().alias("n"))
    assert km_quantiles(counted, quantiles, weight="n").equals(km_quantiles(frame, quantiles))


def test_quantiles_must_be_fractions() -> None:
    with pytest.raises(InputDataError, match=r"quantiles must be in \(0, 1\)"):
        km_quantiles(pl.DataFrame({"time": [1.0], "event": [1]}), (0.5, 1.0))
