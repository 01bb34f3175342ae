"""The canonical purchases contract, in one place.

Every module that takes canonical purchases (the output of
`recsys.clean_purchases`; columns in `recsys.data.columns`) checks
and reads them through this module, so that each rule has one definition:

* `require_purchases`: the columns a function needs, their dtypes, no
  nulls where none are allowed, no NaN or infinite quantities and prices, and
  one rule for time-zone-aware timestamps (below);
* `order_key` / `order_keys`: what an *order* is. An order is one
  ``order_id`` of a customer; where a table has no ``order_id`` column, or a
  row's ``order_id`` is null, it is one customer-day (the calendar date of
  ``timestamp``). Two purchases at 09:00 and 17:00 on one day without an order
  id are one order everywhere: profiles, RFM, retention labels, hit
  retention and the last-basket split;
* `without_returns`: the one filter for return rows (``is_return``);
* `US_PER_DAY`: microseconds per day, the unit of every day count;
* `attach_segments` and `MISSING_SEGMENT`: customers without a
  segment form one labelled group.

Time zones
----------
Canonical timestamps are naive wall-clock times of the shop (``Datetime``
without a zone). A time-zone-aware ``timestamp`` column is converted by one
rule: each instant becomes the wall-clock time *in the column's own zone*, and
the zone is dropped (polars ``dt.replace_time_zone(None)``); a
`DataWarning` says so, once per call. So a purchase
at ``2011-01-01 23:30`` in ``Europe/Berlin`` is a purchase on January 1st at
23:30, as the customer saw it, whatever the zone of the machine. ``as_of`` and
``cutoff`` values are read the same way (`recsys.data.to_datetime` keeps
their wall-clock time and drops their zone), and so are the times of a per-user
``as_of`` frame (`recsys.data.timeutil.to_datetime_series`: zone-aware times keep
their wall-clock time; text reads as ISO dates, else `InputDataError`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Final, TypeVar

import polars as pl

from recsys._text import agree, counted
from recsys.data import columns as C
from recsys.exceptions import DataWarning, InputDataError

__all__ = [
    "MISSING_SEGMENT",
    "ORDER_KEY",
    "US_PER_DAY",
    "attach_segments",
    "cast_ids",
    "order_key",
    "order_keys",
    "require_purchases",
    "without_returns",
]

US_PER_DAY: Final = 86_400_000_000
"""Microseconds per day: durations in days are ``total_microseconds / US_PER_DAY``."""

ORDER_KEY: Final = "_order"
"""Name of the column `order_key` computes."""

MISSING_SEGMENT: Final = "(missing)"
"""Segment label of customers absent from the segment table (or with a null segment)."""

_NUMERIC: Final = (C.QUANTITY, C.PRICE)
_HINT: Final = "Run rs.clean_purchases() to get canonical purchases"

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _names(columns: pl.DataFrame | pl.LazyFrame | pl.Schema | Iterable[str]) -> list[str]:
    if isinstance(columns, pl.LazyFrame):
        return columns.collect_schema().names()
    if isinstance(columns, pl.DataFrame):
        return columns.columns
    return list(columns)


def _schema(frame: pl.DataFrame | pl.LazyFrame) -> pl.Schema:
    return frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema


def order_keys(columns: pl.DataFrame | pl.LazyFrame | pl.Schema | Iterable[str]) -> list[pl.Expr]:
    """Group-by keys of an order (with ``user_id``), for a table with these columns.

    With an ``order_id`` column: ``order_id`` and, for rows whose ``order_id``
    is null, the purchase date (null otherwise); without it: the purchase
    date. Group by ``user_id`` and these keys to get one group per order.

    Parameters
    ----------
    columns
        The purchases (DataFrame or LazyFrame), their schema or column names.

    Returns
    -------
    list of polars.Expr
        Named ``_order`` (and ``_order_day`` with an ``order_id`` column).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 1], "timestamp": [
    ...     datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 17), datetime(2024, 1, 2, 9)]})
    >>> p.group_by("user_id", *order_keys(p)).len().height
    2
    """
    day = pl.col(C.TIMESTAMP).dt.date()
    if C.ORDER in _names(columns):
        return [
            pl.col(C.ORDER).alias(ORDER_KEY),
            pl.when(pl.col(C.ORDER).is_null()).then(day).alias(ORDER_KEY + "_day"),
        ]
    return [day.alias(ORDER_KEY)]


def order_key(columns: pl.DataFrame | pl.LazyFrame | pl.Schema | Iterable[str]) -> pl.Expr:
    """One expression that identifies a customer's order (see `order_keys`).

    The keys of `order_keys` in one column named `ORDER_KEY` (a
    struct when there is an ``order_id`` column), for ``n_unique``, sorts and
    joins. Combine with ``user_id``: order ids are per customer.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({
    ...     "user_id": [1, 1, 1, 1],
    ...     "order_id": ["A", None, None, None],
    ...     "timestamp": [datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 9),
    ...                   datetime(2024, 1, 1, 17), datetime(2024, 1, 2, 9)]})
    >>> p.group_by("user_id").agg(order_key(p).n_unique()).row(0)
    (1, 3)
    """
    keys = order_keys(columns)
    return keys[0] if len(keys) == 1 else pl.struct(keys).alias(ORDER_KEY)


def without_returns(frame: Frame) -> Frame:
    """The rows of ``frame`` that are not returns (``is_return``); all rows without that column.

    Return rows (``clean_purchases(keep_returns=True)``) count as returns only:
    they are no order, no purchase and no interaction.

    Examples
    --------
    >>> import polars as pl
    >>> p = pl.DataFrame({"user_id": [1, 1], "quantity": [2.0, -1.0],
    ...                   "is_return": [False, True]})
    >>> without_returns(p)["quantity"].to_list()
    [2.0]
    """
    if C.IS_RETURN in _names(frame):
        return frame.filter(~pl.col(C.IS_RETURN))
    return frame


def _check_dtype(column: str, dtype: pl.DataType, where: str) -> None:
    if column == C.TIMESTAMP and not isinstance(dtype, pl.Datetime):
        raise InputDataError(
            f"column {C.TIMESTAMP!r} must be a Datetime, got {dtype} (in {where}); "
            "run rs.clean_purchases() to parse it"
        )
    if column in _NUMERIC and not dtype.is_numeric():
        raise InputDataError(f"column {column!r} must be numeric, got {dtype} (in {where})")
    if column == C.IS_RETURN and dtype != pl.Boolean:
        raise InputDataError(f"column {column!r} must be Boolean, got {dtype} (in {where})")


def require_purchases(
    frame: Frame,
    needs: Sequence[str] = C.REQUIRED,
    where: str = "purchases",
    *,
    optional: Sequence[str] = (C.PRICE,),
    nullable: Sequence[str] = (),
    stacklevel: int = 3,
) -> Frame:
    """Check canonical purchases and return them with naive timestamps.

    Parameters
    ----------
    frame
        Purchases as a polars DataFrame or LazyFrame (the same kind is returned).
    needs
        Columns that must be present, of the canonical dtype, without nulls
        (except those in ``nullable``) and, for ``quantity``/``price``, finite.
    where
        What is checking (a function name), quoted in the error messages.
    optional
        Columns checked like ``needs`` (dtype; finite values) when present;
        nulls are allowed in them.
    nullable
        Columns of ``needs`` that may hold nulls (the caller handles them).
    stacklevel
        Of the time-zone `DataWarning`.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        ``frame``, with a time-zone-aware ``timestamp`` turned into naive
        wall-clock time of its zone (see the module notes).

    Raises
    ------
    InputDataError
        A needed column is missing; ``timestamp`` is not a Datetime;
        ``quantity`` or ``price`` is not numeric, or holds NaN or infinite
        values; ``is_return`` is not Boolean; a needed column holds nulls. The
        message names the column and what was expected (and counts bad values).

    Warns
    -----
    DataWarning
        ``timestamp`` is time-zone aware (converted as above).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1], "item_id": ["a"],
    ...                   "timestamp": [datetime(2024, 1, 1)], "quantity": [float("inf")]})
    >>> require_purchases(p, where="example")
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: column 'quantity' has 1 NaN or infinite values ...
    >>> require_purchases(p.drop("quantity"), needs=("user_id", "timestamp")).height
    1
    """
    schema: pl.Schema = _schema(frame)
    missing = [c for c in needs if c not in schema]
    if missing:
        named = ", ".join(repr(c) for c in missing)
        raise InputDataError(
            f"purchases lack the columns {missing} (no column {named}), needed by {where}; "
            f"found {schema.names()}. {_HINT}"
        )
    checked = list(dict.fromkeys([*needs, *(c for c in optional if c in schema)]))
    for column in checked:
        _check_dtype(column, schema[column], where)
    if C.IS_RETURN in schema:
        _check_dtype(C.IS_RETURN, schema[C.IS_RETURN], where)
    counts: list[pl.Expr] = [
        pl.col(c).null_count().alias(f"null:{c}") for c in needs if c not in nullable
    ]
    counts += [
        (~pl.col(c).is_finite()).sum().alias(f"finite:{c}")
        for c in checked
        if c in _NUMERIC and schema[c].is_float()
    ]
    if counts:
        query = frame.select(counts)
        found = (
            query.collect(engine="streaming") if isinstance(query, pl.LazyFrame) else query
        ).row(0, named=True)
        for name, count in found.items():
            if not count:
                continue
            kind, column = name.split(":", 1)
            if kind == "null":
                raise InputDataError(
                    f"column {column!r} has {count} null values (in {where}); every purchase "
                    f"needs a {column}. {_HINT}"
                )
            raise InputDataError(
                f"column {column!r} has {count} NaN or infinite values (in {where}); "
                f"{column} must be finite. {_HINT}"
            )
    time_type = schema.get(C.TIMESTAMP)
    if isinstance(time_type, pl.Datetime) and time_type.time_zone is not None:
        warnings.warn(
            f"column {C.TIMESTAMP!r} is time-zone aware ({time_type.time_zone}); {where} uses "
            "its wall-clock time in that zone and drops the zone",
            DataWarning,
            stacklevel=stacklevel,
        )
        frame = frame.with_columns(pl.col(C.TIMESTAMP).dt.replace_time_zone(None))
    return frame


def cast_ids(ids: pl.Series, dtype: pl.DataType, where: str) -> pl.Series:
    """``ids`` as ``dtype`` when the conversion loses nothing, else InputDataError.

    ``1.0`` becomes ``1`` and ``7`` becomes ``"7"``, but ``1.5``, ``"007"`` or
    ``"A1"`` against integer ids are refused: a lossy match would silently pair
    the wrong customers.

    Examples
    --------
    >>> import polars as pl
    >>> cast_ids(pl.Series("user_id", [1.0, 2.0]), pl.Int64, "users").to_list()
    [1, 2]
    >>> cast_ids(pl.Series("user_id", [1.5]), pl.Int64, "users")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: users: 1 user_id values of type Float64 are not Int64 ...
    """
    if ids.dtype == dtype:
        return ids
    try:
        cast = ids.cast(dtype, strict=False)
        back = cast.cast(ids.dtype, strict=False)
    except pl.exceptions.PolarsError as err:  # nested or other values without a cast
        raise InputDataError(
            f"{where}: {ids.name or C.USER} values of type {ids.dtype} cannot be {dtype} ids"
        ) from err
    lossy = ids.is_not_null() & (cast.is_null() | (back != ids).fill_null(True))
    if lossy.any():
        examples = ids.filter(lossy).head(3).to_list()
        raise InputDataError(
            f"{where}: {int(lossy.sum())} {ids.name or C.USER} values of type {ids.dtype} are "
            f"not {dtype} ids (e.g. {examples}); pass ids of the type of the purchases' "
            f"{ids.name or C.USER}"
        )
    return cast


def attach_segments(
    users: pl.DataFrame, by: str | None = None, segments: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, str]:
    """Add each customer's segment label to ``users``; customers without one form one group.

    Parameters
    ----------
    users
        A frame with ``user_id`` (and any other columns; a user may repeat).
    by
        The segment column: a column of ``segments`` when given, else of
        ``users``. ``None`` with ``segments``: its one column besides ``user_id``.
    segments
        Optional frame ``user_id -> by`` (one row per customer).

    Returns
    -------
    (polars.DataFrame, str)
        ``users`` with the segment column as String (every row, in order), and
        its name. Without ``by`` and ``segments`` the column is ``segment``
        with the value ``"all"``. Customers absent from ``segments`` or with a
        null segment get `MISSING_SEGMENT` (``"(missing)"``), with a
        `DataWarning` that counts them.

    Raises
    ------
    InputDataError
        ``user_id`` or the segment column is missing; ``segments`` has no single
        segment column or repeats a customer; ``by`` varies within a customer.

    Examples
    --------
    >>> import polars as pl
    >>> users = pl.DataFrame({"user_id": [1, 2, 3]})
    >>> stages = pl.DataFrame({"user_id": [1, 2], "stage": ["new", "active"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     frame, name = attach_segments(users, "stage", stages)
    >>> name, frame["stage"].to_list()
    ('stage', ['new', 'active', '(missing)'])
    """
    if C.USER not in users.columns:
        raise InputDataError(f"users have no column {C.USER!r}; found {users.columns}")
    if segments is None:
        if by is None:
            return users.with_columns(segment=pl.lit("all")), "segment"
        if by not in users.columns:
            raise InputDataError(f"the segment column {by!r} is not among {users.columns}")
        per_user = users.select(C.USER, by).unique()
        if per_user[C.USER].is_duplicated().any():
            raise InputDataError(f"the segment column {by!r} is not constant per {C.USER}")
        labelled = users.with_columns(pl.col(by).cast(pl.String))
        name = by
    else:
        others = [c for c in segments.columns if c != C.USER]
        if C.USER not in segments.columns or (by is None and len(others) != 1):
            raise InputDataError(
                f"segments must have {C.USER!r} and exactly one segment column, "
                f"got {segments.columns}"
            )
        name = others[0] if by is None else by
        if name not in segments.columns:
            raise InputDataError(
                f"segments have no column {name!r} (given as by=); found {segments.columns}"
            )
        table = segments.select(
            cast_ids(segments[C.USER], users.schema[C.USER], "segments"),
            pl.col(name).cast(pl.String),
        )
        if table[C.USER].is_duplicated().any():
            raise InputDataError(f"segments list some {C.USER} more than once")
        labelled = users.drop(name, strict=False).join(
            table, on=C.USER, how="left", maintain_order="left"
        )
    missing = labelled.filter(pl.col(name).is_null())[C.USER].n_unique()
    if missing:
        warnings.warn(
            f"{counted(missing, 'customer has', 'customers have')} no segment in {name!r}; "
            f"{agree(missing, 'it forms', 'they form')} the group "
            f"{MISSING_SEGMENT!r}",
            DataWarning,
            stacklevel=3,
        )
    return labelled.with_columns(pl.col(name).fill_null(MISSING_SEGMENT)), name
