"""Always-valid sequential readout of a retention experiment: `sequential`.

A confidence sequence (CS) for the difference of retention rates
``theta = rate_treatment - rate_control`` that holds at every look simultaneously, so
the readout can be looked at every day and stopped as soon as it excludes 0, with the
false-positive rate still at most ``alpha``. A fixed-sample z-test looked at daily
does not have this property (its chance of ever declaring a non-existent effect in 30
daily looks is several times ``alpha``; see ``benchmarks/bench_retention.py``).

Method: the mixture sequential probability ratio test (mSPRT) of Johari, Koomen,
Pekelis & Walsh (2017, "Peeking at A/B tests", KDD) with a normal mixing
distribution ``theta ~ N(0, tau^2)``, applied to the difference of the cumulative
rates ``theta_hat`` with its plug-in variance
``V = r1 (1 - r1) / n1 + r0 (1 - r0) / n0`` (rates ``r = (successes + 0.5) / (n + 1)``
in ``V`` only, so that ``V > 0`` from the first look). The mixture likelihood ratio is

``Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 theta_hat^2 / (2 V (V + tau^2)))``

and inverting ``Lambda < 1 / alpha`` gives the CS (the normal-mixture boundary of
Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
confidence sequences", Ann. Statist. 49(2), in the Gaussian case):

``theta_hat +- sqrt(V (V + tau^2) / tau^2 * (2 log(1 / alpha) + log((V + tau^2) / V)))``.

``tau`` is the scale of effects the test is tuned to detect fastest; the default
``tau = 0.05`` (5 percentage points of retention) suits retention campaigns, whose
effects are typically 1-10 points. The guarantee holds for any ``tau`` (asymptotically,
through the normal approximation of the rates); only power depends on it. The
always-valid p-value is ``min(1, 1 / max_{looks so far} Lambda)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys._validation import Interval, check_param, check_probability
from recsys.data.sources import FrameLike
from recsys.exceptions import InputDataError
from recsys.uplift._checks import (
    as_frame,
    check_finite_column,
    is_binary_column,
    require_columns,
    to_float_array,
)

__all__ = ["confidence_sequence", "sequential"]


def confidence_sequence(
    estimate: Any, variance: Any, alpha: float = 0.05, tau: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal-mixture CS bounds and mixture likelihood ratio for estimates with variance ``V``.

    Parameters
    ----------
    estimate
        Estimates (a number or a 1-D sequence), finite.
    variance
        Their variances, finite and > 0: one per estimate, or one number for all.
    alpha
        Error rate over all looks together, in (0, 1).
    tau
        Standard deviation of the normal mixing distribution, > 0.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(low, high, likelihood_ratio)`` per estimate; see
        `recsys.uplift.sequential_readout`.

    Raises
    ------
    InputDataError
        ``alpha`` or ``tau`` out of range or not a number; an estimate or a
        variance that is not a finite number (or a variance <= 0); lengths
        that differ.

    Examples
    --------
    >>> low, high, lr = confidence_sequence(0.02, 0.01**2, alpha=0.05, tau=0.05)
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (-0.011, 0.051)
    """
    alpha, tau = _check_levels(alpha, tau)
    theta = to_float_array(np.atleast_1d(_as_numbers(estimate, "estimate")), "estimate")
    v = to_float_array(np.atleast_1d(_as_numbers(variance, "variance")), "variance")
    if v.size == 1:
        v = np.full(theta.size, v[0])
    if v.size != theta.size:
        raise InputDataError(
            f"estimate and variance must have the same length (or one variance for all), "
            f"got {theta.size} and {v.size}"
        )
    if np.any(v <= 0):
        raise InputDataError(
            f"variance must be > 0, got {int(np.count_nonzero(v <= 0))} values <= 0"
        )
    return _boundary(theta, v, alpha, tau)


_TAU = Interval(float, 0, None, closed="neither")


