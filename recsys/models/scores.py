"""What a model's scoring method returns: a block of scores in one of four shapes.

A model scores a block of users with ``_score(user_index, query)`` and returns one of
these; the shared ranker (`recsys.models.ranker`) asks it for the top ``k`` items
(``topk``) or for given (row, item) pairs (``at``). Each shape picks the kernel that
fits it, so no model writes top-K code and the fast paths build no dense copy:

- `Dense`: a float32 ``[users, n_items]`` block (``-inf`` = not recommendable);
- `Factors`: ``queries @ item_factors.T``, ranked by the fused tiled kernel
  `recsys.scoring.topk` (matrix factorization, popularity as a rank-one product);
- `Sparse`: ``left @ right`` of two CSR matrices, ranked by `recsys.scoring.knn_topk`;
  items no entry reaches are not recommendable (ItemKNN, the blends' candidates);
- `Stored`: per-user values on the users' bought items and a per-item backfill
  elsewhere (the buy-again models).

Every ``topk`` returns int32 ids and float32 scores ``[users, k]``, best first, ties
toward the lower item index, ``-1`` / ``-inf`` padding (also where the score is
``-inf``).

Examples
--------
>>> import numpy as np
>>> block = Factors(np.ones((1, 1), np.float32), np.array([[1.0], [3.0], [2.0]], np.float32))
>>> ids, scores = block.topk(2, None, None, 1)
>>> ids.tolist(), scores.tolist()
([[1, 2]], [[3.0, 2.0]])
>>> block.at(np.array([0]), np.array([2])).tolist()
[2.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Dense", "Factors", "Scores", "Sparse", "Stored"]

Pair = tuple[np.ndarray, np.ndarray]


def drop_unscored(ids: np.ndarray, scores: np.ndarray) -> Pair:
    """Turn slots holding ``-inf`` scores ("cannot recommend") into ``-1`` padding."""
    ids[np.isneginf(scores)] = -1
    return ids, scores


class Scores:
    """Base of the four shapes (see the module docstring)."""

    #: Whether ``topk`` bounds its own memory (no dense users x items block).
    kernel_bounded = False

    def topk(
        self,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> Pair:
        raise NotImplementedError

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """float32 scores of ``(rows[j], items[j])``; ``rows`` index the scored block."""
        raise NotImplementedError


@dataclass(frozen=True)
class Dense(Scores):
    """A float32 ``[users, n_items]`` block; ``-inf`` where an item cannot be recommended."""

    block: np.ndarray

    def topk(
        self,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> Pair:
        from recsys.scoring import select_topk

        scores = np.ascontiguousarray(self.block, dtype=np.float32)
        return drop_unscored(
            *select_topk(scores, k, exclude=exclude, candidates=candidates, num_threads=num_threads)
        )

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.asarray(self.block[rows, items], dtype=np.float32)


@dataclass(frozen=True)
class Factors(Scores):
    """``queries @ item_factors.T``, never materialised: the fused kernel ranks it."""

    queries: np.ndarray
    item_factors: np.ndarray
    kernel_bounded = True

    def topk(
        self,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> Pair:
        from recsys.scoring import topk

        return topk(
            np.ascontiguousarray(self.queries),
            self.item_factors,
            k,
            exclude=exclude,
            candidates=candidates,
            num_threads=num_threads,
        )

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.asarray(
            np.einsum("ij,ij->i", self.queries[rows], self.item_factors[items]), dtype=np.float32
        )


@dataclass(frozen=True)
class Sparse(Scores):
    """``left @ right`` (CSR, float32); an item no entry of a row reaches scores ``-inf``."""

    left: sp.csr_matrix
    right: sp.csr_matrix
    kernel_bounded = True

    def topk(
        self,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> Pair:
        from recsys.scoring import knn_topk

        return knn_topk(
            self.left,
            self.right,
            k,
            exclude=exclude,
            candidates=candidates,
            num_threads=num_threads,
        )

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        columns = sp.csr_matrix(self.right.T)[items]
        product = sp.csr_matrix(self.left[rows].multiply(columns))
        scores = np.asarray(product.sum(axis=1), dtype=np.float32).ravel()
        scores[np.diff(product.indptr) == 0] = -np.inf  # no entry reaches the item
        return scores


@dataclass(frozen=True)
class Stored(Scores):
    """Values on the block's bought items, ``backfill[item]`` (or ``-inf``) elsewhere.

    ``matrix`` holds the block's rows of the training matrix (the bought items) and
    ``values`` one score per stored entry, aligned with ``matrix.data``.
    """

    matrix: sp.csr_matrix
    values: np.ndarray
    backfill: np.ndarray | None

    def dense(self) -> np.ndarray:
        n_rows, n_items = self.matrix.shape
        out = np.full((n_rows, n_items), -np.inf, dtype=np.float32)
        if self.backfill is not None:
            out[:] = self.backfill[None, :]
        rows = np.repeat(np.arange(n_rows), np.diff(self.matrix.indptr))
        out[rows, self.matrix.indices] = self.values
        return out

    def topk(
        self,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> Pair:
        return Dense(self.dense()).topk(k, exclude, candidates, num_threads)

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        n_items = self.matrix.shape[1]
        entry_rows = np.repeat(
            np.arange(self.matrix.shape[0], dtype=np.int64), np.diff(self.matrix.indptr)
        )
        keys = entry_rows * n_items + self.matrix.indices  # sorted: rows, then sorted indices
        query = rows.astype(np.int64) * n_items + items
        if keys.size == 0:
            found = np.zeros(len(query), dtype=bool)
            pos = np.zeros(len(query), dtype=np.int64)
        else:
            pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
            found = keys[pos] == query
        other = (
            self.backfill[items]
            if self.backfill is not None
            else np.full(len(items), -np.inf, dtype=np.float32)
        )
        stored = self.values[pos] if keys.size else other
        return np.where(found, stored, other).astype(np.float32)
