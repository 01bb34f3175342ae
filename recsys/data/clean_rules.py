"""The rules of `recsys.clean_purchases`: numbers, line totals, status, names, duplicates."""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

import numpy as np
import polars as pl

from recsys._arrays import sorted_unique
from recsys._text import agree, counted
from recsys.data import columns as C
from recsys.data.clean_ids import CANONICAL_INT
from recsys.data.cleaning_report import DROP_REASONS
from recsys.exceptions import DataWarning, InputDataError

__all__ = [
    "CANCELLED",
    "DEFAULT_CANCELLED_STATUS",
    "cancelled_expr",
    "drop_reason",
    "duplicate_rows",
    "non_product_expr",
    "non_product_ids",
    "number_expr",
    "one_name_per_item",
    "warn_several_names",
    "warn_unmatched_non_products",
]

#: Status values (compared without case and surrounding spaces) that mark a
#: cancelled, returned or unavailable line when a ``status`` column is mapped
#: and ``cancelled_status`` is not given.
DEFAULT_CANCELLED_STATUS: Final = (
    "cancelled",
    "canceled",
    "cancellation",
    "returned",
    "return",
    "refunded",
    "unavailable",
)

CANCELLED: Final = "_cancelled"
"""Temporary Boolean column: the row's status is a cancelled value."""


def cancelled_expr(src: str, dtype: pl.DataType, values: Any) -> pl.Expr:
    """``_cancelled``: the status column ``src`` holds one of ``values`` (any case).

    ``values=None`` means `DEFAULT_CANCELLED_STATUS`. A null status is not
    cancelled.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"Status": [" Canceled", "complete", None]})
    >>> frame.select(cancelled_expr("Status", pl.String, None))["_cancelled"].to_list()
    [True, False, False]
    """
    if values is None:
        values = DEFAULT_CANCELLED_STATUS
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | set | frozenset):
        raise InputDataError(
            f"cancelled_status must be a list of status values such as ['cancelled', "
            f"'returned'], got {values!r}"
        )
    if not all(isinstance(v, str) for v in values):
        raise InputDataError(f"cancelled_status must hold text values, got {list(values)!r}")
    if dtype not in (pl.String, pl.Categorical, pl.Null) and not isinstance(dtype, pl.Enum):
        raise InputDataError(
            f"column {src!r} (for status) has dtype {dtype}; expected text such as 'cancelled'"
        )
    wanted = pl.Series([v.strip().lower() for v in values], dtype=pl.String)
    text = pl.col(src).cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.is_in(wanted.implode()).fill_null(False).alias(CANCELLED)


