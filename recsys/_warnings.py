"""Warnings that point at the user's line, however deep in recsys they are raised, and
say which outputs they concern."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from recsys.exceptions import CONCERNS, DataWarning

_PACKAGE = str(Path(__file__).resolve().parent)


def warn_caller(message: str, category: type[Warning] = DataWarning) -> None:
    """`warnings.warn` attributed to the first frame outside the recsys package.

    For a warning raised in a helper that public functions reach through different
    call depths, where a fixed ``stacklevel`` would be right for one path only.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_caller("control rate is 0")
    >>> caught[0].filename == __file__ or caught[0].filename.startswith("<doctest")
    True
    """
    level = 2  # 1 would be this function, 2 its caller
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def concerns_of(warning: Warning | str) -> tuple[str, ...]:
    """The outputs ``warning`` concerns (set by `concerning`), empty when not known.

    Examples
    --------
    >>> concerns_of(DataWarning("price 0"))
    ()
    """
    found = getattr(warning, "concerns", ())
    return tuple(found) if isinstance(found, tuple) else ()


@contextmanager
def concerning(*names: str) -> Iterator[None]:
    """The `DataWarning` raised inside the block concern the outputs ``names`` (e.g.
    ``"churn_risk"``, ``"clv"``): their ``concerns`` attribute, read by `concerns_of`.
    The innermost block names them (the call closest to the cause knows best); the
    warnings themselves are not caught, so the filters in force decide what is shown.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with concerning("clv"):
    ...         with concerning("churn_risk", "clv"):
    ...             warnings.warn("BG/NBD parameters are extreme", DataWarning)
    ...         warnings.warn("Gamma-Gamma q <= 1", DataWarning)
    ...     warnings.warn("price 0", DataWarning)
    >>> [(str(w.message), concerns_of(w.message)) for w in caught]  # doctest: +NORMALIZE_WHITESPACE
    [('BG/NBD parameters are extreme', ('churn_risk', 'clv')), ('Gamma-Gamma q <= 1', ('clv',)),
     ('price 0', ())]
    """
    token = CONCERNS.set(names)
    try:
        yield
    finally:
        CONCERNS.reset(token)
