"""Retention outcomes from a purchase history: who came back, how often, for how much."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl

from recsys._validation import check_probability
from recsys.data import columns as C
from recsys.data.canonical import (
    MISSING_SEGMENT,
    attach_segments,
    cast_ids,
    order_key,
    require_purchases,
    without_returns,
)
from recsys.data.sources import FrameLike
from recsys.data.timeutil import TimeLike, to_datetime, window_end
from recsys.exceptions import InputDataError
from recsys.stats import wilson_interval, z_value
from recsys.uplift._checks import as_frame, require_columns

__all__ = ["repurchase_rate", "retention_labels", "retention_rate"]


def _check_horizon(horizon_days: Any) -> int:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)):
        raise InputDataError(
            f"horizon_days must be an integer number of days, got {horizon_days!r}"
        )
    if horizon_days < 1:
        raise InputDataError(f"horizon_days must be >= 1, got {horizon_days}")
    return int(horizon_days)


def _id_series(users: Any) -> pl.Series:
    """``users`` (a sequence of ids) as a Series, or InputDataError for mixed or nested ids."""
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        raise InputDataError(f"users must be a sequence of customer ids, got {users!r}")
    try:
        return pl.Series(C.USER, list(users), strict=True)
    except (TypeError, pl.exceptions.PolarsError) as err:
        raise InputDataError(
            "users must be customer ids of one type (all integers or all text), got "
            f"{list(users)[:5]!r}"
        ) from err


def _purchases(
    purchases: FrameLike,
    where: str,
    needs: tuple[str, ...] = (C.USER, C.TIMESTAMP),
    keep_returns: bool = False,
) -> pl.DataFrame:
    frame = as_frame(purchases, "purchases")
    frame = require_purchases(frame, needs, where, optional=(C.QUANTITY, C.PRICE), stacklevel=4)
    return frame if keep_returns else without_returns(frame)  # returns are not "coming back"


def retention_labels(
    purchases: FrameLike,
    as_of: TimeLike,
    horizon_days: int,
    users: Any = None,
    *,
    net_of_returns: bool = False,
) -> pl.DataFrame:
    """Per customer: did they buy again in ``[as_of, as_of + horizon_days)``, how often, how much.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`): ``user_id``, ``timestamp``,
        and optionally ``order_id``, ``quantity``, ``price``. Return rows
        (``is_return``) are ignored.
    as_of
        Start of the outcome window (str, date or datetime).
    horizon_days
        Length of the window in days.
    users
        The customers to label (a sequence or Series of ids). By default every customer
        with a purchase strictly before ``as_of`` — the customers who *could* be retained.
        Given users without history get ``retained = False`` and zeros.
    net_of_returns
        ``spend_after`` less the spend of the customer's return rows (``is_return``,
        negative quantities) in the window: the money the shop kept from the customer
        in it. A line cancelled in the window was not spent, and a refund in the window
        of something bought before it is money paid back, so the net is negative where
        the refunds exceed the purchases (a floor at 0 would overstate what the shop
        kept). ``retained`` and ``n_orders_after`` never count returns.

    Returns
    -------
    polars.DataFrame
        ``user_id``, ``retained`` (Boolean: at least one purchase in the window),
        ``n_orders_after`` (orders in the window: distinct ``order_id``, one per
        customer-day without one; see `recsys.data.canonical`), ``spend_after``
        (``Σ quantity · price`` in the window; null when ``price`` or ``quantity`` is
        absent), sorted by ``user_id``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> p = pl.DataFrame({
    ...     "user_id": [1, 1, 2, 2, 2, 3],
    ...     "order_id": ["a", "b", "c", "d", "e", "f"],
    ...     "timestamp": [datetime(2011, 1, 5), datetime(2011, 2, 3), datetime(2011, 1, 9),
    ...                   datetime(2011, 2, 1), datetime(2011, 2, 20), datetime(2011, 3, 9)],
    ...     "quantity": [1.0, 2.0, 1.0, 1.0, 3.0, 1.0], "price": [5.0, 5.0, 2.0, 2.0, 1.0, 9.0],
    ... })
    >>> rs.uplift.retention_labels(p, "2011-02-01", 30).rows()
    [(1, True, 1, 10.0), (2, True, 2, 5.0)]
    """
    horizon = _check_horizon(horizon_days)
    start = to_datetime(as_of, "as_of")
    end = window_end(start, horizon)
    given = _purchases(purchases, "retention_labels", keep_returns=net_of_returns)
    frame = without_returns(given)
    ts = pl.col(C.TIMESTAMP)
    window = frame.filter((ts >= start) & (ts < end))
    has_spend = C.PRICE in frame.columns and C.QUANTITY in frame.columns
    line = (pl.col(C.QUANTITY) * pl.col(C.PRICE)).cast(pl.Float64)
    spend = line.sum() if has_spend else pl.lit(None)
    after = window.group_by(C.USER).agg(
        n_orders_after=order_key(frame).n_unique().cast(pl.Int64),
        spend_after=spend.cast(pl.Float64),
    )
    if net_of_returns and has_spend and C.IS_RETURN in given.columns:
        returned = given.filter(pl.col(C.IS_RETURN) & (ts >= start) & (ts < end))
        after = (
            after.join(
                returned.group_by(C.USER).agg(_returned=line.sum()),
                on=C.USER,
                how="full",
                coalesce=True,
            )
            .with_columns(
                n_orders_after=pl.col("n_orders_after").fill_null(0),
                spend_after=pl.col("spend_after").fill_null(0.0)
                + pl.col("_returned").fill_null(0.0),
            )
            .drop("_returned")
        )
    if users is None:
        base = frame.filter(ts < start).select(C.USER).unique()
    else:
        ids = users if isinstance(users, pl.Series) else _id_series(users)
        ids = cast_ids(ids, frame.schema[C.USER], "users")
        if ids.null_count():
            raise InputDataError(f"users has {ids.null_count()} null ids")
        base = pl.DataFrame({C.USER: ids}).unique()
    out = base.join(after, on=C.USER, how="left").with_columns(
        n_orders_after=pl.col("n_orders_after").fill_null(0),
        spend_after=pl.col("spend_after").fill_null(0.0) if has_spend else pl.col("spend_after"),
    )
    return out.select(
        C.USER,
        retained=pl.col("n_orders_after") > 0,
        n_orders_after="n_orders_after",
        spend_after=pl.col("spend_after").cast(pl.Float64),
    ).sort(C.USER)


def _with_segments(labels: Any, segments: Any) -> tuple[pl.DataFrame, str]:
    frame = as_frame(labels, "labels")
    require_columns(frame, "labels", {"user": C.USER})
    seg = None if segments is None else as_frame(segments, "segments")
    return attach_segments(frame, None, seg)


def _rate_table(
    frame: pl.DataFrame, segment: str, flag: pl.Expr, confidence: float
) -> pl.DataFrame:
    counts = (
        frame.group_by(segment)
        .agg(n_customers=pl.len(), n_events=flag.sum().cast(pl.Int64))
        .sort(pl.col(segment) == MISSING_SEGMENT, segment)
    )
    n = counts["n_customers"].to_numpy().astype(float)
    x = counts["n_events"].to_numpy().astype(float)
    lo, hi = wilson_interval(x, n, z_value(confidence))
    return counts.with_columns(rate=pl.Series(x / n), ci_low=pl.Series(lo), ci_high=pl.Series(hi))


def retention_rate(labels: Any, segments: Any = None, *, confidence: float = 0.95) -> pl.DataFrame:
    """Share of customers retained, per segment, with a Wilson score interval.

    ``rate = x / n`` (``x`` retained of ``n`` customers), interval
    ``(x + z²/2)/(n + z²) ± z/(n + z²) sqrt(x(n - x)/n + z²/4)``.

    Parameters
    ----------
    labels
        Output of `retention_labels`.
    segments
        Optional frame ``user_id -> segment`` (exactly one other column, e.g. a lifecycle
        stage). Segment labels are strings; customers without a segment form the group
        ``"(missing)"`` (last), with a warning (`recsys.data.canonical.attach_segments`).

    Returns
    -------
    polars.DataFrame
        ``segment`` (or the segment column's name; ``"all"`` without segments),
        ``n_customers``, ``n_retained``, ``retention_rate``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> labels = pl.DataFrame({"user_id": [1, 2, 3, 4], "retained": [True, False, True, True],
    ...                        "n_orders_after": [1, 0, 3, 1]})
    >>> t = rs.uplift.retention_rate(labels)
    >>> t.select("n_customers", "n_retained", "retention_rate").row(0)
    (4, 3, 0.75)
    """
    confidence = check_probability("confidence", confidence)
    frame, name = _with_segments(labels, segments)
    require_columns(frame, "labels", {"retained": "retained"})
    table = _rate_table(frame, name, pl.col("retained"), confidence)
    return table.rename({"n_events": "n_retained", "rate": "retention_rate"})


def repurchase_rate(
    labels: Any, segments: Any = None, *, min_orders: int = 2, confidence: float = 0.95
) -> pl.DataFrame:
    """Share of customers with at least ``min_orders`` orders in the window (repeat buyers).

    ``rate = #{n_orders_after >= min_orders} / n`` per segment, with a Wilson interval —
    the share who came back *more than once*, where `retention_rate` counts once.

    Returns
    -------
    polars.DataFrame
        ``segment`` column, ``n_customers``, ``n_repurchased``, ``repurchase_rate``,
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> labels = pl.DataFrame({"user_id": [1, 2, 3, 4], "retained": [True, False, True, True],
    ...                        "n_orders_after": [1, 0, 3, 2]})
    >>> rs.uplift.repurchase_rate(labels)["repurchase_rate"][0]
    0.5
    """
    confidence = check_probability("confidence", confidence)
    if isinstance(min_orders, bool) or not isinstance(min_orders, int) or min_orders < 1:
        raise InputDataError(f"min_orders must be an integer >= 1, got {min_orders!r}")
    frame, name = _with_segments(labels, segments)
    require_columns(frame, "labels", {"n_orders_after": "n_orders_after"})
    table = _rate_table(frame, name, pl.col("n_orders_after") >= min_orders, confidence)
    return table.rename({"n_events": "n_repurchased", "rate": "repurchase_rate"})
