"""Configuration of `recsys.build_profiles` (lifecycle thresholds, tiers, churn)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from recsys._validation import InstanceOf, Interval, SequenceOf, validate_params
from recsys.exceptions import InputDataError

__all__ = ["ProfileConfig"]


_DAYS = Interval(float, 0, None, closed="neither")
_FRACTION = Interval(float, 0, 1, closed="neither")


def _check_ascending(name: str, values: tuple[float, ...], length: int, what: str) -> None:
    if len(values) != length:
        raise InputDataError(f"ProfileConfig({name}=...) must have {length} {what}, got {values!r}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise InputDataError(
            f"ProfileConfig({name}=...) must be strictly increasing, got {values!r}"
        )


@dataclass(frozen=True)
class ProfileConfig:
    """Thresholds and options of `recsys.build_profiles`.

    Every ``None`` threshold is derived from the data (the default).

    Parameters
    ----------
    horizon_days
        Churn horizon: ``churn_risk`` is the probability of no purchase in
        ``[as_of, as_of + horizon_days)``; the expected-purchases column is
        ``expected_purchases_{horizon_days}d``.
    new_days, dormant_days, churned_days
        Lifecycle thresholds in days. Defaults: the ``lifecycle_quantiles`` of
        all inter-purchase gaps (days between consecutive orders of the same
        customer) before ``as_of``.
    lifecycle_quantiles
        Quantiles of the inter-purchase gaps that give the default ``new_days``,
        ``dormant_days`` and ``churned_days`` (increasing, in (0, 1)).
    fallback_lifecycle_days
        ``new_days``, ``dormant_days`` and ``churned_days`` used (with a
        warning) where not configured when fewer customers have two orders before
        ``as_of`` than the highest quantile needs, ``1 / (1 - q)`` (20 for 0.95:
        `recsys.profiles.lifecycle.min_repeat_customers`).
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
    min_calibration_class
        Fewest customers of each outcome (came back / did not) at the internal
        cutoff for the calibrator to be fitted.
    churn_windows_days
        Short, medium and long windows (days before ``as_of``) of the churn
        calibrator's activity features: orders in the last short, medium and
        long days, and between medium and long days ago.
    churn_decay_days
        Time scales (days) of the calibrator's two exponentially decayed order
        counts, ``sum(exp(-age / scale))`` over the customer's orders.
    clv_horizon_days
        Add the ``expected_order_value`` and ``clv`` columns (`recsys.profiles.clv`)
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
    lifecycle_quantiles: tuple[float, float, float] = (0.5, 0.8, 0.95)
    fallback_lifecycle_days: tuple[float, float, float] = (30.0, 90.0, 180.0)
    min_calibration_class: int = 10
    churn_windows_days: tuple[float, float, float] = (30.0, 90.0, 180.0)
    churn_decay_days: tuple[float, float] = (60.0, 180.0)
    clv_horizon_days: int | None = None
    clv_discount_monthly: float = 0.01
    margin: float = 1.0

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "horizon_days": [Interval(int, 1, None)],
        "new_days": [_DAYS, None],
        "dormant_days": [_DAYS, None],
        "churned_days": [_DAYS, None],
        "rhythm_multiple": [Interval(float, 0, None, closed="neither")],
        "tier_names": [SequenceOf(InstanceOf(str, "a tier name"))],
        "tier_quantiles": [SequenceOf(_FRACTION)],
        "tier_spend": [SequenceOf(Interval(float, None, None)), None],
        "tier_frequency": [SequenceOf(Interval(float, None, None)), None],
        "category_column": [InstanceOf(str, "a column name")],
        "top_categories": [Interval(int, 1, None)],
        "churn": [InstanceOf(bool)],
        "calibrate_churn": [InstanceOf(bool)],
        "min_calibration_customers": [Interval(int, 2, None)],
        "lifecycle_quantiles": [SequenceOf(_FRACTION)],
        "fallback_lifecycle_days": [SequenceOf(_DAYS)],
        "min_calibration_class": [Interval(int, 1, None)],
        "churn_windows_days": [SequenceOf(_DAYS)],
        "churn_decay_days": [SequenceOf(_DAYS)],
        "clv_horizon_days": [_DAYS, None],
        "clv_discount_monthly": [Interval(float, 0, None)],
        "margin": [Interval(float, 0, None, closed="neither")],
    }

    def __post_init__(self) -> None:
        validate_params("ProfileConfig", vars(self), self._parameter_constraints)
        if (
            self.dormant_days is not None
            and self.churned_days is not None
            and self.dormant_days > self.churned_days
        ):
            raise InputDataError(
                f"dormant_days ({self.dormant_days}) must not exceed "
                f"churned_days ({self.churned_days})"
            )
        if len(self.tier_names) < 2 or len(set(self.tier_names)) != len(self.tier_names):
            raise InputDataError(
                f"tier_names must hold at least 2 distinct names, got {self.tier_names!r}"
            )
        cuts = (len(self.tier_names) - 1, "cut points (one per tier above the first)")
        _check_ascending("tier_quantiles", tuple(self.tier_quantiles), *cuts)
        for name in ("tier_spend", "tier_frequency"):
            if getattr(self, name) is not None:
                _check_ascending(name, tuple(getattr(self, name)), *cuts)
        for name, length in (
            ("lifecycle_quantiles", 3),
            ("fallback_lifecycle_days", 3),
            ("churn_windows_days", 3),
            ("churn_decay_days", 2),
        ):
            _check_ascending(name, tuple(getattr(self, name)), length, "values")
