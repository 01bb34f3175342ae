"""Deprecation warnings for renamed or moved public names."""

from __future__ import annotations

import warnings

__all__ = ["warn_renamed"]


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
