"""Items due on a shop the calibration can separate: exact cycles (walk #6's known truth).

Every product is rebought on an exact cycle (10 or 60 days) from a start within its
first cycle, so at the internal calibration cutoff the number of purchases so far tells
which pairs of a 60-day product fall in the window: the outcomes are (almost) separated
and an unpenalised logistic calibration runs off to a step that extrapolates wrongly
(before the fix, pairs rebought every 10 days got a chance of 0). The calibration is then
not identified: it is skipped, with a warning, and the renewal model's chance is used.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs

START = datetime(2023, 1, 1)
CYCLES = {f"p{i}": (10.0 if i < 6 else 60.0) for i in range(12)}


def exact_cycles(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        rng.random()  # the stream of tests/job/test_due_card.py's shop, without jitter
        for item in rng.choice(sorted(CYCLES), size=3, replace=False):
            t = float(rng.uniform(0, CYCLES[item]))
            while t < 400:
                rows.append((user, str(item), START + timedelta(days=t, hours=9), 1.0))
                t += CYCLES[item]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp", "quantity"], orient="row")


def test_a_separated_calibration_is_skipped_and_said() -> None:
    shop = exact_cycles()
    cutoff = START + timedelta(days=300)
    with pytest.warns(rs.DataWarning, match="the calibration is not identified"):
        model = rs.profiles.DueItems(30).fit(shop, as_of=cutoff)
    assert not model.calibrated_
    due = model.items_.with_columns(cycle=pl.col("item_id").replace_strict(CYCLES))
    # a pair rebought every 10 days for 300 days is bought in the next 30: the truth is 1
    ten = due.filter(pl.col("cycle") == 10.0)["p_within_horizon"]
    assert ten.min() > 0.9  # type: ignore[operator]
    # a 60-day pair is bought in the next 30 days exactly when 30 or more have passed
    sixty = due.filter(pl.col("cycle") == 60.0)
    elapsed = (cutoff - sixty["last_purchase"]).dt.total_days()
    window = shop.filter((pl.col("timestamp") >= cutoff) & (pl.col("timestamp") < cutoff
                         + timedelta(days=30))).select("user_id", "item_id").unique()  # fmt: skip
    bought = sixty.join(window.with_columns(b=pl.lit(1)), on=["user_id", "item_id"], how="left")
    truth = bought["b"].fill_null(0).to_numpy()
    assert np.array_equal(truth, (elapsed >= 30).cast(pl.Int64).to_numpy())
    # the renewal model ranks them the right way round: later in the cycle, likelier
    p = sixty["p_within_horizon"].to_numpy()
    assert p[truth == 1].mean() > p[truth == 0].mean()
