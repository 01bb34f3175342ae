"""Parameter checks shared by every module; each raises InputDataError naming the parameter."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from recsys.exceptions import InputDataError

__all__ = ["check_in", "check_positive_int", "check_probability", "resolve_num_threads"]


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """``value`` as an int, or InputDataError if it is not a positive (or zero) integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputDataError(f"{name} must be an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise InputDataError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_probability(name: str, value: Any, *, open_low: bool = True) -> float:
    """``value`` as a float in (0, 1) (or [0, 1) with ``open_low=False``)."""
    v = float(value)
    if not ((v > 0 if open_low else v >= 0) and v < 1):
        raise InputDataError(f"{name} must be in {'(' if open_low else '['}0, 1), got {value!r}")
    return v


def check_in(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``, else InputDataError listing them."""
    if value not in allowed:
        raise InputDataError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def resolve_num_threads(num_threads: int) -> int:
    """``num_threads`` with 0 meaning all cores."""
    n = check_positive_int("num_threads", num_threads, allow_zero=True)
    return n or (os.cpu_count() or 1)
