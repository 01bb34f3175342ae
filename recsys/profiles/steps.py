"""The three steps of `recsys.profiles.build_profiles`, each on a shard of customers.

`summarize_shard` (every customer's own aggregates and the shard's `GlobalInputs`),
`global_statistics` (on all customers' inputs: the checks, score cut points, lifecycle
thresholds, tier cut points and model fits) and `apply_statistics` (the profile rows).
`build_profiles` runs them on the whole table as one shard; with
``engine=rs.engine.Ray(...)`` `recsys.distributed.profiles` runs the first and the last
on shards and the second on the driver. The columns they produce are defined in
`recsys.profiles.build`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from recsys._warnings import concerning
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY
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
from recsys.profiles.source import TALLIES, ProfileSource, check_tallies, orders_before
from recsys.profiles.tiers import tier_column, tier_rules

__all__ = [
    "SCORES",
    "GlobalInputs",
    "ProfileStats",
    "ShardSummary",
    "apply_statistics",
    "global_statistics",
    "summarize_shard",
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
        repeaters = int((customers["frequency"] >= 2).sum())
        lifecycle = lifecycle_thresholds(gaps, config, repeaters)
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
