"""Item-based k-nearest-neighbour recommender with fused Numba scoring."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._validation import check_in, check_positive_int, resolve_num_threads
from recsys.data.interactions import Interactions
from recsys.exceptions import InputDataError
from recsys.models.base import Recommender

__all__ = ["ItemKNN"]

_SIMILARITIES = ("cosine", "asymmetric_cosine", "jaccard", "bm25")
_WEIGHTINGS = ("raw", "log", "binary")


class ItemKNN(Recommender):
    """Item-item neighbourhood model: ``score(u, i) = sum_j w(u, j) * sim(j, i)``.

    The similarity of every item to its ``k`` nearest neighbours is computed once
    (:func:`recsys.models.similarity.item_similarity`: sparse products plus Numba
    pruning); recommendation multiplies each user's purchase row by the pruned
    similarity matrix fused with the top-K selection in Numba
    (:func:`recsys.scoring.knn_topk`), so the dense users x items score matrix is
    never built.

    Time decay: build the interactions with ``half_life_days`` (e.g.
    ``rs.Interactions.from_purchases(p, half_life_days=90)``) and both the
    similarities and the users' rows weigh recent purchases more.

    Parameters
    ----------
    similarity : {"cosine", "asymmetric_cosine", "jaccard", "bm25"}
        Item-item similarity.
    k : int
        Neighbours kept per item.
    shrink : float
        Shrinkage of the similarity towards 0 for items with few common buyers
        (``sim * n / (n + shrink)``-style, see ``item_similarity``).
    alpha : float
        Asymmetry of ``"asymmetric_cosine"`` (0.5 = cosine).
    bm25_k1, bm25_b : float
        BM25 saturation and length normalisation (``"bm25"``).
    weighting : {"log", "raw", "binary"}
        Transform of the stored purchase weights before anything else:
        ``log(1 + w)`` (default: dampens bulk buyers), as is, or 1.
    num_threads : int
        Threads for the similarity build (0 = all cores); results do not depend on it.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.ItemKNN(k=50).fit(rs.Interactions.from_purchases(purchases.head(20_000)))
    >>> recs = model.recommend(k=5)
    >>> recs.columns
    ['user_id', 'item_id', 'score', 'rank']
    """

    def __init__(
        self,
        similarity: str = "cosine",
        k: int = 100,
        shrink: float = 0.0,
        alpha: float = 0.5,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        weighting: str = "log",
        num_threads: int = 0,
    ) -> None:
        self.similarity = similarity
        self.k = k
        self.shrink = shrink
        self.alpha = alpha
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.weighting = weighting
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        check_in("similarity", self.similarity, _SIMILARITIES)
        check_in("weighting", self.weighting, _WEIGHTINGS)
        check_positive_int("k", self.k)
        resolve_num_threads(self.num_threads)
        if not (np.isfinite(float(self.shrink)) and float(self.shrink) >= 0):
            raise InputDataError(f"shrink must be >= 0, got {self.shrink!r}")
        if not 0.0 <= float(self.alpha) <= 1.0:
            raise InputDataError(f"alpha must be in [0, 1], got {self.alpha!r}")

    def _weighted(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        if self.weighting == "raw":
            return matrix
        data = np.log1p(matrix.data) if self.weighting == "log" else np.ones_like(matrix.data)
        out = sp.csr_matrix(
            (data.astype(np.float32), matrix.indices, matrix.indptr), shape=matrix.shape
        )
        out.has_sorted_indices = matrix.has_sorted_indices
        return out

    def _fit(self, interactions: Interactions) -> None:
        from recsys.models.similarity import item_similarity

        self.similarity_: sp.csr_matrix = sp.csr_matrix(
            item_similarity(
                self._weighted(self.user_items_),
                similarity=self.similarity,  # type: ignore[arg-type]
                k=int(self.k),
                shrink=float(self.shrink),
                alpha=float(self.alpha),
                bm25_k1=float(self.bm25_k1),
                bm25_b=float(self.bm25_b),
                num_threads=resolve_num_threads(self.num_threads),
            ),
            dtype=np.float32,
        )

    def _score_block(self, user_index: np.ndarray) -> np.ndarray:
        rows = self._weighted(self.user_items_[user_index])
        return np.asarray((rows @ self.similarity_).toarray(), dtype=np.float32)

    def _topk_block(
        self,
        user_index: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        from recsys.scoring import knn_topk

        return knn_topk(
            self._weighted(self.user_items_[user_index]),
            self.similarity_,
            k,
            exclude=exclude,
            candidates=candidates,
            num_threads=num_threads,
        )

    def _item_similarity_rows(self, item_index: np.ndarray) -> np.ndarray:
        rows = self.similarity_[item_index].toarray().astype(np.float32)
        # Items outside the k neighbours are not similar at all: never list them.
        rows[rows == 0] = -np.inf
        return rows

    def recommend_history(
        self, items: Any, k: int = 10, *, weights: Any = None, exclude_seen: bool = True
    ) -> pl.DataFrame:
        """Top-``k`` items for an ad-hoc purchase list; a frame ``item_id, score, rank``.

        Examples
        --------
        >>> import recsys as rs
        >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        >>> model = rs.ItemKNN().fit(rs.Interactions.from_purchases(purchases.head(20_000)))
        >>> len(model.recommend_history(["85123A"], k=3))
        3
        """
        from recsys.scoring import knn_topk

        self._check_fitted()
        k = check_positive_int("k", k)
        idx = self.items_.to_index(self._as_id_series(items, "items"))
        w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != idx.shape or (w < 0).any() or not np.isfinite(w).all():
            raise InputDataError(
                f"weights must be {len(idx)} finite values >= 0 aligned with items"
            )
        row = sp.csr_matrix(
            (w.astype(np.float32), (np.zeros(len(idx), dtype=np.int64), idx)),
            shape=(1, self.n_items),
        )
        row.sum_duplicates()
        row.sort_indices()
        ids, scores = knn_topk(
            self._weighted(row), self.similarity_, k, exclude=row if exclude_seen else None
        )
        return self._to_frame(pl.Series([0], dtype=pl.Int64), ids, scores).drop("user_id")

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        s = self.similarity_
        return {
            "sim.data": s.data,
            "sim.indices": s.indices,
            "sim.indptr": s.indptr,
        }, {}

    def _load_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        m = self.n_items
        self.similarity_ = sp.csr_matrix(
            (arrays["sim.data"], arrays["sim.indices"], arrays["sim.indptr"]), shape=(m, m)
        )
