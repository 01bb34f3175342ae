"""``evaluate_batch``: `recsys.evaluate` with the per-user work on a Ray cluster.

`recsys.evaluate` is `per_user_metrics` (every test user's metric values)
followed by `summarize` (means, bootstrap intervals, segments), and the summary
depends only on the per-user values. The population (the split's test users) is
cut into shards; each Ray actor holds the models (rebuilt from their saved
arrays, shared through the object store as in `recommend_batch`) and runs
`per_user_metrics` on its shard. The driver concatenates the shards
(`PerUserMetrics.concat`) and runs `summarize`: the table is identical to the
single-process one (same users, same resamples, same seed).
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
from recsys.data.columns import USER
from recsys.distributed._cluster import connect, resolve_workers
from recsys.evaluation.evaluate import (
    EvaluationResults,
    PerUserMetrics,
    per_user_metrics,
    summarize,
)
from recsys.evaluation.metrics import DEFAULT_MODES, METRICS, MODES
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


def _shard_values(models: dict[str, Any], split: Split, options: dict[str, Any]) -> PerUserMetrics:
    """The per-user step run on the workers (a shard's test users)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # raised once, on the driver
        return per_user_metrics(models, split, show_progress=False, **options)


class _Evaluator:
    """Ray actor: the models, rebuilt once from the object store, and the training data."""

    def __init__(self, refs: dict[str, list[Any]], train: list[Any]) -> None:
        import ray

        self.models = {}
        for name, (meta, ref) in refs.items():
            self.models[name] = model_from_arrays(meta, ray.get(ref), f"model {name!r}")
        self.train = ray.get(train[0])

    def values(self, test: pl.DataFrame, cutoff: Any, options: dict[str, Any]) -> PerUserMetrics:
        split = Split(train=self.train, test=test, cutoff=cutoff, method="shard")
        return _shard_values(self.models, split, options)


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
    segments: Any = None,
    modes: Sequence[str] = DEFAULT_MODES,
    confidence: float = 0.95,
    on_unknown: str = "skip",
    num_workers: int | None = None,
    ray_address: str | None = None,
) -> EvaluationResults:
    """`recsys.evaluate` on a Ray cluster: the same table, per-user work on workers.

    Parameters
    ----------
    models
        Fitted recsys models or model files (``.npz``): one, a list, or a dict
        name -> model. They reach the workers as arrays (``ray.put`` once, the
        model rebuilt on each worker), never pickled.
    split, k, metrics, exclude_seen, by, bootstrap, seed, segments, modes, confidence, on_unknown
        As in `recsys.evaluate` (full-ranking protocol).
    num_workers
        Ray actors (default: one per CPU of the cluster).
    ray_address
        Cluster to join when Ray is not initialised yet (``"auto"``, ``"ray://..."``).

    Returns
    -------
    EvaluationResults
        Identical to ``rs.evaluate(models, split, ...)`` with the same arguments.

    Examples
    --------
    >>> import recsys as rs
    >>> table = rs.distributed.evaluate_batch({"als": "als.npz"}, split, k=10)  # doctest: +SKIP
    """
    if not isinstance(split, Split):
        raise InputDataError(f"split must be a recsys Split, got {type(split).__name__}")
    named = _named(models)
    options = {
        "k": k,
        "metrics": metrics,
        "exclude_seen": exclude_seen,
        "modes": modes,
        "on_unknown": on_unknown,
    }
    for name in METRICS if metrics is None else metrics:
        check_in("metrics", name, METRICS)
    for mode in modes:
        check_in("modes", mode, MODES)
    check_positive_int("bootstrap", bootstrap, allow_zero=True)
    check_probability("confidence", confidence)
    check_in("on_unknown", on_unknown, ("raise", "skip", "fallback"))
    files = {name: _model_arrays(model) for name, model in named.items()}
    if USER not in split.test.columns:
        raise InputDataError(f"split.test has no column {USER!r}")
    users = split.test.get_column(USER).drop_nulls().unique().sort()

    ray = connect(ray_address)
    workers = resolve_workers(ray, num_workers)
    refs = {name: (meta, ray.put(arrays)) for name, (meta, arrays) in files.items()}
    train_ref = ray.put(split.train)
    actor_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_Evaluator)
    actors = [actor_cls.remote(refs, [train_ref]) for _ in range(workers)]
    n_shards = min(len(users), 4 * workers) or 1
    bounds = np.linspace(0, len(users), n_shards + 1).round().astype(int)
    test = split.test.filter(pl.col(USER).is_in(users.implode()))
    tasks = []
    for s in range(n_shards):
        shard_users = users.slice(int(bounds[s]), int(bounds[s + 1] - bounds[s]))
        shard_test = test.filter(pl.col(USER).is_in(shard_users.implode()))
        tasks.append(actors[s % workers].values.remote(shard_test, split.cutoff, options))
    parts = ray.get(tasks)
    for actor in actors:
        ray.kill(actor)
    return summarize(
        PerUserMetrics.concat(parts),
        by,
        segments=segments,
        bootstrap=bootstrap,
        seed=seed,
        confidence=confidence,
    )
