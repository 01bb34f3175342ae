"""Baselines e-commerce needs: global popularity and personal repurchase ("buy again")."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from recsys._validation import Interval
from recsys.data.canonical import US_PER_DAY as _US_PER_DAY
from recsys.data.interactions import Interactions
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.base import Recommender
from recsys.models.ranker import Query
from recsys.models.schema import Array, Spec, row_positions
from recsys.models.scores import Factors, Stored
from recsys.stats.repurchase import pair_interval, typical_interval

__all__ = ["Popular", "Repurchase", "bought_schema", "bought_scores"]


_POSITIVE_OR_NONE = [Interval(float, 0, None, closed="neither"), None]
_NONNEGATIVE = [Interval(float, 0, None)]


def bought_scores(model: Any, user_index: np.ndarray, values: np.ndarray, backfill: Any) -> Stored:
    """The buy-again models' scores: ``values`` (aligned with the training matrix's
    entries) on the users' bought items, ``backfill`` elsewhere."""
    positions = row_positions(model.user_items_.indptr, user_index)
    return Stored(model.user_items_[user_index], values[positions], backfill)


#: The arrays of a buy-again score (``when``: present only in that fitted state).
def bought_schema(when: tuple[str, Any] | None = None, positive: bool = False) -> tuple[Spec, ...]:
    return (
        Array(
            "scores_data",
            "float32",
            ("seen",),
            finite=True,
            low=None if positive else 0.0,
            above=0.0 if positive else None,
            when=when,
        ),
        # Never-bought items rank after every bought one: popularity in (-1, 0).
        Array("backfill", "float32", ("items",), finite=True, low=-1.0, high=0.0, when=when),
    )


def _backfill(popularity: np.ndarray) -> np.ndarray:
    """Never-bought items: popularity squeezed into ``(-1, 0)``, below every bought item."""
    pop = popularity.astype(np.float64)
    return (pop / (pop.max() + 1.0) - 1.0 if pop.size else pop).astype(np.float32)


def _age_days(interactions: Interactions, name: str) -> np.ndarray:
    """Days between each pair's last purchase and its user's reference time (per-user ``as_of``)."""
    if interactions.last_purchase is None or interactions.reference_time is None:
        raise InputDataError(
            f"{name} needs purchase times: build the interactions with "
            "rs.Interactions.from_purchases on purchases that have a timestamp column"
        )
    now = interactions.user_reference_times()
    assert now is not None
    matrix = interactions.matrix
    ref = np.repeat(now, np.diff(matrix.indptr))  # each pair's user's own "now"
    age = (ref - interactions.last_purchase).astype(np.int64) / _US_PER_DAY
    return np.maximum(age, 0.0)


class Popular(Recommender):
    """Most-bought items first: the number of distinct buyers per item.

    Parameters
    ----------
    window_days : float or None
        Count only buyers whose last purchase of the item falls in the
        ``window_days`` before the interactions' reference time (``as_of``):
        what sells now rather than what sold once. ``None`` = all history.

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 2, 2, 3], "item_id": ["a", "a", "b", "c"]})
    >>> rs.Popular().fit(rs.Interactions.from_frame(p)).popularity_.tolist()
    [2.0, 1.0, 1.0]
    """

    registry_name = "popular"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"window_days": _POSITIVE_OR_NONE}
    schema = (Array("popularity", "float32", ("items",), finite=True, low=0.0),)

    def __init__(self, window_days: float | None = None) -> None:
        self.window_days = window_days

    def _fit(self, interactions: Interactions) -> None:
        matrix = self.user_items_
        window = self.window_days
        if window is None:
            cols = matrix.indices
        else:
            cols = matrix.indices[_age_days(interactions, "Popular(window_days=...)") < window]
        self.popularity_: np.ndarray = np.bincount(cols, minlength=matrix.shape[1]).astype(
            np.float32
        )

    def _score(self, user_index: np.ndarray, query: Query | None) -> Factors:
        # A rank-one "factor model": 1 x popularity, ranked by the fused kernel.
        ones = np.ones((len(user_index), 1), dtype=np.float32)
        return Factors(ones, np.ascontiguousarray(self.popularity_, dtype=np.float32)[:, None])


