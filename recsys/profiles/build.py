"""Customer profiles from a purchase history: `build_profiles`.

One row per customer with at least one purchase strictly before ``as_of``;
only purchases strictly before ``as_of`` are used. Times are in days
(fractional, ``timestamp`` differences / 86,400 s). An *order* is a distinct
``order_id`` of the customer (a missing order id, or a table without the
column, counts each distinct calendar day of purchase as one order: the one
definition of `recsys.data.canonical.order_keys`); its time
is the earliest timestamp of its rows (``last_purchase`` is the latest row
timestamp, so an order spanning minutes counts to its end). Amounts are summed
exactly in integer micro-units (1e-6), so results do not depend on row order or
thread count. Return rows (``is_return``) count only
in ``return_rate``.

=============================== ========== ================================================
column                          dtype      definition
=============================== ========== ================================================
user_id                         as input   the customer
first_purchase, last_purchase   Datetime   earliest / latest purchase timestamp
tenure_days                     Float64    ``as_of - first_purchase`` in days
recency_days                    Float64    ``as_of - last_purchase`` in days
frequency                       Int64      number of orders (see above)
n_items                         Float64    units bought: sum of ``quantity``
monetary                        Float64    total spend ``sum(quantity * price)`` [price]
avg_order_value                 Float64    ``monetary / frequency`` [price]
mean_interpurchase_days         Float64    mean gap between consecutive orders (null if 1 order)
median_interpurchase_days       Float64    median of those gaps (null if 1 order)
last_gap_days                   Float64    gap between the last two orders (null if 1 order)
expected_next_purchase          Datetime   ``last_purchase + median_interpurchase_days``
                                           (the customer's own rhythm; null if 1 order)
return_rate                     Float64    returned units / bought units [is_return];
                                           0 without returns; can exceed 1 when returns
                                           refer to purchases older than the data
r_score, f_score, m_score       Int8       1-5 quintile scores, 5 = best (most recent,
                                           most orders, most spend); see
                                           `recsys.profiles.rfm` [m_score: price]
rfm_segment                     String     `RFM_SEGMENTS`
                                           of ``(r_score, f_score)``
lifecycle_stage                 String     new / active / dormant / churned / reactivated,
                                           rules below
tier                            String     ``ProfileConfig.tier_names``, rules below
top_categories                  List       up to ``top_categories`` categories by spend
                                           share (ties: category ascending) [items]
top_category_shares             List[f64]  their shares of the customer's spend [items]
category_entropy                Float64    Shannon entropy (bits) of the spend shares
                                           over all categories; 0 = one category [items]
n_categories                    Int64      distinct categories bought [items]
p_alive                         Float64    repeat buyers: BG/NBD P(alive); one-time
                                           buyers: P(ever return | not yet), from the
                                           one-time-buyer survival curve
churn_risk                      Float64    calibrated P(no purchase in
                                           ``[as_of, as_of + horizon_days)``)
expected_purchases_90d          Float64    expected orders in the horizon: BG/NBD
                                           conditional expectation; for one-time buyers
                                           scaled by survival-curve / BG/NBD P(return)
expected_order_value, clv       Float64    only with ``clv_horizon_days``: see
                                           `recsys.profiles.clv` [price]
=============================== ========== ================================================

[price]: only when the purchases have a ``price`` column; [is_return]: only when
they have ``is_return`` (``clean_purchases(keep_returns=True)``); [items]: only
with an item table or a purchases column named ``ProfileConfig.category_column``.
Shares weigh by spend when there are prices, by units otherwise.

Lifecycle stage (first rule that matches; ``d``, ``D``, ``C`` are
``new_days``, ``dormant_days``, ``churned_days`` of `ProfileConfig`,
``g`` the customer's median gap, ``m`` ``rhythm_multiple``, own thresholds
``D_i = max(D, m g)`` and ``C_i = max(C, 2 m g)`` (``D``, ``C`` for one-time
buyers)):

1. ``new``: ``tenure_days <= d``;
2. ``churned``: ``recency_days > C_i``;
3. ``dormant``: ``recency_days > D_i``;
4. ``reactivated``: ``last_gap_days > max(D, m p)`` with ``p`` the median of the
   gaps *before* the last one (0 for two-order customers): came back after a
   lapse, judged by the rhythm before it;
5. ``active``: otherwise.

By default ``d, D, C`` are the 50th/80th/95th percentiles
(``ProfileConfig.lifecycle_quantiles``) of all gaps between consecutive orders
before ``as_of`` (Online Retail as of 2011-09-09: about 21, 56 and 118 days;
``ProfileConfig.fallback_lifecycle_days``, 30/90/180, when no customer has two
orders). Example: a customer who bought on
days 0, 30 and 60 (g = 30) is ``active`` at day 100 when ``D = 50``
(``D_i = 60``), ``dormant`` at day 130, ``churned`` at day 200 when ``C = 120``;
a customer who bought on days 0 and 150 (``last_gap_days = 150 > D``) is
``reactivated`` at day 160.

Tier: the highest tier ``k`` with ``monetary`` and ``frequency`` both at or above
cut point ``k`` (explicit ``tier_spend``/``tier_frequency``), or strictly above
the ``tier_quantiles`` quantiles of the profiled customers (defaults; strict so
tied customers stay in the lower tier: if every customer is identical, all are
in the first tier). Without prices, frequency alone decides.

How it is computed: three steps, which ``engine=rs.engine.Ray(...)`` runs on
shards of customers: `summarize_shard` (each customer's own aggregates and the
shard's `GlobalInputs`), `global_statistics` (on all customers' inputs: the checks,
score cut points, lifecycle thresholds, tier cut points and model fits) and
`apply_statistics` (the profile rows). `build_profiles` runs them on the whole table
as one shard.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, overload

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from recsys.data import columns as C
from recsys.data.canonical import (
    ORDER_KEY,
    US_PER_DAY,
    cast_ids,
    order_keys,
    require_purchases,
    without_returns,
)
from recsys.data.sources import FrameLike, to_frame, to_lazyframe
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.engine import Local, Ray, ray_job
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.bgnbd import BGNBD, bgnbd_inputs
from recsys.profiles.churn import (
    ChurnCalibrator,
    OneTimeBuyerSurvival,
    OwnRhythmRule,
    churn_features,
)
from recsys.profiles.clv import ClvModels, clv_columns, fit_clv, repeat_spend
from recsys.profiles.config import ProfileConfig
from recsys.profiles.rfm import apply_quintile_cuts, quintile_cuts, rfm_segment_expr

__all__ = [
    "GlobalInputs",
    "ProfileSource",
    "ProfileStats",
    "ShardSummary",
    "apply_statistics",
    "build_profiles",
    "check_config",
    "global_statistics",
    "item_categories",
    "prepare_source",
    "resolve_as_of",
    "summarize_shard",
    "time_range",
]

Engine = Literal["in-memory", "streaming"]
_ONE_US = timedelta(microseconds=1)


_MICRO = 1_000_000.0

#: The scored columns: score name -> (activity column, higher is better).
_SCORES: dict[str, tuple[str, bool]] = {
    "r_score": ("recency_days", False),
    "f_score": ("frequency", True),
    "m_score": ("monetary", True),
}
#: Per-customer columns the global statistics read (plus ``user_id``), at ``as_of``
#: and at the churn calibration's internal cutoff (with ``_churned``, the outcome).
_CUSTOMER_INPUTS = ("frequency", "recency_days", "tenure_days", "_to_second")
_CUTOFF_INPUTS = (
    *_CUSTOMER_INPUTS,
    "_decayed_60",
    "_decayed_180",
    "_orders_90",
    "_orders_30",
    "_orders_180",
    "_orders_90_180",
    "_active_months",
    "median_interpurchase_days",
)
_TALLIES = ("null", "negative", "zero", "non_positive_quantity", "unknown_category")


#: Largest total (of spend, or of units) one customer may have before ``as_of``: amounts
#: are summed in Int64 micro-units, which hold about 9.22e12 whole units.
MAX_CUSTOMER_AMOUNT = 9.2e12


def _micro(expr: pl.Expr) -> pl.Expr:
    """Amounts as whole micro-units (Int64): integer sums do not depend on row order or
    thread count, unlike float sums. Out-of-range values become null; `_orders` refuses
    them first (`MAX_CUSTOMER_AMOUNT`)."""
    return (expr.cast(pl.Float64) * _MICRO).round().cast(pl.Int64, strict=False)


def _check_amounts(orders: pl.DataFrame, has_price: bool) -> None:
    """`InputDataError` when a customer's total spend or units cannot be summed exactly."""
    columns = {"_abs_units": f"{C.QUANTITY!r}"}
    if has_price:
        columns["_abs_spend"] = f"{C.QUANTITY!r} x {C.PRICE!r} (spend)"
    totals = orders.group_by(C.USER).agg(pl.col(c).sum() for c in columns)
    for column, what in columns.items():
        over = totals.filter(~(pl.col(column) <= MAX_CUSTOMER_AMOUNT))
        if over.height:
            worst = over.sort(column, descending=True, nulls_last=False).row(0, named=True)
            raise InputDataError(
                f"{over.height} customer(s) have a total {what} above {MAX_CUSTOMER_AMOUNT:.3g} "
                f"before as_of (e.g. customer {worst[C.USER]!r}: {worst[column]:.4g}), or a "
                "non-finite one: amounts are summed exactly in integer micro-units, which "
                f"cannot hold more; check the {what} column for a unit or parsing error"
            )


