"""Deprecation helpers: an old keyword keeps working for one release, with a warning."""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["moved_names", "renamed_keyword"]

F = TypeVar("F", bound=Callable[..., Any])


def renamed_keyword(old: str, new: str) -> Callable[[F], F]:
    """Decorator: accept ``old=`` as a deprecated spelling of the keyword ``new=``.

    Passing ``old`` issues a :class:`DeprecationWarning` naming the new keyword and
    forwards the value to ``new``; passing both raises :class:`TypeError`. The old
    name is removed in the release after the one that deprecates it.

    Examples
    --------
    >>> @renamed_keyword("n_resamples", "bootstrap")
    ... def draws(*, bootstrap: int = 10) -> int:
    ...     return bootstrap
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     draws(n_resamples=5), caught[0].category.__name__
    (5, 'DeprecationWarning')
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(
                        f"{func.__name__}() got both {new}= and its deprecated spelling {old}="
                    )
                warnings.warn(
                    f"{func.__name__}({old}=...) is deprecated and will be removed in the next "
                    f"release; use {new}=...",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def moved_names(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved elsewhere, with a warning.

    ``names`` maps each old name of ``module`` to its new home (a module path); the
    returned function imports it from there and issues a :class:`DeprecationWarning`.

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
        warnings.warn(
            f"{module}.{name} moved to {names[name]}.{name}; the old name will be removed in "
            "the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
