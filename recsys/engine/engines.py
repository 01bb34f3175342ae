"""The engine objects: small frozen dataclasses that say where a job runs.

`Local` runs a job in this process. `Ray` runs it on a Ray cluster: the same
single-process functions on shards of users, giving the same result. The Ray
implementations live in `recsys.distributed`, a higher floor than the models,
evaluation and profiles that take ``engine=``; `ray_job` finds them by name at
call time (as an entry point would), so the lower floors never import the upper.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recsys._validation import check_positive_int
from recsys.exceptions import InputDataError

__all__ = ["Engine", "Local", "Ray", "ray_job"]

#: The Ray implementation of each job that takes ``engine=``: ``module:function``.
RAY_JOBS = {
    "recommend": "recsys.distributed.recommend:recommend_on_ray",
    "per_user_metrics": "recsys.distributed.evaluate:per_user_metrics_on_ray",
    "build_profiles": "recsys.distributed.profiles:build_profiles_on_ray",
}


@dataclass(frozen=True)
class Local:
    """Run the job in this process (the default engine).

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "a"]})
    >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
    >>> model.recommend([2], k=1, engine=rs.engine.Local())["item_id"].to_list()
    ['b']
    """


@dataclass(frozen=True)
class Ray:
    """Run the job on a Ray cluster (extra ``recsys[ray]``); the result is the local one.

    Parameters
    ----------
    address
        The cluster. ``None``: the Ray session this process has already started,
        else a new local cluster of this machine's CPUs (``ray.init(address="local")``;
        never a cluster a stale ``/tmp/ray/ray_current_cluster`` file points at).
        ``"auto"``: the cluster started on this machine with ``ray start``;
        ``"ray://head:10001"``: a remote cluster through Ray Client (e.g. KubeRay).
    workers
        Ray workers (actors or tasks) at once; default one per CPU of the cluster.
    out
        A new or empty folder. ``None``: the workers' results are gathered on this
        process and the call returns what the local call returns (a frame).
        A folder: the workers write Parquet files there (``part-<block>.parquet``,
        in the order of the local result) and `recommend` / `build_profiles` return
        a ``polars.LazyFrame`` scanning them, so nothing large reaches this process
        (on a multi-node cluster the folder must be on a filesystem every node
        mounts at the same path). `evaluate` returns a small table and refuses ``out``.
    threads_per_worker
        CPUs reserved by, and scoring threads of, each worker (``num_threads`` of
        the call applies to the local engine only).
    item_shards
        `recommend`: cut the catalogue into this many item ranges, each held by its
        own workers, and merge their top-K lists exactly (for item arrays too large
        for one worker; ALS, BPR and Popular models).
    batch_size
        `recommend`: users per block, rounded up to the scoring kernel's tile so
        scores are bit-identical to one process. Default: about four blocks per
        worker, at most 65,536 users and at most 16 MB of the users' arrays and
        lists (``recsys.distributed.recommend.BLOCK_BYTES``: 16,384 users of a
        64-factor ALS at ``k=10``), which bounds a worker's memory whatever the
        number of users.
    partitions
        `build_profiles` of a frame and `evaluate`: the pieces the customers are
        cut into (default: four per worker). A folder of Parquet files passed to
        `build_profiles` is cut by its files.

    Raises
    ------
    InputDataError
        A parameter of the wrong type or range.

    Examples
    --------
    >>> import recsys as rs
    >>> rs.engine.Ray(address="auto", workers=8).workers
    8
    >>> rs.engine.Ray(item_shards=0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: item_shards must be >= 1, got 0
    """

    address: str | None = None
    workers: int | None = None
    out: str | os.PathLike[str] | None = None
    threads_per_worker: int = 1
    item_shards: int = 1
    batch_size: int | None = None
    partitions: int | None = None

    def __post_init__(self) -> None:
        if self.address is not None and not isinstance(self.address, str):
            raise InputDataError(
                f"address must be None or a string such as 'auto' or 'ray://head:10001', "
                f"got {self.address!r}"
            )
        if self.out is not None and not isinstance(self.out, (str, os.PathLike)):
            raise InputDataError(f"out must be None or a folder path, got {self.out!r}")
        check_positive_int("threads_per_worker", self.threads_per_worker)
        check_positive_int("item_shards", self.item_shards)
        for name in ("workers", "batch_size", "partitions"):
            value = getattr(self, name)
            if value is not None:
                check_positive_int(name, value)


#: An engine: where a job runs.
Engine = Local | Ray


def ray_job(engine: Any, job: str) -> Callable[..., Any] | None:
    """The Ray implementation of ``job`` when ``engine`` is a `Ray`; None for `Local`.

    The one dispatch of every job that takes ``engine=``::

        if (run := ray_job(engine, "recommend")) is not None:
            return run(...)

    Raises
    ------
    InputDataError
        ``engine`` is neither a `Local` nor a `Ray`.

    Examples
    --------
    >>> import recsys as rs
    >>> rs.engine.ray_job(rs.engine.Local(), "recommend") is None
    True
    >>> rs.engine.ray_job("ray", "recommend")
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: engine must be rs.engine.Local() or rs.engine.Ray(), got 'ray'
    """
    if isinstance(engine, Local):
        return None
    if not isinstance(engine, Ray):
        raise InputDataError(f"engine must be rs.engine.Local() or rs.engine.Ray(), got {engine!r}")
    module, _, name = RAY_JOBS[job].partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function