def _days(expr: pl.Expr) -> pl.Expr:
    """A Duration expression as fractional days."""
    return expr.dt.total_microseconds().cast(pl.Float64) / US_PER_DAY


# ---------------------------------------------------------------------------------------
# the input: one table, or one shard of a table partitioned by user


@dataclass(frozen=True)
class ProfileSource:
    """Canonical purchases to profile: the whole table, or every row of some customers.

    Attributes
    ----------
    lf
        The purchases, lazily.
    schema
        Their schema (decides the optional columns: price, returns, categories).
    engine
        polars engine of the aggregations: in memory for frames, streaming for files.
    """

    lf: pl.LazyFrame
    schema: pl.Schema
    engine: Engine

    @property
    def has_price(self) -> bool:
        return C.PRICE in self.schema

    @property
    def has_return(self) -> bool:
        return C.IS_RETURN in self.schema


def prepare_source(purchases: FrameLike, caller: str = "build_profiles") -> ProfileSource:
    """Purchases checked for the canonical columns, as a `ProfileSource`."""
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, caller)
    # Frames already in memory are aggregated by the in-memory engine (faster on them);
    # lazy frames and files by the streaming engine (bounded memory).
    engine: Engine = "in-memory" if isinstance(purchases, pl.DataFrame) else "streaming"
    return ProfileSource(lf, lf.collect_schema(), engine)


def time_range(source: ProfileSource) -> tuple[int, datetime | None, datetime | None]:
    """Purchase rows (returns excluded), earliest and latest timestamp of a source."""
    stats = (
        without_returns(source.lf)
        .select(
            pl.len().alias("n"),
            pl.col(C.TIMESTAMP).min().alias("first"),
            pl.col(C.TIMESTAMP).max().alias("last"),
        )
        .collect(engine=source.engine)
    )
    n, first, last = stats.row(0)
    return int(n), first, last


def resolve_as_of(
    ranges: Sequence[tuple[int, datetime | None, datetime | None]], as_of: Any
) -> datetime:
    """``as_of`` checked against the `time_range` of every shard (default: just after
    the latest purchase)."""
    n = sum(r[0] for r in ranges)
    firsts = [r[1] for r in ranges if r[1] is not None]
    lasts = [r[2] for r in ranges if r[2] is not None]
    if n == 0 or not firsts:
        raise InputDataError("purchases are empty: no purchase rows to profile")
    first, last = min(firsts), max(lasts)
    if as_of is None:
        return last + _ONE_US
    when = to_datetime(as_of, "as_of")
    if when <= first:
        raise InputDataError(
            f"as_of={when} is not after the first purchase ({first}): no customer has a "
            "purchase strictly before as_of"
        )
    return when


