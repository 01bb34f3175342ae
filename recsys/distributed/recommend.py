"""``model.recommend(..., engine=rs.engine.Ray(...))``: top-K for millions of users on Ray.

How it runs
-----------
1. The driver checks the call as the local one does (unknown users and candidates,
   the exclusions: the same errors, before any work starts), takes the model's arrays
   in its file layout (`to_arrays`) and puts its *item side* (everything but the
   per-user arrays) into Ray's object store with one ``ray.put``: stored once per
   node, mapped by every worker of the node (read-only zero-copy views). The model
   object itself is never pickled: workers rebuild models from arrays with
   `model_from_arrays`, the code `recsys.load_model` runs.
2. The query users are cut into blocks of consecutive users (on the scoring kernel's
   tile boundaries; by default at most `BLOCK_BYTES` of the users' arrays and lists,
   which bounds each worker's memory whatever the number of users: the object-store
   pages a worker has read stay in its RSS until the store reuses them, so the
   blocks in flight, not only the one being scored, count). Each block goes to an
   actor of a pool with its users' arrays (``model.select_users(block)``, in the
   file layout: user factors, training rows, ids and whatever else the model's
   schema declares per user); the actor rebuilds a
   model of those users over the shared item side, calls ``recommend`` on it and
   either returns the rows or writes them to ``part-<block>.parquet`` in the
   engine's ``out`` folder. Blocks are concatenated in order: the result is the
   one-process frame, row for row (a row's scores do not depend on which other users
   the model holds).
3. With ``item_shards=S`` the items are cut into ``S`` contiguous ranges; the item
   side of each range (item factors, ids, popularity) goes into the object store
   once, and actors of shard ``s`` hold only that shard. Each block's users' arrays
   reach every shard with their training rows cut to its range, and a Ray task
   merges the ``S`` top-K lists (a top-K of top-Ks is exact; ties go to the lower
   item index, as in one process).

Failures: actors are restarted and their calls retried by Ray
(``max_restarts=-1``, ``max_task_retries=-1``); a block's file is written
atomically under a fixed name, so a retried block replaces its own file and the
output has neither duplicates nor gaps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl

from recsys._io import atomic_path
from recsys._progress import tqdm
from recsys.data import columns as C
from recsys.data.sources import to_frame
from recsys.distributed import _cluster
from recsys.distributed._cluster import (
    check_out,
    connect,
    maybe_die,
    model_arrays,
    per_user_keys,
    resolve_workers,
    split_arrays,
    user_arrays,
)
from recsys.engine import Ray
from recsys.exceptions import InputDataError
from recsys.models.persistence import model_from_arrays
from recsys.models.ranker import id_series
from recsys.scoring.dense import COL_TILE, ROW_TILE

__all__ = ["recommend_on_ray"]

#: Model classes whose arrays can be cut by item (their own per-item arrays).
ITEM_ARRAYS: dict[str, tuple[str, ...]] = {
    "ALS": ("model.item_factors",),
    "BPR": ("model.item_factors",),
    "Popular": ("model.popularity",),
}


#: Bytes of one block's users on a worker by default: their arrays and their lists. The
#: arrays reach the worker through Ray's object store, whose pages stay mapped in the
#: worker (and counted in its RSS) after the block, until the store reuses them for a
#: later object: a worker's memory grows with the block size times the blocks in flight.
BLOCK_BYTES = 16 * 2**20
#: Bytes of one list entry on a worker: the top-K arrays (int32 id, float32 score), the
#: frame row (user id, item id, score, rank) and its Parquet encoding.
ENTRY_BYTES = 8 + 2 * 24


def _block_size(n: int, workers: int, batch_size: int | None, user_bytes: int = 0) -> int:
    """Known users per block: ``ROW_TILE`` times a power of two, at most 65,536.

    ``batch_size`` rounded up to that form; by default about four blocks per worker,
    halved while a block's ``user_bytes`` per user exceed `BLOCK_BYTES`.

    A float32 product's last bits depend on where a row sits in the scoring
    kernel's tile (BLAS edge kernels); blocks that start on a tile boundary of
    the one-process run (``ROW_TILE`` rows, restarted every 65,536 users) score
    every user exactly as one process does.

    >>> _block_size(2_000_000, 2, None), _block_size(2_000_000, 2, None, 868)
    (65536, 16384)
    >>> _block_size(2_000_000, 2, 300, 868)
    512
    """
    wanted = batch_size if batch_size is not None else -(-n // (4 * workers))
    size = ROW_TILE
    while size < min(wanted, 65_536):
        size *= 2
    if batch_size is None:
        while size > ROW_TILE and size * user_bytes > BLOCK_BYTES:
            size //= 2
    return size


def _user_bytes(arrays: dict[str, np.ndarray], keys: frozenset[str], k: int) -> int:
    """Bytes per user of a block on a worker: the per-user arrays (``keys``) and ``k``
    list entries."""
    n_users = max(1, int(arrays["user_items.shape"][0]))
    sent = sum(arrays[key].nbytes for key in keys if key != "user_items.shape")
    return -(-sent // n_users) + k * ENTRY_BYTES


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


def _write(frame: pl.DataFrame, path: str | None) -> pl.DataFrame | int:
    """The rows (``path`` None), or their count once written atomically to ``path``."""
    if path is None:
        return frame
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp)
    return frame.height


class _Recommender:
    """Ray actor: holds one model (rebuilt from shared arrays) and recommends per block.

    Without the per-user arrays in ``refs`` it holds only the item side (of its item
    shard), and each block brings its users' arrays (`user_arrays`): a model of those
    users is rebuilt over the shared item arrays for the block.
    """

    def __init__(
        self,
        meta: dict[str, Any],
        refs: list[Any],
        params: dict[str, Any],
        fault_file: str | None,
    ) -> None:
        import ray

        self.arrays: dict[str, np.ndarray] = {}
        for part in ray.get(refs):
            self.arrays.update(part)
        self.meta = meta
        self.model = (
            model_from_arrays(meta, self.arrays, "model arrays from the object store")
            if "users" in self.arrays
            else None
        )
        self.params = params
        self.fault_file = fault_file
        self.calls = 0

    def _model(self, users: dict[str, np.ndarray] | None) -> Any:
        """The model of this call: the one held, or one of the block's users."""
        self.calls += 1
        maybe_die(self.fault_file, self.calls)
        if users is None:
            assert self.model is not None
            return self.model
        return model_from_arrays(self.meta, {**self.arrays, **users}, "a block's arrays")

    def block(
        self,
        user_ids: pl.Series,
        exclude: Any,
        path: str | None,
        users: dict[str, np.ndarray] | None = None,
    ) -> pl.DataFrame | int:
        """One block's lists: returned, or written to ``path`` (their row count returned)."""
        recs = self._model(users).recommend(user_ids, exclude=exclude, **self.params)
        return _write(recs, path)

    def shard_topk(
        self,
        user_ids: pl.Series,
        exclude: Any,
        lo: int,
        users: dict[str, np.ndarray] | None = None,
    ) -> pl.DataFrame:
        """This item shard's lists, with the global item index (for the merge tie rule)."""
        model = self._model(users)
        recs = model.recommend(user_ids, exclude=exclude, **self.params)
        index = model.items_.to_index(recs.get_column(C.ITEM)).astype(np.int64) + lo
        return recs.with_columns(pl.Series("_item_index", index))


