"""The one place that imports matplotlib (a base dependency, imported only when a plot is drawn)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["matplotlib_warnings_logged", "pyplot"]

logger = logging.getLogger("recsys.report")


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib, a dependency of recsys that is missing here: "
            "pip install matplotlib"
        ) from err
    return plt


@contextmanager
def matplotlib_warnings_logged() -> Iterator[None]:
    """Warnings that are not the library's own (`recsys.exceptions.DataWarning`) raised
    while the page is drawn (matplotlib's: an axis with identical limits for one
    customer, ...) go to the ``recsys.report`` log at INFO: they are about the drawing,
    not the data, so they are not the report's warnings. A `DataWarning` is re-raised.
    (matplotlib points its warnings at the caller's line, so their origin cannot tell
    them apart; the page computes nothing, so any warning of its own is a DataWarning.)

    Examples
    --------
    >>> import warnings
    >>> from recsys.exceptions import DataWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with matplotlib_warnings_logged():
    ...         ax = pyplot().figure().add_subplot()
    ...         _ = ax.set_xlim(1, 1)  # matplotlib warns: identical low and high xlims
    ...         warnings.warn("a data warning", DataWarning)
    >>> [str(w.message) for w in caught]
    ['a data warning']
    >>> pyplot().close("all")
    """
    from recsys.exceptions import DataWarning

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        for w in caught:
            if issubclass(w.category, DataWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            else:
                logger.info("while drawing the report: %s", w.message)
