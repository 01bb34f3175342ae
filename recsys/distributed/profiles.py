"""``build_profiles_batch``: `recsys.build_profiles` over a user-partitioned dataset on Ray.

How it runs
-----------
`recsys.build_profiles` is three steps (`recsys.profiles.build`):
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
3. a Ray task per shard runs `apply_statistics` on its summary and writes
   ``part-<shard>.parquet`` under ``out`` (atomically: a retried task replaces its
   own file).

The driver never sees a purchase row.
"""

from __future__ import annotations

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
from recsys.distributed._cluster import check_out, connect, resolve_workers
from recsys.exceptions import InputDataError
from recsys.profiles.build import (
    GlobalInputs,
    ProfileSource,
    ProfileStats,
    ShardSummary,
    apply_statistics,
    check_config,
    global_statistics,
    item_categories,
    prepare_source,
    resolve_as_of,
    summarize_shard,
    time_range,
)
from recsys.profiles.config import ProfileConfig

__all__ = ["build_profiles_batch", "write_partitioned"]

#: Seed of the user hash of `write_partitioned` (and of in-memory frames' shards).
HASH_SEED = 0


def _bucket(partitions: int) -> pl.Expr:
    return (pl.col(C.USER).hash(seed=HASH_SEED) % partitions).alias("_bucket")


def write_partitioned(purchases: FrameLike, folder: Any, partitions: int = 16) -> list[Path]:
    """Write purchases as a Parquet dataset partitioned by a hash of ``user_id``.

    File ``part-<p>.parquet`` holds every row of the customers whose polars hash of
    ``user_id`` (seed `HASH_SEED`) is ``p`` modulo ``partitions`` — the layout
    `build_profiles_batch` reads (any layout where each customer's rows are in one
    file will do; the hash only balances the files). polars does not promise the same
    hash across its versions: write a dataset with one polars version (a customer
    found in two files is an error in `build_profiles_batch`, never a double row).

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
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, "build_profiles_batch")
    frame = lf.collect()
    with_bucket = frame.with_columns(_bucket(n_shards))
    return [
        ray.put(with_bucket.filter(pl.col("_bucket") == s).drop("_bucket")) for s in range(n_shards)
    ]


def _source_of(spec: Any) -> ProfileSource:
    return prepare_source(spec, "build_profiles_batch")


def _range_task(spec: Any) -> tuple[pl.Schema, tuple[Any, Any, Any]]:
    """Pass 0 on a shard: its schema and purchase time range."""
    source = _source_of(spec)
    return source.schema, time_range(source)


def _summary_task(
    spec: Any, as_of: Any, categories: Any, config: ProfileConfig, fault_file: str | None
) -> tuple[GlobalInputs, ShardSummary]:
    """Pass 1 on a shard: `summarize_shard`; the inputs go to the driver, the summary
    stays in the object store."""
    if fault_file and not os.path.exists(fault_file):  # test hook: one worker dies once
        Path(fault_file).touch()
        os._exit(1)
    summary = summarize_shard(_source_of(spec), as_of, categories, config)
    return summary.inputs, summary


def _apply_task(
    summary: ShardSummary, stats: ProfileStats, config: ProfileConfig, path: str
) -> int:
    """Pass 2 on a shard: its profile rows, written atomically to ``path``."""
    profile = apply_statistics(summary, stats, config)
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


def build_profiles_batch(
    purchases: FrameLike,
    as_of: TimeLike | None = None,
    items: FrameLike | None = None,
    config: ProfileConfig | None = None,
    *,
    out: Any = None,
    num_workers: int | None = None,
    partitions: int | None = None,
    ray_address: str | None = None,
    show_progress: bool = True,
    _fault_file: str | None = None,
) -> dict[str, Any]:
    """`recsys.build_profiles` on a Ray cluster; the workers write the profiles as Parquet.

    The rows are exactly those of ``rs.build_profiles(purchases, as_of, items,
    config)`` (the same functions run, on shards of customers; see
    `recsys.distributed.profiles`), with the same warnings and errors (raised on
    the driver). Each file ``part-<shard>.parquet`` is sorted by ``user_id``; read
    them with ``pl.read_parquet(out).sort("user_id")``.

    Parameters
    ----------
    purchases
        Canonical purchases partitioned by customer: a folder of Parquet files
        (each file holds every row of its customers; `write_partitioned` writes
        one), a single Parquet file (one shard), or a frame (cut into
        ``partitions`` shards by a hash of ``user_id`` and sent through the object
        store: for tests and moderate sizes).
    as_of, items, config
        As in `recsys.build_profiles`. The item table is checked on the driver and
        sent to the workers once.
    out
        A new or empty folder the workers write to (on a multi-node cluster: a
        shared filesystem mounted at the same path on every node).
    num_workers
        Shards processed at once (default: one per CPU of the cluster).
    partitions
        Shards of a frame ``purchases`` (default: four per worker).
    ray_address
        Cluster to join when Ray is not initialised yet (``"auto"``, ``"ray://..."``).
    show_progress
        A progress bar of the shards done, per pass.

    Returns
    -------
    dict
        ``path``, ``customers`` (rows written), ``files``, ``as_of``,
        ``num_workers`` and ``driver_bytes``: the size of what the driver gathered
        (`GlobalInputs`), by part: ``customers`` (per customer at ``as_of``),
        ``cutoff`` (per customer at the churn calibration's cutoff), ``gaps``
        (value counts of the gaps between orders).

    Raises
    ------
    InputDataError
        As `recsys.build_profiles`; also a customer found in two shards, shards with
        different optional columns, a non-empty ``out``.

    Examples
    --------
    >>> import recsys as rs
    >>> rs.distributed.build_profiles_batch("purchases_by_user/", out="profiles/",
    ...                                     as_of="2011-09-09")  # doctest: +SKIP
    {'path': 'profiles', 'customers': 3362, 'files': 16, ...}
    """
    config = check_config(config)
    folder = check_out(out)
    ray = connect(ray_address)
    workers = resolve_workers(ray, num_workers)
    n_shards = 4 * workers if partitions is None else check_positive_int("partitions", partitions)
    specs = _shards(purchases, n_shards, ray)

    ranges = ray.get(_run(ray, _range_task, [(s,) for s in specs], workers, "", False))
    schemas = {str(schema) for schema, _ in ranges}
    if len(schemas) > 1:
        raise InputDataError(f"the shards of purchases have different schemas: {sorted(schemas)}")
    when = resolve_as_of([r for _, r in ranges], as_of)
    categories = ray.put(item_categories(items, ranges[0][0], config))

    calls: list[tuple[Any, ...]] = [(s, when, categories, config, _fault_file) for s in specs]
    pairs = _run(ray, _summary_task, calls, workers, "profiles: pass 1", show_progress, 2)
    parts = ray.get([pair[0] for pair in pairs])
    inputs = GlobalInputs.concat(parts)
    stats = global_statistics(inputs, when, config)

    stats_ref = ray.put(stats)
    calls = [
        (pair[1], stats_ref, config, str(folder / f"part-{s:05d}.parquet"))
        for s, pair in enumerate(pairs)
    ]
    rows = ray.get(_run(ray, _apply_task, calls, workers, "profiles: pass 2", show_progress))
    return {
        "path": str(folder),
        "customers": int(sum(rows)),
        "files": len(calls),
        "as_of": when,
        "num_workers": workers,
        "driver_bytes": {key: sum(p.nbytes[key] for p in parts) for key in parts[0].nbytes},
    }
