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

import warnings

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.bgnbd import BGNBD, bgnbd_inputs
from recsys.profiles.churn import OwnRhythmRule
from recsys.profiles.config import ProfileConfig
from recsys.profiles.gammagamma import GammaGamma, fit_profile_clv, predict_profile_clv
from recsys.profiles.source import MICRO

__all__ = ["clv_columns", "fit_clv", "repeat_spend"]

ClvModels = tuple[BGNBD | OwnRhythmRule, GammaGamma]


def repeat_spend(occ: pl.DataFrame) -> pl.DataFrame:
    """``_repeat_spend`` per customer: the spend of all orders but the first.

    ``occ`` holds one row per order (``user_id``, ``t``, ``spend`` in micro-units),
    sorted by user and time, as in `recsys.build_profiles`.
    """
    return occ.group_by(C.USER, maintain_order=True).agg(
        ((pl.col("spend").sum() - pl.col("spend").sort_by("t", "spend").first()) / MICRO).alias(
            "_repeat_spend"
        )
    )


def _inputs(act: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD's ``(x, t_x, T)`` and the mean repeat-order value ``z`` per customer."""
    x, t_x, T = bgnbd_inputs(act.select("frequency", "tenure_days", "recency_days"))
    spent = act["_repeat_spend"].fill_null(0.0).to_numpy()
    z = np.divide(spent, x, out=np.zeros_like(x), where=x > 0)
    return x, t_x, T, z


def fit_clv(
    act: pl.DataFrame, has_price: bool, transactions: BGNBD | OwnRhythmRule | None = None
) -> ClvModels | None:
    """The CLV models fitted on every customer (``act``: ``frequency``, ``tenure_days``,
    ``recency_days``, ``_repeat_spend`` from `repeat_spend`); None with a
    `DataWarning` when they cannot be fitted.

    ``transactions`` is the model of the purchase counts already fitted on the same
    customers (`BGNBD`, or its fallback `OwnRhythmRule`); None fits BG/NBD here."""
    if not has_price:
        raise InputDataError(
            "clv_horizon_days is set but the purchases have no 'price' column: CLV needs spend"
        )
    try:
        return fit_profile_clv(*_inputs(act), transactions=transactions)
    except InputDataError as err:
        warnings.warn(f"CLV columns are null: {err}", DataWarning, stacklevel=3)
        return None


def clv_columns(
    act: pl.DataFrame, models: ClvModels | None, config: ProfileConfig
) -> dict[str, pl.Series]:
    """CLV columns for ``act``'s customers (any subset of those `fit_clv` saw)."""
    horizon = config.clv_horizon_days
    assert horizon is not None
    if models is None:
        return {
            name: pl.Series(name, [None] * act.height, dtype=pl.Float64)
            for name in ("expected_order_value", "clv")
        }
    out = predict_profile_clv(
        models,
        *_inputs(act),
        horizon_days=horizon,
        discount_monthly=config.clv_discount_monthly,
        margin=config.margin,
    )
    return {name: pl.Series(name, values) for name, values in out.items()}