def non_product_ids(values: Any) -> tuple[str, ...]:
    """The ``non_product_items`` as sorted text ids; `InputDataError` for anything else.

    ``values`` is a collection of item ids, text or integers, compared with the
    cleaned ids (surrounding spaces trimmed, case kept): ``123`` and ``"123"``
    name the same id.

    Examples
    --------
    >>> non_product_ids({"POST", " M ", 23444})
    ('23444', 'M', 'POST')
    >>> non_product_ids("POST")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: non_product_items must be a collection of item ids ...
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Collection):
        raise InputDataError(
            "non_product_items must be a collection of item ids such as {'POST', 'M'}, "
            f"got {values!r}"
        )
    ids: set[str] = set()
    for value in values:
        text = str(value).strip() if isinstance(value, (str, int, np.integer)) else ""
        if isinstance(value, (bool, np.bool_)) or not text:
            raise InputDataError(
                f"non_product_items must hold item ids (non-empty text or integers), got {value!r}"
            )
        ids.add(text)
    return tuple(sorted(ids))


def non_product_expr(ids: Sequence[str], item_dtype: pl.DataType) -> pl.Expr | None:
    """True where ``item_id`` is one of ``ids`` (from `non_product_ids`); None if none.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"item_id": ["85123A", "POST", "M", "m"]})
    >>> frame.select(non_product_expr(("M", "POST"), pl.String))["item_id"].to_list()
    [False, True, True, False]
    >>> pl.DataFrame({"item_id": [7, 23444]}).select(
    ...     non_product_expr(("23444", "POST"), pl.Int64))["item_id"].to_list()
    [False, True]
    """
    if not ids:
        return None
    wanted = pl.Series(ids, dtype=pl.String)
    if item_dtype.is_integer():  # only canonical integers can equal an integer id
        wanted = wanted.filter(wanted.str.contains(CANONICAL_INT)).cast(pl.Int64)
    return pl.col(C.ITEM).is_in(wanted.implode()).fill_null(False)


def warn_unmatched_non_products(
    listed: Collection[str], matched: Collection[str], integer_ids: bool, shown: int = 10
) -> str | None:
    """One `DataWarning` naming the ``listed`` non-product ids not in ``matched``; its
    message is returned for the cleaning report's notes (None when all matched).

    ``listed`` are ids from `non_product_ids`, ``matched`` the item ids (as text)
    of the table's rows they matched; ``integer_ids``: the table's item ids are
    integers, so text such as ``"POST"`` or ``"0123"`` can match nothing.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     note = warn_unmatched_non_products(("123", "POSTAGE", "X"), {"123"}, integer_ids=True)
    >>> note == str(caught[0].message)
    True
    >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
    non_product_items: 'POSTAGE', 'X' match no item id of the table and drop no row (the
    item ids are integers here); check their spelling and case
    """
    unmatched = [i for i in sorted(listed) if i not in matched]
    if not unmatched:
        return None
    names = ", ".join(repr(i) for i in unmatched[:shown])
    if len(unmatched) > shown:
        names += f" and {len(unmatched) - shown:,} more"
    integer_hint = integer_ids and any(not re.match(CANONICAL_INT, i) for i in unmatched)
    n = len(unmatched)
    message = (
        f"non_product_items: {names} {agree(n, 'matches', 'match')} no item id of the table "
        f"and {agree(n, 'drops', 'drop')} no row"
        + (" (the item ids are integers here)" if integer_hint else "")
        + "; check their spelling and case"
    )
    warnings.warn(message, DataWarning, stacklevel=3)
    return message


def one_name_per_item(frame: pl.DataFrame, names: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``frame`` with each item's most frequent ``item_name``; the count of items with several.

    ``names`` holds the ``item_id, item_name`` rows the counts come from (empty
    names are not names). Ties go to the name first in sorted order, so the
    result does not depend on row order. Case and inner spaces are kept.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"item_id": [1, 1, 1, 2],
    ...                      "item_name": ["Red MUG", "red mug", "Red MUG", "Pot"]})
    >>> fixed, several = one_name_per_item(rows, rows)
    >>> fixed["item_name"].to_list(), several
    (['Red MUG', 'Red MUG', 'Red MUG', 'Pot'], 1)
    """
    counted = (
        names.filter(pl.col(C.ITEM_NAME).is_not_null())
        .group_by(C.ITEM, C.ITEM_NAME)
        .len()
        .sort(C.ITEM, "len", C.ITEM_NAME, descending=[False, True, False])
    )
    best = counted.group_by(C.ITEM, maintain_order=True).agg(
        pl.col(C.ITEM_NAME).first().alias("_name"), pl.len().alias("_names")
    )
    several = int((best.get_column("_names") > 1).sum())
    fixed = frame.join(best.select(C.ITEM, "_name"), on=C.ITEM, how="left", maintain_order="left")
    fixed = fixed.with_columns(pl.col("_name").alias(C.ITEM_NAME)).drop("_name")
    return fixed, several


