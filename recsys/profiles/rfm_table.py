"""Just the RFM columns, in one polars query: `rfm_table`.

`build_profiles` computes about twenty columns (gaps, lifecycle,
tiers, churn model). When only recency, frequency, monetary, their scores and
the segment are wanted, `rfm_table` computes them as a single lazy polars
query (one aggregation per customer, scores as window expressions over the
aggregate, one ``collect``), with exactly the definitions and values of
`build_profiles`, but for one column: without a lifecycle stage, ``rfm_segment``
here is the plain grid of `RFM_SEGMENTS`, where `build_profiles` gives the lapsed
names only to customers whose lifecycle stage agrees (`rfm_segment_expr`).
"""

from __future__ import annotations

import warnings

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, order_key, require_purchases, without_returns
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.rfm import rfm_segment_expr
from recsys.profiles.source import MAX_CUSTOMER_AMOUNT, MICRO, micro_units

__all__ = ["rfm_table"]


def _score(values: pl.Expr, *, higher_is_better: bool) -> pl.Expr:
    """``1 + floor(5 * (customers strictly worse) / n)`` as in `quintile_score`."""
    worse = (values if higher_is_better else -values).rank(method="min") - 1
    return (
        ((worse.cast(pl.Float64) * 5 / pl.len()).floor().cast(pl.Int64) + 1)
        .clip(1, 5)
        .cast(pl.Int8)
    )


def rfm_table(purchases: FrameLike, as_of: TimeLike | None = None) -> pl.DataFrame:
    """Recency, frequency, monetary, their 1-5 scores and the RFM segment per customer.

    The same values as the columns of the same names in
    `build_profiles` (see `recsys.profiles.build` and
    `recsys.profiles.rfm` for the definitions), computed by one lazy
    polars query: only purchases strictly before ``as_of`` count, return rows
    (``is_return``) are left out, ``frequency`` counts distinct order ids
    (distinct purchase days for rows without one).

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`): polars or pandas
        DataFrame, LazyFrame or Parquet/CSV path (lazy inputs run on polars'
        streaming engine).
    as_of
        Point in time; only purchases strictly before it count. Default: just
        after the last purchase.

    Returns
    -------
    pl.DataFrame
        ``user_id, recency_days, frequency, monetary, r_score, f_score, m_score,
        rfm_segment`` sorted by ``user_id`` (``monetary`` and ``m_score`` only when
        the purchases have a ``price`` column).

    Raises
    ------
    InputDataError
        Missing canonical columns, no purchase before ``as_of``, null or
        negative prices, non-positive quantities on rows not flagged as returns.

    Warns
    -----
    DataWarning
        Every customer has the same value of a score's column (every score is 1).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> rfm = rs.profiles.rfm_table(purchases, as_of="2011-09-09")
    >>> rfm.height
    3360
    >>> rfm.columns[:4]
    ['user_id', 'recency_days', 'frequency', 'monetary']
    """
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, "rfm_table")
    schema = lf.collect_schema()
    has_price = C.PRICE in schema
    engine = "in-memory" if isinstance(purchases, pl.DataFrame) else "streaming"
    when = None if as_of is None else to_datetime(as_of, "as_of")
    rows = without_returns(lf)
    if when is not None:
        rows = rows.filter(pl.col(C.TIMESTAMP) < when)
    frequency = order_key(schema).n_unique()
    aggs = [
        pl.col(C.TIMESTAMP).max().alias("_last"),
        frequency.cast(pl.Int64).alias("frequency"),
        (pl.col(C.QUANTITY) <= 0).sum().alias("_bad_quantity"),
    ]
    if has_price:
        aggs += [
            (micro_units(pl.col(C.QUANTITY) * pl.col(C.PRICE), strict=False).sum() / MICRO).alias(
                "monetary"
            ),
            (pl.col(C.QUANTITY).cast(pl.Float64) * pl.col(C.PRICE).cast(pl.Float64))
            .abs()
            .sum()
            .alias("_abs_spend"),
            (pl.col(C.PRICE).is_null() | (pl.col(C.PRICE) < 0)).sum().alias("_bad_price"),
        ]
    reference = (
        pl.lit(when, dtype=pl.Datetime("us"))
        if when is not None
        else pl.col("_last").max() + pl.duration(microseconds=1)
    )
    recency = (reference - pl.col("_last")).dt.total_microseconds().cast(pl.Float64) / US_PER_DAY
    scores = [
        _score(pl.col("recency_days"), higher_is_better=False).alias("r_score"),
        _score(pl.col("frequency"), higher_is_better=True).alias("f_score"),
    ]
    if has_price:
        scores.append(_score(pl.col("monetary"), higher_is_better=True).alias("m_score"))
    query = (
        rows.group_by(C.USER)
        .agg(aggs)
        .with_columns(recency.alias("recency_days"))
        .with_columns(scores)
        .with_columns(rfm_segment_expr().alias("rfm_segment"))
        .sort(C.USER)
    )
    table = query.collect(engine=engine)  # type: ignore[call-overload]
    if table.height == 0:
        raise InputDataError(
            "no purchase to profile"
            + (f" strictly before as_of={when}" if when is not None else ": purchases are empty")
        )
    bad_quantity = int(table["_bad_quantity"].sum())
    if bad_quantity:
        raise InputDataError(
            f"{bad_quantity} purchase rows have quantity <= 0 but are not flagged is_return; "
            "clean them with rs.clean_purchases(keep_returns=True)"
        )
    if has_price and int(table["_bad_price"].sum()):
        raise InputDataError(
            f"column 'price' has {int(table['_bad_price'].sum())} null or negative values among "
            "the purchases before as_of; monetary columns need prices >= 0"
        )
    if has_price:
        over = table.filter(~(pl.col("_abs_spend") <= MAX_CUSTOMER_AMOUNT))
        if over.height:
            raise InputDataError(
                f"{over.height} customer(s) have a total 'quantity' x 'price' (spend) above "
                f"{MAX_CUSTOMER_AMOUNT:.3g} (e.g. customer {over[C.USER][0]!r}), or a "
                "non-finite one: amounts are summed exactly in integer micro-units, which "
                "cannot hold more"
            )
    value_columns = ["recency_days", "frequency"] + (["monetary"] if has_price else [])
    if table.height > 1:
        for name in value_columns:
            if table[name].n_unique() == 1:
                warnings.warn(
                    f"all {table.height} customers have the same {name!r}; its score is 1 "
                    "for everyone",
                    DataWarning,
                    stacklevel=2,
                )
    return table.select(
        C.USER,
        *value_columns,
        "r_score",
        "f_score",
        *(["m_score"] if has_price else []),
        "rfm_segment",
    )
