"""The naive rules the items-due model is checked against (`recsys.evaluation.backtest`,
the job's items-due card) and deployed in its place where the check does not license
it: a product is due again its median gap after the customer's last purchase of it, with
the product's base rate as the chance."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, without_returns

__all__ = ["naive_due"]


def _item_medians(before: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    days = (
        before.select(C.USER, C.ITEM, pl.col(C.TIMESTAMP).dt.date().alias("_d"))
        .unique()
        .sort(C.USER, C.ITEM, "_d")
        .with_columns(pl.col("_d").diff().over(C.USER, C.ITEM).dt.total_days().alias("_gap"))
    )
    medians = days.group_by(C.ITEM).agg(pl.col("_gap").median().alias("_item_median"))
    overall = days["_gap"].median()
    return medians, float(overall) if overall is not None else 30.0  # type: ignore[arg-type]


def _item_base_rates(
    before: pl.DataFrame, origin: datetime, horizon_days: int
) -> tuple[pl.DataFrame, float]:
    """Share of each item's pairs bought before ``origin - h`` that were bought again in
    ``[origin - h, origin)``: the naive probability of a purchase in the next window."""
    cut = origin - timedelta(days=horizon_days)
    pairs = before.filter(pl.col(C.TIMESTAMP) < cut).select(C.USER, C.ITEM).unique()
    again = (
        before.filter(pl.col(C.TIMESTAMP) >= cut)
        .select(C.USER, C.ITEM)
        .unique()
        .with_columns(pl.lit(1.0).alias("_y"))
    )
    rates = (
        pairs.join(again, on=[C.USER, C.ITEM], how="left")
        .group_by(C.ITEM)
        .agg(pl.col("_y").fill_null(0.0).mean().alias("_base_rate"))
    )
    overall = (
        pairs.join(again, on=[C.USER, C.ITEM], how="left")["_y"].fill_null(0.0).mean()
        if pairs.height
        else None
    )
    return rates, float(overall) if overall is not None else 0.0  # type: ignore[arg-type]


def naive_due(
    due: pl.DataFrame, before: pl.DataFrame, origin: datetime, horizon_days: int
) -> pl.DataFrame:
    """``due`` (`due_items`' table as of ``origin``: one row per (customer, item) with its
    ``last_purchase``) with the naive rules' columns the backtest scores the model against,
    computed on ``before`` (the purchases strictly before ``origin``; its return rows are
    no purchase, as in `due_items`) only:

    - ``naive_interval_days``: the item's median gap (``item_median``), the median over
      the item's pairs of the days between consecutive purchase days (over all items
      where the item has no repeat; 30 days where no item has one);
    - ``naive_due_date`` = ``last_purchase`` + that gap;
    - ``base_rate`` (``item_base_rate``): the share of the item's pairs bought before
      ``origin - horizon_days`` that were bought again in ``[origin - horizon_days,
      origin)`` (over all items where the item has no such pair; 0 where there is none):
      the naive chance of a purchase in the next ``horizon_days``.

    Examples
    --------
    >>> from datetime import datetime
    >>> before = pl.DataFrame({"user_id": [1, 1, 1, 2], "item_id": ["a"] * 4,
    ...     "timestamp": [datetime(2024, 1, d) for d in (1, 11, 21, 5)]})
    >>> due = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "a"],
    ...     "last_purchase": [datetime(2024, 1, 21), datetime(2024, 1, 5)]})
    >>> out = naive_due(due, before, datetime(2024, 1, 25), 10)
    >>> out["naive_due_date"].dt.day().to_list(), out["base_rate"].to_list()
    ([31, 15], [0.5, 0.5])
    """
    before = without_returns(before)  # a return is no purchase, as in `due_items`
    medians, overall_median = _item_medians(before)
    rates, overall_rate = _item_base_rates(before, origin, horizon_days)
    return (
        due.join(medians, on=C.ITEM, how="left", maintain_order="left")
        .join(rates, on=C.ITEM, how="left", maintain_order="left")
        .with_columns(
            naive_interval_days=pl.col("_item_median").fill_null(overall_median),
            base_rate=pl.col("_base_rate").fill_null(overall_rate),
        )
        .with_columns(
            naive_due_date=pl.col("last_purchase")
            + pl.duration(microseconds=(pl.col("naive_interval_days") * US_PER_DAY).cast(pl.Int64)),
        )
        .drop("_item_median", "_base_rate")
    )
