"""Error and warning types raised by recsys.

Every failure caused by user input raises a subclass of `RecsysError`, so a
caller can catch everything the library raises on purpose with one ``except``.
The concrete classes also inherit from the matching built-in exception
(``ValueError``, ``KeyError``, ...), so code written against the built-ins keeps
working.

Examples
--------
>>> import recsys as rs
>>> try:
...     rs.clean_purchases(rs.datasets.online_retail(), preset="no_such_preset")
... except rs.InputDataError as err:
...     print(type(err).__name__)
InputDataError
"""

from __future__ import annotations

__all__ = [
    "DataWarning",
    "InputDataError",
    "ModelFormatError",
    "NotFittedError",
    "RecsysError",
    "UnknownIdError",
]


class RecsysError(Exception):
    """Base class of every error recsys raises on purpose."""


class InputDataError(RecsysError, ValueError):
    """Input data or a parameter is not what was expected (names what and why)."""


class NotFittedError(RecsysError, ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


class UnknownIdError(RecsysError, KeyError):
    """A user or item id is not known to the id map or model."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class ModelFormatError(RecsysError, ValueError):
    """A saved model is corrupt, foreign, or of an unsupported format version."""


class DataWarning(UserWarning):
    """A lossy but legal conversion of user data (rows kept, values changed)."""
