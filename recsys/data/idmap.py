"""Bidirectional map between external ids and contiguous int32 indices."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl

from recsys.exceptions import InputDataError, UnknownIdError

__all__ = ["IdMap"]

UnknownIds = Literal["raise", "skip", "minus_one"]


def _as_series(ids: Any, name: str = "id") -> pl.Series:
    if isinstance(ids, pl.Series):
        return ids.rename(name)
    if isinstance(ids, (str, bytes, int, np.integer)):
        ids = [ids]
    try:
        return pl.Series(name, ids if isinstance(ids, np.ndarray) else list(ids), strict=False)
    except TypeError as err:
        raise InputDataError(f"ids must be a sequence of ints or strings, got {ids!r}") from err


class IdMap:
    """Immutable map between external ids and indices ``0 .. len-1``.

    Ids are either all integers or all strings. Indices follow the order of
    ``ids``; `from_values` sorts the distinct values, so the same set of ids
    always gives the same map.

    Parameters
    ----------
    ids
        Distinct external ids, in index order. Use `from_values` to build a
        map from values with repeats.

    Examples
    --------
    >>> from recsys import IdMap
    >>> m = IdMap.from_values(["b", "a", "b", "c"])
    >>> m.to_index(["c", "a"]).tolist()
    [2, 0]
    >>> m.to_ids([1]).tolist()
    ['b']
    >>> m.to_index(["a", "zzz"], on_unknown="minus_one").tolist()
    [0, -1]
    """

    __slots__ = ("_enum", "_ids", "_sorted")

    def __init__(self, ids: Any) -> None:
        series = _as_series(ids)
        if series.null_count():
            raise InputDataError("IdMap ids must not contain nulls")
        if series.dtype.is_integer() or (series.dtype == pl.Null and len(series) == 0):
            series = series.cast(pl.Int64)
        elif series.dtype != pl.String:
            raise InputDataError(f"IdMap ids must be integers or strings, got dtype {series.dtype}")
        if series.n_unique() != len(series):
            raise InputDataError("IdMap ids must be distinct; use IdMap.from_values")
        if len(series) > np.iinfo(np.int32).max:
            raise InputDataError("IdMap holds at most 2**31 - 1 ids")
        self._ids = series
        # Lookups without a hash join: string ids are the categories of an Enum (its
        # codes are the indices); integer ids are binary-searched when sorted.
        self._enum = pl.Enum(series) if series.dtype == pl.String else None
        self._sorted = series.is_sorted()

    @classmethod
    def from_values(cls, values: Any) -> IdMap:
        """Build a map from values with repeats; indices follow sorted id order."""
        return cls(_as_series(values).drop_nulls().unique().sort())

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)}, dtype={self._ids.dtype})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._ids.equals(other._ids)

    def __hash__(self) -> int:
        return hash((len(self), self._ids.dtype))

    def __contains__(self, id_: object) -> bool:
        try:
            return bool(self.to_index([id_], on_unknown="minus_one")[0] >= 0)
        except (UnknownIdError, InputDataError):  # an id of another type is simply absent
            return False

    @property
    def dtype(self) -> pl.DataType:
        """Polars dtype of the ids: ``Int64`` or ``String``."""
        return self._ids.dtype

    @property
    def ids(self) -> pl.Series:
        """All ids in index order (a copy-free polars Series)."""
        return self._ids

    def to_index(self, ids: Any, on_unknown: UnknownIds = "raise") -> np.ndarray:
        """Indices of ``ids`` as an int32 array.

        Parameters
        ----------
        ids
            A sequence, numpy array or polars Series of external ids.
        on_unknown
            ``"raise"`` raises `UnknownIdError` naming the first unknown ids,
            ``"skip"`` drops them (the result is shorter), ``"minus_one"`` maps them
            to ``-1``.
        """
        if on_unknown not in ("raise", "skip", "minus_one"):
            raise InputDataError(
                f"on_unknown must be 'raise', 'skip' or 'minus_one', got {on_unknown!r}"
            )
        query = _as_series(ids)
        if len(query) == 0:
            return np.empty(0, dtype=np.int32)
        if query.dtype != self._ids.dtype:
            if query.dtype == pl.Null:
                query = query.cast(self._ids.dtype)
            elif query.dtype.is_integer() and self._ids.dtype.is_integer():
                query = query.cast(pl.Int64)
            else:
                raise UnknownIdError(
                    f"ids of dtype {query.dtype} cannot match this map's {self._ids.dtype} ids "
                    f"(first: {query[0]!r})"
                )
        index = self._lookup(query)
        if index.null_count():
            if on_unknown == "raise":
                unknown = query.filter(index.is_null()).unique(maintain_order=True)
                shown = ", ".join(repr(v) for v in unknown.head(5).to_list())
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise UnknownIdError(f"{len(unknown)} unknown id(s): {shown}{more}")
            index = index.drop_nulls() if on_unknown == "skip" else index.fill_null(-1)
        return index.to_numpy().astype(np.int32, copy=False)

    def _lookup(self, query: pl.Series) -> pl.Series:
        """Index of each query id, null where unknown (query has the map's dtype)."""
        if self._enum is not None:
            return query.cast(self._enum, strict=False).to_physical().cast(pl.Int32)
        if self._sorted and len(self._ids):
            position = self._ids.search_sorted(query).clip(0, len(self._ids) - 1)
            found = self._ids.gather(position) == query
            frame = pl.DataFrame({"position": position.cast(pl.Int32), "found": found})
            return frame.select(pl.when("found").then("position")).to_series()
        lookup = pl.DataFrame({"id": self._ids, "index": np.arange(len(self), dtype=np.int32)})
        return (
            pl.DataFrame({"id": query})
            .join(lookup, on="id", how="left", maintain_order="left")
            .get_column("index")
        )

    def to_ids(self, index: Any) -> np.ndarray:
        """External ids at ``index`` (int64 or object array); raises on out-of-range."""
        idx = np.asarray(index)
        if idx.size == 0:
            return self._ids.head(0).to_numpy()
        if not np.issubdtype(idx.dtype, np.integer):
            raise InputDataError(f"index must be integers, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= len(self):
            bad = idx[(idx < 0) | (idx >= len(self))][0]
            raise UnknownIdError(f"index {bad} is out of range for an IdMap of {len(self)} ids")
        return self._ids.gather(idx.ravel()).to_numpy().reshape(idx.shape)

    def to_numpy(self) -> np.ndarray:
        """All ids in index order as a numpy array (for saving: no object dtype for str).

        String ids become a fixed-width unicode array, which cannot hold a trailing NUL
        character: such ids raise `InputDataError` rather than change silently.
        """
        if self._ids.dtype == pl.String:
            if self._ids.str.ends_with("\x00").any():
                raise InputDataError(
                    "string ids ending in a NUL character cannot be stored as a numpy unicode array"
                )
            return np.asarray(self._ids.to_list(), dtype=str)
        return self._ids.to_numpy()
