"""Turn a user's table (frame, lazy frame, pandas frame or file path) into a LazyFrame."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from recsys.exceptions import InputDataError

__all__ = ["FrameLike", "to_frame", "to_lazyframe"]

FrameLike = pl.DataFrame | pl.LazyFrame | str | os.PathLike[str] | Any

_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".data"}
_COMPRESSED = {".gz", ".zst", ".zstd", ".bz2", ".xz"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _read_path(path: Path, string_columns: Iterable[str]) -> pl.LazyFrame:
    if not path.exists():
        raise InputDataError(f"file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"expected a CSV or Parquet file, got a directory: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in _COMPRESSED
    kind = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    overrides = {c: pl.String for c in string_columns}
    try:
        if kind in _PARQUET_SUFFIXES:
            lf = pl.scan_parquet(path)
            lf.collect_schema()  # reads the footer: fails here on a corrupt file
            return lf
        if kind in _CSV_SUFFIXES:
            separator = "\t" if kind == ".tsv" else ","
            if compressed:  # polars scans only plain files; compressed ones are read eagerly
                return pl.read_csv(
                    path, separator=separator, infer_schema_length=None, schema_overrides=overrides
                ).lazy()
            lf = pl.scan_csv(
                path, separator=separator, infer_schema_length=100_000, schema_overrides=overrides
            )
            lf.collect_schema()
            return lf
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise InputDataError(f"could not read {path}: {err}") from err
    raise InputDataError(
        f"cannot tell the format of {path}: expected a name ending in .csv, .tsv, .parquet "
        "(optionally compressed, e.g. .csv.gz)"
    )


def to_lazyframe(source: FrameLike, string_columns: Iterable[str] = ()) -> pl.LazyFrame:
    """A LazyFrame over ``source``.

    Parameters
    ----------
    source
        A polars DataFrame or LazyFrame, a pandas DataFrame, or the path of a
        CSV/TSV (optionally gzip-compressed) or Parquet file.
    string_columns
        Columns of a CSV file to read as text even when they look numeric.
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if _is_pandas(source):
        try:
            return pl.from_pandas(source).lazy()
        except Exception as err:  # pyarrow missing or an unconvertible column
            raise InputDataError(f"could not convert the pandas DataFrame: {err}") from err
    if isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), string_columns)
    raise InputDataError(
        "expected a polars DataFrame/LazyFrame, a pandas DataFrame or a file path, "
        f"got {type(source).__name__}"
    )


def to_frame(source: FrameLike) -> pl.DataFrame:
    """An eager polars DataFrame from any source :func:`to_lazyframe` accepts."""
    if isinstance(source, pl.DataFrame):
        return source
    return to_lazyframe(source).collect()