def _merge(
    path: str | None, user_ids: pl.Series, k: int, *shards: pl.DataFrame
) -> pl.DataFrame | int:
    """Merge the item shards' lists of one user block (returned, or written to ``path``)."""
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
    return _write(out, path)


def recommend_on_ray(
    model: Any,
    users: Any,
    k: int,
    *,
    exclude_seen: bool | None,
    candidates: Any,
    exclude: Any,
    on_unknown: str,
    fill: str | None,
    show_progress: bool,
    engine: Ray,
) -> pl.DataFrame | pl.LazyFrame:
    """`recsys.Recommender.recommend` on a Ray cluster (see the module docstring).

    The arguments are those of the call, ``k``, ``on_unknown`` and ``fill`` checked.
    Returns the frame of the local call, or with ``engine.out`` a LazyFrame over the
    files written.
    """
    class_name = type(model).__name__
    if engine.item_shards > 1 and class_name not in ITEM_ARRAYS:
        raise InputDataError(
            f"item_shards > 1 supports {sorted(ITEM_ARRAYS)} models, not {class_name}"
        )
    if engine.item_shards > model.n_items:
        raise InputDataError(f"item_shards={engine.item_shards} exceeds the {model.n_items} items")
    query = model.users_.ids if users is None else id_series(users, "users")
    index = model.users_.to_index(query, on_unknown="minus_one")
    if (index < 0).any():
        if on_unknown == "raise":  # IdMap's message names the unknown users
            model.users_.to_index(query.filter(pl.Series(index < 0)), on_unknown="raise")
        if on_unknown == "skip":
            query, index = query.filter(pl.Series(index >= 0)), index[index >= 0]
    cand_index = None
    if candidates is not None:
        cand_index = np.unique(model.items_.to_index(candidates))  # raises on unknown items
    if exclude is not None and not isinstance(exclude, pl.Series) and _is_frame(exclude):
        exclude = to_frame(exclude)
    # Every argument checked by the model itself, on this process, before any work starts.
    params = {"k": k, "exclude_seen": exclude_seen, "on_unknown": on_unknown, "fill": fill}
    model.recommend(query.head(1), candidates=candidates, exclude=exclude, **params)
    folder = None if engine.out is None else check_out(engine.out)
    meta, arrays = model_arrays(model, "recommend")
    keys = per_user_keys(model, arrays)

    ray = connect(engine.address)
    workers = resolve_workers(ray, engine.workers)
    known = index >= 0
    size = _block_size(int(known.sum()), workers, engine.batch_size, _user_bytes(arrays, keys, k))
    cuts = _user_cuts(known, size)
    params["num_threads"] = engine.threads_per_worker
    blocks = [query.slice(int(a), int(b - a)) for a, b in itertools.pairwise(cuts)]
    paths = [
        None if folder is None else str(folder / f"part-{b:06d}.parquet")
        for b in range(len(blocks))
    ]
    per_block = [_block_index(index, a, b) for a, b in itertools.pairwise(cuts)]
    if engine.item_shards == 1:
        params["candidates"] = candidates
        submit = _user_blocks(
            ray, model, meta, arrays, keys, params, workers, engine.threads_per_worker, per_block
        )
    else:
        submit = _item_shards(
            ray, model, meta, arrays, keys, params, cand_index, workers, engine, per_block
        )
    results = []
    with tqdm(total=len(blocks), desc="recommend", unit="block", disable=not show_progress) as bar:
        for done in submit(blocks, [_exclude_part(exclude, block) for block in blocks], paths):
            results.append(done)
            bar.update(1)
    if folder is None:
        return pl.concat(results)
    return pl.scan_parquet([p for p in paths if p is not None])