def item_categories(
    items: FrameLike | None, schema: pl.Schema, config: ProfileConfig
) -> pl.DataFrame | None:
    """The item table as ``item_id -> _category`` (checked), or None without one."""
    if items is None:
        return None
    column = config.category_column
    table = to_frame(items)
    missing = [c for c in (C.ITEM, column) if c not in table.columns]
    if missing:
        raise InputDataError(
            f"item table lacks the column(s) {missing} (category_column={column!r}); "
            f"found {table.columns}"
        )
    table = table.select(C.ITEM, pl.col(column).cast(pl.String).alias("_category")).unique()
    table = table.with_columns(cast_ids(table[C.ITEM], schema[C.ITEM], "item table"))
    dup = table.filter(pl.col(C.ITEM).is_duplicated())
    if dup.height:
        raise InputDataError(
            f"item table maps {dup[C.ITEM].n_unique()} item_id(s) to several {column!r} "
            f"values, e.g. {dup[C.ITEM][0]!r}"
        )
    return table


# ---------------------------------------------------------------------------------------
# step 1, per shard: orders, per-customer activity, category shares


def _activity(
    occ: pl.DataFrame, as_of: datetime, has_price: bool, config: ProfileConfig
) -> pl.DataFrame:
    """Per-customer activity from the orders table (user, t, spend, units, gap), t < as_of."""
    age = _days(pl.lit(as_of) - pl.col("t"))
    short, medium, long = config.churn_windows_days
    fast, slow = config.churn_decay_days
    aggs = [
        pl.col("t").first().alias("first_purchase"),
        pl.col("t_end").max().alias("last_purchase"),
        pl.col("t").get(1, null_on_oob=True).alias("_second"),
        pl.len().cast(pl.Int64).alias("frequency"),
        (pl.col("units").sum() / _MICRO).alias("n_items"),
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
        aggs.append((pl.col("spend").sum() / _MICRO).alias("monetary"))
    act = occ.group_by(C.USER, maintain_order=True).agg(aggs)
    return act.with_columns(
        _days(pl.lit(as_of) - pl.col("first_purchase")).alias("tenure_days"),
        _days(pl.lit(as_of) - pl.col("last_purchase")).alias("recency_days"),
        _days(pl.col("_second") - pl.col("first_purchase")).alias("_to_second"),
    )


def _orders(
    source: ProfileSource, as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, int]]:
    """The orders before ``as_of`` (sorted by user, time), returned units per user and
    the tallies of suspicious rows (checked on the whole table by `global_statistics`)."""
    before = source.lf.filter(pl.col(C.TIMESTAMP) < as_of)
    bought = without_returns(before)
    has_price = source.has_price
    aggs = [
        pl.col(C.TIMESTAMP).min().alias("t"),
        pl.col(C.TIMESTAMP).max().alias("t_end"),
        _micro(pl.col(C.QUANTITY)).sum().alias("units"),
        pl.col(C.QUANTITY).cast(pl.Float64).abs().sum().alias("_abs_units"),
    ]
    if has_price:
        spend = pl.col(C.QUANTITY).cast(pl.Float64) * pl.col(C.PRICE).cast(pl.Float64)
        aggs.append(_micro(pl.col(C.QUANTITY) * pl.col(C.PRICE)).sum().alias("spend"))
        aggs.append(spend.abs().sum().alias("_abs_spend"))
    queries = [bought.group_by(C.USER, *order_keys(source.schema)).agg(aggs)]
    if has_price:
        queries.append(
            bought.select(
                pl.col(C.PRICE).is_null().sum().alias("null"),
                (pl.col(C.PRICE) < 0).sum().alias("negative"),
                (pl.col(C.PRICE) == 0).sum().alias("zero"),
                (pl.col(C.QUANTITY) <= 0).sum().alias("non_positive_quantity"),
            )
        )
    if source.has_return:
        queries.append(
            before.filter(pl.col(C.IS_RETURN))
            .group_by(C.USER)
            .agg((_micro(pl.col(C.QUANTITY).abs()).sum() / _MICRO).alias("_returned_units"))
        )
    results = pl.collect_all(queries, engine=source.engine)
    tallies = dict.fromkeys(_TALLIES, 0)
    if has_price:
        tallies.update({k: int(v or 0) for k, v in results[1].row(0, named=True).items()})
    _check_amounts(results[0], has_price)
    occ = (
        results[0]
        .select(pl.exclude(ORDER_KEY, ORDER_KEY + "_day", "_abs_units", "_abs_spend"))
        .sort([C.USER, "t", "t_end", "units"])
    )
    occ = occ.with_columns(_days(pl.col("t").diff().over(C.USER)).alias("gap"))
    returns = results[-1] if source.has_return else None
    return occ, returns, tallies


def _affinity(
    source: ProfileSource,
    as_of: datetime,
    categories: pl.DataFrame | None,
    config: ProfileConfig,
) -> tuple[pl.DataFrame, int]:
    """Category shares per customer and the number of purchase rows without a category."""
    column = config.category_column
    bought = without_returns(source.lf.filter(pl.col(C.TIMESTAMP) < as_of))
    weight = (pl.col(C.QUANTITY) * pl.col(C.PRICE)) if source.has_price else pl.col(C.QUANTITY)
    if categories is not None:
        rows = bought.select(C.USER, C.ITEM, weight.alias("_w")).join(
            categories.lazy(), on=C.ITEM, how="left"
        )
    else:
        rows = bought.select(
            C.USER, pl.col(column).cast(pl.String).alias("_category"), weight.alias("_w")
        )
    by_cat, unknown = pl.collect_all(
        [
            rows.filter(pl.col("_category").is_not_null())
            .group_by(C.USER, "_category")
            .agg(_micro(pl.col("_w")).sum().alias("_w")),
            rows.select(pl.col("_category").is_null().sum().alias("n")),
        ],
        engine=source.engine,
    )
    # weights in integer micro-units: the customer's total does not depend on the order
    # of the rows (group_by's order is not fixed), so neither do the shares
    share = pl.col("_w") / pl.col("_w").sum().over(C.USER)
    by_cat = by_cat.with_columns(
        pl.when(pl.col("_w").sum().over(C.USER) > 0)
        .then(share)
        .otherwise(1.0 / pl.len().over(C.USER))
        .alias("_share")
    ).sort([C.USER, "_share", "_category"], descending=[False, True, False])
    k = config.top_categories
    entropy = -(pl.col("_share") * pl.col("_share").log(2)).filter(pl.col("_share") > 0).sum()
    frame = by_cat.group_by(C.USER, maintain_order=True).agg(
        pl.col("_category").head(k).alias("top_categories"),
        pl.col("_share").head(k).alias("top_category_shares"),
        (entropy + 0.0).alias("category_entropy"),
        pl.len().cast(pl.Int64).alias("n_categories"),
    )
    return frame, int(unknown["n"][0])


