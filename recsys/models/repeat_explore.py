"""The buy-again / discover blend: which bought and which new items go in the next basket.

`RepeatExplore` puts a customer's own items (scored by a buy-again part) and new
items (proposed by discovery parts) in one list. By default the merge is
*learned*: inside ``fit`` each customer's last order is held out, the parts are
fitted on what came before it, and two logistic regressions learn the
probability that a bought item and that a new item is in that order, from the
parts' scores and ranks and from the customer's own habits (orders, distinct
items, and how often past orders held items new to them). Ranking both kinds
of items by that probability decides, customer by customer, how many slots go
to discovery: the repeat / explore decomposition of Li et al., "A Next Basket
Recommendation Reality Check" (ACM TOIS 2023), put to work.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._arrays import sorted_unique
from recsys._validation import InstanceOf, Interval, Options
from recsys.data import columns as C
from recsys.data.canonical import ORDER_KEY, order_key
from recsys.data.interactions import Interactions, WeightKind
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.base import Recommender
from recsys.models.blend import Blend, candidate_matrix
from recsys.models.params import NamedParts
from recsys.models.ranker import pattern
from recsys.models.schema import Array, Value
from recsys.stats.logistic import fit_logistic, logistic_logit

__all__ = ["RepeatExplore", "user_habits"]

#: Schema entries present only when fit learned its weights (no fallback).
_LEARNED = ("merge", "learned")

_MODEL = InstanceOf(Recommender, "a recsys Recommender")
#: Columns of `user_habits`, in order.
HABIT_NAMES = ("log_orders", "log_items", "logit_new_share")
#: Customers whose held-out last order trains the learned merge (a fixed sample above it).
_MERGE_USERS = 50_000
_MERGES = ("learned", "weights")


def user_habits(purchases: pl.DataFrame, users: Any) -> np.ndarray:
    """Per customer: how many orders, how many distinct items, how often new items.

    Parameters
    ----------
    purchases
        Purchase rows with ``user_id``, ``item_id`` and ``timestamp`` (orders
        are `recsys.data.canonical.order_key`'s: an ``order_id`` or a customer-day).
    users
        The `IdMap` of the customers (rows of the result).

    Returns
    -------
    np.ndarray
        float64 ``[len(users), 3]``: ``log(1 + orders)``, ``log(1 + distinct
        items)`` and the logit of the share of new items in the customer's
        orders after their first, smoothed as ``(new + 1) / (items + 2)`` (0 for
        a customer with one order).

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "a", "b"],
    ...                   "timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 2),
    ...                                 datetime(2024, 1, 2)]})
    >>> users = rs.data.IdMap.from_values(p["user_id"])
    >>> h = user_habits(p, users)  # 2 orders, 2 items; 1 of the 2 later items new
    >>> np.expm1(h[0, :2]).round().tolist(), float(h[0, 2])
    ([2.0, 2.0], 0.0)
    """
    n = len(users)
    key = order_key(purchases)
    # per (customer, item): the first order with it and how many orders had it; on the
    # streaming engine (the in-memory grouping keeps a transient of several times the log)
    pairs = (
        purchases.lazy()
        .group_by(C.USER, C.ITEM)
        .agg(key.min().alias("_first_buy"), key.n_unique().alias("_orders"))
        .collect(engine="streaming")
    )
    orders = (
        purchases.lazy()
        .group_by(C.USER)
        .agg(key.n_unique().alias("orders"))
        .collect(engine="streaming")
    )
    # an item's (customer, item, order) rows after the customer's first order: its orders
    # less the first one when it was in it; it is new when its first order is a later one
    first = pl.col("_first_buy") == pl.col("_first_buy").min()
    per_user = (
        pairs.group_by(C.USER)
        .agg(
            pl.len().alias("items"),
            (pl.col("_orders").sum() - first.sum()).alias("later"),
            (~first).sum().alias("new"),
        )
        .join(orders, on=C.USER)
    )
    index = users.to_index(per_user[C.USER], on_unknown="minus_one")
    known = index >= 0
    out = np.zeros((n, len(HABIT_NAMES)))
    share = (per_user["new"].to_numpy() + 1.0) / (per_user["later"].to_numpy() + 2.0)
    out[index[known], 0] = np.log1p(per_user["orders"].to_numpy()[known])
    out[index[known], 1] = np.log1p(per_user["items"].to_numpy()[known])
    out[index[known], 2] = np.log(share / (1.0 - share))[known]
    return out


def _last_orders(log: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each customer's last order (customers with two orders or more): its rows and start time."""
    keyed = log.with_columns(order_key(log))
    last = (
        keyed.group_by(C.USER)
        .agg(pl.col(ORDER_KEY).n_unique().alias("_orders"), pl.col(ORDER_KEY).max())
        .filter(pl.col("_orders") >= 2)
        .drop("_orders")
    )
    rows = keyed.join(last, on=[C.USER, ORDER_KEY])
    start = rows.group_by(C.USER).agg(pl.col(C.TIMESTAMP).min().alias("as_of")).sort(C.USER)
    return rows.select(C.USER, C.ITEM), start


