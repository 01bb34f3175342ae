"""Train/test splits of canonical purchases, each with a validation split carved from train.

Every split returns a `Split`. Tune hyperparameters on
``split.validation()`` (built from ``split.train`` only, by the same rule), and
touch ``split.test`` once, for the final figures.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl

from recsys._text import counted, percent
from recsys._validation import (
    InstanceOf,
    Interval,
    check_param,
    check_positive_int,
    check_probability,
)
from recsys.data.canonical import ORDER_KEY, order_key, require_purchases, without_returns
from recsys.data.columns import IS_RETURN, ITEM, ORDER, TIMESTAMP, USER
from recsys.data.sources import FrameLike, to_frame
from recsys.data.timeutil import TimeLike, to_datetime, window_end
from recsys.exceptions import DataWarning, InputDataError, RecsysError

_HORIZON = Interval(float, 0, None, closed="neither")

__all__ = ["Split", "leave_last_basket", "leave_last_out", "random_holdout", "temporal_split"]


@dataclass(frozen=True)
class Split:
    """A train/test split of purchases.

    Attributes
    ----------
    train, test
        Canonical purchases. ``test`` holds only users with training history
        unless the split was asked for cold users, and no return rows.
    cutoff
        The time that separates train from test for a temporal split, else None
        (per-user splits have one boundary per user).
    method
        Name of the function that made the split.
    params
        Its parameters, used by `validation` to repeat the rule on ``train``.
    info
        Counts of what the split left out (e.g. ``test_rows_cold_users``), so nothing
        is dropped silently.
    as_of
        Per-user splits (`leave_last_basket`): ``user_id, as_of``, each test
        user's own "now" (the time of their held-out basket). Pass it to
        ``rs.Interactions.from_purchases(split.train, as_of=split.as_of)`` so
        every time-aware score (decay, recency, ``Repurchase``, ``BuyAgain``) is
        computed as of just before that user's basket. None for other splits.
    """

    train: pl.DataFrame
    test: pl.DataFrame
    cutoff: datetime | None
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    info: dict[str, int] = field(default_factory=dict)
    as_of: pl.DataFrame | None = None

    @property
    def test_users(self) -> pl.Series:
        """Distinct users of the test set, sorted."""
        return self.test.get_column(USER).unique().sort()

    def validation(self) -> Split:
        """A split of ``self.train`` by the same rule, for tuning without touching the test set.

        Temporal splits move the cutoff back by the horizon (a split with an open
        horizon, ``horizon_days=None``, has no validation split: the length of
        its window is known only from the test period); leave-last-out and
        leave-last-basket hold out each user's last training purchases/basket;
        random holdout draws the same fraction from ``train`` with ``seed + 1``.

        Examples
        --------
        >>> import recsys as rs
        >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        >>> split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
        >>> val = split.validation()
        >>> str(val.cutoff), val.test["timestamp"].max() < split.cutoff
        ('2011-06-11 00:00:00', True)
        """
        p = self.params
        if self.method == "temporal_split":
            assert self.cutoff is not None
            horizon = p["horizon_days"]
            if horizon is None:
                raise InputDataError(
                    "validation() of a temporal split with horizon_days=None: its test window "
                    "runs to the end of the data, so its length is known only from test-period "
                    "timestamps, and a validation split built from it would read them (a leak); "
                    "split with a fixed horizon_days"
                )
            if horizon >= (self.cutoff - datetime.min) / timedelta(days=1):
                raise InputDataError(
                    f"validation() moves the cutoff back by horizon_days={horizon}, before "
                    "any data: split with a shorter horizon_days"
                )
            return temporal_split(
                self.train,
                self.cutoff - timedelta(days=horizon),
                horizon_days=horizon,
                min_train_purchases=p["min_train_purchases"],
                include_cold_users=p["include_cold_users"],
            )
        if self.method == "leave_last_out":
            return leave_last_out(self.train, n=p["n"])
        if self.method == "leave_last_basket":
            return leave_last_basket(self.train)
        return random_holdout(self.train, p["fraction"], seed=p["seed"] + 1)

    def __repr__(self) -> str:
        left = self.info.get("test_users_without_history", 0)
        return (
            f"Split({self.method}, cutoff={self.cutoff}, train={self.train.height} rows, "
            f"test={self.test.height} rows / {self.test.get_column(USER).n_unique()} users"
            + (f", {left} users without history left out" if left else "")
            + ")"
        )


def _purchases(purchases: FrameLike, where: str, needs_time: bool = True) -> pl.DataFrame:
    needs = (USER, ITEM, TIMESTAMP) if needs_time else (USER, ITEM)
    frame = require_purchases(to_frame(purchases), needs, where, optional=(), stacklevel=4)
    if frame.height == 0:
        raise InputDataError("purchases is empty")
    return frame


def _test_without_returns(test: pl.DataFrame, info: dict[str, int]) -> pl.DataFrame:
    if IS_RETURN in test.columns:
        info["test_rows_returns"] = int(test.get_column(IS_RETURN).sum())
    return without_returns(test)


def _keep_known_users(
    train: pl.DataFrame,
    test: pl.DataFrame,
    min_train_purchases: int,
    info: dict[str, int],
    where: str = "in train",
    remedy: str = "",
) -> pl.DataFrame:
    """The test rows of users with ``min_train_purchases`` training rows or more; the
    others are counted in ``info`` and by a `DataWarning` (``where``: the training
    period in words; ``remedy``: how to keep them)."""
    history = without_returns(train)
    eligible = (
        history.group_by(USER).len().filter(pl.col("len") >= min_train_purchases).select(USER)
    )
    kept = test.join(eligible, on=USER, how="semi")
    users, kept_users = test.get_column(USER).n_unique(), kept.get_column(USER).n_unique()
    info["test_users_without_history"] = left = users - kept_users
    info["test_rows_without_history"] = test.height - kept.height
    if left:
        bought = (
            "no purchase"
            if min_train_purchases == 1
            else f"fewer than {counted(min_train_purchases, 'purchase row')}"
        )
        warnings.warn(
            f"{left:,} of {counted(users, 'test customer')} ({percent(left / users)}) had "
            f"{bought} {where} and are left out of the test set "
            f"({counted(info['test_rows_without_history'], 'row')}): the "
            f"{counted(kept_users, 'other is', 'others are')} evaluated{remedy}",
            DataWarning,
            stacklevel=3,
        )
    return kept


def _finish(train: pl.DataFrame, test: pl.DataFrame, method: str) -> None:
    if test.height == 0:
        raise InputDataError(f"{method} leaves an empty test set: nothing to evaluate against")
    if train.height == 0:
        raise InputDataError(f"{method} leaves an empty training set")


def temporal_split(
    purchases: FrameLike,
    cutoff: TimeLike,
    horizon_days: float | None = None,
    min_train_purchases: int = 1,
    include_cold_users: bool = False,
) -> Split:
    """Split purchases at a point in time: train before it, test in the window after it.

    Parameters
    ----------
    purchases
        Canonical purchases (``user_id, item_id, timestamp``, ...).
    cutoff
        Train is every purchase strictly before ``cutoff``; test every purchase in
        ``[cutoff, cutoff + horizon_days)``.
    horizon_days
        Length of the test window in days; None = to the end of the data.
    min_train_purchases
        Test users need at least this many training purchase rows (not returns).
    include_cold_users
        Keep test users without (enough) training history; they cannot be served
        by a collaborative model, so they are left out by default.

    Returns
    -------
    Split
        ``info`` counts the test users and rows left out and the return rows removed.

    Raises
    ------
    InputDataError
        ``cutoff`` at or before the first purchase or after the last one, a
        horizon that is not a finite number > 0 (or None), or an empty test set.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
    >>> split.train["timestamp"].max() < split.cutoff <= split.test["timestamp"].min()
    True
    """
    frame = _purchases(purchases, "temporal_split")
    cut = to_datetime(cutoff, "cutoff")
    min_train_purchases = check_positive_int("min_train_purchases", min_train_purchases)
    check_param("include_cold_users", include_cold_users, InstanceOf(bool))
    first: datetime = frame.get_column(TIMESTAMP).min()  # type: ignore[assignment]
    last: datetime = frame.get_column(TIMESTAMP).max()  # type: ignore[assignment]
    if not first < cut <= last:
        raise InputDataError(
            f"cutoff {cut} is outside the data: it must be after the first purchase ({first}) "
            f"and at or before the last one ({last})"
        )
    check_param("horizon_days", horizon_days, _HORIZON, None)
    train = frame.filter(pl.col(TIMESTAMP) < cut)
    in_window = pl.col(TIMESTAMP) >= cut
    if horizon_days is not None:
        in_window = in_window & (pl.col(TIMESTAMP) < window_end(cut, horizon_days))
    info: dict[str, int] = {}
    test = _test_without_returns(frame.filter(in_window), info)
    if not include_cold_users:
        test = _keep_known_users(
            train,
            test,
            min_train_purchases,
            info,
            f"before the cutoff {cut:%Y-%m-%d}" + ("" if cut.time() == time() else f" {cut:%H:%M}"),
            "; include_cold_users=True keeps them",
        )
    _finish(train, test, "temporal_split")
    if test.get_column(TIMESTAMP).min() < cut or train.get_column(TIMESTAMP).max() >= cut:  # type: ignore[operator]
        raise RecsysError("temporal_split produced a test row before the cutoff (a leak)")
    return Split(
        train=train,
        test=test,
        cutoff=cut,
        method="temporal_split",
        params={
            "horizon_days": None if horizon_days is None else float(horizon_days),
            "min_train_purchases": min_train_purchases,
            "include_cold_users": include_cold_users,
        },
        info=info,
    )


def _tiebreak_columns(frame: pl.DataFrame) -> list[str]:
    return [TIMESTAMP] + ([ORDER] if ORDER in frame.columns else []) + [ITEM]


def leave_last_out(purchases: FrameLike, n: int = 1) -> Split:
    """Hold out each user's last ``n`` purchase rows by time.

    Rows are ordered by ``timestamp``, then ``order_id`` (when present), then
    ``item_id``, so ties in time break deterministically. Users with ``n`` rows
    or fewer stay in train with nothing held out (counted in ``info``).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [5, 6, 7, 5],
    ...                   "timestamp": [datetime(2020, 1, d) for d in (1, 3, 2, 1)]})
    >>> split = rs.evaluation.leave_last_out(p)
    >>> split.test.select("user_id", "item_id").rows()
    [(1, 6)]
    """
    frame = _purchases(purchases, "leave_last_out")
    n = check_positive_int("n", n)
    frame = without_returns(frame)
    ordered = frame.sort([USER, *_tiebreak_columns(frame)])
    position = ordered.select(
        pl.int_range(pl.len()).over(USER).alias("_pos"), pl.len().over(USER).alias("_len")
    )
    held = (position.get_column("_len") > n) & (
        position.get_column("_pos") >= position.get_column("_len") - n
    )
    train, test = ordered.filter(~held), ordered.filter(held)
    info = {
        "users_too_short": int(
            ordered.filter(position.get_column("_len") <= n).get_column(USER).n_unique()
        )
    }
    _finish(train, test, "leave_last_out")
    return Split(train, test, None, "leave_last_out", {"n": n}, info)


def leave_last_basket(purchases: FrameLike) -> Split:
    """Hold out each user's last basket (order).

    A basket is an order (`recsys.data.canonical.order_key`): an
    ``order_id``; without one, all the customer's rows of one day. The last
    basket is the one with the latest time (ties: the larger ``order_id``).
    Users with a single basket stay in train (counted in ``info``).

    Each test user has their own "now": ``split.as_of`` (``user_id, as_of``)
    holds the time of the user's held-out basket (its earliest row). Build the
    training interactions with ``Interactions.from_purchases(split.train,
    as_of=split.as_of)`` so that ages and decay are measured from it and
    nothing of the user at or after it is used (training rows of the user at
    that very time, from another order, are counted in
    ``info["train_rows_at_or_after_as_of"]`` and left out by that call).

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> split = rs.evaluation.leave_last_basket(purchases)
    >>> int(split.test.group_by("user_id").agg(pl.col("order_id").n_unique()).max()["order_id"][0])
    1
    >>> split.as_of.columns, split.as_of.height == split.test["user_id"].n_unique()
    (['user_id', 'as_of'], True)
    """
    frame = without_returns(_purchases(purchases, "leave_last_basket"))
    keyed = frame.with_columns(order_key(frame))
    basket = ORDER_KEY
    baskets = keyed.group_by(USER, basket).agg(pl.col(TIMESTAMP).max().alias("_t"))
    ranked = baskets.sort([USER, "_t", basket]).with_columns(
        pl.int_range(pl.len()).over(USER).alias("_pos"), pl.len().over(USER).alias("_len")
    )
    last = ranked.filter((pl.col("_len") > 1) & (pl.col("_pos") == pl.col("_len") - 1))
    test = keyed.join(last.select(USER, basket), on=[USER, basket], how="semi").drop(basket)
    train = keyed.join(last.select(USER, basket), on=[USER, basket], how="anti").drop(basket)
    as_of = test.group_by(USER).agg(pl.col(TIMESTAMP).min().alias("as_of")).sort(USER)
    late = train.join(as_of, on=USER, how="inner").filter(pl.col(TIMESTAMP) >= pl.col("as_of"))
    info = {
        "users_single_basket": int(ranked.filter(pl.col("_len") == 1).height),
        "train_rows_at_or_after_as_of": late.height,
    }
    _finish(train, test, "leave_last_basket")
    return Split(train, test, None, "leave_last_basket", {}, info, as_of=as_of)


def random_holdout(purchases: FrameLike, fraction: float, seed: int = 0) -> Split:
    """Hold out a random ``fraction`` of purchase rows (seeded).

    This ignores time, so the model sees purchases made after some test
    purchases: use it only to compare with work that did the same. Test rows of
    users left with no training row are removed (counted in ``info``).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> split = rs.evaluation.random_holdout(purchases, 0.2, seed=0)
    >>> split.train.height + split.test.height + split.info["test_rows_without_history"] \
            == purchases.height
    True
    """
    frame = _purchases(purchases, "random_holdout", needs_time=False)
    fraction = check_probability("fraction", fraction)
    seed = check_positive_int("seed", seed, allow_zero=True)
    frame = without_returns(frame)
    n_test = round(fraction * frame.height)
    order = np.random.default_rng(seed).permutation(frame.height)
    is_test = np.zeros(frame.height, dtype=bool)
    is_test[order[:n_test]] = True
    mask = pl.Series(is_test)
    train, test = frame.filter(~mask), frame.filter(mask)
    info: dict[str, int] = {}
    test = _keep_known_users(train, test, 1, info)
    _finish(train, test, "random_holdout")
    return Split(train, test, None, "random_holdout", {"fraction": fraction, "seed": seed}, info)