def _cutoff_activity(
    occ: pl.DataFrame, as_of: datetime, config: ProfileConfig, has_price: bool
) -> pl.DataFrame:
    """Activity at the churn calibration's cutoff ``as_of - horizon_days`` with the
    outcome ``_churned`` (no order in ``[cutoff, as_of)``)."""
    cutoff = as_of - timedelta(days=config.horizon_days)
    earlier = occ.filter(pl.col("t") < cutoff)
    earlier = earlier.with_columns(_days(pl.col("t").diff().over(C.USER)).alias("gap"))
    act_c = _activity(earlier, cutoff, has_price, config)
    came_back = occ.filter(pl.col("t") >= cutoff)[C.USER].unique()
    return act_c.with_columns((~pl.col(C.USER).is_in(came_back.implode())).alias("_churned"))


@dataclass(frozen=True)
class GlobalInputs:
    """What `global_statistics` reads: a few numbers per customer, never purchase rows.

    Attributes
    ----------
    customers
        ``user_id`` and `_CUSTOMER_INPUTS` (+ ``monetary``, ``_repeat_spend`` when
        used), sorted by ``user_id``.
    cutoff
        The churn calibration's per-customer inputs, or None when not calibrating.
    gaps
        Value counts (``gap``, ``count``) of the days between consecutive orders.
    tallies
        Counts of suspicious purchase rows (`_TALLIES`).
    has_price, has_return, has_affinity
        Which optional column groups the profiles have.
    """

    customers: pl.DataFrame
    cutoff: pl.DataFrame | None
    gaps: pl.DataFrame
    tallies: dict[str, int]
    has_price: bool
    has_return: bool
    has_affinity: bool

    @staticmethod
    def concat(parts: Sequence[GlobalInputs]) -> GlobalInputs:
        """The inputs of a table from those of its shards (each customer in one shard)."""
        first = parts[0]
        flags = {(p.has_price, p.has_return, p.has_affinity) for p in parts}
        if len(flags) > 1:
            raise InputDataError(
                "the shards have different optional columns (price, is_return, category)"
            )
        customers = pl.concat([p.customers for p in parts]).sort(C.USER, maintain_order=True)
        dup = customers.filter(pl.col(C.USER).is_duplicated())
        if dup.height:
            raise InputDataError(
                f"{dup[C.USER].n_unique()} customer(s) appear in several shards, e.g. "
                f"{dup[C.USER][0]!r}: the purchases must be partitioned by {C.USER!r}"
            )
        cutoff = None
        if first.cutoff is not None:
            frames = [p.cutoff for p in parts if p.cutoff is not None]
            cutoff = pl.concat(frames).sort(C.USER, maintain_order=True)
        gaps = (
            pl.concat([p.gaps for p in parts])
            .group_by("gap")
            .agg(pl.col("count").sum())
            .sort("gap")
        )
        tallies = {k: sum(p.tallies[k] for p in parts) for k in _TALLIES}
        return GlobalInputs(
            customers, cutoff, gaps, tallies, first.has_price, first.has_return, first.has_affinity
        )

    @property
    def nbytes(self) -> dict[str, int]:
        """Size in memory of ``customers``, ``cutoff`` and ``gaps`` (what a shard sends
        to the driver)."""
        cutoff = 0 if self.cutoff is None else self.cutoff.estimated_size()
        return {
            "customers": int(self.customers.estimated_size()),
            "cutoff": int(cutoff),
            "gaps": int(self.gaps.estimated_size()),
        }


@dataclass(frozen=True)
class ShardSummary:
    """Step 1 of `build_profiles` on one shard: every customer's own aggregates.

    Attributes
    ----------
    activity
        One row per customer (sorted by ``user_id``): the activity columns.
    returns
        Returned units per customer (with ``is_return``), else None.
    affinity
        Category-share columns per customer (with categories), else None.
    inputs
        The shard's `GlobalInputs`.
    """

    activity: pl.DataFrame
    returns: pl.DataFrame | None
    affinity: pl.DataFrame | None
    inputs: GlobalInputs = field(repr=False)


def summarize_shard(
    source: ProfileSource,
    as_of: datetime,
    categories: pl.DataFrame | None,
    config: ProfileConfig,
) -> ShardSummary:
    """Step 1 on a shard (every purchase of its customers): per-customer aggregates.

    ``as_of`` comes from `resolve_as_of` over all shards, ``categories`` from
    `item_categories`.
    """
    has_price = source.has_price
    occ, returns, tallies = _orders(source, as_of)
    act = _activity(occ, as_of, has_price, config)
    columns = [C.USER, *_CUSTOMER_INPUTS, *(["monetary"] if has_price else [])]
    if config.clv_horizon_days is not None and has_price:
        act = act.join(repeat_spend(occ), on=C.USER, how="left", maintain_order="left")
        columns.append("_repeat_spend")
    has_affinity = categories is not None or config.category_column in source.schema
    affinity = None
    if has_affinity:
        affinity, tallies["unknown_category"] = _affinity(source, as_of, categories, config)
    cutoff = None
    if config.churn and config.calibrate_churn:
        cutoff = _cutoff_activity(occ, as_of, config, has_price).select(
            C.USER, *_CUTOFF_INPUTS, *(["monetary"] if has_price else []), "_churned"
        )
    gaps = (
        occ.filter(pl.col("gap").is_not_null())
        .group_by("gap")
        .agg(pl.len().cast(pl.Int64).alias("count"))
    )
    inputs = GlobalInputs(
        act.select(columns),
        cutoff,
        gaps,
        tallies,
        has_price,
        source.has_return,
        has_affinity,
    )
    return ShardSummary(act, returns, affinity, inputs)


# ---------------------------------------------------------------------------------------
# step 2, on all customers: the statistics that compare customers, and the model fits