def _probability(weights: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * logistic_logit(weights, x))


class RepeatExplore(Blend):
    """The buy-again / discover blend: bought and new items ranked by one learned probability.

    A ``repeat`` part scores the items each customer bought; ``explore`` parts
    propose their top ``depth`` items the customer never bought. With
    ``merge="learned"`` (default) both kinds are ranked by the probability that
    the item is in the customer's next order, learned in ``fit`` on an internal
    split (no data after the interactions' reference times is used):

    1. each customer's last order (two orders or more; at most 50,000
       customers, a fixed sample above that) is held out, and clones of the
       parts are fitted on the purchases before it (weighted by count, or
       binary: the purchase log keeps no quantities or prices); above 50,000
       such customers the clones learn from the sampled customers' purchases only;
    2. a logistic regression learns P(bought item in that order) from the
       repeat part's log-score and the customer's habits (`user_habits`), a
       second one P(new item in that order) from each explore part's
       reciprocal and log rank, the habits, and the new-item habit times the
       ranks;
    3. the parts are fitted on all the interactions and score with those weights.

    Customers who rarely try new items keep their list to their own items;
    customers whose orders are mostly new items get discovery slots. The merge
    needs the purchase log (`Interactions.from_purchases` on timestamped
    purchases); without it, or without a customer with two orders,
    ``merge="weights"`` is used with a `DataWarning`.

    ``merge="weights"`` is the weighted reciprocal-rank `Blend` of the parts:
    ``weight`` on the repeat part (mask ``"bought"``), ``1 - weight`` shared by
    the explore parts (mask ``"all"``: they may also re-rank bought items).

    Figures (next-basket protocol, Ta-Feng, Online Retail) are in
    ``benchmarks/RESULTS.md`` and the documentation's next-basket page.

    Parameters
    ----------
    repeat : Recommender or None
        The buy-again part (default ``BuyAgain()``). With the learned merge it
        must score bought items above 0 (`BuyAgain` and `Repurchase` do).
    explore : Recommender, list of (str, Recommender), or None
        One discovery part (its parameters are ``explore__<name>``) or named parts,
        as in `Blend` (``[("popular", rs.Popular()), ("als", rs.ALS())]``, parameters
        ``als__factors``...); default ``Popular(window_days=30)`` and ``ItemKNN()``.
    merge : {"learned", "weights"}
        How the parts' lists become one (above).
    weight : float
        ``merge="weights"`` only: share of the repeat part in ``[0, 1]``.
    normalize : {"rank", "minmax"}
        ``merge="weights"`` only: per-customer score normalisation.
    rank_offset : float
        ``merge="weights"`` only: offset of the reciprocal-rank normalisation.
    depth : int
        Items each explore part proposes per customer (its top ``max(depth, k)``).
    regularization : float
        L2 penalty of the learned merge's logistic regressions (standardised features).

    Attributes
    ----------
    merge_ : str
        The merge used (``"weights"`` after a fallback).
    bought_weights_, new_weights_ : tuple of np.ndarray
        ``(mean, scale, coefficients)`` of the two logistic regressions (the
        intercept is the last coefficient); learned merge only.
    habits_ : np.ndarray
        `user_habits` of the training customers; learned merge only.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> inter = rs.Interactions.from_purchases(purchases.head(20_000))
    >>> model = rs.RepeatExplore().fit(inter)
    >>> model.merge_, model.recommend(k=10).height > 0
    ('learned', True)
    """

    bought_mean_: np.ndarray
    bought_scale_: np.ndarray
    bought_coef_: np.ndarray
    new_mean_: np.ndarray
    new_scale_: np.ndarray
    new_coef_: np.ndarray
    registry_name = "repeat_explore"
    default_exclude_seen: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "repeat": [_MODEL, None],
        "explore": [_MODEL, NamedParts(), None],
        "merge": [Options(*_MERGES)],
        "weight": [Interval(float, 0, 1)],
        "normalize": [Options("rank", "minmax")],
        "rank_offset": [Interval(float, 0, None)],
        "depth": [Interval(int, 1, None)],
        "regularization": [Interval(float, 0, None)],
    }
    schema = (
        *Blend.schema,
        Value("merge", (Options(*_MERGES),)),
        *(
            Array(f"{kind}_{name}", "float64", (f"{kind}_{size}",), finite=True, when=_LEARNED)
            for kind in ("bought", "new")
            for name, size in (("mean", "width"), ("coef", "coef"))
        ),
        *(
            Array(f"{kind}_scale", "float64", (f"{kind}_width",), above=0.0, when=_LEARNED)
            for kind in ("bought", "new")
        ),
        Array("habits", "float64", ("users", len(HABIT_NAMES)), finite=True, when=_LEARNED),
    )

    def __init__(
        self,
        repeat: Recommender | None = None,
        explore: Recommender | Sequence[tuple[str, Recommender]] | None = None,
        merge: str = "learned",
        weight: float = 0.8,
        normalize: str = "rank",
        rank_offset: float = 3.0,
        depth: int = 50,
        regularization: float = 1.0,
    ) -> None:
        self.repeat = repeat
        self.explore = explore
        self.merge = merge
        self.weight = weight
        self.normalize = normalize
        self.rank_offset = rank_offset
        self.depth = depth
        self.regularization = regularization

    def _parts(self, timed: bool) -> tuple[list[Recommender], np.ndarray, tuple[str, ...]]:
        from recsys.models.baselines import Popular
        from recsys.models.buyagain import BuyAgain
        from recsys.models.knn import ItemKNN

        repeat = self.repeat.clone() if self.repeat is not None else BuyAgain()
        if self.explore is None:
            explore: list[Recommender] = [Popular(window_days=30.0 if timed else None), ItemKNN()]
        elif isinstance(self.explore, Recommender):
            explore = [self.explore.clone()]
        else:
            explore = [model.clone() for _, model in self.explore]
        n = len(explore)
        if n == 0:
            raise InputDataError("RepeatExplore(explore=...) needs at least one model")
        shares = [(1.0 - float(self.weight)) / n] * n
        weights = np.asarray([float(self.weight), *shares], dtype=np.float32)
        return [repeat, *explore], weights, ("bought",) + ("all",) * n

    def _fit(self, interactions: Interactions) -> None:
        timed = interactions.last_purchase is not None
        models, weights, masks = self._parts(timed)
        self.merge_: str = str(self.merge)
        if self.merge_ == "learned":
            learned = self._learn_merge(models, interactions)
            if learned is None:
                self.merge_ = "weights"
            else:
                for kind, fitted in zip(("bought", "new"), learned, strict=True):
                    for name, value in zip(("mean", "scale", "coef"), fitted, strict=True):
                        setattr(self, f"{kind}_{name}_", value)
                assert interactions.purchases is not None
                self.habits_: np.ndarray = user_habits(interactions.purchases, interactions.users)
                masks = ("bought",) + ("new",) * (len(models) - 1)
        for model in models:
            model.fit(interactions)
        self.models_ = models
        self.weights_ = weights
        self.masks_ = masks

    # ------------------------------------------------------------ learning
    def _learn_merge(
        self, models: list[Recommender], interactions: Interactions
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None:
        """The two logistic regressions, learned on each customer's held-out last order."""
        log = interactions.purchases
        if log is None or C.TIMESTAMP not in log.columns:
            warnings.warn(
                "RepeatExplore uses merge='weights': the learned merge needs the purchase log "
                "(rs.Interactions.from_purchases on timestamped purchases)",
                DataWarning,
                stacklevel=4,
            )
            return None
        label_rows, as_of = _last_orders(log)
        if as_of.height == 0:
            warnings.warn(
                "RepeatExplore uses merge='weights': no customer has two orders to learn from",
                DataWarning,
                stacklevel=4,
            )
            return None
        if as_of.height > _MERGE_USERS:
            # A fixed sample, and the inner parts learn from its purchases only: the merge
            # reads the parts' ranks and scores, which that many customers already
            # estimate, at a fraction of a full fit on a large shop.
            as_of = as_of.sample(_MERGE_USERS, seed=0).sort(C.USER)
            label_rows = label_rows.join(as_of.select(C.USER), on=C.USER, how="semi")
            log = log.join(as_of.select(C.USER), on=C.USER, how="semi")
        weight: WeightKind = "binary" if interactions.weight == "binary" else "count"
        inner = Interactions.from_purchases(
            log, weight, half_life_days=interactions.half_life_days, as_of=as_of
        )
        parts = [model.clone() for model in models]
        with warnings.catch_warnings():
            # The parts warn again (with the same cause) when fitted on all the data.
            warnings.simplefilter("ignore", DataWarning)
            for part in parts:
                part.fit(inner)
        assert inner.purchases is not None
        users = sorted_unique(inner.users.to_index(as_of[C.USER]))
        n_items = len(inner.items)
        label_user = inner.users.to_index(label_rows[C.USER])
        label_item = inner.items.to_index(label_rows[C.ITEM], on_unknown="minus_one")
        known = label_item >= 0
        truth = sorted_unique(label_user[known].astype(np.int64) * n_items + label_item[known])
        seen = pattern(inner.matrix[users])
        bought, new = self._candidates(
            parts,
            users,
            seen,
            None,
            None,
            0,
            int(self.depth),
            user_habits(inner.purchases, inner.users),
        )
        fitted = []
        for rows, items, x in (bought, new):
            y = np.isin(users[rows].astype(np.int64) * n_items + items, truth).astype(np.float64)
            if y.size == 0 or y.min() == y.max():
                warnings.warn(
                    "RepeatExplore uses merge='weights': the held-out last orders have no "
                    "hit or no miss among the parts' candidates to learn from",
                    DataWarning,
                    stacklevel=4,
                )
                return None
            fit = fit_logistic(x, y, float(self.regularization))
            fitted.append((fit.mean, fit.scale, fit.coef))
        return fitted[0], fitted[1]

    def _candidates(
        self,
        parts: list[Recommender],
        users: np.ndarray,
        seen: sp.csr_matrix,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
        depth: int,
        habits: np.ndarray,
    ) -> tuple[
        tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]
    ]:
        """Bought and new candidates of ``users``: ``(row, item, features)`` each.

        Bought: the repeat part's log-score and the habits. New: per explore part
        ``1 / (rank + 1)`` and ``log(1 + rank)`` (``0`` and ``log(1 + self.depth)``
        where the part did not propose the item), the habits, and the new-item habit
        times each rank feature.
        """
        rows, items, scores = self._part_list(
            parts[0], "bought", users, exclude, candidates, num_threads, depth, seen
        )
        if scores.size and scores.min() <= 0:
            raise InputDataError(
                f"RepeatExplore's learned merge needs a repeat part that scores bought items "
                f"above 0; {type(parts[0]).__name__} gave {scores.min():.3g}"
            )
        x_bought = np.column_stack([np.log(scores.astype(np.float64)), habits[users[rows]]])
        lists = [
            self._part_list(part, "new", users, exclude, candidates, num_threads, depth, seen)
            for part in parts[1:]
        ]
        width = max(seen.shape[1], 1)
        keys = sorted_unique(np.concatenate([r.astype(np.int64) * width + i for r, i, _ in lists]))
        rank_features = []
        for r, i, _ in lists:
            starts = np.searchsorted(r, np.arange(len(users)))
            rank = np.arange(r.size) - starts[r]
            at = np.searchsorted(keys, r.astype(np.int64) * width + i)
            reciprocal = np.zeros(keys.size)
            reciprocal[at] = 1.0 / (rank + 1.0)
            log_rank = np.full(keys.size, np.log1p(self.depth))
            log_rank[at] = np.log1p(rank)
            rank_features += [reciprocal, log_rank]
        new_rows = (keys // width).astype(np.int64)
        ranks = np.column_stack(rank_features)
        user_habit = habits[users[new_rows]]
        x_new = np.column_stack([ranks, user_habit, user_habit[:, 2:3] * ranks])
        return (rows, items, x_bought), (new_rows, keys % width, x_new)

    # ------------------------------------------------------------- scoring
    def _bytes_per_user(self) -> int | None:
        if self.merge_ != "learned":
            return super()._bytes_per_user()
        # Per candidate: its float64 features and about 12 more 8-byte values (keys,
        # ranks, rows, items, probability, sort order); a customer has depth new
        # candidates per explore part plus their bought items (the training mean).
        n_explore = len(self.models_) - 1
        per_candidate = 8 * (4 * n_explore + 2 * len(HABIT_NAMES) + 12)
        bought = self.user_items_.nnz / max(self.n_users, 1)
        candidates = min(int(self.depth), max(self.n_items, 1)) * n_explore + bought
        return int(per_candidate * candidates) + 1

    def _contributions(
        self,
        users: np.ndarray,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
        depth: int,
    ) -> sp.csr_matrix:
        if self.merge_ != "learned":
            return super()._contributions(users, exclude, candidates, num_threads, depth)
        seen = pattern(self.user_items_[users])
        bought, new = self._candidates(
            self.models_, users, seen, exclude, candidates, num_threads, depth, self.habits_
        )
        probability = [
            _probability(self.bought_weights_, bought[2]),
            _probability(self.new_weights_, new[2]),
        ]
        return candidate_matrix(
            np.concatenate([bought[0], new[0]]),
            np.concatenate([bought[1], new[1]]),
            np.concatenate(probability),
            len(users),
            self.n_items,
        )

    def _dims(self) -> dict[str, int]:
        n_explore = len(self.models_) - 1
        widths = {"bought": 1 + len(HABIT_NAMES), "new": 4 * n_explore + len(HABIT_NAMES)}
        dims = super()._dims()
        for kind, width in widths.items():
            dims.update({f"{kind}_width": width, f"{kind}_coef": width + 1})
        return dims

    @property
    def bought_weights_(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, scale, coefficients)`` of the bought-item regression (learned merge)."""
        return self.bought_mean_, self.bought_scale_, self.bought_coef_

    @property
    def new_weights_(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, scale, coefficients)`` of the new-item regression (learned merge)."""
        return self.new_mean_, self.new_scale_, self.new_coef_
