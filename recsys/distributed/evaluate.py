"""``evaluate_batch``: :func:`recsys.evaluate` with the per-user work on a Ray cluster.

The population (the split's test users, sorted) is cut into contiguous shards.
Each Ray actor holds the models (rebuilt from their saved arrays, shared through
the object store as in :func:`~recsys.distributed.recommend_batch`) and computes,
for a shard, the per-user metric values: one float64 row per user, one column
per (model, mode, metric, k). The driver stacks the shards in user order and
computes the bootstrap intervals and the per-segment rows with the same code as
:func:`recsys.evaluate` (``_summary``: same resamples, same seed), so the table
is identical to the single-process one.

Seams (to re-point when ``recsys.evaluation.evaluate`` is split into a
per-user-values step and a summary step): :func:`_shard_values` is the only
per-user computation run on the workers (today it calls ``evaluate`` on the
shard with ``bootstrap=0, return_per_user=True``); :func:`_table` is the only
summary step on the driver.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys._validation import check_in, check_positive_int, check_probability
from recsys.data.columns import ITEM, RANK, SCORE, USER
from recsys.distributed._cluster import connect, resolve_workers
from recsys.evaluation._frames import prepare_truth
from recsys.evaluation.evaluate import (
    _TABLE_SCHEMA,
    OVERALL,
    _segments,
    _summary,
    evaluate,
)
from recsys.evaluation.metrics import METRICS, MODES
from recsys.evaluation.splits import Split
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.persistence import model_from_arrays, read_model_file

__all__ = ["evaluate_batch"]


def _model_arrays(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A model's file contents: read from a path, or saved from a fitted model."""
    if isinstance(model, (str, Path)):
        return read_model_file(model)
    if not callable(getattr(model, "save", None)):
        raise InputDataError(
            f"evaluate_batch needs recsys models or model files, got {type(model).__name__}"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path)
        return read_model_file(path)


def _named(models: Any) -> dict[str, Any]:
    """Models by name as ``evaluate`` names them; a model file is named by its stem."""

    def name(model: Any) -> str:
        return Path(model).stem if isinstance(model, (str, Path)) else type(model).__name__

    if isinstance(models, Mapping):
        named = {str(key): model for key, model in models.items()}
    elif isinstance(models, (list, tuple)):
        named = {name(model): model for model in models}
        if len(named) < len(models):
            raise InputDataError("two models have the same name; pass a dict name -> model")
    else:
        named = {name(models): models}
    if not named:
        raise InputDataError("models is empty: pass a model, a list of models or a dict")
    return named


class _Lists:
    """Stands in for a model in ``evaluate``: records the lists it hands out."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.lists: pl.DataFrame | None = None

    def recommend(self, users: Any = None, k: int = 10, **kwargs: Any) -> pl.DataFrame:
        self.lists = self.model.recommend(users, k, **kwargs)
        return self.lists


def _shard_values(
    models: dict[str, Any], split: Split, options: dict[str, Any], keep_lists: bool
) -> tuple[np.ndarray, dict[str, pl.DataFrame]]:
    """Per-user values of the shard's test users (sorted), and the lists if asked.

    The one per-user step run on the workers: ``evaluate`` on the shard with
    ``bootstrap=0`` (a per-user value depends only on the user's own lists and
    truth, and on the whole training data, which every shard has).
    """
    wrapped = {name: _Lists(model) for name, model in models.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # raised once, on the driver
        results = evaluate(
            wrapped, split, bootstrap=0, show_progress=False, return_per_user=True, **options
        )
    lists = {}
    if keep_lists:
        lists = {
            name: w.lists.select(USER, ITEM, SCORE, RANK)
            for name, w in wrapped.items()
            if w.lists is not None
        }
    return results.values, lists  # type: ignore[union-attr]


class _Evaluator:
    """Ray actor: the models, rebuilt once from the object store, and the training data."""

    def __init__(self, refs: dict[str, list[Any]], train: list[Any]) -> None:
        import ray

        self.models = {}
        for name, (meta, ref) in refs.items():
            self.models[name] = model_from_arrays(meta, ray.get(ref), f"model {name!r}")
        self.train = ray.get(train[0])

    def values(
        self, test: pl.DataFrame, cutoff: Any, options: dict[str, Any], keep_lists: bool
    ) -> tuple[np.ndarray, dict[str, pl.DataFrame]]:
        split = Split(train=self.train, test=test, cutoff=cutoff, method="shard")
        return _shard_values(self.models, split, options, keep_lists)


class _Fixed:
    """Hands out lists computed on the workers (for the coverage rows)."""

    def __init__(self, lists: pl.DataFrame) -> None:
        self.lists = lists

    def recommend(self, users: Any = None, k: int = 10, **kwargs: Any) -> pl.DataFrame:
        return self.lists


def _table(
    values: np.ndarray,
    columns: pl.DataFrame,
    groups: list[tuple[str, np.ndarray]],
    coverage: pl.DataFrame | None,
    order: list[str],
    bootstrap: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    """The summary step: ``evaluate``'s table from the per-user values (same code path)."""
    rows = [
        _summary(values[members], columns, segment, bootstrap, seed, confidence)
        for segment, members in groups
    ]
    if coverage is not None:
        rows.append(coverage)
    table = pl.concat([r.cast(_TABLE_SCHEMA) for r in rows])  # type: ignore[arg-type]
    return table.sort(
        pl.col("model").replace_strict({n: i for i, n in enumerate(order)}, return_dtype=pl.Int64),
        pl.col("mode").replace_strict({"all": 0, "new": 1}, return_dtype=pl.Int64),
        pl.col("metric").replace_strict(
            {m: i for i, m in enumerate(METRICS)}, return_dtype=pl.Int64
        ),
        "k",
        pl.col("segment") != OVERALL,
        "segment",
    )