@dataclass(frozen=True)
class ChurnModels:
    """The churn columns' models, fitted on every customer.

    ``bgnbd``: the fitted `BGNBD`, the `OwnRhythmRule` where BG/NBD cannot be used
    (``status`` and ``reason`` say why, as `TransactionFit` does), or None when no
    customer has a repeat purchase (the survival curve alone).
    """

    survival: OneTimeBuyerSurvival | None
    bgnbd: Transactions | None
    calibrator: ChurnCalibrator | None
    status: str = "bgnbd"
    reason: str = ""


@dataclass(frozen=True)
class ProfileStats:
    """Everything a profile row needs beyond its customer's own purchases.

    Attributes
    ----------
    as_of
        The resolved ``as_of``.
    scores
        Score name -> `quintile_cuts`.
    lifecycle
        ``(new_days, dormant_days, churned_days)`` thresholds.
    tiers
        ``(column, cut points, at_least)`` rules; a customer's tier is the lowest level.
    churn, clv
        The fitted models (None when the columns are off or cannot be fitted).
    has_price, has_return, has_affinity
        As in `GlobalInputs`.
    transactions
        The model of the purchase counts shared by the churn and CLV columns, with its
        status and the reason for any fallback (None when both are off).
    """

    as_of: datetime
    scores: dict[str, tuple[bool, tuple[float, ...]]]
    lifecycle: tuple[float, float, float]
    tiers: list[tuple[str, np.ndarray, bool]]
    churn: ChurnModels | None
    clv: ClvModels | None
    has_price: bool
    has_return: bool
    has_affinity: bool
    transactions: TransactionFit | None = None


def _check_tallies(tallies: dict[str, int], has_price: bool) -> None:
    if has_price:
        nulls, negative = tallies["null"], tallies["negative"]
        if nulls or negative:
            raise InputDataError(
                f"column 'price' has {nulls} null and {negative} negative values among the "
                "purchases before as_of; monetary columns need prices >= 0 "
                "(rs.clean_purchases drops such rows)"
            )
        if tallies["zero"]:
            warnings.warn(
                f"{tallies['zero']} purchase rows before as_of have price 0 (free items): "
                "they add nothing to monetary but count as items and orders",
                DataWarning,
                stacklevel=4,
            )
        if tallies["non_positive_quantity"]:
            raise InputDataError(
                f"{tallies['non_positive_quantity']} purchase rows have quantity <= 0 but are "
                "not flagged is_return; clean them with rs.clean_purchases(keep_returns=True)"
            )


def _lifecycle_thresholds(gaps: np.ndarray, config: ProfileConfig) -> tuple[float, float, float]:
    """``(new, dormant, churned)`` days from all gaps between consecutive orders."""
    given = (config.new_days, config.dormant_days, config.churned_days)
    if gaps.size == 0 and None in given:
        warnings.warn(
            "no customer has two orders before as_of, so lifecycle thresholds cannot be "
            "derived from inter-purchase gaps; using fallback_lifecycle_days="
            f"{config.fallback_lifecycle_days} where not configured",
            DataWarning,
            stacklevel=4,
        )
        defaults: tuple[float, ...] = tuple(float(v) for v in config.fallback_lifecycle_days)
    else:
        defaults = (
            tuple(float(v) for v in np.quantile(gaps, list(config.lifecycle_quantiles)))
            if gaps.size
            else (0.0,) * 3
        )
    new, dormant, churned = (
        g if g is not None else d for g, d in zip(given, defaults, strict=True)
    )
    dormant = max(dormant, new) if config.dormant_days is None else dormant
    churned = max(churned, dormant) if config.churned_days is None else churned
    if churned < dormant:
        raise InputDataError(
            f"churned_days ({churned:.4g}) is below dormant_days ({dormant:.4g}); "
            "set both explicitly"
        )
    return float(new), float(dormant), float(churned)


def _tier_rules(
    customers: pl.DataFrame, config: ProfileConfig, has_price: bool
) -> list[tuple[str, np.ndarray, bool]]:
    """Per tier column its cut points: explicit ("at least"), or the ``tier_quantiles``
    quantiles of all customers (strictly above)."""
    rules = [("frequency", config.tier_frequency)]
    if has_price:
        rules.append(("monetary", config.tier_spend))
    out = []
    for column, cuts in rules:
        if cuts is not None:
            out.append((column, np.asarray(cuts, dtype=np.float64), True))
        else:
            values = customers[column].to_numpy().astype(np.float64)
            out.append((column, np.quantile(values, config.tier_quantiles), False))
    return out


def _tier(act: pl.DataFrame, rules: list[tuple[str, np.ndarray, bool]], names: Any) -> pl.Series:
    level = None
    for column, cuts, at_least in rules:
        values = act[column].to_numpy().astype(np.float64)
        if at_least:
            this = np.searchsorted(cuts, values, side="right")
        else:
            this = (values[:, None] > cuts[None, :]).sum(axis=1)
        level = this if level is None else np.minimum(level, this)
    assert level is not None
    return pl.Series("tier", [names[i] for i in level], dtype=pl.String)


Transactions = BGNBD | OwnRhythmRule


@dataclass(frozen=True)
class TransactionFit:
    """The model of the purchase counts that the churn and CLV columns share.

    Attributes
    ----------
    model
        The fitted `BGNBD`, the `OwnRhythmRule` where BG/NBD is not identified by
        the data (or gives non-finite predictions), or None when no customer has a
        repeat purchase.
    status
        ``"bgnbd"`` (BG/NBD fit as is), ``"bgnbd_penalized"`` (BG/NBD refitted with a
        light penalty), ``"bgnbd_not_converged"``, ``"own_rhythm_rule"`` (the
        fallback) or ``"no_repeat_buyers"``.
    reason
        Why the status is not ``"bgnbd"`` (empty when it is).
    """

    model: Transactions | None
    status: str
    reason: str


