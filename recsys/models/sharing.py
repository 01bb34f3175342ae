"""`shared_fits`: inside the block, a model equal to one already fitted on the same
`Interactions` (same class and parameters) takes its fitted state instead of fitting
again (`recsys.models.base.Recommender.fit` reads `_SHARED_FITS`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["shared_fits"]

#: Fitted states by (interactions, model class and parameters) inside `shared_fits`.
_SHARED_FITS: ContextVar[dict[tuple[int, type, str], tuple[Any, dict[str, Any]]] | None] = (
    ContextVar("recsys_shared_fits", default=None)
)


@contextmanager
def shared_fits() -> Iterator[None]:
    """Fit each model once per training data inside the block.

    A model fitted on the same `Interactions` object as an earlier model of the
    same class with the same parameters (a `Blend` part equal to a model compared
    next to it, say) takes that model's fitted state instead of fitting again.
    Fits are deterministic, so the result is the same; the states are shared,
    not copied (fitted state is never modified after ``fit``).

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10]})
    >>> data = rs.Interactions.from_purchases(p)
    >>> with shared_fits():
    ...     a = rs.models.ItemKNN().fit(data)
    ...     b = rs.models.ItemKNN().fit(data)
    >>> b.similarity_ is a.similarity_
    True
    """
    token = _SHARED_FITS.set({})
    try:
        yield
    finally:
        _SHARED_FITS.reset(token)
