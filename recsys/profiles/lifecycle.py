"""Lifecycle stage of `recsys.build_profiles` (new / active / dormant / churned /
reactivated): thresholds from the inter-purchase gaps, and the rules (see the table
of `recsys.profiles.build`)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl

from recsys._text import counted
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.config import ProfileConfig

__all__ = ["lifecycle_expr", "lifecycle_thresholds", "min_repeat_customers"]


def min_repeat_customers(quantiles: tuple[float, ...]) -> int:
    """The fewest customers with two orders or more whose gaps give the lifecycle
    thresholds: ``1 / (1 - q)`` for the highest quantile ``q``, the fewest observations
    for which that quantile is not simply the largest one, counted in customers because
    one customer's gaps describe that customer's rhythm, not the shop's.

    Examples
    --------
    >>> min_repeat_customers((0.5, 0.8, 0.95))
    20
    """
    return max(2, math.ceil(1 / (1 - max(quantiles)) - 1e-9))


def lifecycle_thresholds(
    gaps: np.ndarray, config: ProfileConfig, repeat_customers: int
) -> tuple[float, float, float]:
    """``(new, dormant, churned)`` days from all gaps between consecutive orders, those of
    ``repeat_customers`` customers; `fallback_lifecycle_days` where fewer than
    `min_repeat_customers` customers have two orders (with a `DataWarning` that counts them).

    Examples
    --------
    >>> import warnings
    >>> one = np.full(33, 0.04)  # one customer's same-day invoices
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     lifecycle_thresholds(one, ProfileConfig(churn=False), 1)
    (30.0, 90.0, 180.0)
    >>> str(caught[0].message)[:60]
    'only 1 customer has two orders before as_of (33 gaps between'
    """
    given = (config.new_days, config.dormant_days, config.churned_days)
    needed = min_repeat_customers(tuple(config.lifecycle_quantiles))
    if repeat_customers < needed and None in given:
        who = (
            "no customer has two orders before as_of, so lifecycle thresholds cannot be "
            "derived from inter-purchase gaps"
            if gaps.size == 0
            else f"only {counted(repeat_customers, 'customer has', 'customers have')} two "
            f"orders before as_of ({counted(gaps.size, 'gap', 'gaps')} between orders), fewer "
            f"than the {needed} the lifecycle_quantiles {tuple(config.lifecycle_quantiles)} "
            "need: their gaps describe those customers, not the shop"
        )
        warnings.warn(
            f"{who}; using fallback_lifecycle_days={config.fallback_lifecycle_days} where not "
            "configured",
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


def lifecycle_expr(new: float, dormant: float, churned: float, multiple: float) -> pl.Expr:
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
