"""``recommend_batch``: top-K for millions of users on a Ray cluster, written as Parquet.

How it runs
-----------
1. The driver reads the model file once (`read_model_file`:
   format version and checksum checked) and puts its arrays into Ray's object
   store with one ``ray.put``. The arrays are stored once per node that uses them;
   every worker on a node maps the same shared memory (numpy arrays come back
   from ``ray.get`` as read-only zero-copy views). The model object itself is
   never pickled: each worker rebuilds it from the arrays with
   `model_from_arrays`, the same code
   `recsys.load_model` runs.
2. Users are cut into blocks. Without item sharding a Ray Data pipeline maps
   each block through a pool of actors (``map_batches`` with an actor class and
   ``ActorPoolStrategy(size=num_workers)``) that hold the model and call
   `recommend` on it, and the workers write the result
   with ``write_parquet``: nothing is collected on the driver.
3. With ``item_shards=S`` the items are cut into ``S`` contiguous ranges; the
   arrays of each range (item factors, the columns of the training matrix, ids,
   popularity) are a valid model file of their own and go into the object store
   once. Actors of shard ``s`` hold only that shard. For each block of users a
   Ray task merges the ``S`` top-K lists (a top-K of top-Ks is exact; ties go to
   the lower item index, as in one process) and writes ``part-<block>.parquet``.

Failures: actors are restarted and their task retried by Ray
(``max_restarts=-1``, ``max_task_retries=-1``); a merge task writes its file
atomically under a fixed name, so a retried block replaces its own file and the
output has neither duplicates nor gaps.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys._io import atomic_path
from recsys._validation import check_in, check_positive_int
from recsys.data import columns as C
from recsys.data.canonical import cast_ids
from recsys.distributed._cluster import check_out, connect, resolve_workers, split_arrays
from recsys.exceptions import InputDataError
from recsys.models.persistence import model_from_arrays, read_model_file
from recsys.scoring.dense import COL_TILE, ROW_TILE

__all__ = ["recommend_batch"]

#: Model classes whose arrays can be cut by item (their own per-item arrays).
ITEM_ARRAYS: dict[str, tuple[str, ...]] = {
    "ALS": ("model.item_factors",),
    "BPR": ("model.item_factors",),
    "Popular": ("model.popularity",),
}
_ON_UNKNOWN = ("raise", "skip", "fallback")


def _read_users(users: Any, model: Any) -> pl.Series:
    """The query user ids (model dtype): all users, a sequence, or a Parquet dataset."""
    if users is None:
        return model.users_.ids.rename(C.USER)
    if isinstance(users, (str, os.PathLike)):
        path = Path(os.fspath(users))
        source = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        frame = pl.scan_parquet(source)
        if C.USER not in frame.collect_schema():
            raise InputDataError(
                f"users={str(path)!r} is a Parquet dataset without a {C.USER!r} column"
            )
        series = frame.select(C.USER).collect().get_column(C.USER)
    else:
        series = model._as_id_series(users, C.USER)
    return cast_ids(series.rename(C.USER), model.users_.dtype, "users")


def _block_size(n: int, num_workers: int, batch_size: int | None) -> int:
    """Known users per block: ``ROW_TILE`` times a power of two, at most 65,536.

    A float32 product's last bits depend on where a row sits in the scoring
    kernel's tile (BLAS edge kernels); blocks that start on a tile boundary of
    the one-process run (``ROW_TILE`` rows, restarted every 65,536 users) score
    every user exactly as one process does.
    """
    if batch_size is not None:
        wanted = check_positive_int("batch_size", batch_size)
    else:  # several blocks per worker: load balance and small retries
        wanted = -(-n // (4 * num_workers))
    size = ROW_TILE
    while size < min(wanted, 65_536):
        size *= 2
    return size


def _user_cuts(known: np.ndarray, size: int) -> np.ndarray:
    """Block starts in the query: each block holds ``size`` known users (and the unknown
    ones between them), so known users keep their one-process tile positions."""
    counts = np.cumsum(known)
    total = int(counts[-1]) if counts.size else 0
    starts = np.searchsorted(counts, np.arange(size, total, size), side="left") + 1
    return np.concatenate([[0], starts, [known.size]]).astype(np.int64)


def _item_cuts(n_items: int, candidates: np.ndarray | None, n_shards: int) -> list[tuple[int, int]]:
    """Item ranges of the shards, cut on ``COL_TILE`` boundaries of the scored items
    (the candidates, or all items), so each item sits where it does in one process."""
    scored = np.arange(n_items) if candidates is None else candidates
    steps = np.unique(
        np.clip((np.arange(1, n_shards) * len(scored) / n_shards / COL_TILE).round(), 1, None)
    )
    cuts = [int(c) * COL_TILE for c in steps if int(c) * COL_TILE < len(scored)]
    bounds = [0, *(int(scored[c]) for c in cuts), n_items]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


class _Recommender:
    """Ray actor: holds one model (rebuilt from shared arrays) and recommends per batch."""

    def __init__(
        self,
        meta: dict[str, Any],
        refs: list[Any],
        params: dict[str, Any],
        fault_file: str | None = None,
    ) -> None:
        import ray

        arrays: dict[str, np.ndarray] = {}
        for part in ray.get(refs):
            arrays.update(part)
        self.model = model_from_arrays(meta, arrays, "model arrays from the object store")
        self.params = params
        self.fault_file = fault_file
        self.calls = 0

    def _maybe_fail(self) -> None:
        """Test hook: the first actor to reach its second batch dies once (kill -9 alike)."""
        self.calls += 1
        if self.fault_file and self.calls == 2 and not os.path.exists(self.fault_file):
            Path(self.fault_file).touch()
            os._exit(1)

    def recommend(self, user_ids: Any) -> pl.DataFrame:
        self._maybe_fail()
        return self.model.recommend(user_ids, **self.params)

    def __call__(self, batch: Any) -> Any:
        """Ray Data batch (pyarrow Table with ``user_id``) -> recommendations (pyarrow)."""
        ids = pl.from_arrow(batch.select([C.USER]))
        assert isinstance(ids, pl.DataFrame)
        return self.recommend(ids.get_column(C.USER)).to_arrow()

    def shard_topk(self, user_ids: Any, lo: int) -> pl.DataFrame:
        """This item shard's lists, with the global item index (for the merge tie rule)."""
        recs = self.recommend(user_ids)
        index = self.model.items_.to_index(recs.get_column(C.ITEM)).astype(np.int64) + lo
        return recs.with_columns(pl.Series("_item_index", index))


