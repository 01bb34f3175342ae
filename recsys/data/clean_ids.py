"""Id columns of an orders table: read exactly, converted only where lossless."""

from __future__ import annotations

import warnings
from typing import Any

import polars as pl

from recsys._text import counted
from recsys.data import columns as C
from recsys.exceptions import DataWarning, InputDataError

__all__ = ["CANONICAL_INT", "apply_id_checks", "id_checks", "id_expr", "integer_ids"]

#: A text id that converts to Int64 and back unchanged (no sign but -, no leading zeros).
CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,17})$"


def id_expr(src: str, dtype: pl.DataType, name: str) -> pl.Expr:
    col = pl.col(src)
    if dtype.is_integer() or dtype == pl.Null:
        return col.cast(pl.Int64).alias(name)
    if dtype.is_float():
        # pandas stores integer ids with missing values as floats: convert back exactly
        # (clean_purchases checks that every value is integral, see _id_checks).
        return col.fill_nan(None).cast(pl.Int64, strict=False).alias(name)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = col.cast(pl.String).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).alias(name)
    raise InputDataError(
        f"column {src!r} (for {name}) has dtype {dtype}; ids must be integers or strings"
    )


def integer_ids(
    lf: pl.LazyFrame, schema: pl.Schema, mapping: dict[str, str]
) -> tuple[pl.LazyFrame, pl.Schema]:
    """Turn text user/item id columns whose every value is a canonical integer into Int64.

    Canonical: no sign but ``-``, no leading zeros, spaces or decimals, at most 18
    digits, so the conversion is lossless (``str(int(x)) == x``).
    """
    text_ids = [
        mapping[c] for c in (C.USER, C.ITEM) if c in mapping and schema[mapping[c]] == pl.String
    ]
    if not text_ids:
        return lf, schema
    flags = (
        lf.select(
            (pl.col(src).is_null() | pl.col(src).str.contains(CANONICAL_INT)).all().alias(src)
            for src in dict.fromkeys(text_ids)
        )
        .collect()
        .row(0, named=True)
    )
    integers = [src for src, ok in flags.items() if ok]
    if integers:
        lf = lf.with_columns(pl.col(src).cast(pl.Int64) for src in integers)
        schema = lf.collect_schema()
    return lf, schema


def id_checks(mapping: dict[str, str], schema: pl.Schema) -> list[pl.Expr]:
    """Facts about the id columns, computed in the same run as the cleaning.

    ``<canon>:whole``: every float id is a whole number; ``<canon>:floats``: float
    ids turned into integers; ``<canon>:trimmed``: text ids with spaces around them.
    """
    checks: list[pl.Expr] = []
    for canon in (C.USER, C.ITEM, C.ORDER):
        if canon not in mapping:
            continue
        src, dtype = mapping[canon], schema[mapping[canon]]
        col = pl.col(src)
        if dtype.is_float() and canon != C.ORDER:
            whole = col.is_null() | col.is_nan() | (col == col.floor())
            checks.append(whole.all().alias(f"{canon}:whole"))
            checks.append(col.fill_nan(None).count().alias(f"{canon}:floats"))
        if dtype == pl.String:
            stripped = col.str.strip_chars()  # a blank id is missing, not trimmed
            trimmed = (col != stripped) & (stripped != "")
            checks.append(trimmed.sum().alias(f"{canon}:trimmed"))
    return checks


def apply_id_checks(facts: dict[str, Any], mapping: dict[str, str]) -> list[str]:
    """Raise on fractional float ids, warn on lossy conversions; returns the warnings'
    messages (for the cleaning report's notes, so the report page shows them too)."""
    messages = []
    for canon in (C.USER, C.ITEM, C.ORDER):
        src = mapping.get(canon)
        if facts.get(f"{canon}:whole") is False:
            raise InputDataError(
                f"column {src!r} holds non-integer numbers; ids must be integers or strings "
                "(cast the column to string if the decimals are meaningful)"
            )
        if facts.get(f"{canon}:floats"):
            messages.append(
                f"column {src!r} ({canon}) holds float numbers: "
                f"{counted(facts[f'{canon}:floats'], 'id')} converted to integers (1.0 -> 1); "
                "read the ids as text to keep their form"
            )
        if facts.get(f"{canon}:trimmed"):
            n = facts[f"{canon}:trimmed"]
            messages.append(f"column {src!r} ({canon}): spaces trimmed around {counted(n, 'id')}")
    for message in messages:
        warnings.warn(message, DataWarning, stacklevel=3)
    return messages
