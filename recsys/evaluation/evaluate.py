"""``evaluate``: recommend for the test users of a split, score, bootstrap, tabulate.

Two steps: `per_user_metrics` asks each model for its lists and scores
every test user (a `PerUserMetrics`); `summarize` turns per-user
values into a tidy table with one row per model, mode, metric, k and segment
(``"all"`` for the overall row). `evaluate` is both. Confidence intervals
are percentile bootstrap intervals over users; all models, metrics and modes
share the same resamples of the same users, so `compare` can give
*paired* differences.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from recsys._progress import tqdm
from recsys._validation import check_in, check_positive_int, check_probability
from recsys.data.canonical import MISSING_SEGMENT, attach_segments
from recsys.data.columns import ITEM, RANK, USER
from recsys.data.sources import to_frame
from recsys.evaluation._frames import hit_matrix, prepare_recommendations, prepare_truth
from recsys.evaluation.metrics import (
    DEFAULT_MODES,
    METRICS,
    MODES,
    accuracy_from_hits,
    check_catalogue,
    coverage_share,
    mode_list_items,
    mode_truth,
    novelty_values,
    repeat_share_values,
    self_information,
    train_pairs,
)
from recsys.evaluation.protocols import (
    SAMPLED_METRICS,
    FullRanking,
    SampledNegatives,
    sample_negatives,
    sampled_metric,
    sampled_ranks,
    score_candidates,
)
from recsys.evaluation.splits import Split
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import bootstrap_means, percentile_ci

__all__ = [
    "EvaluationResults",
    "PerUserMetrics",
    "compare",
    "evaluate",
    "per_user_metrics",
    "summarize",
]

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


def _models(models: Any) -> dict[str, Any]:
    if isinstance(models, Mapping):
        named = {str(name): model for name, model in models.items()}
    elif isinstance(models, (list, tuple)):
        named = {}
        for model in models:
            name = type(model).__name__
            if name in named:
                raise InputDataError(
                    f"two models are named {name!r}; pass a dict name -> model instead"
                )
            named[name] = model
    else:
        named = {type(models).__name__: models}
    if not named:
        raise InputDataError("models is empty: pass a model, a list of models or a dict")
    for name, model in named.items():
        if not callable(getattr(model, "recommend", None)):
            raise InputDataError(f"model {name!r} has no recommend() method")
    return named


def _ks(k: Any) -> list[int]:
    values = [k] if isinstance(k, (int, np.integer)) else list(k)
    if not values:
        raise InputDataError("k must be a positive integer or a non-empty list of them")
    return sorted({check_positive_int("k", v) for v in values})


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


def per_user_metrics(
    models: Any,
    split: Split,
    k: int | Sequence[int] = (5, 10, 20),
    metrics: Iterable[str] | None = None,
    exclude_seen: bool | Mapping[str, bool | None] | None = None,
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    protocol: FullRanking | SampledNegatives | None = None,
    on_unknown: str = "skip",
    show_progress: bool = True,
) -> PerUserMetrics:
    """First step of `evaluate`: every test user's value of every metric, for every model.

    The models recommend for the test users of ``split``; nothing is averaged,
    resampled or segmented here (that is `summarize`).

    Parameters
    ----------
    models, split, k, metrics, exclude_seen, modes, protocol, on_unknown, show_progress
        As for `evaluate`. The models must be fitted.

    Returns
    -------
    PerUserMetrics
        The per-user values (one column per model, mode, metric and k), and the
        recommendation lists behind ``coverage`` when it is asked for.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> class Fixed:  # any object with recommend() works
    ...     def recommend(self, users=None, k=10, *, exclude_seen=True, on_unknown="raise"):
    ...         return pl.DataFrame({"user_id": [1, 2], "item_id": [5, 5], "score": [1.0, 1.0],
    ...                              "rank": [1, 1]})
    >>> p = pl.DataFrame({"user_id": [1, 2, 1, 2], "item_id": [5, 6, 5, 7],
    ...                   "timestamp": [datetime(2020, 1, d) for d in (1, 1, 5, 5)]})
    >>> split = rs.evaluation.temporal_split(p, "2020-01-03")
    >>> values = rs.evaluation.per_user_metrics({"fixed": Fixed()}, split, k=1,
    ...     metrics=["hit_rate"], modes=["all"], show_progress=False)
    >>> values.users.to_list(), values.values[:, 0].tolist()
    ([1, 2], [1.0, 0.0])
    """
    if not isinstance(split, Split):
        raise InputDataError(f"split must be a recsys Split, got {type(split).__name__}")
    named = _models(models)
    ks = _ks(k)
    protocol = FullRanking() if protocol is None else protocol
    if not isinstance(protocol, (FullRanking, SampledNegatives)):
        raise InputDataError(
            f"protocol must be FullRanking() or SampledNegatives(), got {protocol!r}"
        )
    sampled = isinstance(protocol, SampledNegatives)
    allowed = SAMPLED_METRICS if sampled else METRICS
    names = list(allowed if metrics is None else dict.fromkeys(metrics))
    for name in names:
        check_in("metrics", name, allowed)
    modes = list(dict.fromkeys(modes))
    if not modes:
        raise InputDataError("modes must not be empty")
    for mode in modes:
        check_in("modes", mode, MODES)
    check_in("on_unknown", on_unknown, ("raise", "skip", "fallback"))

    truth = prepare_truth(split.test, "split.test")
    users = truth.get_column(USER).unique().sort()
    truths = {mode: mode_truth(truth, mode, split.train) for mode in modes}
    depth = max(ks)
    info = self_information(split.train) if "novelty" in names else None
    seen = train_pairs(split.train)
    catalogue = seen.get_column(ITEM).unique()
    user_index = pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)})

    columns: list[tuple[str, str, str, int]] = []
    values: list[np.ndarray] = []
    lists: list[pl.DataFrame] = []
    progress = tqdm(named.items(), desc="evaluate", disable=not show_progress, total=len(named))
    for model_name, model in progress:
        progress.set_postfix_str(model_name)
        if sampled:
            assert isinstance(protocol, SampledNegatives)
            for mode in modes:
                per_user = _sampled_values(
                    model, truths[mode], split.train, users, protocol, ks, names
                )
                for (metric, kk), vector in per_user.items():
                    columns.append((model_name, mode, metric, kk))
                    values.append(vector)
            continue
        model_exclude = (
            exclude_seen.get(model_name) if isinstance(exclude_seen, Mapping) else exclude_seen
        )
        recs = prepare_recommendations(
            model.recommend(
                users=users, k=depth, exclude_seen=model_exclude, on_unknown=on_unknown
            ),
            truth,
            f"recommendations of model {model_name!r}",
        )
        longest = int(recs.get_column(RANK).max() or 0) if recs.height else 0  # type: ignore[arg-type]
        if depth > longest:
            warnings.warn(
                f"model {model_name!r}: k={depth} is larger than its longest list ({longest}); "
                "positions beyond a list count as misses",
                DataWarning,
                stacklevel=2,
            )
        for mode in modes:
            matrix = hit_matrix(recs, truths[mode], depth, users)
            if mode == modes[0]:
                empty = int((matrix.n_recommended == 0).sum())
                if empty:
                    warnings.warn(
                        f"model {model_name!r} returned no recommendations for {empty} of "
                        f"{len(users)} test users; they count as misses",
                        DataWarning,
                        stacklevel=2,
                    )
            list_items = matrix.list_items
            if mode != "all":
                list_items = mode_list_items(
                    list_items.join(user_index, on="_u"), mode, split.train
                )
            if "coverage" in names:
                check_catalogue(list_items, catalogue)
                if USER not in list_items.columns:
                    list_items = list_items.join(user_index, on="_u")
                lists.append(
                    list_items.select(
                        pl.lit(model_name).alias("model"),
                        pl.lit(mode).alias("mode"),
                        USER,
                        RANK,
                        ITEM,
                    )
                )
            for metric in names:
                for kk in ks:
                    if metric == "coverage" or (metric == "repeat_share" and mode != "all"):
                        continue
                    if metric == "repeat_share":
                        vector = repeat_share_values(
                            matrix.list_items.join(user_index, on="_u"), seen, len(users), kk
                        )
                    elif metric == "novelty":
                        assert info is not None
                        vector = novelty_values(list_items, len(users), kk, info)
                    else:
                        vector = accuracy_from_hits(matrix.hits, matrix.n_truth, kk, metric)
                    columns.append((model_name, mode, metric, kk))
                    values.append(vector)
    progress.close()

    return PerUserMetrics(
        users=users,
        values=np.column_stack(values) if values else np.empty((len(users), 0)),
        columns=pl.DataFrame(columns, schema=_COLUMN_SCHEMA, orient="row"),
        models=tuple(named),
        lists=pl.concat(lists) if lists else None,
        coverage_k=tuple(ks) if "coverage" in names and not sampled else (),
        catalogue_size=len(catalogue),
    )


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
    >>> results = rs.evaluation.summarize(per_user, segments=segments, bootstrap=0)
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
    table = pl.concat([r.cast(_TABLE_SCHEMA) for r in rows]).sort(  # type: ignore[arg-type]
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
                        schema=_TABLE_SCHEMA,
                        orient="row",
                    )
                )
    return rows


def evaluate(
    models: Any,
    split: Split,
    k: int | Sequence[int] = (5, 10, 20),
    metrics: Iterable[str] | None = None,
    exclude_seen: bool | Mapping[str, bool | None] | None = None,
    by: Any = None,
    bootstrap: int = 1000,
    seed: int = 0,
    show_progress: bool = True,
    *,
    segments: Any = None,
    modes: Sequence[str] = DEFAULT_MODES,
    protocol: FullRanking | SampledNegatives | None = None,
    confidence: float = 0.95,
    on_unknown: str = "skip",
) -> EvaluationResults:
    """Evaluate fitted recommenders on the test users of a split, with bootstrap CIs.

    ``evaluate(...)`` is ``summarize(per_user_metrics(...), ...)``: the first step
    asks each model for its lists and scores every test user, the second averages
    them, with intervals, overall and per segment. Fit the models first (for a
    temporal split, on ``Interactions.from_purchases(split.train)``).

    Parameters
    ----------
    models
        A fitted model, a list of them (named by class) or a dict name -> model.
        A model needs ``recommend(users, k, *, exclude_seen, on_unknown)``
        returning ``user_id, item_id, score, rank`` (and ``candidates=`` for the
        sampled protocol).
    split
        A `Split`; its test users are the population.
    k
        Cut-off(s).
    metrics
        Subset of ``hit_rate, precision, recall, ndcg, map, mrr, novelty, coverage,
        repeat_share`` (default: all; the sampled protocol supports ``hit_rate, ndcg,
        mrr``). ``repeat_share`` (the share of list slots holding an item the user
        bought before) depends on the list only and is reported in mode ``"all"``.
    exclude_seen
        Passed to ``recommend``: leave out items the user bought in train.
        ``None`` (the default) lets each model use its own default (recsys buy-again models,
        ``Repurchase`` and ``RepeatExplore``, recommend bought items; the others
        do not); a dict gives a value per model name.
    by
        The segment column, in ``segments``: one row per segment (also segments
        with no test user: ``n_users`` 0 and null values) plus the overall row
        ``"all"``. Test users without a segment form the segment ``"(missing)"``
        (warned).
    bootstrap
        Bootstrap resamples of the users for the percentile CI (0 = no CI).
    seed
        Seed of the bootstrap (and nothing else).
    show_progress
        Show a tqdm progress bar over models.
    segments
        Frame with ``user_id`` and the ``by`` column (e.g. the profiles from
        ``rs.build_profiles`` as of the cutoff); with one segment column, ``by``
        may be left out.
    modes
        ``"all"`` items, ``"new"`` items only (test items the user had not bought:
        the Reality Check's "explore" part) and/or ``"repeat"`` items only (test
        items bought before); default ``("all", "new")``. With ``"repeat"`` and
        ``"new"`` the table holds the repeat/explore decomposition of Li et al.
        (2023), and ``hit_rate`` is their PHR (see `recsys.evaluation.metrics`).
    protocol
        ``FullRanking()`` (default) or ``SampledNegatives(n, seed)`` (biased; for
        comparison with papers only).
    confidence
        Coverage of the bootstrap interval.
    on_unknown
        Passed to ``recommend`` for test users the model does not know. With
        ``"skip"`` they get no list and count as misses (a DataWarning counts them).

    Returns
    -------
    EvaluationResults
        ``.table``: ``model, mode, metric, k, segment, value, ci_low, ci_high, n_users``.
        ``value`` is the mean over the users with a defined value (``n_users``);
        ``coverage`` is a property of the whole set of lists and has no CI.
        The per-user values behind it are kept for paired `compare`.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> class Fixed:  # any object with recommend() works
    ...     def recommend(self, users=None, k=10, *, exclude_seen=True, on_unknown="raise"):
    ...         return pl.DataFrame({"user_id": [1, 2], "item_id": [5, 5], "score": [1.0, 1.0],
    ...                              "rank": [1, 1]})
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 1, 2], "item_id": [5, 6, 5, 7],
    ...                   "timestamp": [datetime(2020, 1, d) for d in (1, 1, 5, 5)]})
    >>> split = rs.evaluation.temporal_split(p, "2020-01-03")
    >>> results = rs.evaluate({"fixed": Fixed()}, split, k=1, metrics=["hit_rate"],
    ...                       bootstrap=0, show_progress=False)
    >>> results.table.filter(mode="all")["value"].item()
    0.5
    """
    check_positive_int("bootstrap", bootstrap, allow_zero=True)
    check_probability("confidence", confidence)
    per_user = per_user_metrics(
        models,
        split,
        k,
        metrics,
        exclude_seen,
        modes=modes,
        protocol=protocol,
        on_unknown=on_unknown,
        show_progress=show_progress,
    )
    return summarize(
        per_user, by, segments=segments, bootstrap=bootstrap, seed=seed, confidence=confidence
    )


_COLUMN_SCHEMA = {"model": pl.String, "mode": pl.String, "metric": pl.String, "k": pl.Int64}
_TABLE_SCHEMA = {
    **_COLUMN_SCHEMA,
    "segment": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_users": pl.Int64,
}


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


def _sampled_values(
    model: Any,
    truth: pl.DataFrame,
    train: pl.DataFrame,
    users: pl.Series,
    protocol: SampledNegatives,
    ks: list[int],
    names: list[str],
) -> dict[tuple[str, int], np.ndarray]:
    out: dict[tuple[str, int], np.ndarray] = {}
    if truth.height == 0:
        for metric in names:
            for kk in ks:
                out[(metric, kk)] = np.full(len(users), np.nan)
        return out
    candidates = sample_negatives(truth, train, protocol.n, protocol.seed)
    ranks = sampled_ranks(score_candidates(model, candidates))
    index = pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)})
    u = ranks.join(index, on=USER, how="left").get_column("_u").to_numpy()
    rank = ranks.get_column(RANK).to_numpy()
    n_cases = np.bincount(u, minlength=len(users))
    for metric in names:
        for kk in ks:
            per_case = sampled_metric(rank, kk, metric)
            total = np.bincount(u, weights=per_case, minlength=len(users))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[(metric, kk)] = np.where(n_cases > 0, total / np.maximum(n_cases, 1), np.nan)
    return out


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
