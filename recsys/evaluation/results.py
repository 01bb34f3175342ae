"""The results of `evaluate`: per-user values (`PerUserMetrics`), the table
(`EvaluationResults`) and paired differences between two models (`compare`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys._validation import check_probability
from recsys.data.columns import USER
from recsys.data.sources import to_frame
from recsys.exceptions import InputDataError
from recsys.stats import bootstrap_means, percentile_ci

__all__ = ["OVERALL", "TABLE_COLUMNS", "EvaluationResults", "PerUserMetrics", "compare"]

OVERALL = "all"
TABLE_COLUMNS = (
    "model", "mode", "metric", "k", "segment", "value", "ci_low", "ci_high", "n_users",
)  # fmt: skip


@dataclass(frozen=True)
class PerUserMetrics:
    """Per-user values of every model, mode, metric and k (`per_user_metrics`).

    Everything `summarize` needs, and nothing about the models: the same
    values computed on shards of users and concatenated summarize to the same table.

    Attributes
    ----------
    users
        The evaluated (test) users, in row order of ``values``.
    values
        float64 ``(n_users, n_columns)`` per-user values (NaN = undefined).
    columns
        ``model, mode, metric, k`` of each column of ``values``.
    models
        Model names, in the order of the table.
    lists
        ``model, mode, user_id, rank, item_id``: the recommendation lists behind
        ``coverage`` (a property of the whole set of lists), None without it.
    coverage_k
        The cut-offs of the ``coverage`` rows (empty without coverage).
    catalogue_size
        Number of items in the training data (the denominator of coverage).
    """

    users: pl.Series
    values: np.ndarray
    columns: pl.DataFrame
    models: tuple[str, ...]
    lists: pl.DataFrame | None = None
    coverage_k: tuple[int, ...] = ()
    catalogue_size: int = 0

    @staticmethod
    def concat(parts: Sequence[PerUserMetrics]) -> PerUserMetrics:
        """Stack the values of disjoint sets of users (e.g. shards of the test users).

        The parts must describe the same models, columns and coverage; a user may
        appear in one part only. `summarize` of the result equals that of
        the values computed on all users at once.

        Examples
        --------
        >>> import numpy as np, polars as pl
        >>> columns = pl.DataFrame({"model": ["m"], "mode": ["all"], "metric": ["hit_rate"],
        ...                         "k": [10]})
        >>> part = lambda users, v: PerUserMetrics(pl.Series("user_id", users),
        ...                                        np.array([[x] for x in v]), columns, ("m",))
        >>> both = PerUserMetrics.concat([part([3, 4], [1.0, 0.0]), part([1], [1.0])])
        >>> both.users.to_list(), both.values[:, 0].tolist()
        ([3, 4, 1], [1.0, 0.0, 1.0])
        """
        if not parts:
            raise InputDataError("concat needs at least one PerUserMetrics")
        first = parts[0]
        for part in parts[1:]:
            if (
                part.models != first.models
                or not part.columns.equals(first.columns)
                or part.coverage_k != first.coverage_k
                or part.catalogue_size != first.catalogue_size
            ):
                raise InputDataError(
                    "the parts differ in models, columns or coverage settings; "
                    "compute them with the same per_user_metrics arguments"
                )
        users = pl.concat([part.users for part in parts])
        if users.is_duplicated().any():
            raise InputDataError("a user appears in more than one part")
        lists = [part.lists for part in parts if part.lists is not None]
        return PerUserMetrics(
            users=users,
            values=np.concatenate([part.values for part in parts], axis=0),
            columns=first.columns,
            models=first.models,
            lists=pl.concat(lists) if lists else None,
            coverage_k=first.coverage_k,
            catalogue_size=first.catalogue_size,
        )


@dataclass(frozen=True)
class EvaluationResults:
    """The table of `evaluate` plus the per-user values behind it.

    Attributes
    ----------
    table
        The tidy table (see `evaluate`).
    values
        float64 ``(n_users, n_columns)`` per-user values (NaN = undefined).
    columns
        ``model, mode, metric, k`` of each column of ``values``.
    users
        The evaluated (test) users, sorted, in row order of ``values``.
    segments
        Segment label of each user (None without ``by``).
    bootstrap, seed, confidence
        The bootstrap settings used, reused by `compare`.
    """

    table: pl.DataFrame
    values: np.ndarray
    columns: pl.DataFrame
    users: pl.Series
    segments: np.ndarray | None
    bootstrap: int
    seed: int
    confidence: float

    def per_user(self) -> pl.DataFrame:
        """Long frame ``user_id, segment, model, mode, metric, k, value`` (undefined dropped)."""
        n_users, n_columns = self.values.shape
        frame = pl.DataFrame(
            {
                USER: self.users.gather(np.tile(np.arange(n_users), n_columns)),
                "column": np.repeat(np.arange(n_columns), n_users),
                "value": self.values.T.ravel(),
            }
        )
        if self.segments is not None:
            frame = frame.with_columns(segment=pl.Series(np.tile(self.segments, n_columns)))
        described = self.columns.with_row_index("column").with_columns(
            pl.col("column").cast(pl.Int64)
        )
        return (
            frame.with_columns(pl.col("column").cast(pl.Int64))
            .join(described, on="column")
            .drop("column")
            .filter(pl.col("value").is_not_nan())
        )


def compare(
    results: EvaluationResults | pl.DataFrame,
    a: str,
    b: str,
    *,
    confidence: float | None = None,
) -> pl.DataFrame:
    """Difference ``a - b`` of two models for every metric, k, mode and segment, with a CI.

    With the `EvaluationResults` of `evaluate`
    the interval is a *paired* percentile bootstrap: both models are scored on
    the same resampled users, so the user-to-user variation they share cancels
    out. With only the table, the interval is the normal approximation
    ``diff ± z·sqrt(se_a² + se_b²)`` with standard errors read off the two CIs;
    it ignores the pairing and is wider (conservative). ``paired`` says which.

    Returns
    -------
    polars.DataFrame
        ``mode, metric, k, segment, value_a, value_b, difference, ci_low, ci_high,
        n_users, paired``. An interval that excludes 0 means "a differs from b"
        at that confidence.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> import recsys as rs
    >>> table = pl.DataFrame({"model": ["x", "y"], "mode": ["all"] * 2, "metric": ["hit_rate"] * 2,
    ...     "k": [10, 10], "segment": ["all"] * 2, "value": [0.6, 0.5], "ci_low": [0.55, 0.45],
    ...     "ci_high": [0.65, 0.55], "n_users": [400, 400]})
    >>> round(rs.evaluation.compare(table, "x", "y")["difference"].item(), 3)
    0.1
    """
    if isinstance(results, EvaluationResults):
        return _compare_paired(
            results, a, b, results.confidence if confidence is None else confidence
        )
    table = to_frame(results)
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputDataError(
            f"results must be an evaluate() table or EvaluationResults; missing {missing}"
        )
    confidence = check_probability("confidence", 0.95 if confidence is None else confidence)
    for name in (a, b):
        if name not in table.get_column("model").to_list():
            raise InputDataError(
                f"model {name!r} is not in the results; models: {table['model'].unique().to_list()}"
            )
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    keys = ["mode", "metric", "k", "segment"]
    left = table.filter(pl.col("model") == a).select(*keys, "value", "ci_low", "ci_high", "n_users")
    right = table.filter(pl.col("model") == b).select(*keys, "value", "ci_low", "ci_high")
    joined = left.join(right, on=keys, suffix="_b")
    se_a = (pl.col("ci_high") - pl.col("ci_low")) / (2 * z)
    se_b = (pl.col("ci_high_b") - pl.col("ci_low_b")) / (2 * z)
    half = z * (se_a**2 + se_b**2).sqrt()
    diff = pl.col("value") - pl.col("value_b")
    return joined.select(
        *keys,
        pl.col("value").alias("value_a"),
        "value_b",
        diff.alias("difference"),
        (diff - half).alias("ci_low"),
        (diff + half).alias("ci_high"),
        "n_users",
        pl.lit(False).alias("paired"),
    )


def _compare_paired(results: EvaluationResults, a: str, b: str, confidence: float) -> pl.DataFrame:
    confidence = check_probability("confidence", confidence)
    cols = results.columns.with_row_index("_col")
    models = cols.get_column("model").unique().to_list()
    for name in (a, b):
        if name not in models:
            raise InputDataError(f"model {name!r} is not in the results; models: {sorted(models)}")
    keys = ["mode", "metric", "k"]
    pairs = (
        cols.filter(pl.col("model") == a)
        .join(cols.filter(pl.col("model") == b), on=keys, suffix="_b")
        .sort(keys)
    )
    ia = pairs.get_column("_col").to_numpy()
    ib = pairs.get_column("_col_b").to_numpy()
    groups: list[tuple[str, np.ndarray]] = [(OVERALL, np.arange(len(results.users)))]
    if results.segments is not None:
        for name in sorted(set(results.segments.tolist())):
            groups.append((name, np.flatnonzero(results.segments == name)))
    frames = []
    for segment, members in groups:
        va, vb = results.values[members][:, ia], results.values[members][:, ib]
        both = ~np.isnan(va) & ~np.isnan(vb)  # pair only users defined for both models
        va, vb = np.where(both, va, np.nan), np.where(both, vb, np.nan)
        n_users = both.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_a = np.nansum(va, axis=0) / n_users
            mean_b = np.nansum(vb, axis=0) / n_users
        if results.bootstrap and members.size:
            means = bootstrap_means(
                np.concatenate([va, vb], axis=1), results.bootstrap, results.seed
            )
            low, high = percentile_ci(means[:, : ia.size] - means[:, ia.size :], confidence)
        else:
            low = high = np.full(ia.size, np.nan)
        frames.append(
            pairs.select(keys).with_columns(
                pl.lit(segment).alias("segment"),
                pl.Series("value_a", mean_a).fill_nan(None),
                pl.Series("value_b", mean_b).fill_nan(None),
                pl.Series("difference", mean_a - mean_b).fill_nan(None),
                pl.Series("ci_low", low).fill_nan(None),
                pl.Series("ci_high", high).fill_nan(None),
                pl.Series("n_users", n_users.astype(np.int64)),
                pl.lit(True).alias("paired"),
            )
        )
    return pl.concat(frames)
