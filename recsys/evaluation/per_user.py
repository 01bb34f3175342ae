"""First step of `evaluate`: every test user's value of every metric, for every model."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from recsys._progress import tqdm
from recsys._validation import check_in, check_positive_int
from recsys.data.columns import ITEM, RANK, USER
from recsys.engine import Engine, Local, ray_job
from recsys.evaluation._frames import hit_matrix, prepare_recommendations, prepare_truth
from recsys.evaluation.metrics import (
    DEFAULT_MODES,
    METRICS,
    MODES,
    accuracy_from_hits,
    check_catalogue,
    mode_list_items,
    mode_truth,
    novelty_values,
    repeat_share_values,
    self_information,
    train_pairs,
    warn_short_lists,
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
from recsys.evaluation.results import PerUserMetrics
from recsys.evaluation.splits import Split
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.ranker import SHORT_LISTS

__all__ = ["COLUMN_SCHEMA", "per_user_metrics"]

COLUMN_SCHEMA = {"model": pl.String, "mode": pl.String, "metric": pl.String, "k": pl.Int64}


def _name_models(models: Any) -> dict[str, Any]:
    """Models by name: a dict as given, a list or one model named by class."""
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
    engine: Engine = Local(),  # noqa: B008 - a frozen dataclass
) -> PerUserMetrics:
    """First step of `evaluate`: every test user's value of every metric, for every model.

    The models recommend for the test users of ``split``; nothing is averaged,
    resampled or segmented here (that is `summarize`).

    Parameters
    ----------
    models, split, k, metrics, exclude_seen, modes, protocol, on_unknown, show_progress, engine
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
    named = _name_models(models)
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
    if (run := ray_job(engine, "per_user_metrics")) is not None:
        options = {"k": ks, "metrics": names, "exclude_seen": exclude_seen, "modes": modes}
        return run(named, split, protocol, on_unknown, options, show_progress, engine)

    truth = prepare_truth(split.test, "split.test")
    users = truth.get_column(USER).unique().sort()
    truths = {mode: mode_truth(truth, mode, split.train) for mode in modes}
    depth = max(ks)
    info = self_information(split.train) if "novelty" in names else None
    seen = train_pairs(split.train)
    catalogue = seen.get_column(ITEM).unique()
    user_index = pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)})
    mode_pairs: dict[tuple[Any, Any], pl.DataFrame] = {}

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
        with warnings.catch_warnings():
            # the short and empty lists are counted below, in the evaluation's words
            warnings.filterwarnings("ignore", SHORT_LISTS, DataWarning)
            listed = model.recommend(
                users=users, k=depth, exclude_seen=model_exclude, on_unknown=on_unknown
            )
        recs = prepare_recommendations(listed, truth, f"recommendations of model {model_name!r}")
        warn_short_lists(recs, depth, whose=f"model {model_name!r}: ")
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
                list_items = list_items.join(user_index, on="_u")
                ids = (list_items.schema[USER], list_items.schema[ITEM])
                if ids not in mode_pairs:  # the training pairs once, not once per model
                    mode_pairs[ids] = train_pairs(split.train, list_items)
                list_items = mode_list_items(list_items, mode, split.train, mode_pairs[ids])
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
        columns=pl.DataFrame(columns, schema=COLUMN_SCHEMA, orient="row"),
        models=tuple(named),
        lists=pl.concat(lists) if lists else None,
        coverage_k=tuple(ks) if "coverage" in names and not sampled else (),
        catalogue_size=len(catalogue),
    )


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