def _fit_transactions(act: pl.DataFrame, horizons: Sequence[float]) -> TransactionFit:
    """BG/NBD on ``act``'s customers, or the stated rule where it cannot be used.

    Warnings of the fit are collected, not raised: the caller states the outcome once.
    """
    x, t_x, T = bgnbd_inputs(act)
    if np.all(x == 0):
        return TransactionFit(None, "no_repeat_buyers", "no customer has a repeat purchase")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            bg = BGNBD().fit(x, t_x, T)
        except InputDataError as err:
            return TransactionFit(
                OwnRhythmRule(), "own_rhythm_rule", f"BG/NBD cannot be fitted: {err}"
            )
    if bg.status_ == "unidentified":
        return TransactionFit(OwnRhythmRule(), "own_rhythm_rule", bg.diagnosis_)
    with np.errstate(all="ignore"):
        for horizon in horizons:
            values = (
                bg.conditional_expected_purchases(horizon, x, t_x, T),
                bg.probability_no_purchase(horizon, x, t_x, T),
            )
            bad = int(sum(np.sum(~np.isfinite(v)) for v in values))
            if bad:
                reason = (
                    f"BG/NBD (r={bg.params_['r']:.4g}, alpha={bg.params_['alpha']:.4g}, "
                    f"a={bg.params_['a']:.4g}, b={bg.params_['b']:.4g}) gives non-finite "
                    f"predictions over {horizon:g} days for {bad} customers"
                )
                return TransactionFit(OwnRhythmRule(), "own_rhythm_rule", reason)
    status = {"converged": "bgnbd", "penalized": "bgnbd_penalized"}.get(
        bg.status_, "bgnbd_not_converged"
    )
    return TransactionFit(bg, status, bg.diagnosis_)


def _announce(fit: TransactionFit, uses: str) -> None:
    """The one warning about the transaction model of ``build_profiles``."""
    if fit.status == "own_rhythm_rule":
        warnings.warn(
            f"{fit.reason}. This is a limit of the model on these data, not bad input: "
            f"{uses} of repeat buyers come from the stated fallback rule instead (recency "
            "against the customer's own mean gap between orders, rs.profiles.OwnRhythmRule)",
            DataWarning,
            stacklevel=4,
        )
    elif fit.status == "no_repeat_buyers" and "churn" in uses:
        warnings.warn(
            "no customer has a repeat purchase before as_of: BG/NBD is not fitted and churn "
            "columns come from the one-time-buyer survival curve alone",
            DataWarning,
            stacklevel=4,
        )
    elif fit.reason:
        warnings.warn(fit.reason, DataWarning, stacklevel=4)


def _survival(act: pl.DataFrame) -> OneTimeBuyerSurvival:
    """The one-time-buyer survival curve fitted on ``act``'s customers."""
    _, _, T = bgnbd_inputs(act)
    to_second = act["_to_second"]
    returned = to_second.is_not_null().to_numpy()
    durations = np.where(returned, to_second.fill_null(0.0).to_numpy(), T)
    return OneTimeBuyerSurvival().fit(durations, returned)


def _predict(
    act: pl.DataFrame, km: OneTimeBuyerSurvival, bg: Transactions | None, horizon: int
) -> dict[str, np.ndarray]:
    """BG/NBD or its fallback rule (repeat buyers) + one-time-buyer survival predictions
    for ``act``'s customers (customer by customer: any subset of the fitted population)."""
    x, t_x, T = bgnbd_inputs(act)
    recency = act["recency_days"].to_numpy()
    one = x == 0
    pn_km = km.probability_no_return(T, horizon)
    if bg is None:
        return {
            "no_purchase": pn_km,
            "p_alive": km.p_alive(T),
            "expected": 1.0 - pn_km,
            "x": x,
            "T": T,
            "recency": recency,
        }
    pn_bg = bg.probability_no_purchase(horizon, x, t_x, T)
    expected_bg = bg.conditional_expected_purchases(horizon, x, t_x, T)
    p_alive = np.where(one, km.p_alive(T), bg.p_alive(x, t_x, T))
    no_purchase = np.where(one, pn_km, pn_bg)
    scale = np.divide(1.0 - pn_km, 1.0 - pn_bg, out=np.zeros_like(pn_bg), where=pn_bg < 1.0)
    expected = np.where(one, expected_bg * scale, expected_bg)
    return {
        "no_purchase": no_purchase,
        "p_alive": p_alive,
        "expected": expected,
        "x": x,
        "T": T,
        "recency": recency,
    }


def _features(act: pl.DataFrame, pred: dict[str, np.ndarray], has_price: bool) -> np.ndarray:
    return churn_features(
        repeat_purchases=pred["x"],
        recency_days=pred["recency"],
        tenure_days=pred["T"],
        model_no_purchase=pred["no_purchase"],
        expected_purchases=pred["expected"],
        decayed_60=act["_decayed_60"].to_numpy(),
        decayed_180=act["_decayed_180"].to_numpy(),
        orders_last_90=act["_orders_90"].to_numpy(),
        orders_last_30=act["_orders_30"].to_numpy(),
        orders_last_180=act["_orders_180"].to_numpy(),
        orders_90_to_180=act["_orders_90_180"].to_numpy(),
        active_months=act["_active_months"].to_numpy(),
        median_gap=act["median_interpurchase_days"].fill_null(0.0).to_numpy(),
        monetary=act["monetary"].to_numpy() if has_price else None,
    )


def _fit_churn(
    inputs: GlobalInputs, as_of: datetime, config: ProfileConfig, transactions: TransactionFit
) -> ChurnModels:
    # One BLAS thread: the model's matrices are small, and idle BLAS threads spinning
    # for work slowed the fits ~5x on a busy machine (also keeps sums thread-independent).
    with threadpool_limits(limits=1, user_api="blas"):
        km = _survival(inputs.customers)
        calibrator = None
        if config.calibrate_churn:
            assert inputs.cutoff is not None
            calibrator = _fit_calibrator(
                inputs.cutoff, as_of, config, inputs.has_price, transactions.model
            )
        return ChurnModels(
            km, transactions.model, calibrator, transactions.status, transactions.reason
        )


