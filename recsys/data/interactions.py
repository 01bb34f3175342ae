"""The users x items interaction matrix built from canonical purchases."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._text import agree, counted
from recsys._validation import Interval, check_param
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, cast_ids, require_purchases, without_returns
from recsys.data.idmap import IdMap
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timeutil import to_datetime, to_datetime_series
from recsys.exceptions import DataWarning, InputDataError

__all__ = ["Interactions", "WeightKind"]

WeightKind = Literal["count", "binary", "quantity", "spend"]
_WEIGHTS = ("count", "binary", "quantity", "spend")


def _stable_argsort(key: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int64 keys, as an LSD radix sort on 16-bit digits.

    numpy sorts 16-bit integers stably with a linear-time radix sort, much faster than
    its comparison sort of int64; two or three passes cover every realistic key.
    """
    max_key = int(key.max()) if len(key) else 0
    order: np.ndarray | None = None
    shift = 0
    while True:
        part = key if order is None else key[order]
        digit = ((part >> shift) & 0xFFFF).astype(np.uint16)
        del part
        step = np.argsort(digit, kind="stable")
        order = step if order is None else order[step]
        shift += 16
        if max_key >> shift == 0:
            return order


_AS_OF = "as_of"


def _per_user_as_of(as_of: Any) -> pl.DataFrame | None:
    """``user_id, as_of`` (datetime[us]) when ``as_of`` is a frame, else None."""
    if as_of is None or isinstance(as_of, (str, datetime, np.datetime64)):
        return None
    if not isinstance(as_of, pl.DataFrame) and not hasattr(as_of, "columns"):
        return None
    frame = pl.from_pandas(as_of) if not isinstance(as_of, pl.DataFrame) else as_of
    missing = [c for c in (C.USER, _AS_OF) if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"a per-user as_of frame needs columns user_id and as_of; missing {missing}"
        )
    frame = frame.select(C.USER, to_datetime_series(frame.get_column(_AS_OF), _AS_OF))
    if frame.get_column(_AS_OF).null_count():
        raise InputDataError("the per-user as_of frame has null as_of values")
    if frame.get_column(C.USER).is_duplicated().any():
        raise InputDataError("the per-user as_of frame lists a user_id more than once")
    return frame


