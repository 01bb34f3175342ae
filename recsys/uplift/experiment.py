"""Uplift of a randomized experiment: one control arm, one or more treatment arms.

The table is computed from per-(segment, arm) sufficient statistics (count, sum, sum of
squares, and the covariate's moments for CUPED), so ten million rows cost one group-by.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys._validation import check_positive_int
from recsys.exceptions import DataWarning, InputDataError
from recsys.uplift._checks import (
    as_frame,
    check_confidence,
    check_finite_column,
    is_binary_column,
    require_columns,
)
from recsys.uplift._stats import (
    holm,
    newcombe_interval,
    relative_interval_binary,
    relative_interval_means,
    two_proportion_p_value,
    wald_interval,
    welch,
    z_value,
)

__all__ = ["sample_ratio_mismatch", "uplift_table"]

_METHODS = ("newcombe", "wald", "welch", "bootstrap")
_OUTCOME_TYPES = ("auto", "binary", "continuous")


def sample_ratio_mismatch(
    counts: dict[Any, int], expected_ratio: dict[Any, float] | None = None
) -> float:
    """p-value of Pearson's chi-square test that arm sizes match the planned split.

    ``X² = Σ (n_a - N π_a)² / (N π_a)`` on ``k - 1`` degrees of freedom, where ``π_a`` is
    the planned share of arm ``a`` (equal shares by default). A tiny p-value (below
    0.001 by convention) means the randomization or the logging is broken, and no
    uplift read from the experiment can be trusted.

    Examples
    --------
    >>> round(sample_ratio_mismatch({"control": 5000, "email": 5200}), 4)
    0.0477
    """
    arms = list(counts)
    observed = np.array([counts[a] for a in arms], dtype=np.float64)
    if expected_ratio is None:
        shares = np.full(len(arms), 1 / len(arms))
    else:
        missing = [a for a in arms if a not in expected_ratio]
        if missing:
            raise InputDataError(f"expected_ratio has no share for arms {missing}")
        shares = np.array([float(expected_ratio[a]) for a in arms])
        if np.any(shares <= 0):
            raise InputDataError(f"expected_ratio shares must be > 0, got {expected_ratio}")
        shares = shares / shares.sum()
    expected = observed.sum() * shares
    return float(stats.chisquare(observed, expected).pvalue)


def uplift_table(
    frame: Any,
    arm: str,
    outcome: str,
    control: Any,
    by: str | None = None,
    confidence: float = 0.95,
    method: str | None = None,
    covariate: str | None = None,
    seed: int = 0,
    *,
    outcome_type: str = "auto",
    n_resamples: int = 2000,
    expected_ratio: dict[Any, float] | None = None,
    srm_alpha: float = 0.001,
) -> pl.DataFrame:
    """Uplift of each treatment arm over the control arm, with intervals and p-values.

    For randomized experiments: one row per customer with the arm they were assigned to
    and the outcome measured afterwards.

    Parameters
    ----------
    frame
        polars or pandas frame (or file path), one row per randomized unit.
    arm
        Column naming the assigned arm.
    outcome
        Column with the outcome: 0/1 (retained, visited, converted) or a number (spend,
        orders). Nulls and NaN are refused.
    control
        The value of ``arm`` that marks the control (holdout) group.
    by
        Optional segment column: one table per segment, plus a test of whether the uplift
        differs across segments (``heterogeneity_q``, ``heterogeneity_p``).
    confidence
        Coverage of the intervals (0.95).
    method
        Interval for the absolute uplift ``uplift = rate_arm - rate_control``:

        * ``"newcombe"`` (default for 0/1 outcomes): Newcombe's hybrid score interval
          (his method 10) from the two Wilson intervals ``[l, u]``::

              low  = d - sqrt((p1 - l1)² + (u0 - p0)²)
              high = d + sqrt((u1 - p1)² + (p0 - l0)²)

          It keeps its coverage at small n and near 0% / 100% (Newcombe 1998).
        * ``"wald"``: ``d ± z sqrt(p1 q1 / n1 + p0 q0 / n0)`` (means: ``d ± z se``).
        * ``"welch"`` (default for continuous outcomes): ``d ± t_df se`` with
          ``se = sqrt(s1²/n1 + s0²/n0)`` and the Welch-Satterthwaite ``df``.
        * ``"bootstrap"``: percentile interval of ``n_resamples`` resamples of the rows
          of each arm (for 0/1 outcomes drawn exactly as ``Binomial(n, p̂)``).

        ``"newcombe"`` needs a 0/1 outcome.
    covariate
        Optional pre-period column for CUPED (Deng et al. 2013): the outcome is replaced
        by ``y - θ (x - x̄)`` with ``θ = cov(x, y) / var(x)`` pooled over the arms of a
        segment; the uplift is the difference of the adjusted means, with a Welch (or
        bootstrap) interval, and ``variance_reduction = 1 - se_adj² / se²`` reports what
        the adjustment bought. The p-value is Welch's on the adjusted outcome.
    seed
        Seed of the bootstrap.
    outcome_type
        ``"auto"`` (0/1 values -> binary, else continuous), ``"binary"`` (raise unless
        0/1) or ``"continuous"``.
    n_resamples
        Bootstrap resamples (``method="bootstrap"`` only).
    expected_ratio
        Planned share of each arm, e.g. ``{"control": 1, "email": 3}``; equal by default.
        Used by the sample-ratio-mismatch check.
    srm_alpha
        A :class:`DataWarning` is issued when the sample-ratio-mismatch p-value
        (chi-square on the arm sizes, see :func:`sample_ratio_mismatch`) is below it.

    Returns
    -------
    polars.DataFrame
        One row per treatment arm (and segment): ``[by,] arm, n, rate, control_n,
        control_rate, uplift, ci_low, ci_high, relative_uplift, relative_ci_low,
        relative_ci_high, p_value, p_value_holm, srm_p_value`` (``rate`` is the mean for
        continuous outcomes), plus ``variance_reduction, theta`` with ``covariate`` and
        ``heterogeneity_q, heterogeneity_p`` with ``by``.

        * ``relative_uplift = rate / control_rate - 1``; for 0/1 outcomes its interval is
          Katz's log risk-ratio interval ``exp(log RR ± z sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0))
          - 1`` (0.5 added to the counts when one is 0 or n), for means the delta method,
          for the bootstrap the percentile interval of the ratio.
        * ``p_value``: two-sided; pooled two-proportion z-test for 0/1 outcomes (equal to
          Pearson's chi-square on the 2x2 table), Welch's t-test for means.
        * ``p_value_holm``: Holm-adjusted over the treatment arms (within a segment).
        * ``heterogeneity_q``: Cochran's ``Q = Σ w_s (d_s - d̄)²`` with ``w_s = 1/se_s²``
          over the segments of an arm; ``heterogeneity_p`` its chi-square(S - 1) p-value.

    Raises
    ------
    InputDataError
        A named column is missing; ``control`` is not a value of ``arm``; there is no
        treatment arm; a segment lacks an arm; the outcome has nulls/NaN or is not 0/1 for
        a binary method; an unknown ``method``/``outcome_type``.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> frame = pl.DataFrame({
    ...     "arm": ["control"] * 100 + ["email"] * 100,
    ...     "visit": [1] * 20 + [0] * 80 + [1] * 30 + [0] * 70,
    ... })
    >>> t = rs.uplift.uplift_table(frame, arm="arm", outcome="visit", control="control")
    >>> t.select("arm", "rate", "control_rate", "uplift").row(0)
    ('email', 0.3, 0.2, 0.09999999999999998)
    >>> round(t["ci_low"][0], 4), round(t["ci_high"][0], 4), round(t["p_value"][0], 4)
    (-0.0202, 0.2167, 0.1025)
    """
    confidence = check_confidence(confidence)
    df = as_frame(frame, "frame")
    require_columns(df, "frame", {"arm": arm, "outcome": outcome, "by": by, "covariate": covariate})
    if outcome_type not in _OUTCOME_TYPES:
        raise InputDataError(f"outcome_type must be one of {_OUTCOME_TYPES}, got {outcome_type!r}")
    if method is not None and method not in _METHODS:
        raise InputDataError(f"method must be one of {_METHODS} or None, got {method!r}")
    if method == "bootstrap":
        n_resamples = check_positive_int("n_resamples", n_resamples)
    if df.height == 0:
        raise InputDataError("frame has no rows")
    check_finite_column(df, outcome, "outcome")
    if covariate is not None:
        check_finite_column(df, covariate, "covariate")
    for column, parameter in ((arm, "arm"), (by, "by")):
        if column is not None and df[column].null_count():
            raise InputDataError(
                f"{parameter} column {column!r} has {df[column].null_count()} null values"
            )

    binary_values = is_binary_column(df, outcome)
    if outcome_type == "binary" and not binary_values:
        raise InputDataError(
            f"outcome column {outcome!r} must hold only 0/1 values for outcome_type='binary'"
        )
    binary = binary_values if outcome_type == "auto" else outcome_type == "binary"
    if method is None:
        method = "newcombe" if binary and covariate is None else "welch"
    if method == "newcombe" and not binary:
        raise InputDataError(
            f"method='newcombe' needs a 0/1 outcome, but column {outcome!r} has other values; "
            "use method='welch' (difference in means) or outcome_type='continuous'"
        )
    if method == "newcombe" and covariate is not None:
        raise InputDataError(
            "CUPED (covariate=) makes the outcome continuous; use method='welch', 'wald' "
            "or 'bootstrap'"
        )

    arms = _arm_values(df, arm)
    if control not in arms:
        raise InputDataError(
            f"control={control!r} is not a value of arm column {arm!r}; arms are {arms}"
        )
    treatments = [a for a in arms if a != control]
    if not treatments:
        raise InputDataError(
            f"arm column {arm!r} holds only the control {control!r}: no treatment arm to compare"
        )

    counts = dict(df.group_by(arm).len().iter_rows())
    srm_p = sample_ratio_mismatch({a: counts[a] for a in arms}, expected_ratio)
    if srm_p < srm_alpha:
        warnings.warn(
            f"sample ratio mismatch: arm sizes { {a: counts[a] for a in arms} }"
            f" are unlikely under the planned split (chi-square p = {srm_p:.2g}); check the "
            "randomization and logging before trusting the uplift",
            DataWarning,
            stacklevel=2,
        )

    segment_values: list[Any] = [None] if by is None else df[by].unique().sort().to_list()
    stats_frame = _sufficient_statistics(df, arm, outcome, by, covariate)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for segment in segment_values:
        seg = stats_frame if by is None else stats_frame.filter(pl.col(by) == segment)
        per_arm = {r[arm]: r for r in seg.iter_rows(named=True)}
        for a in arms:
            if a not in per_arm:
                raise InputDataError(
                    f"arm {a!r} has no rows in segment {by}={segment!r} (zero-size arm)"
                )
        seg_rows = _compare(
            per_arm,
            control,
            treatments,
            binary,
            method,
            confidence,
            covariate,
            rng,
            n_resamples,
            df,
            arm,
            outcome,
            by,
            segment,
        )
        p_holm = holm(np.array([r["p_value"] for r in seg_rows]))
        for r, ph in zip(seg_rows, p_holm, strict=True):
            r["p_value_holm"] = float(ph)
            r["srm_p_value"] = srm_p
            if by is not None:
                r = {by: segment, **r}
            rows.append(r)
    table = pl.DataFrame(rows)
    if by is not None:
        table = _add_heterogeneity(table, by)
    return table.drop("_se")


def _arm_values(df: pl.DataFrame, arm: str) -> list[Any]:
    present = df[arm].unique().sort().to_list()
    dtype = df.schema[arm]
    if isinstance(dtype, pl.Enum):
        declared = list(dtype.categories.to_list())
        empty = [c for c in declared if c not in present]
        if empty:
            raise InputDataError(f"arm column {arm!r} declares arms {empty} with no rows")
    return present


def _column_mean(df: pl.DataFrame, column: str) -> float:
    return float(df.select(pl.col(column).cast(pl.Float64).mean()).item() or 0.0)


def _sufficient_statistics(
    df: pl.DataFrame, arm: str, outcome: str, by: str | None, covariate: str | None
) -> pl.DataFrame:
    # Centre on the global mean before summing squares: no catastrophic cancellation.
    y_shift = _column_mean(df, outcome)
    y = pl.col(outcome).cast(pl.Float64) - y_shift
    aggs = [pl.len().alias("n"), y.sum().alias("sy"), (y * y).sum().alias("syy")]
    if covariate is not None:
        x_shift = _column_mean(df, covariate)
        x = pl.col(covariate).cast(pl.Float64) - x_shift
        aggs += [x.sum().alias("sx"), (x * x).sum().alias("sxx"), (x * y).sum().alias("sxy")]
    keys = [arm] if by is None else [by, arm]
    out = df.group_by(keys).agg(aggs)
    return out.with_columns(y_shift=pl.lit(y_shift))


def _moments(r: dict[str, Any]) -> tuple[float, float, float]:
    n = r["n"]
    mean = r["sy"] / n
    var = (r["syy"] - n * mean * mean) / (n - 1) if n > 1 else 0.0
    return n, mean + r["y_shift"], max(var, 0.0)


def _compare(
    per_arm: dict[Any, dict[str, Any]],
    control: Any,
    treatments: list[Any],
    binary: bool,
    method: str,
    confidence: float,
    covariate: str | None,
    rng: np.random.Generator,
    n_resamples: int,
    df: pl.DataFrame,
    arm: str,
    outcome: str,
    by: str | None,
    segment: Any,
) -> list[dict[str, Any]]:
    z = z_value(confidence)
    alpha = 1 - confidence
    theta = 0.0
    lo: Any
    hi: Any
    rlo: Any
    rhi: Any
    if covariate is not None:
        theta = _cuped_theta(per_arm)
    n0, m0, v0 = _moments(per_arm[control])
    out = []
    for a in treatments:
        n1, m1, v1 = _moments(per_arm[a])
        row: dict[str, Any] = {
            "arm": a,
            "n": n1,
            "rate": m1,
            "control_n": n0,
            "control_rate": m0,
        }
        if covariate is not None:
            a1, av1 = _cuped_arm(per_arm[a], per_arm, theta)
            a0, av0 = _cuped_arm(per_arm[control], per_arm, theta)
            d = a1 - a0
            lo, hi, p, se = welch(a1, av1, n1, a0, av0, n0, confidence, normal=method == "wald")
            _, _, _, se_raw = welch(m1, v1, n1, m0, v0, n0, confidence)
            rel, rlo, rhi = relative_interval_means(d, se, m0, np.sqrt(v0 / n0), -av0 / n0, z)
            if method == "bootstrap":
                lo, hi, rlo, rhi = _bootstrap_means(
                    df,
                    arm,
                    outcome,
                    by,
                    segment,
                    a,
                    control,
                    covariate,
                    theta,
                    per_arm,
                    rng,
                    n_resamples,
                    alpha,
                )
            cuped_columns = {
                "variance_reduction": float(1 - se**2 / se_raw**2) if se_raw > 0 else 0.0,
                "theta": theta,
            }
        elif binary:
            x1, x0 = round(m1 * n1), round(m0 * n0)
            d = x1 / n1 - x0 / n0
            p = two_proportion_p_value(x1, n1, x0, n0)
            rel, rlo, rhi = relative_interval_binary(x1, n1, x0, n0, z)
            if method == "newcombe":
                lo, hi = newcombe_interval(x1, n1, x0, n0, z)
            elif method == "wald":
                lo, hi = wald_interval(x1, n1, x0, n0, z)
            elif method == "welch":
                lo, hi, p, _ = welch(m1, v1, n1, m0, v0, n0, confidence)
            else:
                r1 = rng.binomial(int(n1), x1 / n1, size=n_resamples) / n1
                r0 = rng.binomial(int(n0), x0 / n0, size=n_resamples) / n0
                lo, hi = np.quantile(r1 - r0, [alpha / 2, 1 - alpha / 2])
                if lo == hi:
                    warnings.warn(
                        f"bootstrap interval of arm {a!r} has zero width (both arms at 0% or "
                        "100%); use method='newcombe' for a meaningful interval",
                        DataWarning,
                        stacklevel=4,
                    )
                if x0 > 0:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratios = r1 / r0 - 1
                    rlo, rhi = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
            # Shrunk rates (x + 0.5) / (n + 1) keep the heterogeneity weight finite at 0%, 100%.
            s1, s0 = (x1 + 0.5) / (n1 + 1), (x0 + 0.5) / (n0 + 1)
            se = np.sqrt(s1 * (1 - s1) / n1 + s0 * (1 - s0) / n0)
        else:
            d = m1 - m0
            lo, hi, p, se = welch(m1, v1, n1, m0, v0, n0, confidence, normal=method == "wald")
            rel, rlo, rhi = relative_interval_means(d, se, m0, np.sqrt(v0 / n0), -v0 / n0, z)
            if method == "bootstrap":
                lo, hi, rlo, rhi = _bootstrap_means(
                    df,
                    arm,
                    outcome,
                    by,
                    segment,
                    a,
                    control,
                    None,
                    0.0,
                    per_arm,
                    rng,
                    n_resamples,
                    alpha,
                )
        row.update(
            uplift=d,
            ci_low=lo,
            ci_high=hi,
            relative_uplift=rel,
            relative_ci_low=rlo,
            relative_ci_high=rhi,
            p_value=p,
        )
        if covariate is not None:
            row.update(cuped_columns)
        row["_se"] = se
        out.append(
            {
                k: (float(v) if isinstance(v, (np.ndarray, np.floating)) else v)
                for k, v in row.items()
            }
        )
    return out


def _cuped_theta(per_arm: dict[Any, dict[str, Any]]) -> float:
    n = sum(r["n"] for r in per_arm.values())
    sx = sum(r["sx"] for r in per_arm.values())
    sy = sum(r["sy"] for r in per_arm.values())
    sxx = sum(r["sxx"] for r in per_arm.values())
    sxy = sum(r["sxy"] for r in per_arm.values())
    var_x = sxx - sx * sx / n
    if var_x <= 0:
        warnings.warn(
            "covariate is constant: CUPED cannot reduce variance (theta = 0)",
            DataWarning,
            stacklevel=5,
        )
        return 0.0
    return float((sxy - sx * sy / n) / var_x)


def _cuped_arm(
    r: dict[str, Any], per_arm: dict[Any, dict[str, Any]], theta: float
) -> tuple[float, float]:
    """Mean and variance (ddof 1) of ``y - θ (x - x̄)`` within one arm, from sums."""
    n = r["n"]
    x_bar_all = sum(q["sx"] for q in per_arm.values()) / sum(q["n"] for q in per_arm.values())
    my, mx = r["sy"] / n, r["sx"] / n
    mean = my - theta * (mx - x_bar_all) + r["y_shift"]
    if n < 2:
        return mean, 0.0
    vy = (r["syy"] - n * my * my) / (n - 1)
    vx = (r["sxx"] - n * mx * mx) / (n - 1)
    cxy = (r["sxy"] - n * mx * my) / (n - 1)
    return mean, max(vy - 2 * theta * cxy + theta * theta * vx, 0.0)


def _bootstrap_means(
    df: pl.DataFrame,
    arm: str,
    outcome: str,
    by: str | None,
    segment: Any,
    treatment: Any,
    control: Any,
    covariate: str | None,
    theta: float,
    per_arm: dict[Any, dict[str, Any]],
    rng: np.random.Generator,
    n_resamples: int,
    alpha: float,
) -> tuple[float, float, float, float]:
    seg = df if by is None else df.filter(pl.col(by) == segment)
    means = []
    for a in (treatment, control):
        rows = seg.filter(pl.col(arm) == a)
        y = rows[outcome].cast(pl.Float64).to_numpy()
        if covariate is not None:
            x = rows[covariate].cast(pl.Float64).to_numpy()
            x_bar = sum(q["sx"] for q in per_arm.values()) / sum(q["n"] for q in per_arm.values())
            y = y - theta * (x - x_bar - _column_mean(df, covariate))
        draws = np.empty(n_resamples)
        for b in range(n_resamples):
            draws[b] = y[rng.integers(0, y.size, y.size)].mean()
        means.append(draws)
    diffs = means[0] - means[1]
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    rlo = rhi = float("nan")
    if np.all(means[1] != 0):
        rlo, rhi = np.quantile(means[0] / means[1] - 1, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi), float(rlo), float(rhi)


def _add_heterogeneity(table: pl.DataFrame, by: str) -> pl.DataFrame:
    """Cochran's Q across segments, per treatment arm."""
    out = []
    for arm_value in table["arm"].unique(maintain_order=True).to_list():
        part = table.filter(pl.col("arm") == arm_value)
        d = part["uplift"].to_numpy()
        se = part["_se"].to_numpy()
        ok = np.isfinite(se) & np.isfinite(d)
        q, p = float("nan"), float("nan")
        if ok.sum() >= 2:
            w = 1 / se[ok] ** 2
            d_bar = np.sum(w * d[ok]) / np.sum(w)
            q = float(np.sum(w * (d[ok] - d_bar) ** 2))
            p = float(stats.chi2.sf(q, ok.sum() - 1))
        else:
            warnings.warn(
                f"arm {arm_value!r}: fewer than 2 segments with a defined uplift, so the "
                "heterogeneity test is undefined (NaN)",
                DataWarning,
                stacklevel=3,
            )
        out.append(part.with_columns(heterogeneity_q=pl.lit(q), heterogeneity_p=pl.lit(p)))
    return pl.concat(out).sort([by, "arm"])
