"""Experiment design: how many customers per arm, or what effect a given size can detect."""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import optimize, stats

from recsys._validation import Interval, check_param, check_probability
from recsys.exceptions import InputDataError

__all__ = ["SampleSize", "minimum_detectable_effect", "sample_size"]

_POSITIVE = Interval(float, 0, None, closed="neither")
_SMALLEST_MDE = 1e-12


class SampleSize(NamedTuple):
    """Customers needed in the control and the treatment arm.

    Examples
    --------
    >>> SampleSize(100, 200).total
    300
    """

    n_control: int
    n_treatment: int

    @property
    def total(self) -> int:
        return self.n_control + self.n_treatment


def _check_common(alpha: float, power: float, ratio: float) -> tuple[float, float]:
    check_probability("alpha", alpha)
    check_probability("power", power)
    check_param("ratio", ratio, _POSITIVE)
    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def _binary_gap(p0: float, delta: float, n0: float, n1: float, za: float, zb: float) -> float:
    """``δ - z_a sqrt(p̄ q̄ (1/n0 + 1/n1)) - z_b sqrt(p0 q0 / n0 + p1 q1 / n1)``."""
    p1 = p0 + delta
    pbar = (n0 * p0 + n1 * p1) / (n0 + n1)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 / n0 + 1 / n1))
    alt_sd = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    return abs(delta) - za * null_sd - zb * alt_sd


def sample_size(
    baseline_rate: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1,
    *,
    sd: float | None = None,
) -> SampleSize:
    """Customers per arm for a two-sided test to detect an absolute uplift ``mde``.

    Binary outcome (``sd=None``), control rate ``p0 = baseline_rate`` and treatment rate
    ``p1 = p0 + mde``, ``n1 = ratio * n0``, ``p̄ = (p0 + ratio p1) / (1 + ratio)``::

        n0 = (z_{1-α/2} sqrt(p̄ q̄ (1 + 1/ratio)) + z_{power} sqrt(p0 q0 + p1 q1 / ratio))² / mde²

    (the pooled-null, unpooled-alternative formula of Fleiss, without continuity
    correction). Continuous outcome with standard deviation ``sd`` (``baseline_rate`` is
    then the control mean and is not used)::

        n0 = (z_{1-α/2} + z_{power})² sd² (1 + 1/ratio) / mde²

    Both are rounded up.

    Parameters
    ----------
    baseline_rate
        Control conversion / retention rate in (0, 1) (or the control mean if ``sd``).
    mde
        Smallest absolute uplift worth detecting (``p1 - p0``; may be negative).
    alpha
        Two-sided significance level.
    power
        Probability of detecting an uplift of exactly ``mde``.
    ratio
        ``n_treatment / n_control``.
    sd
        Standard deviation of a continuous outcome; ``None`` for a 0/1 outcome.

    Examples
    --------
    Retention 10% -> 12%: ``(1.95996 sqrt(0.11·0.89·2) + 0.84162 sqrt(0.09 + 0.1056))² /
    0.02² = 3840.8``, so 3,841 customers per arm.

    >>> import recsys as rs
    >>> rs.uplift.sample_size(0.10, 0.02)
    SampleSize(n_control=3841, n_treatment=3841)
    >>> rs.uplift.sample_size(50.0, 2.0, sd=20.0).n_control
    1570
    """
    za, zb = _check_common(alpha, power, ratio)
    check_param("mde", mde, Interval(float, None, None))
    if abs(mde) < _SMALLEST_MDE:  # a smaller one underflows mde**2 or overflows the size
        raise InputDataError(f"mde must be at least {_SMALLEST_MDE} in absolute value, got {mde!r}")
    if sd is None:
        check_probability("baseline_rate", baseline_rate)
        p0, p1 = float(baseline_rate), float(baseline_rate) + mde
        if not 0 < p1 < 1:
            raise InputDataError(
                f"baseline_rate + mde must be in (0, 1), got {baseline_rate} + {mde} = {p1}"
            )
        pbar = (p0 + ratio * p1) / (1 + ratio)
        root = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + zb * math.sqrt(
            p0 * (1 - p0) + p1 * (1 - p1) / ratio
        )
        n0 = root**2 / mde**2
    else:
        check_param("sd", sd, _POSITIVE)
        n0 = (za + zb) ** 2 * sd**2 * (1 + 1 / ratio) / mde**2
    n0_int = math.ceil(n0 - 1e-9)
    return SampleSize(n0_int, math.ceil(ratio * n0_int - 1e-9))


def minimum_detectable_effect(
    n_control: int,
    n_treatment: int,
    baseline_rate: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    sd: float | None = None,
) -> float:
    """Smallest positive absolute uplift the experiment detects with the given power.

    Inverts `sample_size`. Binary outcome: the ``δ > 0`` solving
    ``δ = z_{1-α/2} sqrt(p̄ q̄ (1/n0 + 1/n1)) + z_{power} sqrt(p0 q0 / n0 + p1 q1 / n1)``
    with ``p1 = p0 + δ`` (found by Brent's method). Continuous outcome:
    ``δ = (z_{1-α/2} + z_{power}) sd sqrt(1/n0 + 1/n1)``.

    Examples
    --------
    >>> import recsys as rs
    >>> round(rs.uplift.minimum_detectable_effect(3841, 3841, 0.10), 4)
    0.02
    >>> round(rs.uplift.minimum_detectable_effect(1000, 1000, 0.0, sd=1.0), 4)
    0.1253
    """
    for name, value in (("n_control", n_control), ("n_treatment", n_treatment)):
        check_param(name, value, Interval(float, 1, None))
    za, zb = _check_common(alpha, power, 1)
    n0, n1 = float(n_control), float(n_treatment)
    if sd is not None:
        check_param("sd", sd, _POSITIVE)
        return (za + zb) * sd * math.sqrt(1 / n0 + 1 / n1)
    p0 = check_probability("baseline_rate", baseline_rate)
    upper = 1 - p0 - 1e-12
    if _binary_gap(p0, upper, n0, n1, za, zb) < 0:
        raise InputDataError(
            f"no uplift up to 100% is detectable with n_control={n_control}, "
            f"n_treatment={n_treatment} at power {power}"
        )
    return float(optimize.brentq(lambda d: _binary_gap(p0, d, n0, n1, za, zb), 1e-12, upper))
