"""Parsing of user-given points in time (``as_of``, ``cutoff``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np

from recsys.exceptions import InputDataError

__all__ = ["to_datetime"]


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
