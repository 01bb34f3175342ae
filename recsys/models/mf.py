"""Matrix factorization recommenders trained with implicit's CPU solvers: ALS and BPR."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys._validation import (
    InstanceOf,
    Interval,
    Options,
    check_positive_int,
    resolve_num_threads,
)
from recsys.data.interactions import Interactions
from recsys.exceptions import InputDataError
from recsys.models.base import Recommender
from recsys.models.ranker import Query, lists_frame
from recsys.models.schema import Array
from recsys.models.scores import Factors

__all__ = ["ALS", "BPR", "MatrixFactorization"]


_THREADS = [Interval(int, 0, None)]
_FLAG = [InstanceOf(bool)]
_SEED = [InstanceOf(int, "an integer seed (results are reproducible)")]


class MatrixFactorization(Recommender):
    """Shared scoring for factor models: ``score(u, i) = user_factors_[u] @ item_factors_[i]``.

    The ranker hands the factors to `recsys.scoring.topk` (tiled BLAS products fused
    with the Numba top-K selection): no dense users x items block is built.
    """

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    schema = (
        Array("user_factors", "float32", ("users", "factors"), finite=True),
        Array("item_factors", "float32", ("items", "factors"), finite=True),
    )

    def _dims(self) -> dict[str, int]:
        return {"factors": self._factor_width()}

    def _score(self, user_index: np.ndarray, query: Query | None) -> Factors:
        return Factors(self.user_factors_[user_index], self.item_factors_)

    def _item_similarity_rows(self, item_index: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        norms[norms == 0] = 1.0
        unit = self.item_factors_ / norms[:, None]
        return np.asarray(unit[item_index] @ unit.T, dtype=np.float32)

    def _set_factors(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32).copy()
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32).copy()

    def _factor_width(self) -> int:
        """Columns of the factor matrices (``factors``; BPR adds its bias column)."""
        return int(self.get_params(deep=False)["factors"])


class ALS(MatrixFactorization):
    """Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008).

    Trained with ``implicit.cpu.als.AlternatingLeastSquares``. The confidence of a
    purchase weight ``r`` is ``1 + weight_scale * r`` (``weighting="linear"``, the
    default) or ``1 + weight_scale * log(1 + r)`` (``weighting="log"``: a customer who
    bought an item 30 times is more sure of it than one who bought it once, but
    not 30 times more).

    The defaults (128 factors, strong regularization 20, ``C = 1 + 0.3 r`` on
    purchase counts) were chosen on validation splits carved from the training
    periods of Online Retail and Ta-Feng (``Split.validation()``), never on a
    test window; the figures are in ``benchmarks/RESULTS.md`` (``bench_models.py``).

    Parameters
    ----------
    factors : int
        Latent dimensions.
    regularization : float
        L2 penalty on the factors.
    weight_scale : float
        Scale of the purchase weights in the confidences (implicit's ``alpha``).
    weighting : {"linear", "log"}
        How purchase weights become confidences.
    iterations : int
        ALS sweeps.
    use_cg : bool
        Conjugate-gradient solver (fast, implicit's default) or exact Cholesky.
    random_state : int
        Seed of the initial factors.
    num_threads : int
        Training threads (0 = all cores). ALS results do not depend on the thread
        count: every user (item) solve is independent and BLAS is held to one
        thread during training.
    show_progress : bool
        Show implicit's progress bar while training.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> inter = rs.Interactions.from_purchases(purchases.head(20_000))
    >>> model = rs.ALS(factors=16, iterations=3).fit(inter)
    >>> model.item_factors_.shape[1]
    16
    """

    registry_name = "als"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "factors": [Interval(int, 1, None)],
        "regularization": [Interval(float, 0, None)],
        "weight_scale": [Interval(float, 0, None, closed="neither")],
        "weighting": [Options("linear", "log")],
        "iterations": [Interval(int, 1, None)],
        "use_cg": _FLAG,
        "random_state": _SEED,
        "num_threads": _THREADS,
        "show_progress": _FLAG,
    }

    def __init__(
        self,
        factors: int = 128,
        regularization: float = 20.0,
        weight_scale: float = 0.3,
        weighting: str = "linear",
        iterations: int = 15,
        use_cg: bool = True,
        random_state: int = 0,
        num_threads: int = 0,
        show_progress: bool = False,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.weight_scale = weight_scale
        self.weighting = weighting
        self.iterations = iterations
        self.use_cg = use_cg
        self.random_state = random_state
        self.num_threads = num_threads
        self.show_progress = show_progress

    def _confidence_data(self, data: np.ndarray) -> np.ndarray:
        """Confidences ``C`` of the stored weights (implicit reads ``C`` from the matrix)."""
        data = np.asarray(data, dtype=np.float64)
        scaled = np.log1p(data) if self.weighting == "log" else data
        return (1.0 + self.weight_scale * scaled).astype(np.float32)

    def _fit(self, interactions: Interactions) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        x = self.user_items_
        cui = sp.csr_matrix((self._confidence_data(x.data), x.indices, x.indptr), shape=x.shape)
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0,
                iterations=self.iterations,
                use_cg=self.use_cg,
                num_threads=resolve_num_threads(self.num_threads),
                random_state=int(self.random_state),
            )
            model.fit(cui, show_progress=self.show_progress)
        self._set_factors(model.user_factors, model.item_factors)

    def recalculate_user(self, items: Any, weights: Any = None) -> np.ndarray:
        """Factors of a user with the given purchase list, item factors held fixed.

        Solves the user's weighted least squares exactly:
        ``x = (YᵀY + Yᵀ(C - I)Y + λI)⁻¹ Yᵀ C p``.

        Parameters
        ----------
        items
            External ids of the items the user bought (unknown ids raise).
        weights
            Purchase weights aligned with ``items`` (default 1 each; repeated
            ids add up), on the same scale as the training interactions.

        Returns
        -------
        numpy.ndarray
            float32 ``[factors]``.

        Examples
        --------
        >>> import recsys as rs
        >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        >>> model = rs.ALS(factors=8, iterations=2).fit(
        ...     rs.Interactions.from_purchases(purchases.head(5_000)))
        >>> model.recalculate_user(["85123A"]).shape
        (8,)
        """
        self._check_fitted()
        row = self._history_row(items, weights)
        y = self.item_factors_.astype(np.float64)
        idx = row.indices
        conf = self._confidence_data(row.data).astype(np.float64)
        yi = y[idx]
        a = y.T @ y + (yi.T * (conf - 1.0)) @ yi + self.regularization * np.eye(y.shape[1])
        b = yi.T @ conf
        return np.linalg.solve(a, b).astype(np.float32)

    def _history_row(self, items: Any, weights: Any) -> sp.csr_matrix:
        idx = self.items_.to_index(self._as_id_series(items, "items"))
        w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != idx.shape:
            raise InputDataError(
                f"weights must have one value per item ({len(idx)}), got shape {w.shape}"
            )
        if (w < 0).any() or not np.isfinite(w).all():
            raise InputDataError("weights must be finite and >= 0")
        row = sp.csr_matrix((w, (np.zeros(len(idx), dtype=np.int64), idx)), shape=(1, self.n_items))
        row.sum_duplicates()
        return row

    def recommend_history(
        self, items: Any, k: int = 10, *, weights: Any = None, exclude_seen: bool = True
    ) -> Any:
        """Top-``k`` items for an ad-hoc purchase list (e.g. a new or returning visitor).

        Returns a frame ``item_id, score, rank``; the user's factors come from
        `recalculate_user`.
        """
        from recsys.scoring import topk

        k = check_positive_int("k", k)
        vec = self.recalculate_user(items, weights)
        row = self._history_row(items, weights)
        ids, scores = topk(
            vec[None, :], self.item_factors_, k, exclude=row if exclude_seen else None
        )
        import polars as pl

        frame = lists_frame(self, pl.Series([0], dtype=pl.Int64), ids, scores)
        return frame.drop("user_id")


class BPR(MatrixFactorization):
    """Bayesian personalised ranking (Rendle et al. 2009), trained with implicit's CPU SGD.

    The factors include implicit's item bias: ``item_factors_`` has
    ``factors + 1`` columns (the last is the bias) and ``user_factors_`` a
    matching column of ones, so ``user_factors_ @ item_factors_.T`` is the score.

    Determinism: implicit trains BPR with lock-free parallel SGD ("Hogwild"),
    whose result depends on thread timing when ``num_threads > 1``. The default
    ``num_threads=1`` therefore trains single-threaded and is reproducible for a
    given ``random_state``; pass more threads to trade reproducibility for speed.
    Scoring threads (``recommend(num_threads=...)``) never change results.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.BPR(factors=8, iterations=5).fit(
    ...     rs.Interactions.from_purchases(purchases.head(5_000)))
    >>> model.item_factors_.shape[1]
    9
    """

    registry_name = "bpr"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "factors": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0, None, closed="neither")],
        "regularization": [Interval(float, 0, None)],
        "iterations": [Interval(int, 1, None)],
        "verify_negative_samples": _FLAG,
        "random_state": _SEED,
        "num_threads": _THREADS,
        "show_progress": _FLAG,
    }

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        verify_negative_samples: bool = True,
        random_state: int = 0,
        num_threads: int = 1,
        show_progress: bool = False,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.random_state = random_state
        self.num_threads = num_threads
        self.show_progress = show_progress

    def _factor_width(self) -> int:
        return int(self.factors) + 1  # implicit's item bias column

    def _fit(self, interactions: Interactions) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            verify_negative_samples=self.verify_negative_samples,
            num_threads=resolve_num_threads(self.num_threads),
            random_state=int(self.random_state),
        )
        with threadpool_limits(1, "blas"):
            model.fit(self.user_items_, show_progress=self.show_progress)
        self._set_factors(model.user_factors, model.item_factors)
