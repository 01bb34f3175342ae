"""Recommendation hits and retention on purchase history alone — an association, not an effect."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from recsys._validation import check_probability
from recsys.data import columns as C
from recsys.data.canonical import MISSING_SEGMENT, attach_segments, cast_ids, order_key
from recsys.data.sources import FrameLike
from recsys.data.timeutil import TimeLike, to_datetime, window_end
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import newcombe_interval, two_proportion_p_value, wilson_interval, z_value
from recsys.uplift._checks import as_frame, require_columns
from recsys.uplift.retention import _check_horizon, _purchases

__all__ = ["hit_retention"]


def hit_retention(
    recommendations: FrameLike,
    purchases: FrameLike,
    as_of: TimeLike,
    horizon_days: int,
    by: str | None = None,
    *,
    segments: FrameLike | None = None,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Retention of customers whose first order after ``as_of`` hit a recommendation vs not.

    **This is an association, not a causal effect.** Customers who buy what was
    recommended to them differ from those who do not in ways that also drive retention
    (they are more engaged, buy more items per order, like the popular items most
    recommenders favour), and nobody was randomized: the recommendations may never have
    been shown. A positive ``difference`` says the recommender picks items that engaged
    customers buy, not that showing them makes customers come back. For a causal
    uplift, randomize who sees the recommendations and use
    `recsys.uplift.uplift_table` (or estimate offline with
    `recsys.uplift.offpolicy` from logs with propensities).

    Definitions, in the window ``W = [as_of, as_of + horizon_days)``, for each customer
    in ``recommendations``:

    * *returned*: placed at least one order in ``W``;
    * *hit*: their first order in ``W`` contains at least one item recommended to them;
    * *retained*: they placed another order in ``W`` after that first order.

    Hit status is fixed by the first order so that retention is measured after it:
    "bought a recommended item at any time in W" would make every hitter retained by
    construction. Per segment, among returned customers, the table compares the
    retention of hit and no-hit customers: rates with Wilson intervals, their difference
    with Newcombe's hybrid score interval, and the two-proportion z-test p-value.

    Parameters
    ----------
    recommendations
        Frame with ``user_id``, ``item_id`` (``rank`` and other columns optional).
    purchases
        Canonical purchases (``user_id``, ``item_id``, ``timestamp``, optional
        ``order_id``; without it an order is one customer-day, see
        `recsys.data.canonical`).
    as_of
        Start of the window (the time the recommendations were made).
    horizon_days
        Length of the window.
    by
        The segment column: a column of ``segments`` when given, else of
        ``recommendations``. Segment labels are strings; customers without one
        form the group ``"(missing)"`` (last), with a warning
        (`recsys.data.canonical.attach_segments`).
    segments
        Optional frame ``user_id -> by`` (with one segment column, ``by`` may be
        left out).
    confidence
        Coverage of the intervals.

    Returns
    -------
    polars.DataFrame
        Per segment (``segment`` = ``"all"`` without ``by``): ``n_customers``,
        ``n_returned``, ``n_hit``, ``hit_retention``, ``hit_ci_low``, ``hit_ci_high``,
        ``n_no_hit``, ``no_hit_retention``, ``no_hit_ci_low``, ``no_hit_ci_high``,
        ``difference`` (hit - no hit), ``difference_ci_low``, ``difference_ci_high``,
        ``p_value``, and ``evidence`` = ``"association, not causal"``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> recs = pl.DataFrame({"user_id": [1, 2, 3], "item_id": ["A", "A", "A"]})
    >>> p = pl.DataFrame({
    ...     "user_id": [1, 1, 2, 2, 3],
    ...     "item_id": ["A", "B", "B", "C", "B"],
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "timestamp": [datetime(2011, 9, d) for d in (10, 20, 11, 12, 15)],
    ... })
    >>> t = rs.uplift.hit_retention(recs, p, "2011-09-09", 30)
    >>> t.select("n_hit", "hit_retention", "n_no_hit", "no_hit_retention").row(0)
    (1, 1.0, 2, 0.5)
    """
    confidence = check_probability("confidence", confidence)
    horizon = _check_horizon(horizon_days)
    start = to_datetime(as_of, "as_of")
    end = window_end(start, horizon)
    recs = as_frame(recommendations, "recommendations")
    require_columns(recs, "recommendations", {"user": C.USER, "item": C.ITEM})
    frame = _purchases(purchases, "hit_retention", (C.USER, C.ITEM, C.TIMESTAMP))
    if recs.height == 0:
        raise InputDataError("recommendations has no rows")
    recs = recs.with_columns(
        cast_ids(recs[column], frame.schema[column], "recommendations")
        for column in (C.USER, C.ITEM)
    )

    customers, segment = _segments(recs, by, segments)
    ts = pl.col(C.TIMESTAMP)
    window = frame.filter((ts >= start) & (ts < end)).select(
        C.USER,
        C.ITEM,
        ts,
        order_key(frame).alias("_order"),
    )
    orders = window.group_by(C.USER, "_order").agg(ts.min().alias("_time"))
    first = (
        orders.sort([C.USER, "_time", "_order"])
        .group_by(C.USER, maintain_order=True)
        .agg(pl.col("_order").first().alias("_first"), pl.len().alias("_n_orders"))
    )
    recommended = recs.select(C.USER, C.ITEM).unique().with_columns(_rec=pl.lit(True))
    first_hit = (
        window.join(first, left_on=[C.USER, "_order"], right_on=[C.USER, "_first"])
        .join(recommended, on=[C.USER, C.ITEM], how="left")
        .group_by(C.USER)
        .agg(hit=pl.col("_rec").fill_null(False).any())
    )
    per_user = (
        customers.join(first, on=C.USER, how="left")
        .join(first_hit, on=C.USER, how="left")
        .with_columns(
            returned=pl.col("_n_orders").is_not_null(),
            retained=pl.col("_n_orders").fill_null(0) >= 2,
            hit=pl.col("hit").fill_null(False),
        )
    )
    stats = (
        per_user.group_by(segment)
        .agg(
            n_customers=pl.len(),
            n_returned=pl.col("returned").sum().cast(pl.Int64),
            n_hit=(pl.col("returned") & pl.col("hit")).sum().cast(pl.Int64),
            x_hit=(pl.col("retained") & pl.col("hit")).sum().cast(pl.Int64),
            x_no_hit=(pl.col("retained") & ~pl.col("hit")).sum().cast(pl.Int64),
        )
        .with_columns(n_no_hit=pl.col("n_returned") - pl.col("n_hit"))
        .sort(pl.col(segment) == MISSING_SEGMENT, segment)
    )
    z = z_value(confidence)
    n1 = stats["n_hit"].to_numpy().astype(float)
    x1 = stats["x_hit"].to_numpy().astype(float)
    n0 = stats["n_no_hit"].to_numpy().astype(float)
    x0 = stats["x_no_hit"].to_numpy().astype(float)
    empty = (n1 == 0) | (n0 == 0)
    if np.any(empty):
        warnings.warn(
            f"{int(empty.sum())} segments have no returned customer with (or without) a hit: "
            "their rates and difference are NaN",
            DataWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        n1s, n0s = np.where(n1 > 0, n1, 1), np.where(n0 > 0, n0, 1)
        lo1, hi1 = wilson_interval(x1, n1s, z)
        lo0, hi0 = wilson_interval(x0, n0s, z)
        dlo, dhi = newcombe_interval(x1, n1s, x0, n0s, z)
        p = two_proportion_p_value(x1, n1s, x0, n0s)
        r1, r0 = x1 / n1, x0 / n0
    nan1 = np.where(n1 > 0, 0.0, np.nan)
    nan0 = np.where(n0 > 0, 0.0, np.nan)
    both = nan1 + nan0
    return (
        stats.select(segment, "n_customers", "n_returned", "n_hit", "n_no_hit")
        .with_columns(
            hit_retention=pl.Series(r1),
            hit_ci_low=pl.Series(lo1 + nan1),
            hit_ci_high=pl.Series(hi1 + nan1),
            no_hit_retention=pl.Series(r0),
            no_hit_ci_low=pl.Series(lo0 + nan0),
            no_hit_ci_high=pl.Series(hi0 + nan0),
            difference=pl.Series(r1 - r0),
            difference_ci_low=pl.Series(dlo + both),
            difference_ci_high=pl.Series(dhi + both),
            p_value=pl.Series(p + both),
            evidence=pl.lit("association, not causal"),
        )
        .select(
            segment,
            "n_customers",
            "n_returned",
            "n_hit",
            "hit_retention",
            "hit_ci_low",
            "hit_ci_high",
            "n_no_hit",
            "no_hit_retention",
            "no_hit_ci_low",
            "no_hit_ci_high",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "p_value",
            "evidence",
        )
    )


def _segments(
    recs: pl.DataFrame, by: str | None, segments: FrameLike | None
) -> tuple[pl.DataFrame, str]:
    """One row per recommended customer with its segment column."""
    if by is not None and not isinstance(by, str):
        raise InputDataError(
            f"by must be the name of a segment column, got {type(by).__name__}; "
            "pass a segment table as segments="
        )
    if segments is not None:
        table = as_frame(segments, "segments")
        return attach_segments(recs.select(C.USER).unique(), by, table)
    if by is not None:
        require_columns(recs, "recommendations", {"by": by})
    customers = recs.select(C.USER, *([by] if by is not None else [])).unique()
    return attach_segments(customers, by)