def _merge_write(path: str, user_ids: pl.Series, k: int, *shards: pl.DataFrame) -> int:
    """Merge the item shards' lists of one user block and write them (atomically)."""
    merged = pl.concat(shards, how="vertical_relaxed")
    merged = (
        merged.unique([C.USER, "_item_index"], keep="first")  # duplicate query ids
        .sort([C.USER, C.SCORE, "_item_index"], descending=[False, True, False])
        .group_by(C.USER, maintain_order=True)
        .head(k)
        .with_columns((pl.int_range(pl.len(), dtype=pl.Int32).over(C.USER) + 1).alias(C.RANK))
    )
    query = pl.DataFrame({C.USER: user_ids}).with_row_index("_row")
    out = (
        query.join(merged, on=C.USER, how="inner")
        .sort(["_row", C.RANK])
        .select(C.USER, C.ITEM, C.SCORE, C.RANK)
    )
    with atomic_path(path) as tmp:
        out.write_parquet(tmp)
    return out.height


def recommend_batch(
    model_path: Any,
    users: Any = None,
    k: int = 10,
    out: Any = None,
    *,
    exclude_seen: bool | None = None,
    candidates: Sequence[Any] | None = None,
    on_unknown: str = "raise",
    num_workers: int | None = None,
    item_shards: int = 1,
    batch_size: int | None = None,
    threads_per_worker: int = 1,
    ray_address: str | None = None,
    _fault_file: str | None = None,
) -> dict[str, Any]:
    """Recommend for many users on a Ray cluster; the workers write a Parquet dataset.

    The output is exactly ``load_model(model_path).recommend(users, k, ...)``
    (same rows, scores and dtypes: ``user_id, item_id, score`` Float32,
    ``rank`` Int32), split over the Parquet files of ``out``.

    Parameters
    ----------
    model_path
        A model file written by ``model.save`` (read once, on the driver).
    users
        ``None`` (every user of the model), a sequence of user ids, or the path
        of a Parquet file or folder with a ``user_id`` column.
    k
        Items per user.
    out
        Folder for the Parquet dataset (created; must be empty or missing).
    exclude_seen, candidates, on_unknown
        As in `recsys.Recommender.recommend` (checked on the driver: an
        unknown candidate or, with ``on_unknown="raise"``, an unknown user raises
        before any work starts).
    num_workers
        Ray actors that score (default: one per CPU of the cluster). With item
        sharding, ``max(1, num_workers // item_shards)`` actors per shard.
    item_shards
        Cut the catalogue into this many contiguous item ranges, each held by
        its own actors (for factor matrices too large for one worker): ALS, BPR
        and Popular models.
    batch_size
        Users per block (default: about four blocks per worker, at most 65,536).
    threads_per_worker
        CPUs reserved by, and Numba threads of, each actor.
    ray_address
        Cluster to join when Ray is not initialised yet (``"auto"``,
        ``"ray://head:10001"``); ``None`` starts a local one.

    Returns
    -------
    dict
        ``{"path", "users", "rows", "files", "num_workers", "item_shards"}``.

    Raises
    ------
    InputDataError
        Bad parameters, a non-empty ``out``, item sharding of an unsupported model.
    UnknownIdError
        Unknown candidate items, or unknown users with ``on_unknown="raise"``.
    ModelFormatError
        An unreadable model file.

    Examples
    --------
    >>> import recsys as rs
    >>> rs.distributed.recommend_batch("als.npz", out="recs/", k=10)  # doctest: +SKIP
    {'path': 'recs', 'users': 4338, 'rows': 43380, ...}
    """
    k = check_positive_int("k", k)
    check_in("on_unknown", on_unknown, _ON_UNKNOWN)
    item_shards = check_positive_int("item_shards", item_shards)
    threads = check_positive_int("threads_per_worker", threads_per_worker)
    meta, arrays = read_model_file(model_path)
    model = model_from_arrays(meta, arrays, repr(str(model_path)))
    class_name = type(model).__name__
    if item_shards > 1 and class_name not in ITEM_ARRAYS:
        raise InputDataError(
            f"item_shards > 1 supports {sorted(ITEM_ARRAYS)} models, not {class_name}"
        )
    if item_shards > model.n_items:
        raise InputDataError(f"item_shards={item_shards} exceeds the {model.n_items} items")
    query = _read_users(users, model)
    known = model.users_.to_index(query, on_unknown="minus_one") >= 0
    if not known.all():
        if on_unknown == "raise":
            model.users_.to_index(query.filter(pl.Series(~known)), on_unknown="raise")
        if on_unknown == "skip":
            query = query.filter(pl.Series(known))
    cand_index = None
    if candidates is not None:
        cand_series = model._as_id_series(candidates, "candidates")
        cand_index = np.unique(model.items_.to_index(cand_series))  # raises on unknown items
    folder = check_out(out)

    ray = connect(ray_address)
    workers = resolve_workers(ray, num_workers)
    size = _block_size(int(known.sum()), workers, batch_size)
    if on_unknown == "skip":
        known = known[known]
    cuts = _user_cuts(known, size)
    params = {
        "k": k,
        "exclude_seen": exclude_seen,
        "on_unknown": on_unknown,
        "num_threads": threads,
    }
    if item_shards == 1:
        params["candidates"] = (
            None if cand_index is None else model.items_.ids.gather(cand_index).to_list()
        )
        rows, files = _run_users(
            ray, meta, arrays, params, query, folder, workers, cuts, threads, _fault_file
        )
    else:
        rows, files, item_shards = _run_item_shards(
            ray,
            meta,
            arrays,
            params,
            cand_index,
            ITEM_ARRAYS[class_name],
            query,
            folder,
            workers,
            item_shards,
            cuts,
            threads,
            _fault_file,
        )
    return {
        "path": str(folder),
        "users": len(query),
        "rows": rows,
        "files": files,
        "num_workers": workers,
        "item_shards": item_shards,
    }