def warn_several_names(several: int, src: str) -> str | None:
    """The `DataWarning` of items whose rows carry more than one name; its message (for
    the cleaning report's notes), or None when every item has one name.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     note = warn_several_names(1, "Description")
    >>> note == str(caught[0].message)
    True
    >>> print(note)
    1 item id carries several names in column 'Description'; it keeps its most frequent name
    """
    if not several:
        return None
    message = (
        f"{counted(several, 'item id carries', 'item ids carry')} several names in column "
        f"{src!r}; {agree(several, 'it keeps', 'each keeps')} its most frequent name"
    )
    warnings.warn(message, DataWarning, stacklevel=3)
    return message


def number_expr(src: str, dtype: pl.DataType, name: str) -> pl.Expr:
    """The column as Float64, null where it is missing, not a number, NaN or infinite."""
    col = pl.col(src)
    if dtype.is_numeric() or dtype == pl.Null:
        number = col.cast(pl.Float64)
    elif dtype == pl.String:
        number = col.str.strip_chars().cast(pl.Float64, strict=False)
    else:
        raise InputDataError(f"column {src!r} (for {name}) has dtype {dtype}; expected numbers")
    return pl.when(number.is_finite()).then(number).alias(name)


def drop_reason(
    has_order: bool,
    has_price: bool,
    cancellation_prefix: str | None,
    has_status: bool = False,
    non_product: pl.Expr | None = None,
) -> pl.Expr:
    """Code of the first rule of `DROP_REASONS` a row fails (0: kept), as ``_drop_reason``.

    With ``has_status``, the frame has a Boolean ``_cancelled`` column (the
    row's status is one of the cancelled values): such rows are ``cancellation``.
    ``non_product`` (from `non_product_expr`) marks the ``non_product`` rows.
    """
    rules: list[tuple[str, pl.Expr]] = [
        ("missing_user", pl.col(C.USER).is_null()),
        ("missing_item", pl.col(C.ITEM).is_null()),
        ("invalid_timestamp", pl.col(C.TIMESTAMP).is_null()),
        ("invalid_quantity", pl.col(C.QUANTITY).is_null()),
    ]
    if non_product is not None:
        rules.append(("non_product", non_product))
    cancelled: list[pl.Expr] = []
    if has_order and cancellation_prefix:
        cancelled.append(pl.col(C.ORDER).str.starts_with(cancellation_prefix).fill_null(False))
    if has_status:
        cancelled.append(pl.col(CANCELLED))
    if cancelled:
        rules.append(("cancellation", pl.any_horizontal(cancelled)))
    rules.append(("non_positive_quantity", pl.col(C.QUANTITY) <= 0))
    if has_price:
        rules += [
            ("invalid_price", pl.col(C.PRICE).is_null()),
            ("negative_price", pl.col(C.PRICE) < 0),
        ]
    # A small integer code per row (0 = kept, i + 1 = DROP_REASONS[i]) is much cheaper
    # to build, filter and count than a string per row.
    reason: pl.Expr = pl.lit(0, dtype=pl.UInt8)
    for reason_name, condition in reversed(rules):  # the first rule failed wins
        code = pl.lit(DROP_REASONS.index(reason_name) + 1, dtype=pl.UInt8)
        reason = pl.when(condition).then(code).otherwise(reason)
    return reason.alias("_drop_reason")


def duplicate_rows(frame: pl.DataFrame) -> pl.Series:
    """Boolean mask of rows identical to an earlier row (over the columns of ``frame``).

    Rows are compared exactly, but only among the few whose 64-bit row hash repeats:
    hashing every row is far cheaper in time and memory than grouping whole rows.
    """
    hashes = frame.hash_rows(seed=0)
    ordered = np.sort(hashes.to_numpy())
    repeated = sorted_unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    mask = np.zeros(frame.height, dtype=bool)
    if repeated.size == 0:
        return pl.Series("duplicate", mask)
    candidates = np.flatnonzero(hashes.is_in(pl.Series(repeated).implode()).to_numpy())
    del hashes
    subset = frame[candidates]
    later = ~subset.select(pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()
    mask[candidates[later]] = True
    return pl.Series("duplicate", mask)