def _fit_calibrator(
    act_c: pl.DataFrame,
    as_of: datetime,
    config: ProfileConfig,
    has_price: bool,
    model: Transactions | None,
) -> ChurnCalibrator | None:
    """The churn calibrator fitted at ``as_of - horizon``, or None (DataWarning).

    At the internal cutoff the transactions are modelled as at ``as_of``: BG/NBD
    refitted on the earlier data, or the same rule when ``as_of`` uses the rule."""
    horizon = config.horizon_days
    cutoff = as_of - timedelta(days=horizon)
    n_users = act_c.height
    reason = None
    if n_users < config.min_calibration_customers:
        reason = (
            f"only {n_users} customers bought before the internal cutoff {cutoff} "
            f"(as_of - horizon_days); at least min_calibration_customers="
            f"{config.min_calibration_customers} are needed"
        )
    else:
        pred_c = None
        if isinstance(model, OwnRhythmRule):
            pred_c = _predict(act_c, _survival(act_c), model, horizon)
        else:
            fit_c = _fit_transactions(act_c, [horizon])
            if fit_c.status != "own_rhythm_rule":
                pred_c = _predict(act_c, _survival(act_c), fit_c.model, horizon)
        y = act_c["_churned"].to_numpy().astype(np.float64)
        if pred_c is None:
            reason = "the BG/NBD model cannot be used at the internal cutoff"
        elif min(y.sum(), y.size - y.sum()) < config.min_calibration_class:
            reason = (
                f"fewer than min_calibration_class={config.min_calibration_class} customers "
                f"of one outcome at the internal cutoff {cutoff}"
            )
    if reason is not None:
        warnings.warn(
            f"churn_risk is not calibrated: {reason}; it is the model probability of no "
            "purchase (BG/NBD or its fallback rule, one-time-buyer survival curve)",
            DataWarning,
            stacklevel=5,
        )
        return None
    assert pred_c is not None
    return ChurnCalibrator().fit(_features(act_c, pred_c, has_price), y)


def global_statistics(inputs: GlobalInputs, as_of: datetime, config: ProfileConfig) -> ProfileStats:
    """Step 2, on every customer's `GlobalInputs`: checks, score cut points, lifecycle
    thresholds, tier cut points and the model fits (warnings are raised here, once)."""
    has_price = inputs.has_price
    _check_tallies(inputs.tallies, has_price)
    customers = inputs.customers
    if customers.height == 0:
        raise InputDataError(f"no purchase strictly before as_of={as_of}")
    scores = {
        name: quintile_cuts(customers[column].to_numpy(), higher_is_better=better, name=name)
        for name, (column, better) in _SCORES.items()
        if has_price or name != "m_score"
    }
    gaps = np.repeat(inputs.gaps["gap"].to_numpy(), inputs.gaps["count"].to_numpy())
    lifecycle = _lifecycle_thresholds(gaps, config)
    tiers = _tier_rules(customers, config, has_price)
    if inputs.tallies["unknown_category"]:
        warnings.warn(
            f"{inputs.tallies['unknown_category']} purchase rows before as_of have no "
            f"{config.category_column!r} (item not in the item table or null category); "
            "they are left out of the category shares",
            DataWarning,
            stacklevel=3,
        )
    clv_on = config.clv_horizon_days is not None
    churn = clv = transactions = None
    if config.churn or (clv_on and has_price):
        horizons = [float(config.horizon_days)] if config.churn else []
        if clv_on:
            horizons.append(float(config.clv_horizon_days or 0))
        transactions = _fit_transactions(customers, horizons)
        uses = " and ".join(
            (["p_alive, churn_risk and expected purchases"] if config.churn else [])
            + (["the CLV"] if clv_on else [])
        )
        _announce(transactions, uses)
        if config.churn:
            churn = _fit_churn(inputs, as_of, config, transactions)
        if clv_on:
            clv = fit_clv(customers, has_price, transactions.model)
    elif clv_on:
        clv = fit_clv(customers, has_price, None)
    return ProfileStats(
        as_of,
        scores,
        lifecycle,
        tiers,
        churn,
        clv,
        has_price,
        inputs.has_return,
        inputs.has_affinity,
        transactions,
    )


# ---------------------------------------------------------------------------------------
# step 3, per shard: the profile rows


def _lifecycle_expr(new: float, dormant: float, churned: float, multiple: float) -> pl.Expr:
    g = pl.col("median_interpurchase_days").fill_null(0.0)
    dormant_i = pl.max_horizontal(pl.lit(dormant), multiple * g)
    churned_i = pl.max_horizontal(pl.lit(churned), 2.0 * multiple * g)
    prior = pl.col("_prior_median_gap").fill_null(0.0)
    reactivated_i = pl.max_horizontal(pl.lit(dormant), multiple * prior)
    return (
        pl.when(pl.col("tenure_days") <= new)
        .then(pl.lit("new"))
        .when(pl.col("recency_days") > churned_i)
        .then(pl.lit("churned"))
        .when(pl.col("recency_days") > dormant_i)
        .then(pl.lit("dormant"))
        .when(pl.col("last_gap_days").fill_null(0.0) > reactivated_i)
        .then(pl.lit("reactivated"))
        .otherwise(pl.lit("active"))
        .alias("lifecycle_stage")
    )


def _churn_columns(
    act: pl.DataFrame, models: ChurnModels, config: ProfileConfig, has_price: bool
) -> dict[str, pl.Series]:
    horizon = config.horizon_days
    expected_name = f"expected_purchases_{horizon}d"
    if models.survival is None or act.height == 0:
        n = act.height
        return {
            "p_alive": pl.Series("p_alive", [None] * n, dtype=pl.Float64),
            "churn_risk": pl.Series("churn_risk", [None] * n, dtype=pl.Float64),
            expected_name: pl.Series(expected_name, [None] * n, dtype=pl.Float64),
        }
    with threadpool_limits(limits=1, user_api="blas"):
        pred = _predict(act, models.survival, models.bgnbd, horizon)
        risk = pred["no_purchase"]
        if models.calibrator is not None:
            risk = models.calibrator.predict_proba(_features(act, pred, has_price))
    return {
        "p_alive": pl.Series("p_alive", pred["p_alive"]),
        "churn_risk": pl.Series("churn_risk", risk),
        expected_name: pl.Series(expected_name, pred["expected"]),
    }


