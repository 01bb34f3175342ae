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


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputDataError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_quantiles(name: str, values: tuple[float, ...], length: int, what: str) -> None:
    _check_ascending(name, values, length, what)
    if not all(0 < q < 1 for q in values):
        raise InputDataError(f"{name} must lie in (0, 1), got {values!r}")


def _check_ascending(
    name: str,
    values: tuple[float, ...],
    length: int,
    what: str = "cut points (one per tier above the first)",
) -> None:
    if len(values) != length:
        raise InputDataError(f"{name} must have {length} {what}, got {len(values)}")
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
        Lifecycle thresholds in days. Defaults: the ``lifecycle_quantiles`` of
        all inter-purchase gaps (days between consecutive orders of the same
        customer) before ``as_of``.
    lifecycle_quantiles
        Quantiles of the inter-purchase gaps that give the default ``new_days``,
        ``dormant_days`` and ``churned_days`` (increasing, in (0, 1)).
    fallback_lifecycle_days
        ``new_days``, ``dormant_days`` and ``churned_days`` used (with a
        warning) where not configured when no customer has two orders before
        ``as_of`` (no gaps to take quantiles of).
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

    def __post_init__(self) -> None:
        _check_int("horizon_days", self.horizon_days, 1)
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
        _check_quantiles(
            "tier_quantiles",
            tuple(self.tier_quantiles),
            n_cuts,
            "cut points (one per tier above the first)",
        )
        if self.tier_spend is not None:
            _check_ascending("tier_spend", tuple(self.tier_spend), n_cuts)
        if self.tier_frequency is not None:
            _check_ascending("tier_frequency", tuple(self.tier_frequency), n_cuts)
        _check_int("top_categories", self.top_categories, 1)
        if not isinstance(self.category_column, str) or not self.category_column:
            raise InputDataError(
                f"category_column must be a column name, got {self.category_column!r}"
            )
        if self.min_calibration_customers < 2:
            raise InputDataError(
                f"min_calibration_customers must be >= 2, got {self.min_calibration_customers!r}"
            )
        _check_quantiles("lifecycle_quantiles", tuple(self.lifecycle_quantiles), 3, "values")
        for name, length in (
            ("fallback_lifecycle_days", 3),
            ("churn_windows_days", 3),
            ("churn_decay_days", 2),
        ):
            values = tuple(getattr(self, name))
            for value in values:
                _check_days(name, value)
            _check_ascending(name, values, length, "values")
        _check_int("min_calibration_class", self.min_calibration_class, 1)
