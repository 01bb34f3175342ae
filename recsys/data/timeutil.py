"""Parsing of user-given points in time (``as_of``, ``cutoff``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import numpy as np

from recsys._validation import Constraint
from recsys.exceptions import InputDataError

__all__ = ["DateLike", "TimeLike", "to_datetime"]

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
