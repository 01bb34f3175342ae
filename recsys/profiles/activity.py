"""Per-customer activity from the orders (recency, frequency, gaps, windows): the
aggregates every profile column starts from, at ``as_of`` and at the churn
calibration's internal cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from recsys.data import columns as C
from recsys.profiles.config import ProfileConfig
from recsys.profiles.source import MICRO, as_days

__all__ = ["CUSTOMER_INPUTS", "CUTOFF_INPUTS", "activity", "cutoff_activity"]

#: Per-customer columns the global statistics read (plus ``user_id``), at ``as_of``
#: and at the churn calibration's internal cutoff (with ``_churned``, the outcome).
CUSTOMER_INPUTS = ("frequency", "recency_days", "tenure_days", "_to_second")


CUTOFF_INPUTS = (
    *CUSTOMER_INPUTS,
    "_decayed_60",
    "_decayed_180",
    "_orders_90",
    "_orders_30",
    "_orders_180",
    "_orders_90_180",
    "_active_months",
    "median_interpurchase_days",
)


def activity(
    occ: pl.DataFrame, as_of: datetime, has_price: bool, config: ProfileConfig
) -> pl.DataFrame:
    """Per-customer activity from the orders table (user, t, spend, units, gap), t < as_of."""
    age = as_days(pl.lit(as_of) - pl.col("t"))
    short, medium, long = config.churn_windows_days
    fast, slow = config.churn_decay_days
    aggs = [
        pl.col("t").first().alias("first_purchase"),
        pl.col("t_end").max().alias("last_purchase"),
        pl.col("t").get(1, null_on_oob=True).alias("_second"),
        pl.len().cast(pl.Int64).alias("frequency"),
        (pl.col("units").sum() / MICRO).alias("n_items"),
        pl.col("gap").mean().alias("mean_interpurchase_days"),
        pl.col("gap").median().alias("median_interpurchase_days"),
        pl.col("gap").last().alias("last_gap_days"),
        pl.col("gap").slice(0, pl.len() - 1).median().alias("_prior_median_gap"),
        (-age / fast).exp().sum().alias("_decayed_60"),
        (-age / slow).exp().sum().alias("_decayed_180"),
        (age < medium).sum().cast(pl.Float64).alias("_orders_90"),
        (age < short).sum().cast(pl.Float64).alias("_orders_30"),
        (age < long).sum().cast(pl.Float64).alias("_orders_180"),
        ((age >= medium) & (age < long)).sum().cast(pl.Float64).alias("_orders_90_180"),
        # distinct calendar months with an order (year * 12 + month)
        (pl.col("t").dt.year().cast(pl.Int32) * 12 + pl.col("t").dt.month().cast(pl.Int32))
        .n_unique()
        .cast(pl.Float64)
        .alias("_active_months"),
    ]
    if has_price:
        aggs.append((pl.col("spend").sum() / MICRO).alias("monetary"))
    act = occ.group_by(C.USER, maintain_order=True).agg(aggs)
    return act.with_columns(
        as_days(pl.lit(as_of) - pl.col("first_purchase")).alias("tenure_days"),
        as_days(pl.lit(as_of) - pl.col("last_purchase")).alias("recency_days"),
        as_days(pl.col("_second") - pl.col("first_purchase")).alias("_to_second"),
    )


def cutoff_activity(
    occ: pl.DataFrame, as_of: datetime, config: ProfileConfig, has_price: bool
) -> pl.DataFrame:
    """Activity at the churn calibration's cutoff ``as_of - horizon_days`` with the
    outcome ``_churned`` (no order in ``[cutoff, as_of)``)."""
    cutoff = as_of - timedelta(days=config.horizon_days)
    earlier = occ.filter(pl.col("t") < cutoff)
    earlier = earlier.with_columns(as_days(pl.col("t").diff().over(C.USER)).alias("gap"))
    act_c = activity(earlier, cutoff, has_price, config)
    came_back = occ.filter(pl.col("t") >= cutoff)[C.USER].unique()
    return act_c.with_columns((~pl.col(C.USER).is_in(came_back.implode())).alias("_churned"))
