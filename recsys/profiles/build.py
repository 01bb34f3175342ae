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
rfm_segment                     String     `RFM_SEGMENTS` of ``(r_score, f_score)``;
                                           a lapsed name where, and only where,
                                           the lifecycle stage is dormant or churned
                                           (`rfm_segment_expr`)
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

Where the data do not identify BG/NBD (its fit is extreme even with a light penalty, or
its predictions are not finite), "BG/NBD" above reads `OwnRhythmRule` (recency against
the customer's own mean gap between orders), said once in a `DataWarning`; the churn
and CLV columns are never an error (``return_models=True`` gives the status).

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
``ProfileConfig.fallback_lifecycle_days``, 30/90/180, when fewer than 20 customers
have two orders). Example: a customer who bought on
days 0, 30 and 60 (g = 30) is ``active`` at day 100 when ``D = 50``
(``D_i = 60``), ``dormant`` at day 130, ``churned`` at day 200 when ``C = 120``;
a customer who bought on days 0 and 150 (``last_gap_days = 150 > D``) is
``reactivated`` at day 160.

Tier: the highest tier ``k`` with ``monetary`` and ``frequency`` both at or above
cut point ``k`` (explicit ``tier_spend``/``tier_frequency``), or strictly above
the ``tier_quantiles`` quantiles of the profiled customers (defaults; strict so
tied customers stay in the lower tier: if every customer is identical, all are
in the first tier). Without prices, frequency alone decides.

How it is computed: three steps (`recsys.profiles.steps`), which
``engine=rs.engine.Ray(...)`` runs on shards of customers: `summarize_shard` (each
customer's own aggregates and the shard's `GlobalInputs`), `global_statistics` (on all
customers' inputs: the checks, score cut points, lifecycle thresholds, tier cut points
and model fits) and `apply_statistics` (the profile rows). `build_profiles` runs them on
the whole table as one shard. This module only orchestrates; each group of columns has
its feature module: `recsys.profiles.source` (input, ``as_of``, orders, exact sums),
`recsys.profiles.activity` (recency, frequency, gaps), `recsys.profiles.rfm`,
`recsys.profiles.lifecycle`, `recsys.profiles.tiers`, `recsys.profiles.categories`,
`recsys.profiles.churn_columns` and `recsys.profiles.clv`.
"""

from __future__ import annotations

from typing import Literal, overload

import polars as pl

from recsys.data.sources import FrameLike
from recsys.data.timeutil import TimeLike
from recsys.engine import Local, Ray, ray_job
from recsys.exceptions import InputDataError
from recsys.profiles.config import ProfileConfig
from recsys.profiles.source import item_categories, prepare_source, resolve_as_of, time_range
from recsys.profiles.steps import (
    ProfileStats,
    apply_statistics,
    global_statistics,
    summarize_shard,
)

__all__ = ["build_profiles", "check_config"]


@overload
def build_profiles(
    purchases: FrameLike,
    as_of: TimeLike | None = ...,
    items: FrameLike | None = ...,
    config: ProfileConfig | None = ...,
    *,
    return_models: Literal[False] = ...,
    engine: Local | Ray = ...,
) -> pl.DataFrame: ...


@overload
def build_profiles(
    purchases: FrameLike,
    as_of: TimeLike | None = ...,
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
        against the customer's own mean gap between orders), never an error. A
        warning about the churn, CLV, monetary or lifecycle columns names them in its
        ``concerns`` attribute (`recsys._warnings.concerns_of`).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> profiles = rs.build_profiles(purchases, as_of="2011-09-09")
    >>> profiles.height
    3360
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
