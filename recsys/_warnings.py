"""Warnings that point at the user's line, however deep in recsys they are raised."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType

from recsys.exceptions import DataWarning

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
