"""Lifecycle stage of `recsys.build_profiles` (new / active / dormant / churned /
reactivated): thresholds from the inter-purchase gaps, and the rules (see the table
of `recsys.profiles.build`)."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.config import ProfileConfig

__all__ = ["lifecycle_expr", "lifecycle_thresholds"]


def lifecycle_thresholds(gaps: np.ndarray, config: ProfileConfig) -> tuple[float, float, float]:
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