class Repurchase(Recommender):
    """Personal "buy again" ranking from each customer's own purchases.

    The score of an item the customer bought is

    ``count ** count_power * repeat_rate ** repeat_rate_power
    * 0.5 ** (days_since_last / half_life_days) * log(2 + recent_buyers)``

    (``count`` = purchase rows of the pair, ``Interactions.purchase_count``;
    ``repeat_rate`` = share of the item's buyers who bought it at least twice,
    ``(repeaters + 1) / (buyers + 2)``: consumables rank above one-off purchases;
    ``days_since_last`` from ``Interactions.last_purchase`` to the reference
    time; ``recent_buyers`` = customers who bought the item in the last
    ``trend_window_days``: discontinued or out-of-season items fall back).
    With ``due_weight > 0`` the score is multiplied by
    ``(1 - due_weight) + due_weight * due`` where ``due = exp(-log(r)² / 2)`` and
    ``r = days_since_last / typical_interval``: it peaks when the item is "due"
    again and is small for items just bought.
    The typical interval of an item is the median, over its repeat buyers, of
    the customer's observed span divided by ``count - 1`` (the span runs from the
    customer's earliest recorded last purchase to the reference time — only
    last-purchase times are kept in Interactions, so this is an approximation).

    Without purchase times (interactions from ``from_frame``) the ranking is by
    count alone and a `DataWarning` says so.

    Items the customer never bought are ranked after every bought item, by
    popularity (scores in ``(-1, 0)``), so ``k`` larger than the history is
    filled and ``exclude_seen=True`` gives the popularity ranking. Since buying
    again is the point, ``exclude_seen`` defaults to ``False`` for this model.

    Parameters
    ----------
    half_life_days : float or None
        Recency decay; ``None`` = no decay (rank by count, ties by recency).
    count_power : float
        Exponent on the purchase count (0 = recency only).
    repeat_rate_power : float
        Exponent on the item's repeat rate (0 = off); its effect on hit rate is
        measured in ``benchmarks/RESULTS.md`` (``bench_models.py``).
    trend_window_days : float or None
        Window of the recent-buyers factor (``None`` = off).
    due_weight : float
        Weight of the repurchase-interval term in ``[0, 1]`` (0 = off).

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "b", "b"],
    ...                   "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3)]})
    >>> model = rs.Repurchase().fit(rs.Interactions.from_purchases(p))
    >>> model.recommend([1], k=2)["item_id"].to_list()
    ['b', 'a']
    """

    registry_name = "repurchase"
    default_exclude_seen: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "half_life_days": _POSITIVE_OR_NONE,
        "count_power": _NONNEGATIVE,
        "repeat_rate_power": _NONNEGATIVE,
        "trend_window_days": _POSITIVE_OR_NONE,
        "due_weight": [Interval(float, 0, 1)],
    }
    schema = (
        *bought_schema(),
        Array("interval_days", "float64", ("items",), low=0.0),  # NaN: no repeat buyer
        Array("item_repeat_rate", "float32", ("items",), finite=True, low=0.0, high=1.0),
    )

    def __init__(
        self,
        half_life_days: float | None = 120.0,
        count_power: float = 1.0,
        repeat_rate_power: float = 0.5,
        trend_window_days: float | None = 90.0,
        due_weight: float = 0.0,
    ) -> None:
        self.half_life_days = half_life_days
        self.count_power = count_power
        self.repeat_rate_power = repeat_rate_power
        self.trend_window_days = trend_window_days
        self.due_weight = due_weight

    def _fit(self, interactions: Interactions) -> None:
        matrix = self.user_items_
        count = interactions.purchase_count.astype(np.float64)
        # Share of an item's buyers who bought it more than once (Laplace-smoothed):
        # consumables are bought again, a one-off gift is not.
        buyers = np.bincount(matrix.indices, minlength=matrix.shape[1])
        repeaters = np.bincount(matrix.indices[count >= 2], minlength=matrix.shape[1])
        self.item_repeat_rate_: np.ndarray = ((repeaters + 1.0) / (buyers + 2.0)).astype(np.float32)
        score = count ** float(self.count_power)
        score = score * self.item_repeat_rate_[matrix.indices] ** float(self.repeat_rate_power)
        half_life = self.half_life_days
        has_time = interactions.last_purchase is not None and interactions.reference_time
        if has_time:
            age = _age_days(interactions, "Repurchase")
            if half_life is not None:
                score = score * 0.5 ** (age / half_life)
            else:  # rank by count; break ties toward the more recent purchase
                score = score + 1.0 / (2.0 + age)
            window = self.trend_window_days
            if window is not None:
                # Items nobody bought lately (discontinued, out of season) fall back.
                recent = np.bincount(matrix.indices[age < window], minlength=matrix.shape[1])
                score = score * np.log(2.0 + recent)[matrix.indices]
            self.interval_days_: np.ndarray = self._typical_intervals(matrix, count, age)
            if self.due_weight > 0:
                interval = self.interval_days_[matrix.indices]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(interval > 0, age / interval, np.nan)
                due = np.exp(-0.5 * np.log(np.maximum(ratio, 1e-6)) ** 2)
                due = np.where(np.isfinite(ratio), due, 1.0)
                w = float(self.due_weight)
                score = score * ((1.0 - w) + w * due)
        else:
            if half_life is not None or self.due_weight > 0 or self.trend_window_days:
                warnings.warn(
                    "the interactions have no purchase times, so Repurchase ignores "
                    "half_life_days, trend_window_days and due_weight and ranks by purchase "
                    "count only "
                    "(build them with rs.Interactions.from_purchases from timestamped purchases)",
                    DataWarning,
                    stacklevel=3,
                )
            self.interval_days_ = np.full(matrix.shape[1], np.nan)
        self.scores_data_: np.ndarray = score.astype(np.float32)
        self.backfill_: np.ndarray = _backfill(self.item_popularity_)

    @staticmethod
    def _typical_intervals(matrix: Any, count: np.ndarray, age: np.ndarray) -> np.ndarray:
        n_users, n_items = matrix.shape
        rows = np.repeat(np.arange(n_users), np.diff(matrix.indptr))
        span = np.zeros(n_users)
        np.maximum.at(span, rows, age)  # oldest "last purchase" of the customer
        repeat = count >= 2
        est = pair_interval(span[rows[repeat]], count[repeat])
        return typical_interval(matrix.indices[repeat], est, n_items)

    def _score(self, user_index: np.ndarray, query: Query | None) -> Stored:
        return bought_scores(self, user_index, self.scores_data_, self.backfill_)
