"""Uplift of a randomized experiment: one control arm, one or more treatment arms.

The table is computed from per-(segment, arm) sufficient statistics (count, mean,
variance, and the covariate's moments for CUPED). Each group's values are sorted and
summed by numpy in that fixed order, so the table is bit-identical whatever the thread
count, the row order of the input, or how many times it is computed (a parallel float
group-by is none of these).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys._validation import Interval, check_param, check_positive_int, check_probability
from recsys.data.sources import FrameLike
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import (
    bootstrap_means,
    holm,
    newcombe_interval,
    percentile_ci,
    relative_interval_binary,
    relative_interval_means,
    two_proportion_p_value,
    wald_interval,
    welch,
    z_value,
)
from recsys.uplift._checks import (
    as_frame,
    check_finite_column,
    is_binary_column,
    require_columns,
)

__all__ = ["sample_ratio_mismatch", "uplift_table"]

_METHODS = ("newcombe", "wald", "welch", "bootstrap")
_OUTCOME_TYPES = ("auto", "binary", "continuous")
_RELATIVE = ("relative_uplift", "relative_ci_low", "relative_ci_high")


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
    if not isinstance(counts, Mapping) or len(counts) < 2:
        raise InputDataError(f"counts must map at least two arms to their sizes, got {counts!r}")
    arms = list(counts)
    for arm in arms:
        check_param(f"counts[{arm!r}]", counts[arm], Interval(int, 0, None))
    observed = np.array([counts[a] for a in arms], dtype=np.float64)
    if observed.sum() == 0:
        raise InputDataError("counts are all 0: no unit to test")
    if expected_ratio is None:
        shares = np.full(len(arms), 1 / len(arms))
    else:
        missing = [a for a in arms if a not in expected_ratio]
        if missing:
            raise InputDataError(f"expected_ratio has no share for arms {missing}")
        for arm in arms:
            check_param(
                f"expected_ratio[{arm!r}]",
                expected_ratio[arm],
                Interval(float, 0, None, closed="neither"),
            )
        shares = np.array([float(expected_ratio[a]) for a in arms])
        shares = shares / shares.sum()
    expected = observed.sum() * shares
    return float(stats.chisquare(observed, expected).pvalue)


def uplift_table(
    frame: FrameLike,
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
    bootstrap: int = 2000,
    expected_ratio: dict[Any, float] | None = None,
    srm_alpha: float = 0.001,
    unit: str | None = None,
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
        * ``"bootstrap"``: percentile interval of ``bootstrap`` resamples of the rows of
          each arm, drawn by the engine of `recsys.stats` (each arm of each segment
          its own stream of ``seed``; the arm's values are sorted first, so the result
          does not depend on the row order).

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
    bootstrap
        Number of bootstrap resamples (``method="bootstrap"`` only).
    expected_ratio
        Planned share of each arm, e.g. ``{"control": 1, "email": 3}``; equal by default.
        Used by the sample-ratio-mismatch check.
    srm_alpha
        A `DataWarning` is issued when the sample-ratio-mismatch p-value
        (chi-square on the arm sizes, see `sample_ratio_mismatch`) is below it.
    unit
        The unit column (e.g. ``"user_id"``): each unit must have one row (one
        outcome), else `InputDataError` naming the column and a repeated unit.

    Returns
    -------
    polars.DataFrame
        One row per treatment arm (and segment): ``[by,] arm, n, rate, control_n,
        control_rate, uplift, ci_low, ci_high, relative_uplift, relative_ci_low,
        relative_ci_high, p_value, p_value_holm, srm_p_value`` (``rate`` is the mean for
        continuous outcomes), plus ``variance_reduction, theta`` with ``covariate`` and
        ``heterogeneity_q, heterogeneity_p`` with ``by``.

        * ``relative_uplift = rate / control_rate - 1``, null (with a `DataWarning`)
          where the control mean is 0 (to float precision); for 0/1 outcomes its interval is
          Katz's log risk-ratio interval ``exp(log RR ± z sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0))
          - 1`` (0.5 added to the counts when one is 0 or n), for means the delta method,
          for the bootstrap the percentile interval of the ratio (null if a resampled
          control mean is 0).
        * ``p_value``: two-sided; pooled two-proportion z-test for 0/1 outcomes (equal to
          Pearson's chi-square on the 2x2 table), Welch's t-test for means.
        * ``p_value_holm``: Holm-adjusted over the treatment arms (within a segment).
        * ``heterogeneity_q``: Cochran's ``Q = Σ w_s (d_s - d̄)²`` with ``w_s = 1/se_s²``
          over the segments of an arm; ``heterogeneity_p`` its chi-square(S - 1) p-value.

    Raises
    ------
    InputDataError
        A named column is missing; two parameters name the same column (``by=arm``);
        ``control`` is not a value of ``arm``; there is no
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
    confidence = check_probability("confidence", confidence)
    srm_alpha = check_probability("srm_alpha", srm_alpha)
    df = as_frame(frame, "frame")
    require_columns(
        df,
        "frame",
        {"arm": arm, "outcome": outcome, "by": by, "covariate": covariate, "unit": unit},
    )
    if unit is not None and df.get_column(unit).is_duplicated().any():
        example = df.get_column(unit).filter(df.get_column(unit).is_duplicated())[0]
        raise InputDataError(
            f"the experiment table has {df.height:,} rows for {df.get_column(unit).n_unique():,} "
            f"values of the unit column {unit!r}: one row per unit is expected ({example!r} "
            "repeats). Aggregate to one row per customer (one outcome each) first"
        )
    if outcome_type not in _OUTCOME_TYPES:
        raise InputDataError(f"outcome_type must be one of {_OUTCOME_TYPES}, got {outcome_type!r}")
    if method is not None and method not in _METHODS:
        raise InputDataError(f"method must be one of {_METHODS} or None, got {method!r}")
    roles = {"arm": arm, "outcome": outcome, "by": by, "covariate": covariate}
    named = [(role, name) for role, name in roles.items() if name is not None]
    for i, (role, name) in enumerate(named):
        for other, other_name in named[i + 1 :]:
            if name == other_name:
                raise InputDataError(
                    f"{role}= and {other}= both name column {name!r}; each role needs its own "
                    "column (by= is a segment column, not the arm)"
                )
    bootstrap = check_positive_int("bootstrap", bootstrap)  # checked even where unused
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

    counts = dict(df.group_by(arm).len().iter_rows())  # integer counts: exact in any order
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
    groups = _group_values(df, arm, outcome, by, covariate)
    rows: list[dict[str, Any]] = []
    for s_index, segment in enumerate(segment_values):
        for a in arms:
            if (segment, a) not in groups:
                raise InputDataError(
                    f"arm {a!r} has no rows in segment {by}={segment!r} (zero-size arm)"
                )
        per_arm = _arm_statistics({a: groups[segment, a] for a in arms}, covariate)
        seg_rows = _compare(
            per_arm,
            control,
            treatments,
            binary,
            method,
            confidence,
            covariate is not None,
            bootstrap,
            seed,
            s_index,
            {a: i for i, a in enumerate(arms)},
        )
        p_holm = holm(np.array([r["p_value"] for r in seg_rows]))
        for r, ph in zip(seg_rows, p_holm, strict=True):
            r["p_value_holm"] = float(ph)
            r["srm_p_value"] = srm_p
            if by is not None:
                r = {by: segment, **r}
            rows.append(r)
    table = pl.DataFrame(rows).with_columns(pl.col(_RELATIVE).fill_nan(None))
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


def _group_values(
    df: pl.DataFrame, arm: str, outcome: str, by: str | None, covariate: str | None
) -> dict[tuple[Any, Any], tuple[np.ndarray, np.ndarray | None]]:
    """Outcome (and covariate) values of each (segment, arm), sorted: a fixed summing order.

    Sorted by outcome (then covariate), the values of a group are the same arrays whatever
    the row order of ``df``, so every sum over them is reproducible to the last bit.
    """
    keys = [arm] if by is None else [by, arm]
    y_all = df[outcome].cast(pl.Float64).to_numpy()
    x_all = None if covariate is None else df[covariate].cast(pl.Float64).to_numpy()
    grouped = df.select(keys).with_row_index("_row").group_by(keys).agg(pl.col("_row"))
    lists = grouped.get_column("_row")
    out: dict[tuple[Any, Any], tuple[np.ndarray, np.ndarray | None]] = {}
    for i, key in enumerate(grouped.select(keys).iter_rows()):
        index = lists[i].to_numpy()
        y = y_all[index]
        if x_all is None:
            out[(None, key[0]) if by is None else key] = (np.sort(y), None)
        else:
            x = x_all[index]
            order = np.lexsort((x, y))
            out[(None, key[0]) if by is None else key] = (y[order], x[order])
    return out


def _mean(values: np.ndarray) -> float:
    """Mean by a sum in a fixed order; 0 where the sum cancels to float noise.

    A sum smaller than its rounding error bound (``eps (1 + log2 n) Σ|v|``) carries no
    information about its sign or size: it is the mean of values that cancel, e.g. a spend
    change of ``[-0.3, 0.1, 0.2]``, and is reported as exactly 0.
    """
    total = float(np.sum(values))
    bound = np.finfo(np.float64).eps * (1 + np.log2(values.size)) * float(np.sum(np.abs(values)))
    return 0.0 if abs(total) <= bound else total / values.size


def _moments(values: np.ndarray) -> tuple[int, float, float]:
    """``n``, mean and variance (ddof 1, two-pass around the mean) of one arm."""
    n = values.size
    mean = _mean(values)
    var = float(np.sum((values - mean) ** 2)) / (n - 1) if n > 1 else 0.0
    return n, mean, var


def _arm_statistics(
    groups: dict[Any, tuple[np.ndarray, np.ndarray | None]], covariate: str | None
) -> dict[Any, dict[str, Any]]:
    """Per arm of one segment: n, mean, variance and the values; with a covariate, the
    CUPED-adjusted values ``y - θ (x - x̄)`` (θ, x̄ pooled over the segment's arms) too."""
    per_arm: dict[Any, dict[str, Any]] = {}
    for a, (y, _) in groups.items():
        n, mean, var = _moments(y)
        per_arm[a] = {"n": n, "mean": mean, "var": var, "values": y}
    if covariate is not None:
        theta, x_bar = _cuped_theta(groups)
        for a, (y, x) in groups.items():
            assert x is not None  # grouped with the covariate
            adjusted = y - theta * (x - x_bar)
            _, mean, var = _moments(adjusted)
            per_arm[a].update(theta=theta, adj_mean=mean, adj_var=var, values=adjusted)
    return per_arm


def _compare(
    per_arm: dict[Any, dict[str, Any]],
    control: Any,
    treatments: list[Any],
    binary: bool,
    method: str,
    confidence: float,
    cuped: bool,
    bootstrap: int,
    seed: int,
    segment_index: int,
    arm_index: dict[Any, int],
) -> list[dict[str, Any]]:
    z = z_value(confidence)
    lo: Any
    hi: Any
    rlo: Any
    rhi: Any
    resampled: dict[Any, np.ndarray] = {}

    def draws(a: Any) -> np.ndarray:  # resampled means of arm a: one stream per (segment, arm)
        if a not in resampled:
            values = per_arm[a]["values"]
            stream = (segment_index, arm_index[a])
            resampled[a] = bootstrap_means(values, bootstrap, seed, stream=stream)[:, 0]
        return resampled[a]

    c = per_arm[control]
    n0, m0, v0 = c["n"], c["mean"], c["var"]
    out = []
    for a in treatments:
        n1, m1, v1 = per_arm[a]["n"], per_arm[a]["mean"], per_arm[a]["var"]
        row: dict[str, Any] = {
            "arm": a,
            "n": n1,
            "rate": m1,
            "control_n": n0,
            "control_rate": m0,
        }
        if cuped:
            a1, av1 = per_arm[a]["adj_mean"], per_arm[a]["adj_var"]
            a0, av0 = c["adj_mean"], c["adj_var"]
            d = a1 - a0
            lo, hi, p, se = welch(a1, av1, n1, a0, av0, n0, confidence, normal=method == "wald")
            _, _, _, se_raw = welch(m1, v1, n1, m0, v0, n0, confidence)
            rel, rlo, rhi = relative_interval_means(d, se, m0, np.sqrt(v0 / n0), -av0 / n0, z)
            if method == "bootstrap":
                lo, hi, rlo, rhi = _bootstrap_interval(draws(a), draws(control), confidence)
            cuped_columns = {
                "variance_reduction": float(1 - se**2 / se_raw**2) if se_raw > 0 else 0.0,
                "theta": c["theta"],
            }
        elif binary:
            x1 = int(np.count_nonzero(per_arm[a]["values"]))
            x0 = int(np.count_nonzero(c["values"]))
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
                lo, hi, rlo, rhi = _bootstrap_interval(draws(a), draws(control), confidence)
                if lo == hi:
                    warnings.warn(
                        f"bootstrap interval of arm {a!r} has zero width (both arms at 0% or "
                        "100%); use method='newcombe' for a meaningful interval",
                        DataWarning,
                        stacklevel=3,
                    )
            # Shrunk rates (x + 0.5) / (n + 1) keep the heterogeneity weight finite at 0%, 100%.
            s1, s0 = (x1 + 0.5) / (n1 + 1), (x0 + 0.5) / (n0 + 1)
            se = np.sqrt(s1 * (1 - s1) / n1 + s0 * (1 - s0) / n0)
        else:
            d = m1 - m0
            lo, hi, p, se = welch(m1, v1, n1, m0, v0, n0, confidence, normal=method == "wald")
            rel, rlo, rhi = relative_interval_means(d, se, m0, np.sqrt(v0 / n0), -v0 / n0, z)
            if method == "bootstrap":
                lo, hi, rlo, rhi = _bootstrap_interval(draws(a), draws(control), confidence)
        if m0 == 0:  # relative uplift undefined: no interval either, whatever the method
            rlo = rhi = float("nan")
        row.update(
            uplift=d,
            ci_low=lo,
            ci_high=hi,
            relative_uplift=rel,
            relative_ci_low=rlo,
            relative_ci_high=rhi,
            p_value=p,
        )
        if cuped:
            row.update(cuped_columns)
        row["_se"] = se
        out.append(
            {
                k: (float(v) if isinstance(v, (np.ndarray, np.floating)) else v)
                for k, v in row.items()
            }
        )
    return out


def _cuped_theta(groups: dict[Any, tuple[np.ndarray, np.ndarray | None]]) -> tuple[float, float]:
    """``θ = cov(x, y) / var(x)`` pooled over the arms of a segment, and the pooled ``x̄``."""
    y = np.concatenate([g[0] for g in groups.values()])
    x = np.concatenate([g[1] for g in groups.values() if g[1] is not None])
    x_bar, y_bar = _mean(x), _mean(y)
    var_x = float(np.sum((x - x_bar) ** 2))
    if var_x <= 0:
        warnings.warn(
            "covariate is constant: CUPED cannot reduce variance (theta = 0)",
            DataWarning,
            stacklevel=4,
        )
        return 0.0, x_bar
    return float(np.sum((x - x_bar) * (y - y_bar)) / var_x), x_bar


def _bootstrap_interval(
    treated: np.ndarray, control: np.ndarray, confidence: float
) -> tuple[float, float, float, float]:
    """Percentile intervals of the difference and of the ratio - 1 of resampled means."""
    lo, hi = percentile_ci(treated - control, confidence)
    rlo: Any = np.nan
    rhi: Any = np.nan
    if np.all(control != 0):
        rlo, rhi = percentile_ci(treated / control - 1, confidence)
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
