"""Item-based k-nearest-neighbour recommender with fused Numba scoring."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._validation import Interval, Options, check_positive_int, resolve_num_threads
from recsys.data.interactions import Interactions
from recsys.exceptions import InputDataError
from recsys.models.base import Recommender
from recsys.models.ranker import Query, lists_frame
from recsys.models.schema import Csr
from recsys.models.scores import Sparse

__all__ = ["ItemKNN"]

_SIMILARITIES = ("cosine", "asymmetric_cosine", "jaccard", "bm25")
_WEIGHTINGS = ("raw", "log", "binary")


class ItemKNN(Recommender):
    """Item-item neighbourhood model: ``score(u, i) = sum_j w(u, j) * sim(j, i)``.

    The similarity of every item to its ``k`` nearest neighbours is computed once
    (`recsys.scoring.item_similarity`: sparse products plus Numba
    pruning); recommendation multiplies each user's purchase row by the pruned
    similarity matrix fused with the top-K selection in Numba
    (`recsys.scoring.knn_topk`), so the dense users x items score matrix is
    never built.

    Time decay: build the interactions with ``half_life_days`` (e.g.
    ``rs.Interactions.from_purchases(p, half_life_days=90)``) and both the
    similarities and the users' rows weigh recent purchases more.

    Parameters
    ----------
    similarity : {"bm25", "cosine", "asymmetric_cosine", "jaccard"}
        Item-item similarity (default BM25, the best of the four on retail data,
        see ``benchmarks/bench_models.py``).
    neighbors : int
        Neighbours kept per item.
    shrink : float
        Added to every similarity's denominator, ``numerator / (denominator +
        shrink)``: pairs with little evidence (few common buyers) shrink towards 0
        (see `recsys.scoring.item_similarity`).
    asymmetry : float
        Asymmetry of ``"asymmetric_cosine"`` in ``[0, 1]`` (0.5 = cosine).
    bm25_k1, bm25_b : float
        BM25 saturation and length normalisation (``"bm25"``).
    self_similarity : float
        Similarity of each item to itself, as a multiple of its strongest
        neighbour's, added to the neighbour weights: with
        ``exclude_seen=False`` the items a customer already buys score too
        (buy-again), as in implicit's item-item models; 0 = neighbours only.
    weighting : {"binary", "log", "raw"}
        Transform of the purchase weights the similarity is computed from: 1
        (default: who bought what, not how often), ``log(1 + w)``, or as is.
    user_weighting : {"raw", "log", "binary"}
        Transform of a customer's purchase weights when scoring (default as is:
        items bought often, or recently with time-decayed interactions, count more).
    num_threads : int
        Threads for the similarity build (0 = all cores); results do not depend on it.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.ItemKNN(neighbors=50).fit(rs.Interactions.from_purchases(purchases.head(20_000)))
    >>> recs = model.recommend(k=5)
    >>> recs.columns
    ['user_id', 'item_id', 'score', 'rank']
    """

    registry_name = "itemknn"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "similarity": [Options(*_SIMILARITIES)],
        "neighbors": [Interval(int, 1, None)],
        "shrink": [Interval(float, 0, None)],
        "asymmetry": [Interval(float, 0, 1)],
        "bm25_k1": [Interval(float, 0, None)],
        "bm25_b": [Interval(float, 0, 1)],
        "weighting": [Options(*_WEIGHTINGS)],
        "user_weighting": [Options(*_WEIGHTINGS)],
        "self_similarity": [Interval(float, 0, None)],
        "num_threads": [Interval(int, 0, None)],
    }
    schema = (Csr("similarity", ("items", "items")),)

    def __init__(
        self,
        similarity: str = "bm25",
        neighbors: int = 100,
        shrink: float = 0.0,
        asymmetry: float = 0.5,
        bm25_k1: float = 0.6,
        bm25_b: float = 0.75,
        weighting: str = "binary",
        user_weighting: str = "raw",
        self_similarity: float = 10.0,
        num_threads: int = 0,
    ) -> None:
        self.similarity = similarity
        self.neighbors = neighbors
        self.shrink = shrink
        self.asymmetry = asymmetry
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.weighting = weighting
        self.user_weighting = user_weighting
        self.self_similarity = self_similarity
        self.num_threads = num_threads

    def _weighted(self, matrix: sp.csr_matrix, weighting: str | None = None) -> sp.csr_matrix:
        """``matrix`` with its weights transformed (default: the users' ``user_weighting``)."""
        weighting = weighting or self.user_weighting
        if weighting == "raw":
            return matrix
        data = np.log1p(matrix.data) if weighting == "log" else np.ones_like(matrix.data)
        out = sp.csr_matrix(
            (data.astype(np.float32), matrix.indices, matrix.indptr), shape=matrix.shape
        )
        out.has_sorted_indices = matrix.has_sorted_indices
        return out

    def _fit(self, interactions: Interactions) -> None:
        from recsys.scoring import item_similarity

        neighbours = sp.csr_matrix(
            item_similarity(
                self._weighted(self.user_items_, self.weighting),
                similarity=self.similarity,
                neighbors=int(self.neighbors),
                shrink=float(self.shrink),
                asymmetry=float(self.asymmetry),
                bm25_k1=float(self.bm25_k1),
                bm25_b=float(self.bm25_b),
                num_threads=resolve_num_threads(self.num_threads),
            ),
            dtype=np.float32,
        )
        if self.self_similarity > 0:
            # Relative to the item's strongest neighbour, so the term means the same for
            # every similarity (cosine <= 1, BM25 unbounded).
            row_max = np.zeros(self.n_items, dtype=np.float64)
            rows = np.repeat(np.arange(self.n_items), np.diff(neighbours.indptr))
            np.maximum.at(row_max, rows, neighbours.data)
            fallback = row_max.max() if row_max.size and row_max.max() > 0 else 1.0
            row_max[row_max == 0] = fallback
            diagonal = sp.diags(
                (float(self.self_similarity) * row_max).astype(np.float32), format="csr"
            )
            neighbours = neighbours + diagonal
        self.similarity_: sp.csr_matrix = sp.csr_matrix(neighbours, dtype=np.float32)
        self.similarity_.sort_indices()

    def _score(self, user_index: np.ndarray, query: Query | None) -> Sparse:
        return Sparse(self._weighted(self.user_items_[user_index]), self.similarity_)

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
        return lists_frame(self, pl.Series([0], dtype=pl.Int64), ids, scores).drop("user_id")
