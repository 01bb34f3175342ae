"""``rs.evaluate(..., engine=rs.engine.Ray(...))``: the per-user work of `recsys.evaluate`
on a Ray cluster.

`recsys.evaluate` is `per_user_metrics` (every test user's metric values)
followed by `summarize` (means, bootstrap intervals, segments), and the summary
depends only on the per-user values. The population (the split's test users) is
cut into pieces; each Ray actor holds the models (rebuilt from their saved
arrays, shared through the object store as for ``recommend``) and runs
`per_user_metrics` on its pieces. The driver concatenates them
(`PerUserMetrics.concat`) and `evaluate` runs `summarize` on this process: the
table is identical to the single-process one (same users, same resamples, same seed).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl

from recsys._progress import tqdm
from recsys.data.columns import USER
from recsys.distributed._cluster import connect, model_arrays, resolve_workers
from recsys.engine import Ray
from recsys.evaluation import FullRanking, PerUserMetrics, Split, per_user_metrics
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.persistence import model_from_arrays

__all__ = ["per_user_metrics_on_ray"]


class _Evaluator:
    """Ray actor: the models, rebuilt once from the object store, and the training data."""

    def __init__(self, refs: dict[str, tuple[dict[str, Any], Any]], train: list[Any]) -> None:
        import ray

        self.models = {}
        for name, (meta, ref) in refs.items():
            self.models[name] = model_from_arrays(meta, ray.get(ref), f"model {name!r}")
        self.train = ray.get(train[0])

    def values(
        self, test: pl.DataFrame, cutoff: Any, on_unknown: str, options: dict[str, Any]
    ) -> PerUserMetrics:
        """`per_user_metrics` on the test users of one piece (warnings: once, on the driver)."""
        split = Split(train=self.train, test=test, cutoff=cutoff, method="shard")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            return per_user_metrics(
                self.models, split, on_unknown=on_unknown, show_progress=False, **options
            )


def per_user_metrics_on_ray(
    models: dict[str, Any],
    split: Split,
    protocol: Any,
    on_unknown: str,
    options: dict[str, Any],
    show_progress: bool,
    engine: Ray,
) -> PerUserMetrics:
    """`per_user_metrics` of the checked arguments, on pieces of the test users on Ray."""
    if not isinstance(protocol, FullRanking):
        raise InputDataError(
            "protocol=SampledNegatives draws its negatives in one sequence over all test "
            "users: run it with engine=rs.engine.Local()"
        )
    if engine.out is not None:
        raise InputDataError(
            "evaluate returns a small table: use rs.engine.Ray without out= "
            f"(got out={str(engine.out)!r})"
        )
    files = {name: model_arrays(model, "evaluate") for name, model in models.items()}
    if USER not in split.test.columns:
        raise InputDataError(f"split.test has no column {USER!r}")
    users = split.test.get_column(USER).drop_nulls().unique().sort()

    ray = connect(engine.address)
    workers = resolve_workers(ray, engine.workers)
    refs = {name: (meta, ray.put(arrays)) for name, (meta, arrays) in files.items()}
    train_ref = ray.put(split.train)
    actor_cls = ray.remote(
        num_cpus=engine.threads_per_worker, max_restarts=-1, max_task_retries=-1
    )(_Evaluator)
    actors = [actor_cls.remote(refs, [train_ref]) for _ in range(workers)]
    wanted = 4 * workers if engine.partitions is None else engine.partitions
    n_pieces = min(len(users), wanted) or 1
    bounds = np.linspace(0, len(users), n_pieces + 1).round().astype(int)
    test = split.test.filter(pl.col(USER).is_in(users.implode()))
    tasks = []
    for s in range(n_pieces):
        piece = users.slice(int(bounds[s]), int(bounds[s + 1] - bounds[s]))
        piece_test = test.filter(pl.col(USER).is_in(piece.implode()))
        tasks.append(
            actors[s % workers].values.remote(piece_test, split.cutoff, on_unknown, options)
        )
    parts = []
    try:
        with tqdm(
            total=len(tasks), desc="evaluate", unit="piece", disable=not show_progress
        ) as bar:
            for task in tasks:
                parts.append(ray.get(task))
                bar.update(1)
    finally:
        for actor in actors:
            ray.kill(actor)
    return PerUserMetrics.concat(parts)