def _check_levels(alpha: Any, tau: Any) -> tuple[float, float]:
    return check_probability("alpha", alpha), float(check_param("tau", tau, _TAU))


def _as_numbers(values: Any, name: str) -> np.ndarray:
    """``values`` as an array of numbers: text is refused, not parsed."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise InputDataError(f"{name} must be numbers, got {values!r}")
    return array


def _boundary(
    theta: np.ndarray, v: np.ndarray, alpha: float, tau: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CS bounds and likelihood ratio (checked input; NaN passes through)."""
    t2 = tau**2
    half = np.sqrt(v * (v + t2) / t2 * (2.0 * math.log(1.0 / alpha) + np.log((v + t2) / v)))
    log_lr = 0.5 * np.log(v / (v + t2)) + t2 * theta**2 / (2.0 * v * (v + t2))
    return theta - half, theta + half, np.exp(np.minimum(log_lr, 700.0))


def _plugin_variance(s1: np.ndarray, n1: np.ndarray, s0: np.ndarray, n0: np.ndarray) -> np.ndarray:
    r1 = (s1 + 0.5) / (n1 + 1.0)
    r0 = (s0 + 0.5) / (n0 + 1.0)
    return np.asarray(r1 * (1.0 - r1) / n1 + r0 * (1.0 - r0) / n0)


