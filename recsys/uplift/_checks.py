"""Input checks shared by the uplift modules; each raises InputDataError naming the problem."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recsys.data.sources import FrameLike, to_frame
from recsys.exceptions import InputDataError

__all__ = [
    "as_frame",
    "check_finite_column",
    "is_binary_column",
    "require_columns",
    "to_float_array",
]


def as_frame(source: FrameLike, name: str) -> pl.DataFrame:
    """An eager polars frame, or InputDataError naming the parameter."""
    try:
        return to_frame(source)
    except InputDataError as err:
        raise InputDataError(f"{name}: {err}") from err


def require_columns(frame: pl.DataFrame, name: str, columns: dict[str, str | None]) -> None:
    """Raise if a column named by a parameter is absent (``columns``: parameter -> column)."""
    for parameter, column in columns.items():
        if column is not None and column not in frame.columns:
            raise InputDataError(
                f"{name} has no column {column!r} (given as {parameter}=); "
                f"columns are {frame.columns}"
            )


def check_finite_column(frame: pl.DataFrame, column: str, parameter: str) -> None:
    """Raise if ``column`` is not numeric/boolean or holds nulls, NaN or infinities."""
    dtype = frame.schema[column]
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        raise InputDataError(
            f"{parameter} column {column!r} must be numeric or boolean, got {dtype}"
        )
    bad = frame.select(
        nulls=pl.col(column).is_null().sum(),
        nans=(pl.col(column).cast(pl.Float64).is_nan()).sum(),
        infs=(pl.col(column).cast(pl.Float64).is_infinite()).sum(),
    ).row(0)
    if bad[0] or bad[1] or bad[2]:
        raise InputDataError(
            f"{parameter} column {column!r} has {bad[0]} null, {bad[1]} NaN and {bad[2]} "
            "infinite values; drop or fill them first"
        )


def is_binary_column(frame: pl.DataFrame, column: str) -> bool:
    """Whether every value of a (null-free) numeric column is 0 or 1."""
    if frame.schema[column] == pl.Boolean:
        return True
    values = pl.col(column).cast(pl.Float64)
    return bool(frame.select(((values == 0) | (values == 1)).all()).item())


def to_float_array(values: Any, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float64 array, or InputDataError naming ``name``."""
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{name} must be numeric: {err}") from err
    if arr.ndim != 1:
        raise InputDataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputDataError(f"{name} has {bad} NaN or infinite values; drop or fill them first")
    return arr