def _block_index(index: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The distinct known users of the query rows ``start .. stop - 1``, sorted."""
    part = index[start:stop]
    return np.unique(part[part >= 0])


def _is_frame(value: Any) -> bool:
    return isinstance(value, (pl.DataFrame, pl.LazyFrame)) or type(value).__name__ == "DataFrame"


def _exclude_part(exclude: Any, block: pl.Series) -> Any:
    """The exclusions of one block: a frame cut to its users; an item list as it is."""
    if isinstance(exclude, pl.DataFrame):
        return exclude.filter(pl.col(C.USER).cast(block.dtype, strict=False).is_in(block.implode()))
    return exclude


Submit = Callable[[list[pl.Series], list[Any], list[str | None]], Iterator[Any]]


def _in_order(ray: Any, calls: Iterator[Any], window: int) -> Iterator[Any]:
    """The results of the submitted calls, in submission order, at most ``window`` in flight."""
    pending: list[Any] = []
    for ref in calls:
        pending.append(ref)
        if len(pending) >= window:
            yield ray.get(pending.pop(0))
    for ref in pending:
        yield ray.get(ref)


def _user_blocks(
    ray: Any,
    model: Any,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    keys: frozenset[str],
    params: dict[str, Any],
    workers: int,
    threads: int,
    per_block: list[np.ndarray],
) -> Submit:
    """Blocks of users -> a pool of actors holding the model's item side; each block
    brings its users' arrays (``keys``: `Recommender.select_users` of the block's users)."""
    # Once; every actor on a node maps it (zero-copy).
    refs = [ray.put({key: value for key, value in arrays.items() if key not in keys})]
    actor_cls = ray.remote(num_cpus=threads, max_restarts=-1, max_task_retries=-1)(_Recommender)
    pool = [actor_cls.remote(meta, refs, params, _cluster.FAULT_FILE) for _ in range(workers)]

    def submit(
        blocks: list[pl.Series], excludes: list[Any], paths: list[str | None]
    ) -> Iterator[Any]:
        calls = (
            pool[b % workers].block.remote(block, excl, path, user_arrays(model, index, keys))
            for b, (block, excl, path, index) in enumerate(
                zip(blocks, excludes, paths, per_block, strict=True)
            )
        )
        try:
            yield from _in_order(ray, calls, 2 * workers)
        finally:
            for actor in pool:
                ray.kill(actor)
            refs.clear()  # held to the end: a restarted actor fetches the arrays again

    return submit


def _item_shards(
    ray: Any,
    model: Any,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    keys: frozenset[str],
    params: dict[str, Any],
    cand_index: np.ndarray | None,
    workers: int,
    engine: Ray,
    per_block: list[np.ndarray],
) -> Submit:
    """Per item shard a pool of actors holding the shard's item side; per user block its
    users' arrays (``keys``) cut to each shard, and one merge task."""
    item_arrays = ITEM_ARRAYS[type(model).__name__]
    n_items = int(arrays["user_items.shape"][1])
    ranges = _item_cuts(n_items, cand_index, engine.item_shards)
    sharded = {"items", "item_popularity", *item_arrays} | {
        k for k in arrays if k.startswith("user_items.")
    }
    common = ray.put({k: v for k, v in arrays.items() if k not in sharded | keys})
    per_shard = max(1, workers // len(ranges))
    # More shards than workers: the shards' actors share the workers' CPUs (every shard
    # must be live at once, or no block could be merged).
    cpus = engine.threads_per_worker * min(1.0, workers / (per_shard * len(ranges)))
    actor_cls = ray.remote(num_cpus=cpus, max_restarts=-1, max_task_retries=-1)(_Recommender)
    pools: list[list[Any]] = []
    shard_refs: list[Any] = [common]
    for lo, hi in ranges:
        shard = split_arrays(arrays, lo, hi, item_arrays)
        shard_refs.append(ray.put({k: v for k, v in shard.items() if k not in keys}))
        shard_params = dict(params)
        if cand_index is not None:
            local = cand_index[(cand_index >= lo) & (cand_index < hi)] - lo
            shard_params["candidates"] = arrays["items"][lo:hi][local].tolist()
        pools.append(
            [
                actor_cls.remote(meta, [common, shard_refs[-1]], shard_params, _cluster.FAULT_FILE)
                for _ in range(per_shard)
            ]
        )
    # Merging a block's lists is light (a sort of S x k rows per user) and must not wait
    # for a CPU the scoring actors hold: the merge tasks reserve none.
    merge = ray.remote(num_cpus=0, max_retries=-1)(_merge)

    def submit(
        blocks: list[pl.Series], excludes: list[Any], paths: list[str | None]
    ) -> Iterator[Any]:
        def calls() -> Iterator[Any]:
            for b, (block, excl, path, index) in enumerate(
                zip(blocks, excludes, paths, per_block, strict=True)
            ):
                block_ref = ray.put(block)
                lists = [
                    pool[b % per_shard].shard_topk.remote(
                        block_ref, excl, lo, user_arrays(model, index, keys, (lo, hi, item_arrays))
                    )
                    for pool, (lo, hi) in zip(pools, ranges, strict=True)
                ]
                yield merge.remote(path, block_ref, params["k"], *lists)

        try:
            yield from _in_order(ray, calls(), 2 * per_shard)
        finally:
            for pool in pools:
                for actor in pool:
                    ray.kill(actor)
            shard_refs.clear()  # held to the end: a restarted actor fetches them again

    return submit