def _run_users(
    ray: Any,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    params: dict[str, Any],
    query: pl.Series,
    folder: Path,
    workers: int,
    cuts: np.ndarray,
    threads: int,
    fault_file: str | None,
) -> tuple[int, int]:
    """Ray Data: blocks of users -> actor pool holding the model -> write_parquet."""
    import pyarrow as pa
    import ray.data

    refs = [ray.put(arrays)]  # once; every actor maps it (zero-copy on its node)
    table = pa.table({C.USER: query.to_arrow()})
    blocks = [table.slice(a, b - a) for a, b in itertools.pairwise(cuts)]
    ds = ray.data.from_arrow(blocks).map_batches(
        _Recommender,
        fn_constructor_kwargs={
            "meta": meta,
            "refs": refs,
            "params": params,
            "fault_file": fault_file,
        },
        batch_size=None,  # one block = one batch (blocks are cut on tile boundaries)
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    )  # Ray Data restarts a dead actor of the pool and retries its batch
    ds.write_parquet(str(folder))
    files = sorted(folder.glob("*.parquet"))
    rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
    return rows, len(files)


def _run_item_shards(
    ray: Any,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    params: dict[str, Any],
    cand_index: np.ndarray | None,
    item_arrays: tuple[str, ...],
    query: pl.Series,
    folder: Path,
    workers: int,
    n_shards: int,
    cuts: np.ndarray,
    threads: int,
    fault_file: str | None,
) -> tuple[int, int, int]:
    """Ray Core: per shard a pool of actors; per user block one merge-and-write task."""
    n_items = int(arrays["user_items.shape"][1])
    ranges = _item_cuts(n_items, cand_index, n_shards)
    sharded = {"items", "item_popularity", *item_arrays} | {
        k for k in arrays if k.startswith("user_items.")
    }
    common = ray.put({k: v for k, v in arrays.items() if k not in sharded})
    per_shard = max(1, workers // len(ranges))
    # More shards than workers: the shards' actors share the workers' CPUs (every shard
    # must be live at once, or no block could be merged).
    cpus = threads * min(1.0, workers / (per_shard * len(ranges)))
    actor_cls = ray.remote(num_cpus=cpus, max_restarts=-1, max_task_retries=-1)(_Recommender)
    pools: list[list[Any]] = []
    # The driver holds every shard's ref to the end: a restarted actor fetches it again.
    shard_refs: list[Any] = []
    for lo, hi in ranges:
        shard_ref = ray.put(split_arrays(arrays, lo, hi, item_arrays))
        shard_refs.append(shard_ref)
        shard_params = dict(params)
        if cand_index is not None:
            local = cand_index[(cand_index >= lo) & (cand_index < hi)] - lo
            shard_params["candidates"] = arrays["items"][lo:hi][local].tolist()
        pools.append(
            [
                actor_cls.remote(meta, [common, shard_ref], shard_params, fault_file)
                for _ in range(per_shard)
            ]
        )
    # Merging a block's lists is light (a sort of S x k rows per user) and must not wait
    # for a CPU the scoring actors hold: the merge tasks reserve none.
    merge = ray.remote(num_cpus=0, max_retries=-1)(_merge_write)
    pending: list[Any] = []
    rows = files = 0
    window = 2 * per_shard  # blocks in flight: bounds the lists held in the object store
    for b, (start, stop) in enumerate(itertools.pairwise(cuts)):
        block_ref = ray.put(query.slice(int(start), int(stop - start)))
        lists = [
            pool[b % per_shard].shard_topk.remote(block_ref, lo)
            for pool, (lo, _) in zip(pools, ranges, strict=True)
        ]
        path = str(folder / f"part-{b:06d}.parquet")
        pending.append(merge.remote(path, block_ref, params["k"], *lists))
        files += 1
        if len(pending) >= window:
            done, pending = ray.wait(pending, num_returns=1)
            rows += sum(ray.get(done))
    rows += sum(ray.get(pending))
    for pool in pools:
        for actor in pool:
            ray.kill(actor)
    del shard_refs
    return rows, files, len(ranges)
