"""Deprecation warnings: renamed keywords and moved names keep working for one release."""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["moved_names", "renamed_kwargs", "warn_renamed"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def warn_renamed(old: str, new: str, where: str) -> None:
    """Warn with a DeprecationWarning that ``old`` (used in ``where``) is now ``new``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("f", "recsys.g", "recsys.old_module")
    >>> str(caught[0].message)
    "'f' in recsys.old_module is deprecated; use 'recsys.g' instead"
    """
    warnings.warn(
        f"{old!r} in {where} is deprecated; use {new!r} instead",
        DeprecationWarning,
        stacklevel=3,
    )


def renamed_kwargs(**renames: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator: accept former keyword names (``old="new"``) for one release, with a warning.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(cutoff="as_of")
    ... def label(as_of=None):
    ...     return as_of
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     label(cutoff="2011-09-09")
    '2011-09-09'
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        where = func.__qualname__.replace(".__init__", "")

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{where}() got both {new!r} and its former name {old!r}")
                    warn_renamed(old, new, where)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def moved_names(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved elsewhere, with a warning.

    ``names`` maps each old name of ``module`` to its new home (a module path); the
    returned function imports it from there and issues a `DeprecationWarning`.

    Examples
    --------
    >>> getattr_ = moved_names("old.place", {"sqrt": "math"})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     getattr_("sqrt")(4.0)
    2.0
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warn_renamed(f"{module}.{name}", f"{names[name]}.{name}", module)
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
