"""A learned "buy again" ranking: a logistic model over repurchase features, fitted in ``fit``."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recsys._validation import Interval
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY as _US_PER_DAY
from recsys.data.interactions import Interactions
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.base import Recommender
from recsys.models.baselines import (
    Repurchase,
    _backfill,
    _check_bought_state,
    bought_item_block,
    bought_item_pairs,
)
from recsys.models.persistence import check_array

__all__ = ["BuyAgain", "RepurchaseKNN", "repurchase_features"]

#: Names of the columns of :func:`repurchase_features`, in order.
FEATURE_NAMES = (
    "log_days",  # distinct purchase days of the pair
    "log_rows",  # purchase rows of the pair
    "log_since_last",
    "log_since_first",
    "is_repeat",  # bought on two days or more
    "log_due_ratio",  # log((since_last + 1) / (own interval + 1)), 0 for one-off pairs
    "log_due_ratio_sq",
    "log_item_repeat_rate",
    "log_item_recent_buyers",
    "log_item_buyers",
    "log_user_days",
    "log_user_since_last",
    "log_user_items",
    "share_of_user_days",  # pair days / user days
    "log_since_last_sq",
)


def repurchase_features(
    user_index: np.ndarray,
    item_index: np.ndarray,
    times_us: np.ndarray,
    reference_us: int | np.ndarray,
    n_items: int,
    trend_window_days: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per (user, item) repurchase features as of ``reference_us`` from a purchase log.

    Only purchases strictly before ``reference_us`` (each user's own, when it is
    an array) are used.

    Parameters
    ----------
    user_index, item_index
        Integer indices of each purchase row.
    times_us
        int64 microseconds since the epoch of each row.
    reference_us
        The "now" of the features (int64 microseconds): one for every user, or
        an int64 array indexed by user index (a per-user ``as_of``).
    n_items
        Catalogue size (pair key = ``user * n_items + item``).
    trend_window_days
        Window of the item's recent-buyers count.

    Returns
    -------
    pair_key, features
        Sorted int64 pair keys and float64 ``[n_pairs, len(FEATURE_NAMES)]``.

    Examples
    --------
    >>> import numpy as np
    >>> day = 86_400_000_000
    >>> keys, x = repurchase_features(np.array([0, 0, 0]), np.array([1, 1, 0]),
    ...                               np.array([0, 10 * day, 10 * day]), 20 * day, 2, 90.0)
    >>> keys.tolist(), np.expm1(x[:, 0]).round().tolist()  # distinct days per pair
    ([0, 1], [1.0, 2.0])
    """
    per_user = np.ndim(reference_us) > 0
    row_reference = np.asarray(reference_us)[user_index] if per_user else reference_us
    before = times_us < row_reference
    u = user_index[before].astype(np.int64)
    i = item_index[before].astype(np.int64)
    t = times_us[before]
    key = u * max(n_items, 1) + i
    order = np.lexsort((t, key))
    key, t = key[order], t[order]
    n = len(key)
    if n == 0:
        return key, np.zeros((0, len(FEATURE_NAMES)))
    day = t // _US_PER_DAY
    pair_start = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(pair_start)
    ends = np.r_[starts[1:], n]
    new_day = pair_start | np.r_[True, day[1:] != day[:-1]]
    pair_key = key[starts]
    rows = (ends - starts).astype(np.float64)
    days = np.add.reduceat(new_day.astype(np.float64), starts)
    first, last = t[starts], t[ends - 1]
    pair_user = pair_key // max(n_items, 1)
    pair_item = pair_key % max(n_items, 1)
    pair_reference = np.asarray(reference_us)[pair_user] if per_user else reference_us
    since_last = (pair_reference - last) / _US_PER_DAY
    since_first = (pair_reference - first) / _US_PER_DAY

    repeat = days >= 2
    interval = np.where(repeat, (since_first - since_last) / np.maximum(days - 1, 1), 0.0)
    due = np.where(repeat, np.log((since_last + 1.0) / (interval + 1.0)), 0.0)

    buyers = np.bincount(pair_item, minlength=n_items).astype(np.float64)
    repeaters = np.bincount(pair_item[repeat], minlength=n_items)
    recent = np.bincount(pair_item[since_last < trend_window_days], minlength=n_items)
    repeat_rate = (repeaters + 1.0) / (buyers + 2.0)

    # A user's distinct purchase days: distinct (user, day) among the rows.
    user_rows = u[order]
    user_day = np.unique(user_rows * (int(day.max()) + 1) + day)
    n_users = int(pair_user.max()) + 1
    user_days = np.bincount(user_day // (int(day.max()) + 1), minlength=n_users).astype(np.float64)
    if per_user:
        user_reference = np.asarray(reference_us, dtype=np.int64)[:n_users]
    else:
        user_reference = np.full(n_users, reference_us, dtype=np.int64)
    # NB: starting from the reference time, user_last stays there (every purchase is
    # before it), so log_user_since_last is 0 for every pair. Kept as is: saved
    # models (format version 1) must score like a fresh fit.
    user_last = user_reference.copy()
    np.maximum.at(user_last, pair_user, last)
    user_since = (user_reference - user_last) / _US_PER_DAY
    user_items = np.bincount(pair_user, minlength=n_users).astype(np.float64)

    log_since_last = np.log1p(since_last)
    features = np.column_stack(
        [
            np.log1p(days),
            np.log1p(rows),
            log_since_last,
            np.log1p(since_first),
            repeat.astype(np.float64),
            due,
            due**2,
            np.log(repeat_rate)[pair_item],
            np.log1p(recent)[pair_item],
            np.log1p(buyers)[pair_item],
            np.log1p(user_days)[pair_user],
            np.log1p(user_since)[pair_user],
            np.log1p(user_items)[pair_user],
            days / user_days[pair_user],
            log_since_last**2,
        ]
    )
    return pair_key, features


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2-penalised logistic regression by Newton's method on standardised features.

    Returns ``(mean, scale, weights)``; the intercept is the last weight (not penalised).
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1.0 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w


class BuyAgain(Recommender):
    """Learned buy-again ranking: the probability that a customer buys an item again soon.

    In ``fit`` the training period is split in time: features of every
    (customer, item) pair as of ``T - label_days`` (``T`` = the interactions'
    reference time) are paired with whether the customer bought the item again
    in ``[T - label_days, T)``, over the customers who bought anything in that
    window, and an L2-penalised logistic regression (Newton's method, numpy
    only, deterministic) learns their weights. The fitted model then scores
    every pair with its features as of ``T``. Nothing after ``T`` is used.

    The features (:data:`FEATURE_NAMES`): distinct purchase days and rows of
    the pair, days since its first and last purchase, whether it was bought on
    two days or more, how "due" it is (days since last over the customer's own
    interval for the item, ``(last - first) / (days - 1)``, on a log scale), the
    item's repeat rate, buyers and recent buyers (``trend_window_days``), and
    the customer's purchase days, recency, number of items and the item's share
    of the customer's purchase days.

    Items the customer never bought rank after every bought item, by
    popularity, as in :class:`Repurchase`. When the interactions carry no
    purchase log (``Interactions.purchases`` is ``None``: built with
    ``from_frame`` or ``keep_purchases=False``) or the internal split has no
    repurchase to learn from, the model falls back to :class:`Repurchase`'s
    default score with a :class:`~recsys.DataWarning`: ``fallback_`` is True and
    ``fallback_model_`` holds the fitted :class:`Repurchase` that scores instead.

    Parameters
    ----------
    label_days : float
        Length of the internal label window; capped at a third of the
        training period so enough history stays before it.
    regularization : float
        L2 penalty of the logistic regression (on standardised features).
    trend_window_days : float
        Window of the item's recent-buyers feature.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.BuyAgain().fit(rs.Interactions.from_purchases(purchases.head(50_000)))
    >>> model.recommend(k=3).height > 0
    True
    """

    registry_name = "buyagain"
    default_exclude_seen: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "label_days": [Interval(float, 0, None, closed="neither")],
        "regularization": [Interval(float, 0, None)],
        "trend_window_days": [Interval(float, 0, None, closed="neither")],
    }
    _submodels: ClassVar[tuple[str, ...]] = ("fallback_model_",)

    def __init__(
        self,
        label_days: float = 60.0,
        regularization: float = 1.0,
        trend_window_days: float = 90.0,
    ) -> None:
        self.label_days = label_days
        self.regularization = regularization
        self.trend_window_days = trend_window_days

    def _fallback(self, interactions: Interactions, reason: str) -> None:
        warnings.warn(
            f"BuyAgain falls back to Repurchase's score: {reason}",
            DataWarning,
            stacklevel=4,
        )
        fallback = Repurchase()
        fallback.fit(interactions)
        self.fallback_model_: Repurchase | None = fallback
        self.coef_: np.ndarray = np.zeros(len(FEATURE_NAMES) + 1)
        self.fallback_: bool = True

    def _fit(self, interactions: Interactions) -> None:
        log = interactions.purchases
        if log is None or interactions.reference_time is None or C.TIMESTAMP not in log.columns:
            self._fallback(
                interactions,
                "the interactions keep no purchase log (build them with "
                "rs.Interactions.from_purchases from timestamped purchases)",
            )
            return
        matrix = self.user_items_
        n_items = matrix.shape[1]
        u = interactions.users.to_index(log[C.USER], on_unknown="minus_one")
        i = interactions.items.to_index(log[C.ITEM], on_unknown="minus_one")
        t = log[C.TIMESTAMP].cast(pl.Datetime("us")).to_numpy().view(np.int64)
        known = (u >= 0) & (i >= 0)
        u, i, t = u[known], i[known], t[known]
        # Each user's "now" (a per-user as_of, else the shared reference time);
        # every purchase of the user is strictly before it.
        user_now = interactions.user_reference_times()
        assert user_now is not None
        now = user_now.astype("datetime64[us]").astype(np.int64)
        if len(t) and interactions.user_reference is None:
            now = np.maximum(now, int(t.max()) + 1)
        elif len(t):
            last_row = np.full(len(now), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(last_row, u, t)
            now = np.maximum(now, last_row + 1)
        span_days = (int(now.max()) - int(t.min())) / _US_PER_DAY if len(t) else 0.0
        window = min(float(self.label_days), span_days / 3.0)
        trend = float(self.trend_window_days)
        cut = now - int(window * _US_PER_DAY)
        keys0, x0 = repurchase_features(u, i, t, cut, n_items, trend)
        later = t >= cut[u]
        label_keys = np.unique(u[later].astype(np.int64) * n_items + i[later])
        active = np.unique(u[later])
        rows = np.isin(keys0 // n_items, active)
        x0, keys0 = x0[rows], keys0[rows]
        y = np.isin(keys0, label_keys).astype(np.float64)
        if window <= 0 or y.size == 0 or y.min() == y.max():
            self._fallback(interactions, "the training period has no repurchase to learn from")
            return
        self.mean_, self.scale_, self.coef_ = _fit_logistic(x0, y, float(self.regularization))
        keys, x = repurchase_features(u, i, t, now, n_items, trend)
        expected = (
            np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * n_items
            + matrix.indices
        )
        if not np.array_equal(keys, expected):
            raise InputDataError(
                "Interactions.purchases does not match Interactions.matrix; build both with "
                "rs.Interactions.from_purchases"
            )
        logit = np.column_stack([(x - self.mean_) / self.scale_, np.ones(len(x))]) @ self.coef_
        # Probabilities in (0, 1): above the popularity backfill in (-1, 0).
        self.scores_data_ = (0.5 + 0.5 * np.tanh(0.5 * logit)).astype(np.float32)
        self.scores_data_ = np.maximum(self.scores_data_, np.float32(1e-30))
        self.backfill_: np.ndarray = _backfill(self.item_popularity_)
        self.fallback_model_ = None
        self.fallback_ = False

    def _bought_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the bought pairs and the backfill: learned, or the fallback's."""
        scorer: Any = self if self.fallback_model_ is None else self.fallback_model_
        return scorer.scores_data_, scorer.backfill_

    def _score_block(self, user_index: np.ndarray) -> np.ndarray:
        return bought_item_block(self.user_items_, *self._bought_scores(), user_index)

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return bought_item_pairs(self.user_items_, *self._bought_scores(), users, items)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"coef": self.coef_}
        if self.fallback_model_ is None:
            arrays.update(scores_data=self.scores_data_, backfill=self.backfill_)
        return arrays, {"fallback": bool(self.fallback_)}

    def _load_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.coef_ = check_array(
            arrays, "coef", kind="f", shape=(len(FEATURE_NAMES) + 1,), finite=True
        )
        self.fallback_ = self.fallback_model_ is not None
        if not self.fallback_:
            _check_bought_state(self, arrays)


class RepurchaseKNN(Recommender):
    """Buy-again scores smoothed over similar customers (TIFU-KNN's user-kNN step).

    Each customer's personal vector ``p_u`` holds :class:`Repurchase`'s scores
    of the items they bought (count, recency decay, item repeat rate), scaled
    to unit length. Customers are compared by the cosine of these vectors; the
    ``neighbors`` most similar other customers of ``u`` form ``N(u)`` and

    ``score(u, i) = alpha * p_u(i) + (1 - alpha) * mean_{v in N(u)} p_v(i)``

    as in TIFU-KNN (Hu et al., SIGIR 2020), whose personal vectors are
    basket-group decayed frequencies instead. The smoothing reorders a
    customer's own items by what similar customers keep buying and brings in
    items those customers buy (explore items), ranked after nothing in
    particular: they compete on score with the customer's own items. Items no
    neighbour bought rank after every scored item, by popularity.

    Fitting finds the neighbours of every customer: ``O(n_users^2)`` sparse
    dot products, in blocks (seconds for tens of thousands of customers).
    Time-aware through :class:`Repurchase`: with a per-user ``as_of`` in the
    interactions, each customer's vector is as of their own "now".

    Parameters
    ----------
    neighbors : int
        Number of similar customers averaged.
    alpha : float
        Weight of the customer's own vector, in ``[0, 1]`` (1 = :class:`Repurchase`
        order of the bought items).
    half_life_days : float or None
        Recency decay of the personal vectors (:class:`Repurchase`'s).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.RepurchaseKNN(neighbors=50).fit(rs.Interactions.from_purchases(purchases))
    >>> model.recommend([12347], k=3).height
    3
    """

    registry_name = "repurchase_knn"
    default_exclude_seen: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "neighbors": [Interval(int, 1, None)],
        "alpha": [Interval(float, 0, 1)],
        "half_life_days": [Interval(float, 0, None, closed="neither"), None],
    }

    def __init__(
        self, neighbors: int = 300, alpha: float = 0.7, half_life_days: float | None = 120.0
    ) -> None:
        self.neighbors = neighbors
        self.alpha = alpha
        self.half_life_days = half_life_days

    def _fit(self, interactions: Interactions) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # Repurchase warns itself if untimed
            personal = Repurchase(half_life_days=self.half_life_days)
            personal.fit(interactions)
        matrix = self.user_items_
        data = personal.scores_data_.astype(np.float64)
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        norm = np.sqrt(np.bincount(rows, weights=data**2, minlength=matrix.shape[0]))
        self.vector_data_: np.ndarray = (data / np.maximum(norm[rows], 1e-30)).astype(np.float32)
        vectors = self._vectors()
        n_users = matrix.shape[0]
        n = min(int(self.neighbors), max(n_users - 1, 1))
        indptr = [np.zeros(1, np.int64)]
        indices, weights = [], []
        transposed = vectors.T.tocsr()
        size = max(1, min(n_users, 2**24 // max(n_users, 1)))
        for start in range(0, n_users, size):
            stop = min(start + size, n_users)
            sim = (vectors[start:stop] @ transposed).toarray()
            sim[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not oneself
            near = np.argpartition(-sim, n - 1, axis=1)[:, :n] if n < n_users else None
            if near is None:
                near = np.tile(np.arange(n_users), (stop - start, 1))
            near_sim = np.take_along_axis(sim, near, axis=1)
            keep = near_sim > 0
            counts = keep.sum(axis=1)
            indices.append(near[keep].astype(np.int32))
            weights.append(np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32))
            indptr.append(indptr[-1][-1] + np.cumsum(counts))
        self.neighbor_indptr_: np.ndarray = np.concatenate(indptr).astype(np.int64)
        self.neighbor_indices_: np.ndarray = np.concatenate(indices)
        self.neighbor_weights_: np.ndarray = np.concatenate(weights)
        self.backfill_: np.ndarray = _backfill(self.item_popularity_)

    def _vectors(self) -> Any:
        import scipy.sparse as sp

        m = self.user_items_
        return sp.csr_matrix((self.vector_data_, m.indices, m.indptr), shape=m.shape)

    def _score_block(self, user_index: np.ndarray) -> np.ndarray:
        import scipy.sparse as sp

        vectors = self._vectors()
        n_users = vectors.shape[0]
        weights = sp.csr_matrix(
            (self.neighbor_weights_, self.neighbor_indices_, self.neighbor_indptr_),
            shape=(n_users, n_users),
        )[user_index]
        alpha = float(self.alpha)
        score = (
            alpha * vectors[user_index].toarray() + (1.0 - alpha) * (weights @ vectors).toarray()
        )
        return np.where(score > 0, score, self.backfill_[None, :]).astype(np.float32)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {
            "vector_data": self.vector_data_,
            "neighbor_indptr": self.neighbor_indptr_,
            "neighbor_indices": self.neighbor_indices_,
            "neighbor_weights": self.neighbor_weights_,
            "backfill": self.backfill_,
        }, {}

    def _load_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        n_users = self.n_users
        self.vector_data_ = check_array(
            arrays, "vector_data", kind="f", shape=(self.user_items_.nnz,), finite=True, low=0.0
        ).astype(np.float32)
        self.neighbor_indptr_ = check_array(
            arrays, "neighbor_indptr", kind="i", shape=(n_users + 1,), low=0
        ).astype(np.int64)
        nnz = int(self.neighbor_indptr_[-1])
        self.neighbor_indices_ = check_array(
            arrays, "neighbor_indices", kind="i", shape=(nnz,), low=0, high=max(n_users - 1, 0)
        ).astype(np.int32)
        self.neighbor_weights_ = check_array(
            arrays, "neighbor_weights", kind="f", shape=(nnz,), finite=True, low=0.0, high=1.0
        ).astype(np.float32)
        self.backfill_ = check_array(
            arrays, "backfill", kind="f", shape=(self.n_items,), finite=True, low=-1.0, high=0.0
        ).astype(np.float32)
