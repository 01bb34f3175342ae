"""Second step of `evaluate`: means, bootstrap intervals and segments of per-user values."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recsys._validation import check_positive_int, check_probability
from recsys.data.canonical import MISSING_SEGMENT, attach_segments
from recsys.data.columns import USER
from recsys.data.sources import to_frame
from recsys.evaluation.metrics import METRICS, MODES, coverage_share
from recsys.evaluation.per_user import COLUMN_SCHEMA
from recsys.evaluation.results import OVERALL, TABLE_COLUMNS, EvaluationResults, PerUserMetrics
from recsys.exceptions import InputDataError
from recsys.stats import bootstrap_means, percentile_ci

__all__ = ["summarize"]

TABLE_SCHEMA = {
    **COLUMN_SCHEMA,
    "segment": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_users": pl.Int64,
}


def _segments(by: Any, segments: Any, users: pl.Series) -> tuple[np.ndarray, list[str]] | None:
    """Segment label per user and the full list of segments (including empty ones).

    The one place where segments are attached to the evaluated users, through
    `recsys.data.canonical.attach_segments` (users without a segment form
    the group ``"(missing)"``).
    """
    if by is not None and not isinstance(by, str):
        raise InputDataError(
            f"by must be the name of a segment column, got {type(by).__name__}; "
            "pass a segment table as segments="
        )
    if by is None and segments is None:
        return None
    if segments is None:
        raise InputDataError(
            f"by={by!r} names a column of a segment table: pass segments= too "
            "(e.g. the profiles from rs.build_profiles)"
        )
    table = to_frame(segments)
    if table.schema.get(USER, pl.Null).is_integer():
        table = table.with_columns(pl.col(USER).cast(pl.Int64))
    frame, name = attach_segments(pl.DataFrame({USER: users}), by, segments=table)
    labels = frame.get_column(name)
    all_segments = sorted(set(table.get_column(name).cast(pl.String).drop_nulls().to_list()))
    if (labels == MISSING_SEGMENT).any():
        all_segments.append(MISSING_SEGMENT)
    return labels.to_numpy().astype(str), all_segments


def summarize(
    per_user: PerUserMetrics,
    by: Any = None,
    *,
    segments: Any = None,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> EvaluationResults:
    """Second step of `evaluate`: means, bootstrap intervals and segments of per-user values.

    Depends only on ``per_user`` and the segments, not on the models: per-user
    values computed in pieces (for example on shards of users) and concatenated
    give the same table, whatever the order of the users (they are sorted here).

    Parameters
    ----------
    per_user
        The output of `per_user_metrics`.
    by, segments, bootstrap, seed, confidence
        As for `evaluate`.

    Returns
    -------
    EvaluationResults
        The table (see `evaluate`) and the per-user values behind it.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> import recsys as rs
    >>> per_user = rs.evaluation.PerUserMetrics(
    ...     users=pl.Series("user_id", [1, 2, 3, 4]),
    ...     values=np.array([[1.0], [0.0], [1.0], [np.nan]]),
    ...     columns=pl.DataFrame({"model": ["m"], "mode": ["all"], "metric": ["hit_rate"],
    ...                           "k": [10]}),
    ...     models=("m",))
    >>> segments = pl.DataFrame({"user_id": [1, 2, 3, 4], "tier": ["a", "a", "b", "b"]})
    >>> results = rs.evaluation.summarize(per_user, by="tier", segments=segments, bootstrap=0)
    >>> results.table.select("segment", "value", "n_users").rows()
    [('all', 0.6666666666666666, 3), ('a', 0.5, 2), ('b', 1.0, 1)]
    """
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    confidence = check_probability("confidence", confidence)
    order = per_user.users.arg_sort().to_numpy()  # the order per_user_metrics gives
    users = per_user.users.gather(order)
    values = per_user.values[order]
    segmented = _segments(by, segments, users)
    groups: list[tuple[str, np.ndarray]] = [(OVERALL, np.arange(len(users)))]
    if segmented is not None:
        labels, segment_names = segmented
        groups += [(name, np.flatnonzero(labels == name)) for name in segment_names]
    rows: list[pl.DataFrame] = []
    for segment, members in groups:
        rows.append(
            _summary(values[members], per_user.columns, segment, bootstrap, seed, confidence)
        )
        rows += _coverage_rows(per_user, segment, users.gather(members))
    table = pl.concat([r.cast(TABLE_SCHEMA) for r in rows]).sort(  # type: ignore[arg-type]
        "model", "mode", "metric", "k", "segment"
    )
    order_of_models = {name: i for i, name in enumerate(per_user.models)}
    table = table.sort(
        pl.col("model").replace_strict(order_of_models, return_dtype=pl.Int64),
        pl.col("mode").replace_strict({m: i for i, m in enumerate(MODES)}, return_dtype=pl.Int64),
        pl.col("metric").replace_strict(
            {m: i for i, m in enumerate(METRICS)}, return_dtype=pl.Int64
        ),
        "k",
        pl.col("segment") != OVERALL,
        "segment",
    )
    return EvaluationResults(
        table=table,
        values=values,
        columns=per_user.columns,
        users=users,
        segments=None if segmented is None else segmented[0],
        bootstrap=bootstrap,
        seed=seed,
        confidence=confidence,
    )


def _coverage_rows(
    per_user: PerUserMetrics, segment: str, members: pl.Series
) -> list[pl.DataFrame]:
    """One ``coverage`` row per model, mode and k for the users ``members`` (no CI)."""
    if per_user.lists is None or not per_user.coverage_k:
        return []
    lists = per_user.lists.join(members.to_frame(USER), on=USER, how="semi")
    rows = []
    for model_name in per_user.models:
        for mode in per_user.lists.filter(pl.col("model") == model_name)["mode"].unique(
            maintain_order=True
        ):
            mine = lists.filter((pl.col("model") == model_name) & (pl.col("mode") == mode))
            for kk in per_user.coverage_k:
                value = coverage_share(mine, kk, per_user.catalogue_size) if len(members) else None
                rows.append(
                    pl.DataFrame(
                        [
                            (
                                model_name,
                                mode,
                                "coverage",
                                kk,
                                segment,
                                value,
                                None,
                                None,
                                len(members),
                            )
                        ],
                        schema=TABLE_SCHEMA,
                        orient="row",
                    )
                )
    return rows


def _summary(
    values: np.ndarray,
    columns: pl.DataFrame,
    segment: str,
    bootstrap: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    defined = ~np.isnan(values)
    n_users = defined.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = np.where(defined, values, 0.0).sum(axis=0) / n_users
    if bootstrap and values.shape[0] and values.shape[1]:
        low, high = percentile_ci(bootstrap_means(values, bootstrap, seed), confidence)
    else:
        low = high = np.full(values.shape[1], np.nan)
    return columns.with_columns(
        pl.lit(segment).alias("segment"),
        pl.Series("value", point).fill_nan(None),
        pl.Series("ci_low", low).fill_nan(None),
        pl.Series("ci_high", high).fill_nan(None),
        pl.Series("n_users", n_users.astype(np.int64)),
    ).select(TABLE_COLUMNS)