def apply_statistics(
    summary: ShardSummary, stats: ProfileStats, config: ProfileConfig
) -> pl.DataFrame:
    """Step 3 on a shard: its customers' profile rows (sorted by ``user_id``)."""
    act = summary.activity
    money: list[str | pl.Expr] = (
        ["monetary", (pl.col("monetary") / pl.col("frequency")).alias("avg_order_value")]
        if stats.has_price
        else []
    )
    profile = act.select(
        C.USER,
        "first_purchase",
        "last_purchase",
        "tenure_days",
        "recency_days",
        "frequency",
        "n_items",
        *money,
        "mean_interpurchase_days",
        "median_interpurchase_days",
        "last_gap_days",
        (
            pl.col("last_purchase")
            + pl.duration(
                microseconds=(pl.col("median_interpurchase_days") * US_PER_DAY)
                .round()
                .cast(pl.Int64)
            )
        ).alias("expected_next_purchase"),
        "_prior_median_gap",
    )
    if summary.returns is not None:
        profile = (
            profile.join(summary.returns, on=C.USER, how="left")
            .with_columns(
                (pl.col("_returned_units").fill_null(0.0) / pl.col("n_items")).alias("return_rate")
            )
            .drop("_returned_units")
        )
    scores = [
        apply_quintile_cuts(act[_SCORES[name][0]], cuts, name=name)
        for name, cuts in stats.scores.items()
    ]
    profile = profile.with_columns(scores).with_columns(rfm_segment_expr().alias("rfm_segment"))
    new, dormant, churned = stats.lifecycle
    profile = profile.with_columns(
        _lifecycle_expr(new, dormant, churned, config.rhythm_multiple),
        _tier(act, stats.tiers, config.tier_names),
    ).drop("_prior_median_gap")
    if summary.affinity is not None:
        profile = profile.join(
            summary.affinity, on=C.USER, how="left", maintain_order="left"
        ).with_columns(
            pl.col("top_categories").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("top_category_shares").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            pl.col("n_categories").fill_null(0),
        )
    if stats.churn is not None:
        profile = profile.with_columns(**_churn_columns(act, stats.churn, config, stats.has_price))
    if config.clv_horizon_days is not None:
        profile = profile.with_columns(**clv_columns(act, stats.clv, config))
    return profile


@overload
def build_profiles(
    purchases: FrameLike,
    as_of: Any = ...,
    items: FrameLike | None = ...,
    config: ProfileConfig | None = ...,
    *,
    return_models: Literal[False] = ...,
    engine: Local | Ray = ...,
) -> pl.DataFrame: ...


@overload
def build_profiles(
    purchases: FrameLike,
    as_of: Any = ...,
    items: FrameLike | None = ...,
    config: ProfileConfig | None = ...,
    *,
    return_models: Literal[True],
    engine: Local | Ray = ...,
) -> tuple[pl.DataFrame, ProfileStats]: ...


def build_profiles(
    purchases: FrameLike,
    as_of: TimeLike | None = None,
    items: FrameLike | None = None,
    config: ProfileConfig | None = None,
    *,
    return_models: bool = False,
    engine: Local | Ray = Local(),  # noqa: B008 - a frozen dataclass
) -> pl.DataFrame | tuple[pl.DataFrame, ProfileStats]:
    """One profile row per customer from the purchases strictly before ``as_of``.

    The column definitions are in the table of `recsys.profiles.build`.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`) as a polars
        DataFrame or LazyFrame, a pandas DataFrame or a Parquet/CSV path.
        Lazy frames and Parquet files are aggregated with polars' streaming
        engine, so tens of millions of rows fit in memory.
    as_of
        Point in time (datetime, date or ISO string); only purchases strictly
        before it are used. Default: just after the last purchase.
    items
        Optional item table with ``item_id`` and ``config.category_column`` for
        the category-affinity columns.
    config
        `ProfileConfig` (thresholds, tiers, churn horizon; ``churn=False`` and
        ``clv_horizon_days=None`` turn the churn and value models off).
    return_models
        Also return the `ProfileStats`: the fitted models, with
        ``stats.transactions.status`` saying whether the churn and CLV columns come
        from BG/NBD or, where the data do not identify it, from the stated fallback
        rule (and ``stats.transactions.reason`` why).
    engine
        Where to run: `recsys.engine.Local` (default) or `recsys.engine.Ray` (the same
        rows, from shards of customers; ``purchases`` may then be a folder of Parquet
        files each holding all rows of its customers, see
        `recsys.distributed.write_partitioned`; with ``Ray(out=folder)`` the workers
        write the profiles as Parquet and the call returns a ``polars.LazyFrame`` in
        place of the frame).

    Returns
    -------
    pl.DataFrame
        One row per customer, sorted by ``user_id`` (with ``return_models``, the pair
        ``(profiles, stats)``).

    Raises
    ------
    InputDataError
        Missing canonical columns, empty purchases, ``as_of`` not after the
        first purchase, null or negative prices, an item table without the
        needed columns or with conflicting categories.

    Warns
    -----
    DataWarning
        Zero prices, identical customers (all scores 3), no repeat customers,
        items without a category, churn calibration impossible, BG/NBD
        convergence problems, and (once) BG/NBD not identified by the data: the churn
        and CLV columns of repeat buyers then come from `OwnRhythmRule` (recency
        against the customer's own mean gap between orders), never an error.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> profiles = rs.build_profiles(purchases, as_of="2011-09-09")
    >>> profiles.height
    3362
    >>> profiles.select("frequency", "r_score", "rfm_segment").columns
    ['frequency', 'r_score', 'rfm_segment']
    """
    if (run := ray_job(engine, "build_profiles")) is not None:
        return run(purchases, as_of, items, config, engine, return_models)
    config = check_config(config)
    source = prepare_source(purchases)
    when = resolve_as_of([time_range(source)], as_of)
    categories = item_categories(items, source.schema, config)
    summary = summarize_shard(source, when, categories, config)
    stats = global_statistics(summary.inputs, when, config)
    profiles = apply_statistics(summary, stats, config)
    return (profiles, stats) if return_models else profiles


def check_config(config: ProfileConfig | None) -> ProfileConfig:
    """``config``, or the default `ProfileConfig`; anything else is an error."""
    config = config if config is not None else ProfileConfig()
    if not isinstance(config, ProfileConfig):
        raise InputDataError(f"config must be a ProfileConfig, got {type(config).__name__}")
    return config
