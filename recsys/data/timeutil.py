"""Parsing of user-given points in time (``as_of``, ``cutoff``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

import numpy as np
import polars as pl

from recsys._validation import Constraint
from recsys.exceptions import InputDataError

__all__ = ["DateLike", "TimeLike", "to_datetime", "to_datetime_series", "window_end"]

#: A point in time given by the user (`to_datetime` reads it; text in ISO format).
TimeLike: TypeAlias = datetime | date | np.datetime64 | str


def to_datetime(value: Any, name: str = "time") -> datetime:
    """A naive `datetime` from a datetime, date, numpy datetime64 or ISO string.

    Examples
    --------
    >>> to_datetime("2011-09-09")
    datetime.datetime(2011, 9, 9, 0, 0)
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, np.datetime64):
        return to_datetime(str(value.astype("datetime64[us]")), name)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
        except ValueError:
            pass
    raise InputDataError(
        f"{name} must be a datetime, a date or an ISO date string like '2011-09-09', got {value!r}"
    )


def window_end(start: datetime, horizon_days: float) -> datetime:
    """``start + horizon_days``, or the last representable time when that is beyond it.

    A window of a million years reaches the end of any data: it is not an
    ``OverflowError``. ``horizon_days`` is checked by the caller (finite, > 0).

    Examples
    --------
    >>> window_end(datetime(2024, 1, 1), 31)
    datetime.datetime(2024, 2, 1, 0, 0)
    >>> window_end(datetime(2024, 1, 1), 1e9) == datetime.max
    True
    """
    try:
        return start + timedelta(days=float(horizon_days))
    except OverflowError:
        return datetime.max


def to_datetime_series(values: pl.Series, name: str = "time") -> pl.Series:
    """``values`` as naive ``Datetime("us")``, read value by value like `to_datetime`.

    The column form of `to_datetime`, for frames of points in time (a per-user
    ``as_of``): a time-zone-aware column keeps its wall-clock time and drops its
    zone (``09:00`` in New York stays ``09:00``, it is not turned into UTC); a
    date is midnight; text reads as an ISO date or date-time (an offset such as
    ``-05:00`` is dropped, the clock time kept). Nulls stay null.

    Raises
    ------
    InputDataError
        A value does not read as a point in time (named, with the column
        ``name``), or the column has another dtype.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> aware = pl.Series([datetime(2024, 1, 1, 9)]).dt.replace_time_zone("America/New_York")
    >>> to_datetime_series(aware, "as_of").to_list()
    [datetime.datetime(2024, 1, 1, 9, 0)]
    >>> to_datetime_series(pl.Series(["2024-01-01T09:00-05:00"]), "as_of").to_list()
    [datetime.datetime(2024, 1, 1, 9, 0)]
    """
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            values = values.dt.replace_time_zone(None)
        return values.cast(pl.Datetime("us"))
    if dtype == pl.Date or dtype == pl.Null:
        return values.cast(pl.Datetime("us"))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = values.cast(pl.String)
        read = {v: to_datetime(v, name) for v in text.drop_nulls().unique().to_list()}
        return text.replace_strict(read, default=None, return_dtype=pl.Datetime("us"))
    raise InputDataError(
        f"{name} must hold datetimes, dates or ISO date strings like '2011-09-09', "
        f"got dtype {dtype}"
    )


@dataclass(frozen=True)
class DateLike(Constraint):
    """A point in time: a datetime or date, or text that reads as one (``"2011-09-09"``)."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (str, date)):
            return False
        try:
            to_datetime(value, "value")
        except InputDataError:
            return False
        return True

    def describe(self) -> str:
        return "a date such as '2011-09-09'"
