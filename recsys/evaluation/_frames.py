"""Validation of recommendation and truth frames, and the per-user hit matrix."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from recsys.data.columns import ITEM, RANK, USER
from recsys.data.sources import to_frame
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

__all__ = ["HitMatrix", "hit_matrix", "prepare_recommendations", "prepare_truth"]


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"{what} is missing column(s) {missing}; expected {list(columns)}, got {frame.columns}"
        )
    for column in columns:
        nulls = frame.get_column(column).null_count()
        if nulls:
            raise InputDataError(f"{what} column {column!r} has {nulls} null value(s)")


def _check_id_dtype(column: str, left: pl.DataType, right: pl.DataType, what: str) -> None:
    if left == right or (left.is_integer() and right.is_integer()):
        return
    raise UnknownIdError(
        f"{what} column {column!r} has dtype {left} but the test data has {right}: "
        "ids must be both integers or both strings"
    )


def prepare_truth(truth: Any, what: str = "truth") -> pl.DataFrame:
    """Distinct (user_id, item_id) pairs of ``truth``; InputDataError if empty or malformed.

    Repeated purchases of the same item in the test period count once: the truth
    of a user is a set of items.
    """
    frame = to_frame(truth)
    _require(frame, (USER, ITEM), what)
    frame = frame.select(USER, ITEM)
    for column in (USER, ITEM):
        if frame.get_column(column).dtype.is_integer():
            frame = frame.with_columns(pl.col(column).cast(pl.Int64))
    if frame.height == 0:
        raise InputDataError(f"{what} is empty: there is nothing to evaluate against")
    return frame.unique(maintain_order=False).sort(USER, ITEM)


def prepare_recommendations(
    recommendations: Any, truth: pl.DataFrame | None = None, what: str = "recommendations"
) -> pl.DataFrame:
    """Validated ``user_id, item_id, rank`` of a recommendations frame.

    Raises InputDataError on missing columns, nulls, duplicate (user, item) rows,
    or ranks that are not exactly ``1 .. n`` for a user; UnknownIdError when the
    id dtypes cannot match the truth frame's.
    """
    frame = to_frame(recommendations)
    _require(frame, (USER, ITEM, RANK), what)
    frame = frame.select(USER, ITEM, RANK)
    for column in (USER, ITEM):
        if frame.get_column(column).dtype.is_integer():
            frame = frame.with_columns(pl.col(column).cast(pl.Int64))
        if truth is not None:
            _check_id_dtype(column, frame.schema[column], truth.schema[column], what)
    if not frame.schema[RANK].is_integer():
        raise InputDataError(f"{what} column 'rank' must be integers, got {frame.schema[RANK]}")
    frame = frame.with_columns(pl.col(RANK).cast(pl.Int64))
    if frame.height == 0:
        return frame
    ranks = frame.group_by(USER).agg(
        pl.col(RANK).min().alias("lo"),
        pl.col(RANK).max().alias("hi"),
        pl.col(RANK).n_unique().alias("distinct"),
        pl.col(ITEM).n_unique().alias("items"),
        pl.len().alias("n"),
    )
    if (ranks.get_column("items") != ranks.get_column("n")).any():
        duplicated = frame.select(USER, ITEM).is_duplicated()
        first = frame.filter(duplicated).row(0, named=True)
        raise InputDataError(
            f"{what} has {int(duplicated.sum())} rows with a repeated (user_id, item_id) pair, "
            f"e.g. user {first[USER]!r} item {first[ITEM]!r}; each item may appear once per user"
        )
    bad = ranks.filter(
        (pl.col("lo") != 1) | (pl.col("hi") != pl.col("n")) | (pl.col("distinct") != pl.col("n"))
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise InputDataError(
            f"{what} ranks must be 1..n for each user (n = that user's number of rows); "
            f"{bad.height} user(s) break this, e.g. user {first[USER]!r} has ranks "
            f"{first['lo']}..{first['hi']} over {first['n']} rows"
        )
    return frame


@dataclass(frozen=True)
class HitMatrix:
    """Per-user ranked hits: ``hits[u, j]`` is True when the item at rank ``j+1`` is relevant."""

    users: pl.Series  # evaluated users, sorted
    hits: np.ndarray  # bool (n_users, depth)
    n_truth: np.ndarray  # int64 (n_users,), relevant items per user
    n_recommended: np.ndarray  # int64 (n_users,), list length (capped at depth)
    list_items: pl.DataFrame  # user index, rank, item_id of the kept recommendations


def hit_matrix(recs: pl.DataFrame, truth: pl.DataFrame, depth: int, users: pl.Series) -> HitMatrix:
    """Hit matrix of validated ``recs`` against validated ``truth`` for ``users`` (sorted).

    Users of ``recs`` outside ``users`` are ignored with a DataWarning (they are
    not in the evaluated population); users without recommendations get an
    empty list, i.e. a miss at every position.
    """
    user_index = pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)})
    kept = recs.filter(pl.col(RANK) <= depth).join(user_index, on=USER, how="inner")
    outside = recs.select(USER).unique().join(user_index, on=USER, how="anti").height
    if outside:
        warnings.warn(
            f"recommendations for {outside} user(s) who are not in the test data were ignored",
            DataWarning,
            stacklevel=3,
        )
    truth_flags = truth.join(user_index, on=USER, how="inner").with_columns(
        pl.lit(True).alias("_hit")
    )
    flagged = kept.join(truth_flags.select(USER, ITEM, "_hit"), on=[USER, ITEM], how="left")
    u = flagged.get_column("_u").to_numpy()
    r = flagged.get_column(RANK).to_numpy() - 1
    hits = np.zeros((len(users), depth), dtype=bool)
    hits[u, r] = flagged.get_column("_hit").fill_null(False).to_numpy()
    n_truth = np.bincount(truth_flags.get_column("_u").to_numpy(), minlength=len(users)).astype(
        np.int64
    )
    n_recommended = np.bincount(u, minlength=len(users)).astype(np.int64)
    return HitMatrix(
        users=users,
        hits=hits,
        n_truth=n_truth,
        n_recommended=n_recommended,
        list_items=flagged.select("_u", RANK, ITEM),
    )