@dataclass(frozen=True, eq=False)
class Interactions:
    """A users x items matrix of purchase weights, with its id maps.

    Build it with `from_purchases` (canonical purchases) or
    `from_frame` (any two id columns).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        float32, shape ``(len(users), len(items))``, sorted indices, duplicates summed.
    users, items : IdMap
        Row and column ids.
    purchase_count : np.ndarray
        int32, aligned with ``matrix.data``: purchase rows per (user, item).
    last_purchase : np.ndarray or None
        datetime64[us], aligned with ``matrix.data``: last purchase time per
        (user, item); ``None`` without timestamps.
    reference_time : datetime or None
        ``as_of`` when given, else the last timestamp: the "now" of decay and recency.
        With a per-user ``as_of``, the latest of the users' reference times.
    user_reference : np.ndarray or None
        datetime64[us] per user (row): each user's own "now" when
        `from_purchases` got a per-user ``as_of`` frame (users outside the
        frame get the last timestamp of the data); ``None`` when every user shares
        `reference_time`. See `user_reference_times`.
    weight, half_life_days
        How the weights were computed.
    purchases : polars.DataFrame or None
        From `from_purchases` on timestamped purchases: the purchase rows
        the matrix was built from (``user_id``, ``item_id``, ``timestamp``; after
        the ``as_of``, return and id-map filters), so time-aware models such as
        `BuyAgain` can split the training period internally. It
        shares the buffers of the frame aggregated here (no extra copy); pass
        ``keep_purchases=False`` to drop it. ``None`` from `from_frame`.

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "a", "b"]})
    >>> inter = rs.Interactions.from_frame(p, user="user_id", item="item_id")
    >>> inter.matrix.toarray().tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """

    matrix: sp.csr_matrix
    users: IdMap
    items: IdMap
    purchase_count: np.ndarray
    last_purchase: np.ndarray | None = None
    reference_time: datetime | None = None
    weight: str = "count"
    half_life_days: float | None = None
    purchases: pl.DataFrame | None = None
    user_reference: np.ndarray | None = None

    def user_reference_times(self) -> np.ndarray | None:
        """Each user's "now" (datetime64[us] per row), or None without timestamps.

        The per-user ``as_of`` where one was given, else `reference_time`
        for every user. Time-aware models (``Repurchase``, ``BuyAgain``,
        ``Popular(window_days=...)``) measure ages from it.

        Examples
        --------
        >>> import polars as pl, recsys as rs
        >>> from datetime import datetime
        >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "b"],
        ...                   "timestamp": [datetime(2024, 1, d) for d in (1, 5, 3)]})
        >>> cut = pl.DataFrame({"user_id": [1], "as_of": [datetime(2024, 1, 4)]})
        >>> inter = rs.Interactions.from_purchases(p, as_of=cut)
        >>> [str(t)[:10] for t in inter.user_reference_times()]  # user 2: the last timestamp
        ['2024-01-04', '2024-01-03']
        """
        if self.user_reference is not None:
            return self.user_reference
        if self.reference_time is None:
            return None
        return np.full(self.shape[0], np.datetime64(self.reference_time, "us"))

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_users, n_items)``."""
        return self.matrix.shape

    @property
    def nnz(self) -> int:
        """Number of distinct (user, item) pairs."""
        return int(self.matrix.nnz)

    def __repr__(self) -> str:
        n_users, n_items = self.shape
        return (
            f"Interactions({n_users:,} users x {n_items:,} items, {self.nnz:,} pairs, "
            f"weight={self.weight!r})"
        )

    def summary(self) -> dict[str, Any]:
        """Users, items, pairs, density and the distribution of items per user."""
        n_users, n_items = self.shape
        per_user = np.diff(self.matrix.indptr)
        quantiles = np.quantile(per_user, [0.1, 0.25, 0.5, 0.75, 0.9]) if n_users else []
        return {
            "users": n_users,
            "items": n_items,
            "pairs": self.nnz,
            "density": self.nnz / max(n_users * n_items, 1),
            "purchases": int(self.purchase_count.sum()),
            "items_per_user_quantiles": dict(
                zip(("p10", "p25", "p50", "p75", "p90"), map(float, quantiles), strict=False)
            ),
        }

    @classmethod
    def from_purchases(
        cls,
        purchases: FrameLike,
        weight: WeightKind = "count",
        *,
        half_life_days: float | None = None,
        as_of: Any = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
        keep_purchases: bool = True,
    ) -> Interactions:
        """Aggregate canonical purchases into a weighted users x items matrix.

        Parameters
        ----------
        purchases
            Canonical purchases (``user_id``, ``item_id``; ``timestamp``,
            ``quantity`` and ``price`` where the weight or time options need them).
            Rows flagged ``is_return`` are left out.
        weight
            Per (user, item): ``"count"`` purchase rows, ``"binary"`` 1,
            ``"quantity"`` units, ``"spend"`` quantity x price.
        half_life_days
            Exponential time decay: a purchase ``d`` days before the reference time
            weighs ``0.5 ** (d / half_life_days)`` (for ``"binary"``, the last
            purchase's decay).
        as_of
            Keep only purchases strictly before this time; it is also the
            reference time of the decay (default: the last timestamp). A frame
            ``user_id, as_of`` gives each user their own "now" (next-basket
            protocols, e.g. ``split.as_of`` of
            `leave_last_basket`): each listed user's
            purchases at or after their own ``as_of`` are left out and their decay
            is measured from it; users not in the frame keep every purchase and
            share the last timestamp as their "now" (`user_reference`).
        users, items
            Fixed id maps (e.g. those of a training set). Purchases of ids outside
            them are left out, with a `DataWarning` that counts them.
        keep_purchases
            Keep the aggregated purchase rows (``user_id``, ``item_id``,
            ``timestamp``) as `purchases` (only when there is a timestamp).

        Examples
        --------
        >>> import polars as pl, recsys as rs
        >>> from datetime import datetime
        >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "a", "b"],
        ...                   "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3)]})
        >>> inter = rs.Interactions.from_purchases(p)
        >>> inter.matrix.toarray().tolist(), inter.purchases.height
        ([[2.0, 0.0], [0.0, 1.0]], 3)
        """
        if weight not in _WEIGHTS:
            raise InputDataError(f"weight must be one of {_WEIGHTS}, got {weight!r}")
        check_param("half_life_days", half_life_days, Interval(float, 0, None, "neither"), None)
        lf = to_lazyframe(purchases)
        needed = [C.USER, C.ITEM]
        if as_of is not None or half_life_days is not None:
            needed.append(C.TIMESTAMP)
        if weight in ("quantity", "spend"):
            needed.append(C.QUANTITY)
        if weight == "spend":
            needed.append(C.PRICE)
        where = (
            f"Interactions.from_purchases with weight={weight!r}, as_of={as_of!r}, "
            f"half_life_days={half_life_days!r}"
        )
        # Null ids are left out with a warning (in _aggregate), not refused.
        lf = require_purchases(lf, needed, where, optional=(), nullable=(C.USER, C.ITEM))
        lf = without_returns(lf)
        has_time = C.TIMESTAMP in lf.collect_schema()
        reference = None
        per_user = _per_user_as_of(as_of)
        if per_user is not None:
            per_user = per_user.with_columns(
                cast_ids(per_user.get_column(C.USER), lf.collect_schema()[C.USER], "as_of")
            )
            # Each listed user's rows strictly before their own as_of; "now" per row.
            lf = lf.join(per_user.lazy(), on=C.USER, how="left").filter(
                pl.col(_AS_OF).is_null() | (pl.col(C.TIMESTAMP) < pl.col(_AS_OF))
            )
            last = lf.filter(pl.col(_AS_OF).is_null()).select(pl.col(C.TIMESTAMP).max())
            reference = last.collect(engine="streaming").item()
            if reference is None:  # every user is in the frame
                reference = per_user.get_column(_AS_OF).max()
            lf = lf.with_columns(pl.col(_AS_OF).fill_null(pl.lit(reference)))
        elif as_of is not None:
            reference = to_datetime(as_of, "as_of")
            lf = lf.filter(pl.col(C.TIMESTAMP) < reference)
        elif half_life_days is not None:  # the decay needs "now" before aggregating
            reference = lf.select(pl.col(C.TIMESTAMP).max()).collect(engine="streaming").item()

        # Per-row weight, only where it is not the plain count of rows.
        row_weight: pl.Expr | None = {
            "count": None,
            "binary": None,
            "quantity": pl.col(C.QUANTITY).cast(pl.Float64),
            "spend": pl.col(C.QUANTITY).cast(pl.Float64) * pl.col(C.PRICE).cast(pl.Float64),
        }[weight]
        if half_life_days is not None and reference is not None:
            now = pl.col(_AS_OF) if per_user is not None else pl.lit(reference)
            age_days = (now - pl.col(C.TIMESTAMP)).dt.total_microseconds() / US_PER_DAY
            decay = pl.lit(0.5).pow(age_days / half_life_days)
            row_weight = decay if row_weight is None else row_weight * decay
        selected = [pl.col(C.USER), pl.col(C.ITEM)]
        if row_weight is not None:
            selected.append(row_weight.alias("_w"))
        if has_time:
            selected.append(pl.col(C.TIMESTAMP))
        rows = lf.select(selected).collect(engine="streaming")
        if row_weight is not None and rows.height and rows["_w"].min() < 0:  # type: ignore[operator]
            raise InputDataError(
                f"weight={weight!r} gives negative weights (returns or negative prices in the "
                "input?); clean the data with rs.clean_purchases first"
            )
        if reference is None and has_time and rows.height:
            reference = rows[C.TIMESTAMP].max()
        built = cls._aggregate(
            rows,
            users,
            items,
            reference,
            weight=weight,
            half_life_days=half_life_days,
            take_max=weight == "binary",
            keep_purchases=keep_purchases,
        )
        if per_user is None:
            return built
        assert reference is not None
        user_reference = np.full(len(built.users), np.datetime64(reference, "us"))
        index = built.users.to_index(per_user.get_column(C.USER), on_unknown="minus_one")
        known = index >= 0
        times = per_user.get_column(_AS_OF).cast(pl.Datetime("us")).to_numpy()
        user_reference[index[known]] = times[known]
        latest = user_reference.max() if len(user_reference) else np.datetime64(reference, "us")
        return dataclasses.replace(
            built,
            user_reference=user_reference,
            reference_time=to_datetime(latest, "as_of"),
        )

    @classmethod
    def from_frame(
        cls,
        frame: FrameLike,
        *,
        user: str = C.USER,
        item: str = C.ITEM,
        weight: str | None = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
    ) -> Interactions:
        """Build interactions from any two id columns and an optional weight column.

        Weights of repeated (user, item) rows are summed; without ``weight``
        each row counts 1.
        """
        lf = to_lazyframe(frame)
        schema = lf.collect_schema()
        missing = [c for c in (user, item, weight) if c is not None and c not in schema]
        if missing:
            raise InputDataError(f"column(s) {missing} not in the frame; found {list(schema)}")
        selected = [pl.col(user).alias(C.USER), pl.col(item).alias(C.ITEM)]
        if weight is not None and not (
            schema[weight].is_numeric() or schema[weight] in (pl.Boolean, pl.Null)
        ):
            raise InputDataError(
                f"the weight column {weight!r} has dtype {schema[weight]}; weights must be "
                "numbers (cast or parse the column first)"
            )
        if weight is not None:
            selected.append(pl.col(weight).cast(pl.Float64).alias("_w"))
        rows = lf.select(selected).collect(engine="streaming")
        if weight is not None and (bad := int((~rows["_w"].is_finite()).sum())):
            raise InputDataError(
                f"the weight column {weight!r} has {bad} NaN or infinite values; weights must "
                "be finite"
            )
        return cls._aggregate(rows, users, items, None, weight=weight or "count")

    @classmethod
    def _aggregate(
        cls,
        rows: pl.DataFrame,
        users: IdMap | None,
        items: IdMap | None,
        reference: datetime | None,
        *,
        weight: str,
        half_life_days: float | None = None,
        take_max: bool = False,
        keep_purchases: bool = False,
    ) -> Interactions:
        """Sum (or max) ``_w`` per (user, item) of ``rows`` into the CSR matrix.

        ``rows`` has ``user_id``, ``item_id``, optionally ``_w`` (else each row
        weighs 1) and ``timestamp``. Ids become indices first, so aggregation sorts
        one integer key (user index x n_items + item index), whose sorted order is
        exactly the CSR layout; this needs far less memory than a hash group-by.
        """
        missing = rows[C.USER].is_null() | rows[C.ITEM].is_null()
        n_missing = int(missing.sum())
        if n_missing:
            warnings.warn(
                f"{counted(n_missing, 'row')} with a missing user or item id "
                f"{agree(n_missing, 'is', 'are')} left out",
                DataWarning,
                stacklevel=3,
            )
            rows = rows.filter(~missing)
        del missing
        users = users if users is not None else IdMap.from_values(rows[C.USER])
        items = items if items is not None else IdMap.from_values(rows[C.ITEM])
        uidx = users.to_index(rows[C.USER], on_unknown="minus_one")
        iidx = items.to_index(rows[C.ITEM], on_unknown="minus_one")
        outside = (uidx < 0) | (iidx < 0)
        if outside.any():
            outside_rows = pl.Series(outside)
            n_pairs = rows.filter(outside_rows).select(C.USER, C.ITEM).n_unique()
            warnings.warn(
                f"{n_pairs:,} (user, item) pairs ({int(outside.sum()):,} purchases) have ids "
                "outside the given id maps and are left out",
                DataWarning,
                stacklevel=3,
            )
            rows = rows.filter(~outside_rows)
            uidx, iidx = uidx[~outside], iidx[~outside]
        del outside
        n_users, n_items = len(users), len(items)
        key = uidx.astype(np.int64) * max(n_items, 1) + iidx
        del uidx, iidx
        # Sort-based aggregation: one stable argsort of the key (rows of a pair stay in
        # input order, so sums are reproducible), then reductions over each run.
        n_rows = len(key)
        order = _stable_argsort(key)
        sorted_key = key[order]
        del key
        is_start = np.ones(n_rows, dtype=bool)
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=is_start[1:])
        starts = np.flatnonzero(is_start)
        del is_start
        pair_key = sorted_key[starts]
        del sorted_key
        count = np.diff(np.append(starts, n_rows)).astype(np.int32)
        if "_w" in rows.columns:
            row_weight = rows["_w"].fill_null(0.0).to_numpy()[order]
            reduce = np.maximum if take_max else np.add
            data = (reduce.reduceat(row_weight, starts) if n_rows else row_weight).astype(
                np.float32
            )
            del row_weight
        else:
            data = np.ones(len(count), np.float32) if take_max else count.astype(np.float32)
        kept = None
        if keep_purchases and C.TIMESTAMP in rows.columns:
            # Column selection shares the buffers of ``rows``: no copy.
            kept = rows.select(C.USER, C.ITEM, pl.col(C.TIMESTAMP).cast(pl.Datetime("us")))
        last = None
        if C.TIMESTAMP in rows.columns:
            times = rows[C.TIMESTAMP].cast(pl.Datetime("us")).to_numpy().view(np.int64)[order]
            last = np.maximum.reduceat(times, starts) if n_rows else times
            last = last.view("datetime64[us]")
            del times
        del rows, order
        row_of_pair = pair_key // max(n_items, 1)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of_pair, minlength=n_users), out=indptr[1:])
        del row_of_pair
        indices = (pair_key % max(n_items, 1)).astype(np.int32)
        del pair_key
        matrix = sp.csr_matrix((data, indices, indptr), shape=(n_users, n_items))
        matrix.has_sorted_indices = True
        return cls(
            matrix=matrix,
            users=users,
            items=items,
            purchase_count=count,
            last_purchase=last,
            reference_time=reference,
            weight=weight,
            half_life_days=half_life_days,
            purchases=kept,
        )
