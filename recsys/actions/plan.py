"""A treatment plan (`recsys.uplift.allocate`) in the action list: who gets the offer.

`recsys.actions.rules.retention_actions` (``plan=``) keeps from the offer the customers the
plan does not treat, those in its random holdout and those it does not list; their reason
starts with `PLAN_NOT_TREATED`, `PLAN_HOLDOUT` or `PLAN_MISSING`, and `plan_counts` counts
them.
"""

from __future__ import annotations

import warnings
from typing import Any

import polars as pl

from recsys.data import columns as C
from recsys.data.sources import to_frame
from recsys.exceptions import DataWarning, InputDataError

__all__ = ["PLAN_HOLDOUT", "PLAN_MISSING", "PLAN_NOT_TREATED", "plan_counts", "plan_rows"]

#: Starts of the reason of a customer the plan keeps from the offer (see the module docs).
PLAN_NOT_TREATED = "plan: not treated"
PLAN_HOLDOUT = "plan: holdout"
PLAN_MISSING = "plan: not in the plan"


def plan_rows(profiles: pl.DataFrame, plan: Any) -> pl.DataFrame:
    """``user_id, _treat, _in_holdout, _plan_reason`` of ``plan`` for `retention_actions`;
    customers of ``profiles`` missing from it are counted in a `DataWarning`."""
    frame = to_frame(plan)
    missing = [c for c in (C.USER, "treat", "in_holdout") if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"plan lacks the columns {missing}; pass rs.uplift.allocate's frame (columns are "
            f"{frame.columns})"
        )
    for column in ("treat", "in_holdout"):
        if frame.schema[column] != pl.Boolean or frame[column].null_count():
            raise InputDataError(
                f"plan column {column!r} must be True/False without nulls, got "
                f"{frame.schema[column]} with {frame[column].null_count()} nulls"
            )
    if frame[C.USER].is_duplicated().any():
        raise InputDataError("plan lists a customer more than once; one row per user_id")
    from recsys.actions.rules import _align_ids  # rules imports this module

    frame = _align_ids(profiles, frame, C.USER, "profiles", "plan")
    reason = (
        pl.col("reason").cast(pl.String).fill_null("") if "reason" in frame.columns else pl.lit("")
    )
    rows = frame.select(
        C.USER,
        pl.col("treat").alias("_treat"),
        pl.col("in_holdout").alias("_in_holdout"),
        reason.alias("_plan_reason"),
    )
    absent = profiles.height - profiles.join(rows, on=C.USER, how="semi").height
    if absent:
        warnings.warn(
            f"{absent:,} of {profiles.height:,} customers have no row in plan: they get no "
            f"action ({PLAN_MISSING!r}); plan every customer (allocate on their predictions)",
            DataWarning,
            stacklevel=3,
        )
    return rows


def plan_counts(actions: pl.DataFrame) -> dict[str, int]:
    """How many customers of an action list the plan kept from the offer, by why.

    Examples
    --------
    >>> import polars as pl
    >>> actions = pl.DataFrame({"reason": ["plan: holdout (x)", "rule 1 (onboard)"]})
    >>> plan_counts(actions)
    {'not_treated': 0, 'holdout': 1, 'missing': 0}
    """
    reason = actions["reason"]
    return {
        key: int(reason.str.starts_with(prefix).sum())
        for key, prefix in (
            ("not_treated", PLAN_NOT_TREATED),
            ("holdout", PLAN_HOLDOUT),
            ("missing", PLAN_MISSING),
        )
    }
