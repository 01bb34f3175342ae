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

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar

__all__ = [
    "DataWarning",
    "InputDataError",
    "MissingColumnError",
    "ModelFormatError",
    "NotFittedError",
    "RecsysError",
    "UnknownIdError",
]


class RecsysError(Exception):
    """Base class of every error recsys raises on purpose."""


class InputDataError(RecsysError, ValueError):
    """Input data or a parameter is not what was expected (names what and why)."""


class MissingColumnError(InputDataError):
    """No source column for required canonical ``columns``.

    ``found`` lists the table's columns, ``presets`` the presets whose columns the
    table has, ``given`` the mapping the caller passed (canonical name -> their
    column), which the hint repeats so it can be used as it stands. The message
    speaks to a Python caller; a front end words its own hint from the same facts
    with `hint`.

    Examples
    --------
    >>> err = MissingColumnError(["user_id"], ["Customer ID", "StockCode"], ["online_retail_ii"])
    >>> for part in str(err).split(", or "):
    ...     print(part)
    no column for 'user_id': pass preset='online_retail_ii' (the table has its columns)
    columns={'user_id': <your column>}; columns found: ['Customer ID', 'StockCode']
    >>> err.hint(lambda pairs: "--columns ...", lambda name: f"--preset {name}")[:60]
    "no column for 'user_id': pass --preset online_retail_ii (the"
    >>> err = MissingColumnError(["item_id"], ["member", "sku"], given={"user_id": "member"})
    >>> str(err).split("; ")[0]
    "no column for 'item_id': pass columns={'user_id': 'member', 'item_id': <your column>}"
    """

    def __init__(
        self,
        columns: Sequence[str],
        found: Sequence[str],
        presets: Sequence[str] = (),
        given: Mapping[str, str] | None = None,
    ):
        self.columns, self.found, self.presets = tuple(columns), tuple(found), tuple(presets)
        self.given = dict(given or {})
        super().__init__(
            self.hint(
                lambda pairs: (
                    "columns={"
                    + ", ".join(
                        f"{n!r}: {'<your column>' if c is None else repr(c)}" for n, c in pairs
                    )
                    + "}"
                ),
                lambda name: f"preset={name!r}",
            )
        )

    def hint(
        self,
        mapping: Callable[[Sequence[tuple[str, str | None]]], str],
        preset: Callable[[str], str],
    ) -> str:
        """The message, with ``mapping(pairs)`` saying how to map the columns and
        ``preset(name)`` how to use a preset.

        ``pairs`` are the ``given`` mapping's (canonical name, your column), then
        each missing canonical name with ``None`` (a column to name).
        """
        names = ", ".join(repr(c) for c in self.columns)
        presets = " or ".join(preset(p) for p in self.presets)
        pairs = [*self.given.items(), *((c, None) for c in self.columns if c not in self.given)]
        how = mapping(pairs)
        if presets:
            how = f"{presets} (the table has its columns), or {how}"
        return f"no column for {names}: pass {how}; columns found: {list(self.found)}"


class NotFittedError(RecsysError, ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


class UnknownIdError(RecsysError, KeyError):
    """A user or item id is not known to the id map or model."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class ModelFormatError(RecsysError, ValueError):
    """A saved model is corrupt, foreign, or of an unsupported format version."""


#: The outputs the warnings raised now concern: set by `recsys._warnings.concerning`.
CONCERNS: ContextVar[tuple[str, ...]] = ContextVar("recsys_concerns", default=())


class DataWarning(UserWarning):
    """A lossy but legal conversion of user data (rows kept, values changed).

    ``concerns`` names the outputs the warning is about (``"churn_risk"``, ``"clv"``,
    ...) when the call that raised it says so, and is empty otherwise.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.concerns: tuple[str, ...] = CONCERNS.get()