def evaluate_batch(
    models: Any,
    split: Split,
    k: int | Sequence[int] = (5, 10, 20),
    metrics: Iterable[str] | None = None,
    exclude_seen: bool | Mapping[str, bool | None] | None = None,
    by: Any = None,
    bootstrap: int = 1000,
    seed: int = 0,
    *,
    profiles: Any = None,
    modes: Sequence[str] = MODES,
    confidence: float = 0.95,
    on_unknown: str = "skip",
    num_workers: int | None = None,
    ray_address: str | None = None,
) -> pl.DataFrame:
    """:func:`recsys.evaluate` on a Ray cluster: the same table, per-user work on workers.

    Parameters
    ----------
    models
        Fitted recsys models or model files (``.npz``): one, a list, or a dict
        name -> model. They reach the workers as arrays (``ray.put`` once, the
        model rebuilt on each worker), never pickled.
    split, k, metrics, exclude_seen, by, bootstrap, seed, profiles, modes, confidence, on_unknown
        As in :func:`recsys.evaluate` (full-ranking protocol).
    num_workers
        Ray actors (default: one per CPU of the cluster).
    ray_address
        Cluster to join when Ray is not initialised yet (``"auto"``, ``"ray://..."``).

    Returns
    -------
    polars.DataFrame
        Identical to ``rs.evaluate(models, split, ...)`` with the same arguments.

    Examples
    --------
    >>> import recsys as rs
    >>> table = rs.distributed.evaluate_batch({"als": "als.npz"}, split, k=10)  # doctest: +SKIP
    """
    if not isinstance(split, Split):
        raise InputDataError(f"split must be a recsys Split, got {type(split).__name__}")
    named = _named(models)
    ks = sorted({check_positive_int("k", v) for v in ([k] if isinstance(k, int) else k)})
    names = list(METRICS if metrics is None else dict.fromkeys(metrics))
    per_user_metrics = [m for m in names if m != "coverage"]
    options = {
        "k": ks,
        "metrics": per_user_metrics,
        "exclude_seen": exclude_seen,
        "modes": modes,
        "on_unknown": on_unknown,
        "confidence": confidence,
    }
    for name in names:
        check_in("metrics", name, METRICS)
    for mode in modes:
        check_in("modes", mode, MODES)
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    confidence = check_probability("confidence", confidence)
    check_in("on_unknown", on_unknown, ("raise", "skip", "fallback"))
    files = {name: _model_arrays(model) for name, model in named.items()}
    truth = prepare_truth(split.test, "split.test")
    users = truth.get_column(USER).unique().sort()
    segmented = _segments(by, profiles, users)

    ray = connect(ray_address)
    workers = resolve_workers(ray, num_workers)
    refs = {name: (meta, ray.put(arrays)) for name, (meta, arrays) in files.items()}
    train_ref = ray.put(split.train)
    actor_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_Evaluator)
    actors = [actor_cls.remote(refs, [train_ref]) for _ in range(workers)]
    n_shards = min(len(users), 4 * workers) or 1
    bounds = np.linspace(0, len(users), n_shards + 1).round().astype(int)
    test = split.test.filter(pl.col(USER).is_in(users.implode()))
    keep_lists = "coverage" in names
    tasks = []
    for s in range(n_shards):
        shard_users = users.slice(int(bounds[s]), int(bounds[s + 1] - bounds[s]))
        shard_test = test.filter(pl.col(USER).is_in(shard_users.implode()))
        tasks.append(
            actors[s % workers].values.remote(shard_test, split.cutoff, options, keep_lists)
        )
    results = ray.get(tasks)
    for actor in actors:
        ray.kill(actor)

    values = np.vstack([v for v, _ in results]) if results else np.empty((0, 0))
    columns = pl.DataFrame(
        [
            (name, mode, metric, kk)
            for name in named
            for mode in modes
            for metric in per_user_metrics
            for kk in ks
        ],
        schema={"model": pl.String, "mode": pl.String, "metric": pl.String, "k": pl.Int64},
        orient="row",
    )
    if values.shape[1] != columns.height:
        raise InputDataError("internal: per-user values do not match their columns")
    groups: list[tuple[str, np.ndarray]] = [(OVERALL, np.arange(len(users)))]
    if segmented is not None:
        labels, segment_names = segmented
        groups += [(name, np.flatnonzero(labels == name)) for name in segment_names]
    coverage: Any = None
    if keep_lists:
        fixed = {name: _Fixed(pl.concat([lists[name] for _, lists in results])) for name in named}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            coverage = evaluate(
                fixed,
                split,
                k=ks,
                metrics=["coverage"],
                by=by,
                profiles=profiles,
                bootstrap=0,
                show_progress=False,
                modes=modes,
                on_unknown=on_unknown,
            )

    return _table(values, columns, groups, coverage, list(named), bootstrap, seed, confidence)
