"""Parameter checks shared by every module; each raises InputDataError naming the parameter.

Estimators and configs declare what each parameter accepts in a
``_parameter_constraints`` mapping (scikit-learn's idea) and
`validate_params` checks all of them in one place::

    _parameter_constraints = {
        "factors": [Interval(int, 1, None)],
        "half_life_days": [Interval(float, 0, None, closed="neither"), None],
        "similarity": [Options("bm25", "cosine")],
    }

A value is valid when it satisfies any constraint of its list (``None`` in the
list allows ``None``). The error names the owner, the parameter, what was
expected and what was given.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from recsys.exceptions import InputDataError

__all__ = [
    "Constraint",
    "InstanceOf",
    "Interval",
    "MappingOf",
    "Options",
    "SequenceOf",
    "check_in",
    "check_param",
    "check_positive_int",
    "check_probability",
    "resolve_num_threads",
    "validate_params",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


class Constraint(ABC):
    """One acceptable form of a parameter value."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this form."""

    @abstractmethod
    def describe(self) -> str:
        """The form in words, for error messages (``"an integer >= 1"``)."""


@dataclass(frozen=True)
class Interval(Constraint):
    """A finite number (``int`` only, or any real for ``float``) between two bounds.

    Examples
    --------
    >>> Interval(float, 0, 1).accepts(0.5), Interval(int, 1, None).accepts(2.0)
    (True, False)
    >>> Interval(float, 0, None, closed="neither").describe()
    'a number > 0'
    """

    kind: type
    low: float | None
    high: float | None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def accepts(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        low_ok = self.closed in ("both", "left")
        high_ok = self.closed in ("both", "right")
        if self.low is not None and not (v >= self.low if low_ok else v > self.low):
            return False
        return self.high is None or (v <= self.high if high_ok else v < self.high)

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        low_op = ">=" if self.closed in ("both", "left") else ">"
        high_op = "<=" if self.closed in ("both", "right") else "<"
        if self.low is not None and self.high is not None:
            left = "[" if low_op == ">=" else "("
            right = "]" if high_op == "<=" else ")"
            return f"{noun} in {left}{_num(self.low)}, {_num(self.high)}{right}"
        if self.low is not None:
            return f"{noun} {low_op} {_num(self.low)}"
        if self.high is not None:
            return f"{noun} {high_op} {_num(self.high)}"
        return f"a finite {noun.split()[-1]}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True, init=False)
class Options(Constraint):
    """One of a fixed set of values (strings are compared exactly).

    Examples
    --------
    >>> Options("rank", "minmax").describe()
    "one of 'rank', 'minmax'"
    """

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", values)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (str, bool, int)) and any(
            type(value) is type(v) and value == v for v in self.values
        )

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of a class (``bool`` for flags)."""

    cls: type
    name: str = ""

    def accepts(self, value: Any) -> bool:
        if self.cls is bool:
            return isinstance(value, (bool, np.bool_))
        if self.cls is int:
            return _is_int(value)
        return isinstance(value, self.cls)

    def describe(self) -> str:
        return self.name or f"a {self.cls.__name__}"


@dataclass(frozen=True)
class SequenceOf(Constraint):
    """A non-empty list or tuple whose every element satisfies ``item``."""

    item: Constraint

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            return False
        return len(value) > 0 and all(self.item.accepts(v) for v in value)

    def describe(self) -> str:
        return f"a non-empty list of ({self.item.describe()})"


@dataclass(frozen=True)
class MappingOf(Constraint):
    """A mapping with exactly the string ``keys``, every value satisfying ``item``.

    Examples
    --------
    >>> c = MappingOf(("r", "alpha"), Interval(float, 0, None, closed="neither"))
    >>> c.accepts({"r": 0.2, "alpha": 4.0}), c.accepts({"r": 0.2}), c.accepts({"r": 0, "alpha": 1})
    (True, False, False)
    """

    keys: tuple[str, ...]
    item: Constraint

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, Mapping)
            and sorted(value) == sorted(self.keys)
            and all(self.item.accepts(v) for v in value.values())
        )

    def describe(self) -> str:
        return f"an object with keys {list(self.keys)}, each {self.item.describe()}"


def validate_params(
    owner: str, params: Mapping[str, Any], constraints: Mapping[str, Sequence[Any]]
) -> None:
    """Check every parameter against its declared constraints.

    Parameters
    ----------
    owner
        The estimator or config name used in the message (e.g. ``"ALS"``).
    params
        Parameter name -> value.
    constraints
        Parameter name -> list of `Constraint` (or ``None`` to allow ``None``).
        A parameter without an entry is not checked.

    Raises
    ------
    InputDataError
        Naming the first parameter that fits none of its constraints.

    Examples
    --------
    >>> validate_params("ALS", {"factors": "64"}, {"factors": [Interval(int, 1, None)]})
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: ALS(factors=...) must be an integer >= 1, got '64'
    """
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None:
            continue
        if value is None and None in allowed:
            continue
        if any(c is not None and c.accepts(value) for c in allowed):
            continue
        options = [c.describe() for c in allowed if c is not None]
        if None in allowed:
            options.append("None")
        where = f"{owner}({name}=...)" if owner else name
        raise InputDataError(f"{where} must be {' or '.join(options)}, got {value!r}")


def check_param(name: str, value: Any, *allowed: Constraint | None) -> Any:
    """``value`` if it satisfies one of ``allowed`` (``None`` allows None), else InputDataError.

    Examples
    --------
    >>> check_param("confidence", 0.9, Interval(float, 0, 1, closed="neither"))
    0.9
    >>> check_param("confidence", "high", Interval(float, 0, 1, closed="neither"))
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: confidence must be a number in (0, 1), got 'high'
    """
    validate_params("", {name: value}, {name: list(allowed)})
    return value


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """``value`` as an int, or InputDataError if it is not a positive (or zero) integer."""
    if not _is_int(value):
        raise InputDataError(f"{name} must be an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise InputDataError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_probability(name: str, value: Any, *, open_low: bool = True) -> float:
    """``value`` as a float in (0, 1) (or [0, 1) with ``open_low=False``)."""
    if not _is_real(value):
        raise InputDataError(f"{name} must be a number in (0, 1), got {value!r}")
    v = float(value)
    if not ((v > 0 if open_low else v >= 0) and v < 1):
        raise InputDataError(f"{name} must be in {'(' if open_low else '['}0, 1), got {value!r}")
    return v


def check_in(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``, else InputDataError listing them."""
    if not isinstance(value, (str, int, float, bool, type(None))) or value not in allowed:
        raise InputDataError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def resolve_num_threads(num_threads: int) -> int:
    """``num_threads`` with 0 meaning all cores."""
    n = check_positive_int("num_threads", num_threads, allow_zero=True)
    return n or (os.cpu_count() or 1)
