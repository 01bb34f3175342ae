"""A learned "buy again" ranking: a logistic model over repurchase features, fitted in ``fit``."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recsys._arrays import sorted_unique
from recsys._validation import InstanceOf, Interval
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY as _US_PER_DAY
from recsys.data.interactions import Interactions
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.base import Recommender
from recsys.models.baselines import Repurchase, _backfill, bought_schema, bought_scores
from recsys.models.diversify import POOL, basket_cosine, diversified_values
from recsys.models.ranker import Query
from recsys.models.schema import Array, Part, Value
from recsys.models.scores import Stored
from recsys.stats.logistic import fit_logistic, logistic_logit
from recsys.stats.repurchase import pair_interval

__all__ = ["BuyAgain", "repurchase_features"]

#: Schema entries present only when fit learned its weights (no fallback).
_LEARNED = ("fallback", False)

#: Names of the columns of `repurchase_features`, in order.
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
    *,
    presorted: bool = False,
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
    presorted
        The rows are already in the order of ``(user * n_items + item, time)``
        (``numpy.lexsort``, stable): the sort is skipped (`BuyAgain` sorts its log once
        for its two calls).

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
    if not presorted:  # (a subset of presorted rows keeps the order this sort gives it)
        order = np.lexsort((t, key))
        key, t, u = key[order], t[order], u[order]
        del order
    user_rows = u
    del u, i, before, row_reference  # freed as soon as used up (large logs)
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
    # A user's distinct purchase days: distinct (user, day) among the rows.
    day_span = int(day.max()) + 1
    user_day = sorted_unique(user_rows * day_span + day)
    del key, t, day, pair_start, new_day, user_rows, ends
    pair_user = pair_key // max(n_items, 1)
    pair_item = pair_key % max(n_items, 1)
    pair_reference = np.asarray(reference_us)[pair_user] if per_user else reference_us
    since_last = (pair_reference - last) / _US_PER_DAY
    since_first = (pair_reference - first) / _US_PER_DAY

    repeat = days >= 2
    interval = np.where(repeat, pair_interval(since_first - since_last, days), 0.0)
    due = np.where(repeat, np.log((since_last + 1.0) / (interval + 1.0)), 0.0)

    buyers = np.bincount(pair_item, minlength=n_items).astype(np.float64)
    repeaters = np.bincount(pair_item[repeat], minlength=n_items)
    recent = np.bincount(pair_item[since_last < trend_window_days], minlength=n_items)
    repeat_rate = (repeaters + 1.0) / (buyers + 2.0)

    n_users = int(pair_user.max()) + 1
    user_days = np.bincount(user_day // day_span, minlength=n_users).astype(np.float64)
    if per_user:
        user_reference = np.asarray(reference_us, dtype=np.int64)[:n_users]
    else:
        user_reference = np.full(n_users, reference_us, dtype=np.int64)
    user_last = np.full(n_users, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(user_last, pair_user, last)
    user_last = np.where(user_last == np.iinfo(np.int64).min, user_reference, user_last)
    user_since = (user_reference - user_last) / _US_PER_DAY
    user_items = np.bincount(pair_user, minlength=n_users).astype(np.float64)

    # Column by column into one array: a large log never holds the columns twice.
    x = np.empty((len(pair_key), len(FEATURE_NAMES)))
    x[:, 0] = np.log1p(days)
    x[:, 1] = np.log1p(rows)
    x[:, 2] = np.log1p(since_last)
    x[:, 3] = np.log1p(since_first)
    x[:, 4] = repeat
    x[:, 5] = due
    x[:, 6] = due**2
    x[:, 7] = np.log(repeat_rate)[pair_item]
    x[:, 8] = np.log1p(recent)[pair_item]
    x[:, 9] = np.log1p(buyers)[pair_item]
    x[:, 10] = np.log1p(user_days)[pair_user]
    x[:, 11] = np.log1p(user_since)[pair_user]
    x[:, 12] = np.log1p(user_items)[pair_user]
    x[:, 13] = days / user_days[pair_user]
    x[:, 14] = x[:, 2] ** 2
    return pair_key, x


class BuyAgain(Recommender):
    """Learned buy-again ranking: the probability that a customer buys an item again soon.

    In ``fit`` the training period is split in time: features of every
    (customer, item) pair as of ``T - label_days`` (``T`` = the interactions'
    reference time) are paired with whether the customer bought the item again
    in ``[T - label_days, T)``, over the customers who bought anything in that
    window, and an L2-penalised logistic regression (Newton's method, numpy
    only, deterministic) learns their weights. The fitted model then scores
    every pair with its features as of ``T``. Nothing after ``T`` is used.

    The features (`FEATURE_NAMES`): distinct purchase days and rows of
    the pair, days since its first and last purchase, whether it was bought on
    two days or more, how "due" it is (days since last over the customer's own
    interval for the item, ``(last - first) / (days - 1)``, on a log scale), the
    item's repeat rate, buyers and recent buyers (``trend_window_days``), and
    the customer's purchase days, recency, number of items and the item's share
    of the customer's purchase days.

    With ``diversity > 0`` each customer's 60 most likely items are then
    re-ordered so that items bought together (colour variants, the parts of a
    set) do not fill the list: greedily, the next item maximises its
    probability times ``1 - diversity * cosine`` for every item already
    chosen, ``cosine`` being the two items' co-basket cosine over the
    training baskets (a basket = a customer-day); see
    `recsys.models.diversify`. The scores stay the model's probabilities,
    re-assigned in that order. It serves a hit rate (one purchase among
    ``k`` items), not the probability of each item. The fallback below
    (scored as `Repurchase`) is not re-ordered.

    Items the customer never bought rank after every bought item, by
    popularity, as in `Repurchase`. When the interactions carry no
    purchase log (``Interactions.purchases`` is ``None``: built with
    ``from_frame`` or ``keep_purchases=False``) or the internal split has no
    repurchase to learn from, the model falls back to `Repurchase`'s
    default score with a `DataWarning`: ``fallback_`` is True and
    ``fallback_model_`` holds the fitted `Repurchase` that scores instead.

    Parameters
    ----------
    label_days : float
        Length of the internal label window; capped at a third of the
        training period so enough history stays before it.
    regularization : float
        L2 penalty of the logistic regression (on standardised features).
    trend_window_days : float
        Window of the item's recent-buyers feature.
    diversity : float
        In ``[0, 1]``: how much an item's co-basket cosine with an item already
        in the list discounts it (0 = ranked by probability alone).

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
        "diversity": [Interval(float, 0, 1, closed="both")],
    }
    schema = (
        Value("fallback", (InstanceOf(bool),)),
        Array("coef", "float64", (len(FEATURE_NAMES) + 1,), finite=True),
        Part("fallback_model", when=("fallback", True)),
        Array("mean", "float64", (len(FEATURE_NAMES),), finite=True, when=_LEARNED),
        Array("scale", "float64", (len(FEATURE_NAMES),), finite=True, above=0.0, when=_LEARNED),
        # Probabilities in (0, 1]: a bought item never ranks below the popularity backfill.
        *bought_schema(when=_LEARNED, positive=True),
    )

    def __init__(
        self,
        label_days: float = 60.0,
        regularization: float = 1.0,
        trend_window_days: float = 90.0,
        diversity: float = 0.0,
    ) -> None:
        self.label_days = label_days
        self.regularization = regularization
        self.trend_window_days = trend_window_days
        self.diversity = diversity

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
        # in the order of repurchase_features' pairs, once for its two calls
        order = np.lexsort((t[known], u[known].astype(np.int64) * max(n_items, 1) + i[known]))
        u, i, t = u[known][order], i[known][order], t[known][order]
        del order, known
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
        keys0, x0 = repurchase_features(u, i, t, cut, n_items, trend, presorted=True)
        later = t >= cut[u]
        label_keys = sorted_unique(u[later].astype(np.int64) * n_items + i[later])
        active = sorted_unique(u[later])
        rows = np.isin(keys0 // n_items, active)
        x0, keys0 = x0[rows], keys0[rows]
        y = np.isin(keys0, label_keys).astype(np.float64)
        if window <= 0 or y.size == 0 or y.min() == y.max():
            self._fallback(interactions, "the training period has no repurchase to learn from")
            return
        fit = fit_logistic(x0, y, float(self.regularization))
        del x0, y, keys0  # before the features as of T: a large log never holds both
        self.mean_, self.scale_, self.coef_ = fit.mean, fit.scale, fit.coef
        keys, x = repurchase_features(u, i, t, now, n_items, trend, presorted=True)
        expected = (
            np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * n_items
            + matrix.indices
        )
        if not np.array_equal(keys, expected):
            raise InputDataError(
                "Interactions.purchases does not match Interactions.matrix; build both with "
                "rs.Interactions.from_purchases"
            )
        logit = logistic_logit((self.mean_, self.scale_, self.coef_), x)
        # Probabilities in (0, 1): above the popularity backfill in (-1, 0).
        self.scores_data_ = (0.5 + 0.5 * np.tanh(0.5 * logit)).astype(np.float32)
        self.scores_data_ = np.maximum(self.scores_data_, np.float32(1e-30))
        if self.diversity > 0:
            together, baskets = basket_cosine(u, i, t, n_items)
            self.scores_data_ = diversified_values(
                matrix, self.scores_data_, together, baskets, float(self.diversity), POOL
            )
        self.backfill_: np.ndarray = _backfill(self.item_popularity_)
        self.fallback_model_ = None
        self.fallback_ = False

    def _score(self, user_index: np.ndarray, query: Query | None) -> Stored:
        if self.fallback_model_ is not None:
            return self.fallback_model_._score(user_index, query)
        return bought_scores(self, user_index, self.scores_data_, self.backfill_)
