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
                                           a lapsed name only where the
                                           lifecycle stage agrees (`rfm_segment_expr`)
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
as one shard. This module only orchestrates; each group of columns has its feature
module: `recsys.profiles.source` (input, ``as_of``, orders, exact sums),
`recsys.profiles.activity` (recency, frequency, gaps), `recsys.profiles.rfm`,
`recsys.profiles.lifecycle`, `recsys.profiles.tiers`, `recsys.profiles.categories`,
`recsys.profiles.churn_columns` and `recsys.profiles.clv`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, overload

import numpy as np
import polars as pl

from recsys._warnings import concerning
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY
from recsys.data.sources import FrameLike
from recsys.data.timeutil import TimeLike
from recsys.engine import Local, Ray, ray_job
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.activity import CUSTOMER_INPUTS, CUTOFF_INPUTS, activity, cutoff_activity
from recsys.profiles.categories import category_shares
from recsys.profiles.churn_columns import (
    ChurnModels,
    TransactionFit,
    announce,
    churn_columns,
    fit_churn,
    fit_transactions,
)
from recsys.profiles.clv import ClvModels, clv_columns, fit_clv, repeat_spend
from recsys.profiles.config import ProfileConfig
from recsys.profiles.lifecycle import lifecycle_expr, lifecycle_thresholds
from recsys.profiles.rfm import apply_quintile_cuts, quintile_cuts, rfm_segment_expr
from recsys.profiles.source import (
    TALLIES,
    ProfileSource,
    check_tallies,
    item_categories,
    orders_before,
    prepare_source,
    resolve_as_of,
    time_range,
)
from recsys.profiles.tiers import tier_column, tier_rules

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


#: The scored columns: score name -> (activity column, higher is better).
SCORES: dict[str, tuple[str, bool]] = {
    "r_score": ("recency_days", False),
    "f_score": ("frequency", True),
    "m_score": ("monetary", True),
}


@dataclass(frozen=True)
class GlobalInputs:
    """What `global_statistics` reads: a few numbers per customer, never purchase rows.

    Attributes
    ----------
    customers
        ``user_id`` and `CUSTOMER_INPUTS` (+ ``monetary``, ``_repeat_spend`` when
        used), sorted by ``user_id``.
    cutoff
        The churn calibration's per-customer inputs, or None when not calibrating.
    gaps
        Value counts (``gap``, ``count``) of the days between consecutive orders.
    tallies
        Counts of suspicious purchase rows (`TALLIES`).
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
        tallies = {k: sum(p.tallies[k] for p in parts) for k in TALLIES}
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
    occ, returns, tallies = orders_before(source, as_of)
    act = activity(occ, as_of, has_price, config)
    columns = [C.USER, *CUSTOMER_INPUTS, *(["monetary"] if has_price else [])]
    if config.clv_horizon_days is not None and has_price:
        act = act.join(repeat_spend(occ), on=C.USER, how="left", maintain_order="left")
        columns.append("_repeat_spend")
    has_affinity = categories is not None or config.category_column in source.schema
    affinity = None
    if has_affinity:
        affinity, tallies["unknown_category"] = category_shares(source, as_of, categories, config)
    cutoff = None
    if config.churn and config.calibrate_churn:
        cutoff = cutoff_activity(occ, as_of, config, has_price).select(
            C.USER, *CUTOFF_INPUTS, *(["monetary"] if has_price else []), "_churned"
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


def global_statistics(inputs: GlobalInputs, as_of: datetime, config: ProfileConfig) -> ProfileStats:
    """Step 2, on every customer's `GlobalInputs`: checks, score cut points, lifecycle
    thresholds, tier cut points and the model fits (warnings are raised here, once)."""
    has_price = inputs.has_price
    with concerning("monetary", "clv"):
        check_tallies(inputs.tallies, has_price)
    customers = inputs.customers
    if customers.height == 0:
        raise InputDataError(f"no purchase strictly before as_of={as_of}")
    scores = {
        name: quintile_cuts(customers[column].to_numpy(), higher_is_better=better, name=name)
        for name, (column, better) in SCORES.items()
        if has_price or name != "m_score"
    }
    gaps = np.repeat(inputs.gaps["gap"].to_numpy(), inputs.gaps["count"].to_numpy())
    with concerning("lifecycle_stage"):
        lifecycle = lifecycle_thresholds(gaps, config)
    tiers = tier_rules(customers, config, has_price)
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
        uses = " and ".join(
            (["p_alive, churn_risk and expected purchases"] if config.churn else [])
            + (["the CLV"] if clv_on else [])
        )
        # the model of the purchase counts is shared by the churn and the CLV columns
        on = (["churn_risk", "expected_purchases"] if config.churn else []) + (
            ["clv"] if clv_on else []
        )
        with concerning(*on):
            transactions = fit_transactions(customers, horizons)
            announce(transactions, uses)
        if config.churn:
            with concerning("churn_risk"):
                churn = fit_churn(customers, inputs.cutoff, has_price, as_of, config, transactions)
        if clv_on:
            with concerning("clv"):
                clv = fit_clv(customers, has_price, transactions.model)
    elif clv_on:
        with concerning("clv"):
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
        apply_quintile_cuts(act[SCORES[name][0]], cuts, name=name)
        for name, cuts in stats.scores.items()
    ]
    new, dormant, churned = stats.lifecycle
    lifecycle = lifecycle_expr(new, dormant, churned, config.rhythm_multiple)
    profile = (
        profile.with_columns(scores)
        .with_columns(rfm_segment_expr(lifecycle=lifecycle).alias("rfm_segment"))
        .with_columns(lifecycle, tier_column(act, stats.tiers, config.tier_names))
        .drop("_prior_median_gap")
    )
    if summary.affinity is not None:
        profile = profile.join(
            summary.affinity, on=C.USER, how="left", maintain_order="left"
        ).with_columns(
            pl.col("top_categories").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("top_category_shares").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            pl.col("n_categories").fill_null(0),
        )
    if stats.churn is not None:
        profile = profile.with_columns(**churn_columns(act, stats.churn, config, stats.has_price))
    if config.clv_horizon_days is not None:
        profile = profile.with_columns(**clv_columns(act, stats.clv, config))
    return profile


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
