"""Configuration of :func:`recsys.build_profiles` (lifecycle thresholds, tiers, churn)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from recsys.exceptions import InputDataError

__all__ = ["ProfileConfig"]


def _check_days(name: str, value: float | None) -> None:
    if value is not None and not (
        isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    ):
        raise InputDataError(f"{name} must be a positive number of days or None, got {value!r}")


def _check_ascending(name: str, values: tuple[float, ...], length: int) -> None:
    if len(values) != length:
        raise InputDataError(
            f"{name} must have {length} cut points (one per tier above the first), "
            f"got {len(values)}"
        )
    if any(not math.isfinite(v) for v in values) or any(
        b <= a for a, b in itertools.pairwise(values)
    ):
        raise InputDataError(f"{name} must be finite and strictly increasing, got {values!r}")


@dataclass(frozen=True)
class ProfileConfig:
    """Thresholds and options of :func:`recsys.build_profiles`.

    Every ``None`` threshold is derived from the data (the default).

    Parameters
    ----------
    horizon_days
        Churn horizon: ``churn_risk`` is the probability of no purchase in
        ``[as_of, as_of + horizon_days)``; the expected-purchases column is
        ``expected_purchases_{horizon_days}d``.
    new_days, dormant_days, churned_days
        Lifecycle thresholds in days. Defaults: the 50th, 80th and 95th
        percentiles of all inter-purchase gaps (days between consecutive orders
        of the same customer) before ``as_of``.
    rhythm_multiple
        A repeat customer's own thresholds are stretched to
        ``max(dormant_days, rhythm_multiple * median gap)`` and
        ``max(churned_days, 2 * rhythm_multiple * median gap)``.
    tier_names
        Tier names, lowest first.
    tier_quantiles
        Default cut points (quantiles of ``monetary`` and ``frequency`` among the
        profiled customers), one per tier above the first.
    tier_spend, tier_frequency
        Explicit cut points ("at least"), overriding the quantiles.
    category_column
        Category column of the item table (or of the purchases) for affinity.
    top_categories
        How many top categories to list per customer.
    churn
        Compute ``p_alive``, ``churn_risk`` and expected purchases.
    calibrate_churn
        Fit the churn calibrator at ``as_of - horizon_days`` (else ``churn_risk``
        is the uncalibrated BG/NBD / one-time-buyer model probability).
    min_calibration_customers
        Fewest customers at the internal cutoff for calibration to be attempted.
    clv_horizon_days
        Add the ``expected_order_value`` and ``clv`` columns (:mod:`recsys.profiles.clv`)
        over this many days (None = no CLV columns; needs prices).
    clv_discount_monthly
        Discount rate per 30-day month of the CLV.
    margin
        Profit margin applied to spend in the CLV (1 = revenue).

    Examples
    --------
    >>> import recsys as rs
    >>> rs.profiles.ProfileConfig(horizon_days=60, dormant_days=45).horizon_days
    60
    """

    horizon_days: int = 90
    new_days: float | None = None
    dormant_days: float | None = None
    churned_days: float | None = None
    rhythm_multiple: float = 2.0
    tier_names: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
    tier_quantiles: tuple[float, ...] = (0.5, 0.8, 0.95)
    tier_spend: tuple[float, ...] | None = None
    tier_frequency: tuple[float, ...] | None = None
    category_column: str = "category"
    top_categories: int = 3
    churn: bool = True
    calibrate_churn: bool = True
    min_calibration_customers: int = 200
    clv_horizon_days: int | None = None
    clv_discount_monthly: float = 0.01
    margin: float = 1.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.horizon_days, bool)
            or not isinstance(self.horizon_days, int)
            or self.horizon_days < 1
        ):
            raise InputDataError(f"horizon_days must be an integer >= 1, got {self.horizon_days!r}")
        for name in ("new_days", "dormant_days", "churned_days"):
            _check_days(name, getattr(self, name))
        if (
            self.dormant_days is not None
            and self.churned_days is not None
            and self.dormant_days > self.churned_days
        ):
            raise InputDataError(
                f"dormant_days ({self.dormant_days}) must not exceed "
                f"churned_days ({self.churned_days})"
            )
        if not (math.isfinite(self.rhythm_multiple) and self.rhythm_multiple > 0):
            raise InputDataError(f"rhythm_multiple must be > 0, got {self.rhythm_multiple!r}")
        if len(self.tier_names) < 2 or len(set(self.tier_names)) != len(self.tier_names):
            raise InputDataError(
                f"tier_names must hold at least 2 distinct names, got {self.tier_names!r}"
            )
        n_cuts = len(self.tier_names) - 1
        _check_ascending("tier_quantiles", tuple(self.tier_quantiles), n_cuts)
        if not all(0 < q < 1 for q in self.tier_quantiles):
            raise InputDataError(f"tier_quantiles must lie in (0, 1), got {self.tier_quantiles!r}")
        if self.tier_spend is not None:
            _check_ascending("tier_spend", tuple(self.tier_spend), n_cuts)
        if self.tier_frequency is not None:
            _check_ascending("tier_frequency", tuple(self.tier_frequency), n_cuts)
        if (
            isinstance(self.top_categories, bool)
            or not isinstance(self.top_categories, int)
            or self.top_categories < 1
        ):
            raise InputDataError(
                f"top_categories must be an integer >= 1, got {self.top_categories!r}"
            )
        if not isinstance(self.category_column, str) or not self.category_column:
            raise InputDataError(
                f"category_column must be a column name, got {self.category_column!r}"
            )
        if self.clv_horizon_days is not None:
            _check_days("clv_horizon_days", self.clv_horizon_days)
        if not (math.isfinite(self.clv_discount_monthly) and self.clv_discount_monthly >= 0):
            raise InputDataError(
                f"clv_discount_monthly must be >= 0, got {self.clv_discount_monthly!r}"
            )
        if not (math.isfinite(self.margin) and self.margin > 0):
            raise InputDataError(f"margin must be > 0, got {self.margin!r}")
        if self.min_calibration_customers < 2:
            raise InputDataError(
                f"min_calibration_customers must be >= 2, got {self.min_calibration_customers!r}"
            )
