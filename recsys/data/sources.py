"""Turn a user's table (frame, lazy frame, pandas frame or file path) into a LazyFrame."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl

from recsys.data.read import read_table
from recsys.exceptions import InputDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FrameLike", "to_frame", "to_lazyframe"]

#: A table given by the user: a polars or pandas frame, or the path of a file
#: `recsys.data.read.read_table` reads (pandas is optional, hence the string).
FrameLike: TypeAlias = "pl.DataFrame | pl.LazyFrame | pd.DataFrame | str | os.PathLike[str]"


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def to_lazyframe(
    source: FrameLike,
    string_columns: Iterable[str] = (),
    *,
    encoding: str | None = None,
    separator: str | None = None,
) -> pl.LazyFrame:
    """A LazyFrame over ``source``.

    Parameters
    ----------
    source
        A polars DataFrame or LazyFrame, a pandas DataFrame, or the path of a
        file `recsys.data.read.read_table` reads (CSV/TSV, optionally gzip- or
        zstd-compressed, Parquet, Excel).
    string_columns
        Columns of a CSV file to read as text even when they look numeric.
    encoding, separator
        CSV text encoding and separator (default: UTF-8, detected separator).
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if _is_pandas(source):
        try:
            return pl.from_pandas(source).lazy()
        except Exception as err:  # an unconvertible (e.g. mixed-type object) column
            raise InputDataError(f"could not convert the pandas DataFrame: {err}") from err
    if isinstance(source, (str, os.PathLike)):
        return read_table(
            source, text_columns=string_columns, encoding=encoding, separator=separator
        )
    raise InputDataError(
        "expected a polars DataFrame/LazyFrame, a pandas DataFrame or a file path, "
        f"got {type(source).__name__}"
    )


def to_frame(source: FrameLike) -> pl.DataFrame:
    """An eager polars DataFrame from any source `to_lazyframe` accepts."""
    if isinstance(source, pl.DataFrame):
        return source
    return to_lazyframe(source).collect()
