"""The one ranker every recommender shares: exclusions, candidates, blocks, top-K, padding.

A model only scores a block of users (``model._score(user_index, query)``, returning
one of the shapes of `recsys.models.scores`). Everything around it happens here, the
same way for every model:

- users go in blocks sized from a memory budget (``BLOCK_BYTES`` of dense scores per
  block; models whose scores a kernel ranks without a dense block go in large blocks);
- the exclusions of a block (seen items with ``exclude_seen``, the caller's
  ``exclude``) and the candidate items are handed to the block's ``topk``;
- lists are padded with ``-1`` / ``-inf`` where fewer than ``k`` items are eligible;
- unknown users (``on_unknown="fallback"``) and the short lists of known users
  (``fill="popular"``) get the training popularity ranking (distinct buyers per item),
  respecting the same exclusions.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._arrays import sorted_unique
from recsys._text import counted
from recsys._validation import resolve_num_threads
from recsys.data import columns as C
from recsys.data.canonical import cast_ids
from recsys.data.sources import to_frame
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

__all__ = ["BLOCK_BYTES", "Query", "pattern", "popularity_topk", "rank", "score_pairs"]

#: Dense score blocks are kept under this many bytes (users per block = budget / (4 * items)).
BLOCK_BYTES = 64 * 2**20
#: Users per block when a kernel bounds its own memory (the blocks only pace progress).
_MAX_BLOCK = 65_536


@dataclass(frozen=True)
class Query:
    """What a ranking asks of a block: models that propose candidates (the blends) use it
    to leave out ineligible items before they rank, others ignore it."""

    k: int
    exclude: sp.csr_matrix | None
    candidates: np.ndarray | None
    num_threads: int


def ensure_csr(matrix: Any) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    return csr


def pattern(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The sparsity pattern of ``matrix`` with every stored value set to 1."""
    out = sp.csr_matrix(
        (np.ones(matrix.nnz, dtype=np.float32), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    out.has_sorted_indices = matrix.has_sorted_indices
    return out


def popularity_topk(
    popularity: np.ndarray,
    n: int,
    k: int,
    exclude: sp.csr_matrix | None,
    candidates: np.ndarray | None,
    num_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One popularity ranking for ``n`` users, each with their own exclusions.

    The score ``1 x popularity[i]`` goes through the memory-bounded ``scoring.topk``
    (a rank-one "factor model"), so no users x items block is built.

    Examples
    --------
    >>> ids, _ = popularity_topk(np.array([1.0, 3.0, 2.0], np.float32), 1, 2, None, None, 1)
    >>> ids.tolist()
    [[1, 2]]
    """
    from recsys.scoring import topk

    if candidates is not None and candidates.size == 0:
        return np.full((n, k), -1, dtype=np.int32), np.full((n, k), -np.inf, dtype=np.float32)
    items = np.ascontiguousarray(popularity, dtype=np.float32)[:, None]
    queries = np.ones((n, 1), dtype=np.float32)
    return topk(queries, items, k, exclude=exclude, candidates=candidates, num_threads=num_threads)


def block_size(per_user: int | None) -> int:
    """Users per block for ``per_user`` bytes of scoring memory (``None``: kernel-bounded)."""
    if per_user is None:
        return _MAX_BLOCK
    return int(max(1, min(_MAX_BLOCK, BLOCK_BYTES // max(per_user, 1))))


def _blocks(model: Any, n: int, show_progress: bool) -> Iterator[slice]:
    size = block_size(model._bytes_per_user())
    starts: Any = range(0, n, size)
    if show_progress:
        from recsys._progress import tqdm

        starts = tqdm(starts, total=-(-n // size), desc=f"{type(model).__name__} recommend")
    for start in starts:
        yield slice(start, min(start + size, n))


def rank(
    model: Any,
    idx: np.ndarray,
    k: int,
    exclude_seen: bool,
    candidates: np.ndarray | None,
    extra: sp.csr_matrix | None,
    num_threads: int,
    show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of users ``idx`` (checked int32 indices): `Recommender.recommend_index`."""
    ids = np.full((len(idx), k), -1, dtype=np.int32)
    scores = np.full((len(idx), k), -np.inf, dtype=np.float32)
    if len(idx) == 0 or (candidates is not None and candidates.size == 0):
        return ids, scores
    for block in _blocks(model, len(idx), show_progress):
        rows = idx[block]
        ex = pattern(model.user_items_[rows]) if exclude_seen else None
        if extra is not None:
            ex = extra[block] if ex is None else pattern(ex + extra[block])
        query = Query(k, ex, candidates, num_threads)
        ids[block], scores[block] = model._score(rows, query).topk(k, ex, candidates, num_threads)
    return ids, scores


def score_pairs(model: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Scores of (user, item) pairs: each distinct user's block scored once, in blocks."""
    out = np.empty(len(users), dtype=np.float32)
    distinct, inverse = np.unique(users, return_inverse=True)
    size = block_size(4 * max(model.n_items, 1))
    for start in range(0, len(distinct), size):
        block = model._score(distinct[start : start + size].astype(np.int32), None)
        sel = np.flatnonzero((inverse >= start) & (inverse < start + size))
        out[sel] = block.at(inverse[sel] - start, items[sel])
    return out


def fill_short(
    model: Any,
    ids: np.ndarray,
    rows: np.ndarray,
    exclude_seen: bool,
    idx: np.ndarray,
    candidates: np.ndarray | None,
    extra: sp.csr_matrix | None,
    num_threads: int,
) -> np.ndarray:
    """Fill the padded slots of ``rows`` (in place) from the popularity ranking.

    The model's items come first; the filled ones follow in popularity order,
    leaving out the items already listed and every item the ranking excluded
    (seen items with ``exclude_seen``, ``extra`` exclusions, non-candidates). Their
    score stays ``-inf``: the model cannot recommend them. Returns the filled mask.
    """
    filled = np.zeros(ids.shape, dtype=bool)
    short = rows[(ids[rows] < 0).any(axis=1)]
    if short.size == 0:
        return filled
    n, k = len(short), ids.shape[1]
    listed = ids[short]
    r, c = np.nonzero(listed >= 0)
    ex = sp.csr_matrix(
        (np.ones(r.size, dtype=np.float32), (r, listed[r, c])), shape=(n, model.n_items)
    )
    if exclude_seen:
        ex = ex + pattern(model.user_items_[idx[short]])
    if extra is not None:
        ex = ex + extra[short]
    more, _ = popularity_topk(
        model.item_popularity_, n, k, pattern(ensure_csr(ex)), candidates, num_threads
    )
    have = (listed >= 0).sum(axis=1)
    for j, row in enumerate(short):
        add = more[j, : k - have[j]]
        add = add[add >= 0]
        ids[row, have[j] : have[j] + add.size] = add
        filled[row, have[j] : have[j] + add.size] = True
    return filled


def warn_filled(model: Any, filled: np.ndarray) -> None:
    """The `DataWarning` of `fill_short`: how many customers got how many filled slots."""
    per_user = filled.sum(axis=1)
    customers = int((per_user > 0).sum())
    if customers:
        low, high = int(per_user[per_user > 0].min()), int(per_user.max())
        warnings.warn(
            f"{type(model).__name__} scores too few items for "
            f"{customers:,} of {len(per_user):,} customers: "
            f"the most popular products fill {counted(int(per_user.sum()), 'empty slot')} "
            f"of their lists ({low:,}{'' if low == high else f' to {high:,}'} per customer), "
            "with score -inf",
            DataWarning,
            stacklevel=4,  # warn_filled <- recommend_ids <- Recommender.recommend <- caller
        )


# ------------------------------------------------------------------ checks


def check_index(name: str, values: Any, size: int) -> np.ndarray:
    idx = np.asarray(values)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise InputDataError(
            f"{name} must be a 1-D integer array, got shape {idx.shape} dtype {idx.dtype}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx[(idx < 0) | (idx >= size)][0]
        raise UnknownIdError(f"{name} {bad} is out of range for {size} entries")
    return idx.astype(np.int64, copy=False)


def check_candidates(model: Any, candidates: Any) -> np.ndarray | None:
    if candidates is None:
        return None
    cand = np.asarray(candidates)
    if cand.ndim != 1 or (cand.size and not np.issubdtype(cand.dtype, np.integer)):
        raise InputDataError("candidates must be a 1-D integer array of item indices")
    cand = sorted_unique(cand).astype(np.int32)
    if cand.size and (cand[0] < 0 or cand[-1] >= model.n_items):
        raise UnknownIdError(
            f"candidate item index out of range for {model.n_items} items: "
            f"{cand[(cand < 0) | (cand >= model.n_items)][:5].tolist()}"
        )
    return cand


def check_exclude(model: Any, exclude: Any, n_rows: int) -> sp.csr_matrix | None:
    if exclude is None:
        return None
    if not sp.issparse(exclude):
        raise InputDataError("exclude must be a scipy sparse matrix [n_users_in_query, n_items]")
    if exclude.shape != (n_rows, model.n_items):
        raise InputDataError(
            f"exclude must have shape ({n_rows}, {model.n_items}) (one row per queried user), "
            f"got {exclude.shape}"
        )
    return pattern(ensure_csr(exclude))


# ------------------------------------------------------------- external ids
def id_series(values: Any, name: str) -> pl.Series:
    """A polars Series of ids from a Series, list, array, pandas Series or one id."""
    if isinstance(values, pl.Series):
        return values
    if isinstance(values, (str, bytes, int, np.integer)):
        values = [values]
    try:
        return pl.Series(name, _sequence(values), strict=False)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{name} must be a sequence of ids, got {values!r}") from err


def _sequence(values: Any) -> Sequence[Any] | np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "to_numpy"):
        return values.to_numpy()
    return list(values)


def exclude_rows(model: Any, exclude: Any, query_ids: pl.Series) -> sp.csr_matrix | None:
    """Extra exclusions as a CSR aligned with the query rows (unknown ids ignored)."""
    if exclude is None:
        return None
    n, m = len(query_ids), model.n_items
    is_frame = isinstance(exclude, pl.DataFrame) or type(exclude).__name__ == "DataFrame"
    if is_frame:
        frame = to_frame(exclude)
        missing = [c for c in (C.USER, C.ITEM) if c not in frame.columns]
        if missing:
            raise InputDataError(
                f"exclude frame lacks column(s) {missing}; expected {C.USER!r} and {C.ITEM!r}"
            )
        item_idx = model.items_.to_index(frame[C.ITEM], on_unknown="minus_one")
        pairs = pl.DataFrame({"_key": frame[C.USER], "_item": item_idx}, strict=False).filter(
            pl.col("_item") >= 0
        )
        pairs = pairs.with_columns(cast_ids(pairs["_key"], query_ids.dtype, "exclude"))
        rows = pl.DataFrame({"_key": query_ids, "_row": np.arange(n, dtype=np.int64)})
        joined = rows.join(pairs, on="_key", how="inner")
        r = joined["_row"].to_numpy()
        c = joined["_item"].to_numpy()
    else:
        items = model.items_.to_index(id_series(exclude, "exclude"), on_unknown="skip")
        items = sorted_unique(items)
        r = np.repeat(np.arange(n), len(items))
        c = np.tile(items, n)
    matrix = sp.csr_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(n, m), dtype=np.float32
    )
    matrix.sum_duplicates()
    return pattern(matrix)


def lists_frame(
    model: Any,
    query_ids: pl.Series,
    ids: np.ndarray,
    scores: np.ndarray,
    query_dtype: Any = None,
) -> pl.DataFrame:
    """The tidy frame ``user_id, item_id, score, rank`` of top-K arrays (padding dropped)."""
    valid = ids >= 0
    rows, slots = np.nonzero(valid)
    item_ids = model.items_.ids.gather(ids[valid]) if valid.any() else model.items_.ids.head(0)
    user_ids = query_ids.gather(rows) if rows.size else query_ids.head(0)
    dtype = query_dtype if query_dtype is not None else model.users_.dtype
    return pl.DataFrame(
        {
            C.USER: user_ids.rename(C.USER).cast(dtype, strict=False),
            C.ITEM: item_ids.rename(C.ITEM),
            C.SCORE: pl.Series(C.SCORE, scores[valid], dtype=pl.Float32),
            C.RANK: pl.Series(C.RANK, slots + 1, dtype=pl.Int32),
        }
    )


def recommend_ids(
    model: Any,
    users: Any,
    k: int,
    exclude_seen: bool | None,
    candidates: Any,
    exclude: Any,
    on_unknown: str,
    fill: str | None,
    num_threads: int,
    show_progress: bool,
) -> pl.DataFrame:
    """`Recommender.recommend` after its argument checks: ids in, the tidy frame out."""
    if users is None:
        query_ids = model.users_.ids
        idx = np.arange(model.n_users, dtype=np.int32)
    else:
        query_ids = id_series(users, "users")
        idx = model.users_.to_index(query_ids, on_unknown="minus_one")
    unknown = idx < 0
    if unknown.any():
        if on_unknown == "raise":
            # Let IdMap build the message naming the unknown ids.
            model.users_.to_index(query_ids.filter(pl.Series(unknown)), on_unknown="raise")
        if on_unknown == "skip":
            query_ids = query_ids.filter(pl.Series(~unknown))
            idx = idx[~unknown]
            unknown = unknown[~unknown]
    cand = None
    if candidates is not None:
        cand = sorted_unique(model.items_.to_index(id_series(candidates, "candidates")))
    extra = exclude_rows(model, exclude, query_ids)

    n = len(idx)
    ids = np.full((n, k), -1, dtype=np.int32)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    known_rows = np.flatnonzero(~unknown)
    if known_rows.size:
        ids[known_rows], scores[known_rows] = model.recommend_index(
            idx[known_rows],
            k,
            exclude_seen,
            cand,
            exclude=extra[known_rows] if extra is not None else None,
            num_threads=num_threads,
            show_progress=show_progress,
        )
        if fill == "popular":
            filled = fill_short(
                model,
                ids,
                known_rows,
                model.default_exclude_seen if exclude_seen is None else exclude_seen,
                idx,
                cand,
                extra,
                resolve_num_threads(num_threads),
            )
            warn_filled(model, filled)
    cold_rows = np.flatnonzero(unknown)
    if cold_rows.size:
        # Unknown users: the training popularity ranking (distinct buyers per item).
        ids[cold_rows], scores[cold_rows] = popularity_topk(
            model.item_popularity_,
            len(cold_rows),
            k,
            extra[cold_rows] if extra is not None else None,
            cand,
            resolve_num_threads(num_threads),
        )
    seen = model.default_exclude_seen if exclude_seen is None else exclude_seen
    warn_short(model, ids, bool(seen), extra is not None, cand is not None, fill)
    return lists_frame(model, query_ids, ids, scores)


#: The start of `warn_short`'s message (after the model's name), for a caller that counts
#: short lists itself (`recsys.evaluation.per_user_metrics`) to filter it.
SHORT_LISTS = r"\w+ has fewer than [\d,]+ items to recommend to "


def warn_short(
    model: Any, ids: np.ndarray, seen: bool, excluded: bool, candidates: bool, fill: str | None
) -> None:
    """The `DataWarning` of the lists shorter than ``k`` (``ids`` padded with -1) once
    filled: how many customers, how many with none, and what left too few items."""
    have = (ids >= 0).sum(axis=1)
    short = int((have < ids.shape[1]).sum())
    if not short:
        return
    less = [
        words
        for words, on in (
            ("the items each bought before (exclude_seen=True)", seen),
            ("the items in exclude=", excluded),
            ("the items not in candidates=", candidates),
        )
        if on
    ]
    why = f"the catalogue holds {counted(model.n_items, 'item')}" + (
        f", less {' and '.join(less)}" if less else ""
    )
    if fill is None:
        why = f"fill=None keeps the model's own lists, which score too few of them ({why})"
    warnings.warn(
        f"{type(model).__name__} has fewer than {ids.shape[1]:,} items to recommend to "
        f"{counted(short, 'customer')} of {len(have):,} (none to "
        f"{int((have == 0).sum()):,}): {why}",
        DataWarning,
        stacklevel=4,  # warn_short <- recommend_ids <- Recommender.recommend <- caller
    )
