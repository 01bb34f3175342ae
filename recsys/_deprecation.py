"""Deprecation warnings: one message format for renamed parameters."""

from __future__ import annotations

import warnings

__all__ = ["warn_renamed"]


def warn_renamed(old: str, new: str, where: str) -> None:
    """Warn (``DeprecationWarning``, at the caller's caller) that ``old`` is now ``new``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("old_name", "new", "f")
    >>> print(caught[0].message)
    f: the argument 'old_name' is renamed 'new'; 'old_name' will stop working in the next release
    """
    warnings.warn(
        f"{where}: the argument {old!r} is renamed {new!r}; {old!r} will stop working in "
        "the next release",
        DeprecationWarning,
        stacklevel=3,
    )
