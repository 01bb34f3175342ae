"""The CLV columns of `recsys.build_profiles` (opt-in, ``ProfileConfig.clv_horizon_days``).

==================== ======= ==========================================================
column               dtype   definition
==================== ======= ==========================================================
expected_order_value Float64 Gamma-Gamma ``E[Z | x, z_bar]``: expected value of a future
                             order, from ``x = frequency - 1`` repeat orders and their
                             mean value ``z_bar`` (first order excluded, as in Fader &
                             Hardie); one-order customers get the population mean
clv                  Float64 `clv`: BG/NBD expected orders per
                             30-day month over ``clv_horizon_days`` x
                             ``expected_order_value`` x ``margin``, discounted at
                             ``clv_discount_monthly`` per month
==================== ======= ==========================================================

Both need prices. The Gamma-Gamma independence assumption is checked on the repeat
buyers: a `DataWarning` when ``|Pearson r|`` of frequency and
mean repeat-order value exceeds `CORRELATION_WARNING`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.exceptions import InputDataError
from recsys.profiles.bgnbd import bgnbd_inputs
from recsys.profiles.config import ProfileConfig
from recsys.profiles.gammagamma import profile_clv

__all__ = ["clv_columns"]

_MICRO = 1_000_000.0


def clv_columns(
    occ: pl.DataFrame, act: pl.DataFrame, config: ProfileConfig, has_price: bool
) -> dict[str, pl.Series]:
    """CLV columns for ``act``'s customers from the orders table of ``build_profiles``.

    ``occ`` holds one row per order (``user_id``, ``t``, ``spend`` in micro-units),
    sorted by user and time; ``act`` the per-customer activity (``frequency``,
    ``tenure_days``, ``recency_days``) in the same user order as the profiles.
    """
    if not has_price:
        raise InputDataError(
            "clv_horizon_days is set but the purchases have no 'price' column: CLV needs spend"
        )
    horizon = config.clv_horizon_days
    assert horizon is not None
    spend = occ.group_by(C.USER, maintain_order=True).agg(
        ((pl.col("spend").sum() - pl.col("spend").sort_by("t", "spend").first()) / _MICRO).alias(
            "_repeat_spend"
        )
    )
    joined = act.select(C.USER, "frequency", "tenure_days", "recency_days").join(
        spend, on=C.USER, how="left", maintain_order="left"
    )
    x, t_x, T = bgnbd_inputs(joined)
    repeat_spend = joined["_repeat_spend"].fill_null(0.0).to_numpy()
    z = np.divide(repeat_spend, x, out=np.zeros_like(x), where=x > 0)
    out = profile_clv(
        x,
        t_x,
        T,
        z,
        horizon_days=horizon,
        discount_monthly=config.clv_discount_monthly,
        margin=config.margin,
    )
    n = act.height
    if out is None:
        return {
            name: pl.Series(name, [None] * n, dtype=pl.Float64)
            for name in ("expected_order_value", "clv")
        }
    return {name: pl.Series(name, values) for name, values in out.items()}
