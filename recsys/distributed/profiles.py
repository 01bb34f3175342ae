"""``rs.build_profiles(..., engine=rs.engine.Ray(...))``: profiles of shards of customers on Ray.

How it runs
-----------
`recsys.build_profiles` is three steps (`recsys.profiles.steps`):
`summarize_shard` (every customer's own aggregates), `global_statistics` (what
compares customers: score cut points, lifecycle thresholds, tier cut points, the
BG/NBD, survival, churn-calibration and CLV fits) and `apply_statistics` (the
profile rows). In one process the "shard" is the whole table. Here the purchases
are shards holding *all* rows of their customers (a Parquet dataset partitioned by
a hash of ``user_id``, see `write_partitioned`), and:

0. a Ray task per shard returns its schema and ``(rows, first, last)`` timestamps:
   the driver resolves ``as_of`` (`resolve_as_of`) and checks the item table;
1. a Ray task per shard runs `summarize_shard` and returns two objects: the
   shard's `GlobalInputs` (a few numbers per customer, gap value counts, row
   tallies), fetched by the driver, and the shard's summary, which stays in the
   object store (owned by the driver, so Ray rebuilds it by re-running the task if
   its node dies);
2. the driver concatenates the inputs in ``user_id`` order (checking that no
   customer is in two shards) and runs `global_statistics` on them: the same
   arrays, in the same order, as in one process, hence the same fits;
3. a Ray task per shard runs `apply_statistics` on its summary and returns its
   rows or, with the engine's ``out``, writes ``part-<shard>.parquet`` there
   (atomically: a retried task replaces its own file).

The driver never sees a purchase row. It logs (logger ``recsys.distributed``, INFO)
the bytes it gathered in step 2.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from recsys._io import atomic_path
from recsys._progress import tqdm
from recsys._validation import check_positive_int
from recsys.data import columns as C
from recsys.data.canonical import require_purchases
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timeutil import TimeLike
from recsys.distributed import _cluster
from recsys.distributed._cluster import FAULT_AT, check_out, connect, maybe_die, resolve_workers
from recsys.engine import Ray
from recsys.exceptions import InputDataError
from recsys.profiles.build import check_config
from recsys.profiles.config import ProfileConfig
from recsys.profiles.source import (
    ProfileSource,
    item_categories,
    prepare_source,
    resolve_as_of,
    time_range,
)
from recsys.profiles.steps import (
    GlobalInputs,
    ProfileStats,
    ShardSummary,
    apply_statistics,
    global_statistics,
    summarize_shard,
)

__all__ = ["build_profiles_on_ray", "write_partitioned"]

logger = logging.getLogger("recsys.distributed")

#: Seed of the user hash of `write_partitioned` (and of in-memory frames' shards).
HASH_SEED = 0


def _bucket(partitions: int) -> pl.Expr:
    return (pl.col(C.USER).hash(seed=HASH_SEED) % partitions).alias("_bucket")


def write_partitioned(purchases: FrameLike, folder: Any, partitions: int = 16) -> list[Path]:
    """Write purchases as a Parquet dataset partitioned by a hash of ``user_id``.

    File ``part-<p>.parquet`` holds every row of the customers whose polars hash of
    ``user_id`` (seed `HASH_SEED`) is ``p`` modulo ``partitions`` — the layout
    ``rs.build_profiles(folder, engine=rs.engine.Ray(...))`` reads (any layout where
    each customer's rows are in one file will do; the hash only balances the files).
    polars does not promise the same hash across its versions: write a dataset with
    one polars version (a customer found in two files is an error, never a double row).

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`): a frame or a Parquet/CSV
        path (scanned, one streaming pass per partition).
    folder
        A new or empty folder.
    partitions
        Number of files.

    Returns
    -------
    list of Path
        The files, in partition order (a partition without customers is an empty
        file with the schema).

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl, recsys as rs
    >>> from datetime import datetime
    >>> purchases = pl.DataFrame({"user_id": [1, 2, 1], "item_id": ["a", "b", "c"],
    ...     "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3)], "quantity": [1.0] * 3})
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "by_user"
    >>> [f.name for f in rs.distributed.write_partitioned(purchases, folder, 2)]
    ['part-00000.parquet', 'part-00001.parquet']
    >>> pl.read_parquet(folder).height
    3
    """
    partitions = check_positive_int("partitions", partitions)
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, "write_partitioned")
    if folder is None:
        raise InputDataError("folder is required: a new or empty folder for the files")
    path = check_out(folder)
    bucket = _bucket(partitions)
    files = []
    for p in range(partitions):
        target = path / f"part-{p:05d}.parquet"
        lf.filter(bucket == p).sink_parquet(target)
        files.append(target)
    return files


def _shards(purchases: Any, n_shards: int, ray: Any) -> list[Any]:
    """Shard specs: the dataset's Parquet files (paths), or a frame's hash partitions
    (object refs)."""
    if isinstance(purchases, (str, os.PathLike)):
        path = Path(os.fspath(purchases))
        files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
        if not files or not files[0].exists():
            raise InputDataError(f"purchases={str(path)!r}: no Parquet file found")
        return [str(f) for f in files]
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, "build_profiles")
    frame = lf.collect()
    with_bucket = frame.with_columns(_bucket(n_shards))
    return [
        ray.put(with_bucket.filter(pl.col("_bucket") == s).drop("_bucket")) for s in range(n_shards)
    ]


def _source_of(spec: Any) -> ProfileSource:
    return prepare_source(spec, "build_profiles")


def _range_task(spec: Any) -> tuple[pl.Schema, tuple[Any, Any, Any]]:
    """Pass 0 on a shard: its schema and purchase time range."""
    source = _source_of(spec)
    return source.schema, time_range(source)


def _summary_task(
    spec: Any, as_of: Any, categories: Any, config: ProfileConfig, fault_file: str | None
) -> tuple[GlobalInputs, ShardSummary]:
    """Pass 1 on a shard: `summarize_shard`; the inputs go to the driver, the summary
    stays in the object store."""
    maybe_die(fault_file, FAULT_AT)  # the tests' hook: one worker dies once
    summary = summarize_shard(_source_of(spec), as_of, categories, config)
    return summary.inputs, summary


def _apply_task(
    summary: ShardSummary, stats: ProfileStats, config: ProfileConfig, path: str | None
) -> pl.DataFrame | int:
    """Pass 2 on a shard: its profile rows, returned or written atomically to ``path``
    (their count returned)."""
    profile = apply_statistics(summary, stats, config)
    if path is None:
        return profile
    with atomic_path(path) as tmp:
        profile.write_parquet(tmp)
    return profile.height


def _run(
    ray: Any,
    task: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    workers: int,
    desc: str,
    show_progress: bool,
    num_returns: int = 1,
) -> list[Any]:
    """Submit ``task(*args)`` for each of ``calls``, at most ``workers`` at once; the
    refs in call order (lists of ``num_returns`` refs when above 1)."""
    remote = ray.remote(num_cpus=1, max_retries=3, num_returns=num_returns)(task).remote
    refs: list[Any] = []
    pending: list[Any] = []
    with tqdm(total=len(calls), desc=desc, unit="shard", disable=not show_progress) as bar:
        for args in calls:
            if len(pending) >= workers:
                done, pending = ray.wait(pending, num_returns=1)
                bar.update(len(done))
            ref = remote(*args)
            refs.append(ref)
            pending.append(ref[0] if num_returns > 1 else ref)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            bar.update(len(done))
    return refs


def build_profiles_on_ray(
    purchases: FrameLike,
    as_of: TimeLike | None,
    items: FrameLike | None,
    config: ProfileConfig | None,
    engine: Ray,
    return_models: bool,
) -> pl.DataFrame | pl.LazyFrame | tuple[pl.DataFrame | pl.LazyFrame, ProfileStats]:
    """`recsys.build_profiles` on a Ray cluster (see the module docstring).

    ``purchases`` is a frame (cut into ``engine.partitions`` shards by a hash of
    ``user_id``, default four per worker, and sent through the object store) or a
    folder of Parquet files each holding every row of its customers
    (`write_partitioned` writes one), or one such file. The rows are exactly those
    of the local call, with the same warnings and errors (raised on the driver):
    a frame sorted by ``user_id``, or with ``engine.out`` a LazyFrame over the
    files (each sorted by ``user_id``; ``.sort("user_id")`` gives the local frame);
    with ``return_models`` also the `ProfileStats`, fitted on the driver.
    """
    config = check_config(config)
    folder = None if engine.out is None else check_out(engine.out)
    ray = connect(engine.address)
    workers = resolve_workers(ray, engine.workers)
    n_shards = 4 * workers if engine.partitions is None else engine.partitions
    specs = _shards(purchases, n_shards, ray)

    ranges = ray.get(_run(ray, _range_task, [(s,) for s in specs], workers, "", False))
    schemas = {str(schema) for schema, _ in ranges}
    if len(schemas) > 1:
        raise InputDataError(f"the shards of purchases have different schemas: {sorted(schemas)}")
    when = resolve_as_of([r for _, r in ranges], as_of)
    categories = ray.put(item_categories(items, ranges[0][0], config))

    fault = _cluster.FAULT_FILE
    calls: list[tuple[Any, ...]] = [(s, when, categories, config, fault) for s in specs]
    pairs = _run(ray, _summary_task, calls, workers, "profiles: pass 1", False, 2)
    parts = ray.get([pair[0] for pair in pairs])
    inputs = GlobalInputs.concat(parts)
    gathered = {key: sum(p.nbytes[key] for p in parts) for key in parts[0].nbytes}
    logger.info(
        "build_profiles: the driver gathered %s bytes (%s)", sum(gathered.values()), gathered
    )
    stats = global_statistics(inputs, when, config)

    stats_ref = ray.put(stats)
    paths = [
        None if folder is None else str(folder / f"part-{s:05d}.parquet") for s in range(len(pairs))
    ]
    calls = [(pair[1], stats_ref, config, path) for pair, path in zip(pairs, paths, strict=True)]
    results = ray.get(_run(ray, _apply_task, calls, workers, "profiles: pass 2", False))
    if folder is None:
        profiles: pl.DataFrame | pl.LazyFrame = pl.concat(results).sort(C.USER)
    else:
        profiles = pl.scan_parquet([p for p in paths if p is not None])
    return (profiles, stats) if return_models else profiles
