"""Calibration of predicted churn risk against observed churn."""

from __future__ import annotations

import polars as pl

from recsys.data import columns as C
from recsys.data.sources import FrameLike, to_frame
from recsys.data.timeutil import TimeLike
from recsys.exceptions import InputDataError
from recsys.uplift.retention import retention_labels

__all__ = ["churn_calibration", "churn_deciles"]


def churn_calibration(
    profiles: FrameLike, purchases: FrameLike, as_of: TimeLike, horizon_days: int
) -> pl.DataFrame:
    """Predicted ``churn_risk`` vs observed churn (no purchase in the horizon), by decile.

    Customers are ranked by ``churn_risk`` and cut into ten groups of (nearly)
    equal size; a well calibrated risk has ``predicted_churn`` close to
    ``observed_churn`` in every group.

    Parameters
    ----------
    profiles
        Frame with ``user_id`` and ``churn_risk`` (e.g. ``rs.build_profiles`` as of ``as_of``).
    purchases
        Canonical purchases, including the window after ``as_of``.
    as_of
        Start of the outcome window (the profiles' ``as_of``).
    horizon_days
        Length of the outcome window in days.

    Returns
    -------
    polars.DataFrame
        ``decile`` (1 = lowest risk), ``customers``, ``predicted_churn`` (mean
        ``churn_risk``), ``observed_churn`` (share with no purchase in the window),
        over the customers of ``profiles`` who bought before ``as_of``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> purchases = pl.DataFrame({"user_id": [1, 2, 1],
    ...     "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 2, 1)]})
    >>> profiles = pl.DataFrame({"user_id": [1, 2], "churn_risk": [0.2, 0.9]})
    >>> table = rs.evaluation.churn_calibration(profiles, purchases, "2020-01-15", 30)
    >>> table.select("decile", "customers", "observed_churn").rows()
    [(4, 1, 0.0), (7, 1, 1.0)]
    """
    frame = to_frame(profiles)
    missing = [c for c in (C.USER, "churn_risk") if c not in frame.columns]
    if missing:
        raise InputDataError(f"profiles lack column(s) {missing}; got {frame.columns}")
    labels = retention_labels(purchases, as_of=as_of, horizon_days=horizon_days)
    joined = frame.select(C.USER, "churn_risk").join(
        labels.select(C.USER, "retained"), on=C.USER, how="inner"
    )
    return churn_deciles(joined)


def churn_deciles(labelled: pl.DataFrame) -> pl.DataFrame:
    """`churn_calibration` of customers already labelled: ``churn_risk`` and ``retained``
    (Boolean: bought in the window) per customer.

    Examples
    --------
    >>> import polars as pl
    >>> t = churn_deciles(pl.DataFrame({"churn_risk": [0.2, 0.9], "retained": [True, False]}))
    >>> t.select("decile", "customers", "observed_churn").rows()
    [(4, 1, 0.0), (7, 1, 1.0)]
    """
    return (
        labelled.with_columns(
            decile=(pl.col("churn_risk").rank("ordinal") * 10 / (pl.len() + 1))
            .floor()
            .cast(pl.Int32)
            + 1
        )
        .group_by("decile")
        .agg(
            customers=pl.len(),
            predicted_churn=pl.col("churn_risk").mean(),
            observed_churn=1 - pl.col("retained").cast(pl.Float64).mean(),
        )
        .sort("decile")
    )
