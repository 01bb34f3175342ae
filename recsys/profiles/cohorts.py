"""Acquisition-cohort retention tables: `cohort_retention`."""

from __future__ import annotations

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import require_purchases, without_returns
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.exceptions import InputDataError

__all__ = ["cohort_retention"]


def cohort_retention(
    purchases: FrameLike, period: str = "month", as_of: TimeLike | None = None
) -> pl.DataFrame:
    """Customers of each acquisition cohort still buying ``k`` periods later.

    A customer's cohort is the calendar period (month, or ISO week starting on
    Monday) of the first purchase; ``period_index`` counts whole calendar
    periods from the cohort's period to the period of a later purchase (0 = the
    acquisition period itself). ``customers`` is the number of distinct cohort
    customers with a purchase in that period, ``retention`` = ``customers /
    cohort_size``. Periods in which nobody of the cohort bought are absent.
    Return rows (``is_return``) are ignored.

    Parameters
    ----------
    purchases
        Canonical purchases (frame, lazy frame or path).
    period
        ``"month"`` or ``"week"``.
    as_of
        Use only purchases strictly before this time (default: all).

    Returns
    -------
    pl.DataFrame
        ``cohort`` (Date, first day of the period), ``period_index`` (Int64),
        ``customers`` (Int64), ``cohort_size`` (Int64), ``retention`` (Float64),
        ``complete`` (Boolean), sorted by cohort and period_index.

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> from datetime import datetime
    >>> purchases = pl.DataFrame({
    ...     "user_id": [1, 1, 2, 3, 3],
    ...     "item_id": ["a"] * 5,
    ...     "timestamp": [datetime(2024, 1, 5), datetime(2024, 3, 1), datetime(2024, 1, 9),
    ...                   datetime(2024, 2, 2), datetime(2024, 3, 3)],
    ...     "quantity": [1.0] * 5,
    ... })
    >>> for row in rs.cohort_retention(purchases).rows()[:2]:
    ...     print(row)
    (datetime.date(2024, 1, 1), 0, 2, 2, 1.0, True)
    (datetime.date(2024, 1, 1), 2, 1, 2, 0.5, False)
    """
    if period not in ("month", "week"):
        raise InputDataError(f"period must be 'month' or 'week', got {period!r}")
    lf = require_purchases(
        to_lazyframe(purchases), (C.USER, C.TIMESTAMP), "cohort_retention", optional=()
    )
    lf = without_returns(lf)
    observation_end = None
    if as_of is not None:
        observation_end = to_datetime(as_of, "as_of")
        lf = lf.filter(pl.col(C.TIMESTAMP) < observation_end)
    every = "1mo" if period == "month" else "1w"
    active = (
        lf.select(C.USER, pl.col(C.TIMESTAMP).dt.truncate(every).dt.date().alias("_period"))
        .unique()
        .collect(engine="streaming")
    )
    if active.height == 0:
        raise InputDataError("purchases are empty: no purchase rows to build cohorts from")
    if observation_end is None:
        observation_end = lf.select(pl.col(C.TIMESTAMP).max()).collect().item()
    active = active.with_columns(pl.col("_period").min().over(C.USER).alias("cohort"))
    if period == "month":
        index = (pl.col("_period").dt.year() * 12 + pl.col("_period").dt.month()) - (
            pl.col("cohort").dt.year() * 12 + pl.col("cohort").dt.month()
        )
    else:
        index = (pl.col("_period") - pl.col("cohort")).dt.total_days() // 7
    table = (
        active.with_columns(index.cast(pl.Int64).alias("period_index"))
        .group_by("cohort", "period_index")
        .agg(pl.len().cast(pl.Int64).alias("customers"), pl.col("_period").first())
    )
    sizes = table.filter(pl.col("period_index") == 0).select(
        "cohort", pl.col("customers").alias("cohort_size")
    )
    return (
        table.join(sizes, on="cohort", how="left")
        .with_columns(
            (pl.col("customers") / pl.col("cohort_size")).alias("retention"),
            (
                pl.col("_period").dt.offset_by(every).cast(pl.Datetime("us")) <= observation_end
            ).alias("complete"),
        )
        .drop("_period")
        .sort("cohort", "period_index")
    )
