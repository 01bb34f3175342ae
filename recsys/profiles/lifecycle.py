"""Lifecycle stage of `recsys.build_profiles` (new / active / dormant / churned /
reactivated): thresholds from the inter-purchase gaps, and the rules (see the table
of `recsys.profiles.build`)."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.config import ProfileConfig
from recsys.stats.survival import km_quantiles

__all__ = ["lifecycle_expr", "lifecycle_thresholds"]


_STAGES = ("new", "dormant", "churned")


def lifecycle_thresholds(
    gaps: pl.DataFrame, open_days: np.ndarray, history_days: float, config: ProfileConfig
) -> tuple[float, float, float]:
    """``(new, dormant, churned)`` days: Kaplan-Meier quantiles of the gaps between orders.

    Every order before ``as_of`` starts a gap: it ended at the customer's next order
    (a completed gap, one row of ``gaps``) or it is still open at ``as_of`` (the
    customer's last order: ``open_days`` is each customer's ``recency_days``, a gap
    censored at that length). The quantiles (``config.lifecycle_quantiles``) of the
    completed gaps alone are biased short: a gap longer than the history cannot be
    seen to end, and the longer a gap the likelier it is to be still open at
    ``as_of``. The Kaplan-Meier estimator (`recsys.stats.survival.km_quantiles`)
    counts the open gaps as censored.

    A one-order customer's time since that order counts as an open gap like a repeat
    customer's time since the last one: both are the gap after an order, not yet
    ended. Leaving it out would keep the first gaps that ended (those customers are
    repeat customers now) and drop the ones that have not: a selection on the outcome
    that makes the gaps look short.

    Where the survival never falls to ``1 - q`` (more than ``1 - q`` of the gaps are
    longer than the history, or never end), the history is too short to tell the
    threshold: it is set to ``history_days`` (so no customer passes it; a customer's
    recency is at most the history) and a `DataWarning` names it. Configured
    thresholds (``new_days`` ...) are used as given.

    Parameters
    ----------
    gaps
        The completed gaps: columns ``gap`` (days) and ``count`` (how many).
    open_days
        Days since each customer's last order before ``as_of``.
    history_days
        Days from the first order to ``as_of``.
    config
        The lifecycle options of `ProfileConfig`.

    Examples
    --------
    Half of the gaps end at 10 days; the other half are still open at 30 days:

    >>> import warnings
    >>> gaps = pl.DataFrame({"gap": [10.0], "count": [100]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     lifecycle_thresholds(gaps, np.full(100, 30.0), 40.0, ProfileConfig())
    (10.0, 40.0, 40.0)
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    the history (40 days) is too short to tell when a customer is dormant: ...
    """
    given = (config.new_days, config.dormant_days, config.churned_days)
    if gaps["count"].sum() == 0 and None in given:
        warnings.warn(
            "no customer has two orders before as_of, so lifecycle thresholds cannot be "
            "derived from inter-purchase gaps; using fallback_lifecycle_days="
            f"{config.fallback_lifecycle_days} where not configured",
            DataWarning,
            stacklevel=4,
        )
        defaults: tuple[float, ...] = tuple(float(v) for v in config.fallback_lifecycle_days)
    else:
        defaults = _km_thresholds(gaps, open_days, history_days, config)
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


def _km_thresholds(
    gaps: pl.DataFrame, open_days: np.ndarray, history_days: float, config: ProfileConfig
) -> tuple[float, ...]:
    """The Kaplan-Meier quantiles, the history length (with a warning) where unidentified."""
    quantiles = config.lifecycle_quantiles
    spells = pl.concat(
        [
            gaps.select(
                pl.col("gap").cast(pl.Float64).alias("time"),
                pl.lit(1).alias("event"),
                pl.col("count").cast(pl.Int64),
            ),
            pl.DataFrame(
                {"time": np.asarray(open_days, dtype=np.float64), "event": 0, "count": 1},
                schema={"time": pl.Float64, "event": pl.Int32, "count": pl.Int64},
            ).with_columns(pl.col("event").cast(pl.Int32)),
        ],
        how="vertical_relaxed",
    )
    row = km_quantiles(spells, quantiles, weight="count").row(0)
    out = []
    for stage, q, value, configured in zip(
        _STAGES,
        quantiles,
        row[: len(quantiles)],
        (config.new_days, config.dormant_days, config.churned_days),
        strict=True,
    ):
        if value is None:
            if configured is None:
                what = "no longer new" if stage == "new" else stage
                warnings.warn(
                    f"the history ({history_days:.0f} days) is too short to tell when a "
                    f"customer is {what}: fewer than {q:.0%} of the gaps between orders "
                    f"end within it (Kaplan-Meier, open gaps censored), so {stage}_days is "
                    f"the history length and no customer passes it; set {stage}_days to "
                    "choose one",
                    DataWarning,
                    stacklevel=5,
                )
            value = history_days
        out.append(float(value))
    return tuple(out)


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
