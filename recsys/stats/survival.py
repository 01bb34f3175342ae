"""Kaplan-Meier quantiles of right-censored durations, per group.

The one product-limit estimator, used for the repurchase intervals of
`recsys.due_items` and the lifecycle thresholds of `recsys.build_profiles`. A
duration either ended (an event) or was still running when observation stopped
(censored at the time observed so far). The survival ``S(t)`` is the product over
event times ``t_j <= t`` of ``1 - d_j / n_j`` (``d_j`` events at ``t_j``, ``n_j``
durations still running just before ``t_j``: censored durations count as at risk at
their own time); the ``q`` quantile is the first time ``t`` with ``S(t) <= 1 - q``,
null where ``S`` stays above ``1 - q`` (the observation was too short to say).

Examples
--------
Six gaps: 2, 4, 4 and 7 days ended, 5 and 9 days still running:

>>> import polars as pl
>>> spells = pl.DataFrame({"time": [2.0, 4, 4, 5, 7, 9], "event": [1, 1, 1, 0, 1, 0]})
>>> km_quantiles(spells, (0.25, 0.5, 0.9)).to_dicts()  # S: 5/6, 1/2, 1/2, 1/4, 1/4
[{'km_0.25': 4.0, 'km_0.5': 4.0, 'km_0.9': None, 'events': 4.0}]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from recsys.exceptions import InputDataError

__all__ = ["km_quantiles"]


def km_quantiles(
    spells: pl.DataFrame,
    quantiles: Sequence[float],
    *,
    time: str = "time",
    event: str = "event",
    by: str | None = None,
    weight: str | None = None,
) -> pl.DataFrame:
    """Kaplan-Meier quantiles of the durations in ``spells`` (module docstring).

    Parameters
    ----------
    spells
        One row per duration (or per group of equal durations, with ``weight``).
    quantiles
        Quantiles in (0, 1); the result has one column ``km_{q}`` per quantile
        (``km_0.5``, ...), null where the survival stays above ``1 - q``.
    time, event
        Columns: the duration (days, >= 0) and 1 if it ended, 0 if censored.
    by
        Group column (one row per group in the result, in no particular order);
        None for one group.
    weight
        Column counting the durations a row stands for (default 1 each).

    Returns
    -------
    polars.DataFrame
        ``by`` (if given), the ``km_{q}`` columns and ``events`` (the number of
        durations that ended).

    Examples
    --------
    A hundred gaps of 10 days ended and a hundred are still running at 30 days: half
    the gaps end within 10 days, the other half after 30 days (if ever):

    >>> import polars as pl
    >>> spells = pl.DataFrame({"time": [10.0, 30.0], "event": [1, 0], "n": [100, 100]})
    >>> km_quantiles(spells, (0.5, 0.8), weight="n").to_dicts()
    [{'km_0.5': 10.0, 'km_0.8': None, 'events': 100.0}]
    """
    if not all(0.0 < q < 1.0 for q in quantiles):
        raise InputDataError(f"km_quantiles: quantiles must be in (0, 1), got {list(quantiles)}")
    group = by if by is not None else "_km_group"
    frame = spells.with_columns(
        (pl.col(weight).cast(pl.Float64) if weight is not None else pl.lit(1.0)).alias("_km_w"),
        *([] if by is not None else [pl.lit(0).alias(group)]),
    )
    w = pl.col("_km_w")
    d = pl.col(event).cast(pl.Float64) * w
    # events before censored durations at the same time (those are still at risk);
    # tied events in a row telescope to 1 - d_j / n_j
    at_risk = w.cum_sum(reverse=True).over(group)
    frame = frame.sort(group, time, event, descending=[False, False, True]).with_columns(
        (1.0 - d / at_risk).log().cum_sum().over(group).alias("_km_log_s"),
        d.alias("_km_d"),
    )
    result = frame.group_by(group).agg(
        *(
            pl.col(time)
            .filter(pl.col("_km_log_s") <= math.log(1.0 - q) + 1e-9)
            .first()
            .cast(pl.Float64)
            .alias(f"km_{q:g}")
            for q in quantiles
        ),
        pl.col("_km_d").sum().alias("events"),
    )
    return result if by is not None else result.drop(group)