def _readout(
    s1: np.ndarray, n1: np.ndarray, s0: np.ndarray, n0: np.ndarray, alpha: float, tau: float
) -> dict[str, np.ndarray]:
    """Per-look statistics from cumulative successes and counts (arrays over looks)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate1, rate0 = s1 / n1, s0 / n0
        theta = rate1 - rate0
        v = _plugin_variance(s1, n1, s0, n0)
        low, high, lr = _boundary(theta, v, alpha, tau)
        z = theta / np.sqrt(v)
    valid = (n1 > 0) & (n0 > 0)
    rejected = valid & ((low > 0) | (high < 0))
    lr_max = np.maximum.accumulate(np.where(valid, lr, 0.0))
    return {
        "rate": rate1,
        "control_rate": rate0,
        "estimate": theta,
        "cs_low": low,
        "cs_high": high,
        "p_value": np.where(valid, np.minimum(1.0, 1.0 / np.maximum(lr_max, 1e-300)), 1.0),
        "rejected": rejected,
        "rejected_ever": np.logical_or.accumulate(rejected),
        "z": z,
        "p_value_fixed": np.where(valid, 2.0 * stats.norm.sf(np.abs(z)), 1.0),
    }


def sequential(
    frame: FrameLike,
    arm: str,
    control: Any,
    outcome: str,
    time: str | None = None,
    *,
    unit: str | None = None,
    alpha: float = 0.05,
    tau: float = 0.05,
) -> pl.DataFrame:
    """Always-valid readout of retention rates, one row per look and treatment arm.

    The method is described in `recsys.uplift.sequential_readout`.

    Parameters
    ----------
    frame
        One row per unit: its ``arm``, its 0/1 ``outcome`` (retained or not) and,
        optionally, the ``time`` its outcome became known.
    arm
        Arm column; every value other than ``control`` is a treatment arm.
    control
        The control arm's value.
    outcome
        Binary outcome column (0/1 or boolean).
    time
        Look column (a date, a day number, ...): look ``t`` uses every row with
        ``time <= t``, one look per distinct value. ``None``: one look on all rows.
    unit
        Optional unit id column, checked so that no unit is in two arms.
    alpha
        Error rate over all looks together.
    tau
        Standard deviation of the normal mixing distribution of the effect.

    Returns
    -------
    pl.DataFrame
        ``arm, [time], n, rate, control_n, control_rate, estimate, cs_low, cs_high,
        p_value`` (always valid), ``rejected`` (the CS at this look excludes 0),
        ``rejected_ever`` (at this or an earlier look), ``z`` and ``p_value_fixed``
        (the fixed-sample z-test, for comparison only: not valid under peeking).
        Looks before an arm has any unit have ``n`` 0, NaN estimates and
        ``rejected`` false.

    Raises
    ------
    InputDataError
        Missing columns, a non-binary or null outcome, no control rows, no
        treatment arm (an experiment with one arm), a unit in two arms, ``alpha`` or
        ``tau`` out of range.

    Examples
    --------
    >>> import numpy as np, polars as pl, recsys as rs
    >>> rng = np.random.default_rng(0)
    >>> n = 20000
    >>> arms = rng.choice(["treatment", "control"], size=n, p=[0.5, 0.5])
    >>> retained = rng.random(n) < np.where(arms == "treatment", 0.25, 0.20)
    >>> df = pl.DataFrame({"arm": arms, "retained": retained, "day": rng.integers(1, 31, n)})
    >>> readout = rs.uplift.sequential(df, "arm", "control", "retained", time="day")
    >>> readout.height
    30
    >>> int(readout.filter("rejected")["day"].min())  # first day the CS excludes 0
    4
    """
    alpha, tau = _check_levels(alpha, tau)
    df = as_frame(frame, "frame")
    require_columns(df, "frame", {"arm": arm, "outcome": outcome, "time": time, "unit": unit})
    check_finite_column(df, outcome, "outcome")
    if not is_binary_column(df, outcome):
        raise InputDataError(
            f"outcome column {outcome!r} must be 0/1 or boolean (retained or not) for a "
            "difference of retention rates"
        )
    if df[arm].null_count():
        raise InputDataError(f"arm column {arm!r} has {df[arm].null_count()} null values")
    if time is not None and df[time].null_count():
        raise InputDataError(f"time column {time!r} has {df[time].null_count()} null values")
    if unit is not None:
        both = df.group_by(unit).agg(pl.col(arm).n_unique().alias("k")).filter(pl.col("k") > 1)
        if both.height:
            raise InputDataError(
                f"{both.height} unit(s) of column {unit!r} appear in more than one arm, e.g. "
                f"{both[unit][0]!r}: the assignment or the logging is broken"
            )
    arm_values = df[arm].unique().sort().to_list()
    if control not in arm_values:
        raise InputDataError(f"arm column {arm!r} has no control rows {control!r}: {arm_values}")
    treatments = [a for a in arm_values if a != control]
    if not treatments:
        raise InputDataError(
            f"arm column {arm!r} holds only the control arm {control!r}: an experiment with "
            "one arm has nothing to compare"
        )
    y = pl.col(outcome).cast(pl.Float64)
    key = [time] if time is not None else []
    counts = df.group_by(arm, *key).agg(pl.len().alias("_n"), y.sum().alias("_s"))
    looks = (
        df.select(pl.col(time).unique().sort()) if time is not None else pl.DataFrame({"_": [0]})
    )

    def cumulative(value: Any) -> tuple[np.ndarray, np.ndarray]:
        rows = counts.filter(pl.col(arm) == value)
        if time is None:
            return rows["_n"].to_numpy().astype(float), rows["_s"].to_numpy().astype(float)
        joined = looks.join(rows, on=time, how="left", maintain_order="left").fill_null(0)
        return (
            np.cumsum(joined["_n"].to_numpy().astype(float)),
            np.cumsum(joined["_s"].to_numpy().astype(float)),
        )

    n0, s0 = cumulative(control)
    parts = []
    for value in treatments:
        n1, s1 = cumulative(value)
        stats_ = _readout(s1, n1, s0, n0, alpha, tau)
        part = pl.DataFrame(
            {
                "arm": [value] * looks.height,
                **({time: looks[time]} if time is not None else {}),
                "n": n1.astype(np.int64),
                "control_n": n0.astype(np.int64),
                **stats_,
            }
        )
        parts.append(part)
    out = pl.concat(parts)
    order = ["arm", *key, "n", "rate", "control_n", "control_rate", "estimate", "cs_low"]
    return out.select(*order, pl.exclude(order))
