"""Are the features balanced between the arms? `covariate_balance`, a check for leakage.

In a randomized experiment the arm is drawn independently of everything measured before
the assignment, so a pre-assignment column has the same distribution in every arm up to
chance. A column whose distribution differs between the arms was most likely measured
after the assignment (a visit, a conversion, spend during the experiment): an outcome.
An uplift model fitted on it learns the outcome from itself and ranks customers by what
they did after the offer, which no customer scored before an offer has.

Each feature is tested for a difference of its distribution between the treated and
the control arm:

* Text, boolean and numeric columns with at most `FEW_VALUES` distinct values:
  Pearson's chi-square test of independence of the arm and the value (nulls are a value;
  values expected fewer than `MIN_EXPECTED` times in the smaller arm are pooled, and the
  pool is left out if it is still that rare, so the chi-square approximation holds).
* Other numeric columns: the two-sample Kolmogorov-Smirnov test (asymptotic p-value) on
  the non-null values, and the chi-square test of their null share when they have nulls;
  the smaller p-value, doubled.

The p-values are Bonferroni-adjusted over the columns tested, and a column is flagged
when its adjusted p-value is below ``alpha`` (0.001 by default): a run on a balanced
experiment flags any column with probability below ``alpha``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys._validation import check_probability
from recsys.data.sources import FrameLike
from recsys.exceptions import InputDataError
from recsys.stats.multiple import bonferroni
from recsys.uplift._checks import as_frame, require_columns
from recsys.uplift._features import _is_text, join_features

__all__ = ["covariate_balance", "imbalance_message", "imbalance_text"]

FEW_VALUES = 10  # distinct values up to which a numeric column is tested as categories
MIN_EXPECTED = 5  # values expected fewer times in an arm are pooled into one category
BALANCE_ALPHA = 0.001


def covariate_balance(
    experiment: FrameLike,
    features: FrameLike | None = None,
    *,
    treatment: str,
    control: Any,
    arm: Any = None,
    user_col: str = "user_id",
    alpha: float = BALANCE_ALPHA,
) -> pl.DataFrame:
    """Test each feature for a difference between the arms (module docstring).

    Parameters
    ----------
    experiment
        One row per customer: ``user_col`` and the ``treatment`` column. Without
        ``features``, every other column but ``user_col`` and ``treatment`` is tested
        (drop the outcome first).
    features
        Optional frame of features by ``user_col``; customers without a row have nulls.
    treatment, control, arm
        The arm column, the control's label, and the treated arm (optional when there is
        one other arm; customers of other arms are not used).
    user_col
        The customer id column.
    alpha
        Significance level of the Bonferroni-adjusted p-values.

    Returns
    -------
    polars.DataFrame
        One row per tested column, in the features' order: ``feature, test`` (``"chi2"``
        or ``"ks"``), ``treated_mean, control_mean`` (the means of a numeric or boolean
        column; null for text), ``p_value, p_adjusted`` (Bonferroni) and ``imbalanced``
        (``p_adjusted < alpha``). Date and time columns are not tested.

    Examples
    --------
    ``visit`` was measured after the e-mail: the arms differ, ``age`` does not.

    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0); n = 2000
    >>> t = rng.integers(0, 2, n)
    >>> data = pl.DataFrame({"user_id": np.arange(n), "arm": np.where(t, "mail", "none"),
    ...                      "age": rng.normal(40, 10, n),
    ...                      "visit": (rng.random(n) < 0.1 + 0.1 * t).astype(int)})
    >>> table = covariate_balance(data, treatment="arm", control="none")
    >>> table.select("feature", "test", "imbalanced").rows()
    [('age', 'ks', False), ('visit', 'chi2', True)]
    """
    alpha = check_probability("alpha", alpha)
    frame = as_frame(experiment, "experiment")
    require_columns(frame, "experiment", {"user_col": user_col, "treatment": treatment})
    arms = [a for a in frame[treatment].unique().to_list() if a != control]
    if control not in frame[treatment].to_list():
        raise InputDataError(f"control={control!r} is not an arm of {treatment!r}")
    if arm is None:
        if len(arms) != 1:
            raise InputDataError(
                f"treatment column {treatment!r} has arms {sorted(arms, key=str)} besides the "
                "control; name the one to compare with arm="
            )
        arm = arms[0]
    frame = frame.filter(pl.col(treatment).is_in([arm, control]))
    if features is None:
        feats = frame.drop(treatment)
    else:
        feats, _ = join_features(frame[user_col], as_frame(features, "features"), user_col)
    t = (frame[treatment] == arm).to_numpy()
    return balance_table(feats.drop(user_col), t, alpha)


def balance_table(features: pl.DataFrame, t: np.ndarray, alpha: float) -> pl.DataFrame:
    """`covariate_balance` of the columns of ``features`` (rows aligned with the 0/1 or
    boolean arm ``t``): the one computation, used by `recsys.uplift.UpliftModel` too."""
    t = np.asarray(t, dtype=bool)
    rows = []
    for column in features.columns:
        series = features[column]
        if series.dtype.is_temporal():
            continue
        test, p = _test(series, t)
        numeric = series.dtype.is_numeric() or series.dtype == pl.Boolean
        means = (
            [_mean(series.filter(pl.Series(t))), _mean(series.filter(pl.Series(~t)))]
            if numeric
            else [None, None]
        )
        rows.append((column, test, *means, p))
    table = pl.DataFrame(
        rows,
        schema={
            "feature": pl.String,
            "test": pl.String,
            "treated_mean": pl.Float64,
            "control_mean": pl.Float64,
            "p_value": pl.Float64,
        },
        orient="row",
    )
    adjusted = pl.Series("p_adjusted", bonferroni(table["p_value"].to_numpy()))
    return table.with_columns(adjusted).with_columns(imbalanced=pl.col("p_adjusted") < alpha)


def _mean(series: pl.Series) -> float | None:
    value = series.cast(pl.Float64).mean()
    return None if value is None else float(value)  # type: ignore[arg-type]


def _test(series: pl.Series, t: np.ndarray) -> tuple[str, float]:
    """The test of one column and its p-value (module docstring)."""
    if _is_text(series.dtype) or series.dtype == pl.Boolean:
        return "chi2", _chi2(series, t)
    if not series.dtype.is_numeric():
        raise InputDataError(
            f"features column {series.name!r} has dtype {series.dtype}; features must be "
            "numeric, boolean or text"
        )
    if series.n_unique() <= FEW_VALUES:
        return "chi2", _chi2(series, t)
    values = series.cast(pl.Float64).to_numpy()
    present = ~np.isnan(values)
    a, b = values[t & present], values[~t & present]
    p = 1.0 if a.size == 0 or b.size == 0 else float(stats.ks_2samp(a, b, method="asymp").pvalue)
    if not present.all():
        p = min(1.0, 2 * min(p, _chi2(pl.Series(present), t)))
    return "ks", p


def _chi2(values: pl.Series, t: np.ndarray) -> float:
    """Chi-square test of independence of the arm and the value (nulls a value, rare
    values pooled: module docstring); 1.0 when fewer than two values remain."""
    counts = (
        pl.DataFrame({"v": values, "t": t})
        .group_by("v")
        .agg(treated=pl.col("t").sum(), n=pl.len())
        .sort("v", nulls_last=True)  # a fixed order: the same statistic on every run
    )
    treated = counts["treated"].to_numpy().astype(np.float64)
    totals = counts["n"].to_numpy().astype(np.float64)
    smaller_share = min(t.mean(), 1 - t.mean())
    rare = totals * smaller_share < MIN_EXPECTED
    if rare.any():  # one pooled category for the rare values
        treated = np.append(treated[~rare], treated[rare].sum())
        totals = np.append(totals[~rare], totals[rare].sum())
    # a category still expected fewer than MIN_EXPECTED times in an arm is left out
    kept = totals * smaller_share >= MIN_EXPECTED
    if kept.sum() < 2:
        return 1.0
    table = np.stack([treated[kept], totals[kept] - treated[kept]])
    return float(stats.chi2_contingency(table).pvalue)


def imbalance_text(table: pl.DataFrame, arm: Any, control: Any) -> str:
    """The flagged columns of a `covariate_balance` table, each with its per-arm means
    and adjusted p-value, for a message.

    Examples
    --------
    >>> table = pl.DataFrame({"feature": ["visit", "zip"], "test": ["chi2", "chi2"],
    ...     "treated_mean": [0.183, None], "control_mean": [0.106, None],
    ...     "p_value": [1e-90, 1e-5], "p_adjusted": [1e-89, 1e-4], "imbalanced": [True, True]})
    >>> for part in imbalance_text(table, "Mens E-Mail", "No E-Mail").split("), "):
    ...     print(part)
    'visit' (mean 0.183 in 'Mens E-Mail' vs 0.106 in 'No E-Mail', p = 1e-89
    'zip' (its values' shares differ, p = 0.0001)
    """
    parts = []
    for row in table.filter("imbalanced").iter_rows(named=True):
        if row["treated_mean"] is None or row["control_mean"] is None:
            what = "its values' shares differ"
        else:
            what = (
                f"mean {row['treated_mean']:.3g} in {arm!r} vs {row['control_mean']:.3g} "
                f"in {control!r}"
            )
        parts.append(f"{row['feature']!r} ({what}, p = {row['p_adjusted']:.2g})")
    return ", ".join(parts)


def imbalance_message(table: pl.DataFrame, arm: Any, control: Any, source: str, fix: str) -> str:
    """What a `covariate_balance` table's flagged columns mean, and ``fix`` (what to do,
    in the caller's words); ``source`` names where the columns come from.

    Examples
    --------
    >>> table = pl.DataFrame({"feature": ["visit"], "test": ["chi2"], "treated_mean": [0.2],
    ...     "control_mean": [0.1], "p_value": [1e-9], "p_adjusted": [1e-8], "imbalanced": [True]})
    >>> print(imbalance_message(table, "mail", "none", "the experiment's", "pass features="))
    ... # doctest: +NORMALIZE_WHITESPACE
    the experiment's columns 'visit' (mean 0.2 in 'mail' vs 0.1 in 'none', p = 1e-08) differ
    between the arms (Bonferroni-adjusted p < 0.001 over 1 column): in a randomized experiment
    a column measured before the assignment is balanced between the arms, so these were most
    likely measured after it, like an outcome; a model fitted on them ranks customers by their
    response itself. pass features=
    """
    alpha = BALANCE_ALPHA
    n = table.height
    return (
        f"{source} columns {imbalance_text(table, arm, control)} differ between the arms "
        f"(Bonferroni-adjusted p < {alpha:g} over {n} column{'s' if n != 1 else ''}): in a "
        "randomized experiment a column measured before the assignment is balanced between "
        "the arms, so these were most likely measured after it, like an outcome; a model "
        f"fitted on them ranks customers by their response itself. {fix}"
    )
