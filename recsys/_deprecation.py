"""Renamed parameters keep working for one release, with a DeprecationWarning."""

from __future__ import annotations

import warnings

__all__ = ["warn_renamed"]


def warn_renamed(old: str, new: str, where: str) -> None:
    """Warn that ``where``'s argument ``old`` is now called ``new``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("k", "neighbors", "ItemKNN")
    >>> str(caught[0].message)
    "ItemKNN: 'k' is renamed 'neighbors'; the old name will be removed in the next release"
    """
    warnings.warn(
        f"{where}: {old!r} is renamed {new!r}; the old name will be removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
