"""Rules over profiles, due items and recommendations: `retention_actions`.

A rule is a dict (or a row of a polars frame) with the keys of `RULE_KEYS`;
``action`` is required, every other key is a condition that is ignored when absent
or ``None``:

================== ===========================================================
key                the customer matches when
================== ===========================================================
action             (the action to take: one of `ACTIONS` except ``none``
                   — or ``none`` to stop later rules from firing)
lifecycle_stage    ``lifecycle_stage`` is one of these values (a list or a string)
min_churn_risk     ``churn_risk >= min_churn_risk`` (null churn risk: no match)
max_churn_risk     ``churn_risk <= max_churn_risk``
min_value          the value column (``clv`` by default) ``>= min_value``
has_due            whether the customer has a due item (a row of ``due`` with
                   ``p_within_horizon >= due_min_probability``)
================== ===========================================================

The first matching rule wins; a customer no rule matches gets ``none``.
`DEFAULT_RULES`, in order:

1. ``onboard``: ``lifecycle_stage`` is ``new``;
2. ``win_back``: ``lifecycle_stage`` is ``dormant`` or ``churned`` and
   ``churn_risk >= 0.5``;
3. ``replenish``: has a due item;
4. ``cross_sell``: ``lifecycle_stage`` is ``active`` or ``reactivated``.

``projected_value`` (in the units of the value column, CLV by default: a projection
over the CLV's horizon, not over any shorter window a campaign is checked on): ``clv *
churn_risk`` for ``win_back`` (the value expected to be lost), ``clv`` for
``replenish``, ``cross_sell`` and ``onboard``, 0 for ``none``. ``items``: the due
items (most probable first) for ``replenish``, the recommendations (by rank) for
the other actions, at most ``k``; empty for ``none``.

Budget: customers with an action are ranked by ``projected_value`` (or the
``rank_by`` column; descending, ties by ``user_id``). With ``contact_cost``, a
customer is kept only if ``projected_value - contact_cost >= min_expected_value``
(default 0); with
``min_expected_value`` alone, if ``projected_value >= min_expected_value``; then
``max_customers`` keeps the top ones. Customers cut by the budget get ``none``
with the reason saying which limit cut them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from recsys.actions.plan import PLAN_HOLDOUT, PLAN_MISSING, PLAN_NOT_TREATED, plan_rows
from recsys.data import columns as C
from recsys.data.sources import to_frame
from recsys.exceptions import DataWarning, InputDataError

__all__ = ["ACTIONS", "DEFAULT_RULES", "RULE_KEYS", "check_budget", "retention_actions"]

ACTIONS = ("win_back", "replenish", "cross_sell", "onboard", "none")
RULE_KEYS = (
    "action",
    "lifecycle_stage",
    "min_churn_risk",
    "max_churn_risk",
    "min_value",
    "has_due",
)

#: The default rules, first match wins (see the module documentation).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"action": "onboard", "lifecycle_stage": ["new"]},
    {"action": "win_back", "lifecycle_stage": ["dormant", "churned"], "min_churn_risk": 0.5},
    {"action": "replenish", "has_due": True},
    {"action": "cross_sell", "lifecycle_stage": ["active", "reactivated"]},
)


def _normalize_rules(rules: Any) -> list[dict[str, Any]]:
    if rules is None:
        return [dict(r) for r in DEFAULT_RULES]
    if isinstance(rules, pl.DataFrame):
        rows = rules.to_dicts()
    elif isinstance(rules, Sequence) and not isinstance(rules, str):
        rows = [dict(r) for r in rules if isinstance(r, Mapping)]
        if len(rows) != len(rules):
            raise InputDataError("rules must be a polars DataFrame or a list of dicts")
    else:
        raise InputDataError(
            f"rules must be a polars DataFrame or a list of dicts, got {type(rules).__name__}"
        )
    out = []
    for i, rule in enumerate(rows, start=1):
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise InputDataError(f"rule {i} has unknown keys {unknown}; known keys: {RULE_KEYS}")
        if rule.get("action") not in ACTIONS:
            raise InputDataError(
                f"rule {i} has action {rule.get('action')!r}; expected one of {ACTIONS}"
            )
        stage = rule.get("lifecycle_stage")
        if isinstance(stage, str):
            rule["lifecycle_stage"] = [stage]
        elif stage is not None and not (
            isinstance(stage, Sequence) and all(isinstance(x, str) for x in stage)
        ):
            raise InputDataError(
                f"rule {i}: lifecycle_stage must be a stage name or a list of them, got {stage!r}"
            )
        has_due = rule.get("has_due")
        if has_due is not None and not isinstance(has_due, bool):
            raise InputDataError(f"rule {i}: has_due must be True or False, got {has_due!r}")
        for key in ("min_churn_risk", "max_churn_risk", "min_value"):
            value = rule.get(key)
            if value is not None and not (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                raise InputDataError(f"rule {i}: {key} must be a finite number, got {value!r}")
        out.append(rule)
    return out


def _withheld(why: str) -> tuple[pl.Expr, pl.Expr]:
    """``action`` "none" and the text of column ``why`` before the ``reason`` where it is set."""
    held = pl.col(why).is_not_null()
    return (
        pl.when(held).then(pl.lit("none")).otherwise(pl.col("action")).alias("action"),
        pl.when(held)
        .then(pl.concat_str([pl.col(why), pl.col("reason")], separator="; "))
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )


def _fmt(expr: pl.Expr) -> pl.Expr:
    return expr.round(2).cast(pl.String).fill_null("null")


def _rule_expr(
    i: int, rule: dict[str, Any], value: str, columns: list[str]
) -> tuple[pl.Expr, pl.Expr]:
    """(condition, reason) of one rule."""

    def need(column: str, key: str) -> None:
        if column not in columns:
            raise InputDataError(
                f"rule {i} uses {key}= but profiles have no column {column!r}; "
                f"columns are {columns}"
            )

    cond = pl.lit(True)
    parts: list[pl.Expr] = []
    if rule.get("lifecycle_stage") is not None:
        need("lifecycle_stage", "lifecycle_stage")
        stages = [str(s) for s in rule["lifecycle_stage"]]
        cond = cond & pl.col("lifecycle_stage").is_in(stages).fill_null(False)
        parts.append(
            pl.format(
                "lifecycle_stage {} in [{}]", pl.col("lifecycle_stage"), pl.lit(", ".join(stages))
            )
        )
    for key, op in (("min_churn_risk", ">="), ("max_churn_risk", "<=")):
        bound = rule.get(key)
        if bound is not None:
            need("churn_risk", key)
            risk = pl.col("churn_risk")
            test = risk >= bound if op == ">=" else risk <= bound
            cond = cond & test.fill_null(False)
            parts.append(pl.format("churn_risk {} " + op + " " + f"{bound:g}", _fmt(risk)))
    if rule.get("min_value") is not None:
        bound = rule["min_value"]
        cond = cond & (pl.col(value) >= bound).fill_null(False)
        parts.append(pl.format(value + " {} >= " + f"{bound:g}", _fmt(pl.col(value))))
    if rule.get("has_due") is not None:
        wanted = bool(rule["has_due"])
        cond = cond & (pl.col("_n_due") > 0).eq(wanted)
        parts.append(pl.format("{} due item(s)", pl.col("_n_due")))
    head = pl.lit(f"rule {i} ({rule['action']})")
    reason = pl.concat_str([head, *parts], separator="; ") if parts else head
    return cond, reason


def retention_actions(
    profiles: Any,
    due: Any = None,
    recommendations: Any = None,
    *,
    rules: Any = None,
    max_customers: int | None = None,
    contact_cost: float | None = None,
    min_expected_value: float | None = None,
    value: str = "clv",
    due_min_probability: float = 0.2,
    k: int = 5,
    rank_by: str | None = None,
    plan: Any = None,
) -> pl.DataFrame:
    """One action per customer from rules over profiles, due items and recommendations.

    The rules, ``projected_value``, ``items`` and the budget are defined in
    `recsys.actions.rules`.

    Parameters
    ----------
    profiles
        `recsys.build_profiles` output (``user_id``, ``lifecycle_stage``,
        ``churn_risk``, the value column).
    due
        `recsys.due_items` output (``user_id, item_id, p_within_horizon``).
    recommendations
        Recommendations ``user_id, item_id, rank`` (e.g. ``model.recommend()``).
    rules
        A list of dicts or a polars frame with the keys of
        `RULE_KEYS`; default `DEFAULT_RULES`.
    max_customers
        Contact at most this many customers (the highest ``projected_value``).
    contact_cost, min_expected_value
        Contact only where ``projected_value - contact_cost >= min_expected_value``.
    value
        Value column of ``profiles``; ``"clv"`` falls back to ``"monetary"`` when
        the profiles have no CLV column (``ProfileConfig(clv_horizon_days=...)``).
    due_min_probability
        A due row counts as a due item when its ``p_within_horizon`` is at least this
        (a probability in [0, 1]). Due rows whose ``p_within_horizon`` is null or NaN
        are left out, counted in a `DataWarning`.
    k
        Most items listed per customer (the list length).
    rank_by
        A numeric column of ``profiles`` that orders the contact list (descending;
        ``priority``) instead of ``projected_value``: a transparent rule such as
        past value, then days since the last order.
    plan
        A treatment plan (`recsys.uplift.allocate`: ``user_id, treat, in_holdout``)
        deciding who gets the offer: customers it does not treat, those in its holdout
        and those missing from it get ``none`` (module documentation).

    Returns
    -------
    pl.DataFrame
        ``user_id, action, reason, projected_value, items, priority`` (1 = contact
        first; null for ``none``), one row per profile, sorted by ``priority`` then
        ``user_id``.

    Raises
    ------
    InputDataError
        Missing columns (naming the rule that needs them), unknown rule keys or
        actions, rule bounds or probabilities that are not numbers, duplicate
        customers in ``profiles``, bad budget parameters, customer or item ids of
        different types in ``profiles``, ``due``, ``recommendations`` and ``plan``; a
        plan without ``treat``/``in_holdout`` or with a customer twice.

    Warns
    -----
    DataWarning
        Customers of ``profiles`` missing from ``plan`` (counted; they get ``none``).

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> profiles = pl.DataFrame({
    ...     "user_id": [1, 2, 3, 4],
    ...     "lifecycle_stage": ["new", "dormant", "active", "active"],
    ...     "churn_risk": [0.3, 0.8, 0.2, 0.1],
    ...     "clv": [50.0, 400.0, 300.0, 80.0],
    ... })
    >>> due = pl.DataFrame({"user_id": [3], "item_id": ["A"], "p_within_horizon": [0.6]})
    >>> out = rs.retention_actions(profiles, due=due, max_customers=3)
    >>> out.select("user_id", "action", "projected_value").rows()
    [(2, 'win_back', 320.0), (3, 'replenish', 300.0), (4, 'cross_sell', 80.0), (1, 'none', 0.0)]
    >>> out["items"][1].to_list()
    ['A']
    """
    frame = to_frame(profiles)
    if C.USER not in frame.columns:
        raise InputDataError(f"profiles have no column {C.USER!r}; columns are {frame.columns}")
    if frame[C.USER].is_duplicated().any():
        raise InputDataError("profiles list a customer more than once; one row per user_id")
    if value not in frame.columns:
        if value == "clv" and "monetary" in frame.columns:
            value = "monetary"
        else:
            raise InputDataError(
                f"profiles have no value column {value!r} (value=); columns are {frame.columns}"
            )
    if max_customers is not None and (
        isinstance(max_customers, bool) or not isinstance(max_customers, int) or max_customers < 0
    ):
        raise InputDataError(f"max_customers must be an integer >= 0, got {max_customers!r}")
    check_budget(contact_cost, min_expected_value)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputDataError(f"k must be an integer >= 1, got {k!r}")
    if (
        isinstance(due_min_probability, bool)
        or not isinstance(due_min_probability, (int, float))
        or not 0.0 <= due_min_probability <= 1.0
    ):
        raise InputDataError(
            f"due_min_probability must be a number in [0, 1], got {due_min_probability!r}"
        )
    if rank_by is not None and (
        rank_by not in frame.columns or not frame.schema[rank_by].is_numeric()
    ):
        raise InputDataError(
            f"rank_by={rank_by!r} must name a numeric column of profiles; columns are "
            f"{frame.columns}"
        )
    rule_list = _normalize_rules(rules)
    if frame.schema[C.USER].is_integer():
        frame = frame.with_columns(pl.col(C.USER).cast(pl.Int64))
    planned = plan_rows(frame, plan) if plan is not None else None

    due_lists = None
    if due is not None:
        due_frame = to_frame(due)
        missing = [c for c in (C.USER, C.ITEM, "p_within_horizon") if c not in due_frame.columns]
        if missing:
            raise InputDataError(f"due lacks the columns {missing}; see rs.due_items()")
        if not due_frame.schema["p_within_horizon"].is_numeric():
            raise InputDataError(
                "due column 'p_within_horizon' must hold probabilities (numbers), got "
                f"{due_frame.schema['p_within_horizon']}"
            )
        due_frame = _align_ids(frame, due_frame, C.USER, "profiles", "due")
        chance = pl.col("p_within_horizon").cast(pl.Float64)
        undefined = int(due_frame.select((chance.is_null() | chance.is_nan()).sum()).item())
        if undefined:
            warnings.warn(
                f"{undefined:,} due rows have no p_within_horizon (null or NaN): left out of "
                "the items due",
                DataWarning,
                stacklevel=2,
            )
        due_lists = (
            due_frame.filter(chance.is_not_nan() & (chance >= due_min_probability))
            .sort([C.USER, "p_within_horizon", C.ITEM], descending=[False, True, False])
            .group_by(C.USER, maintain_order=True)
            .agg(pl.len().alias("_n_due"), pl.col(C.ITEM).head(k).alias("_due_items"))
        )
    rec_lists = None
    if recommendations is not None:
        recs = to_frame(recommendations)
        missing = [c for c in (C.USER, C.ITEM, C.RANK) if c not in recs.columns]
        if missing:
            raise InputDataError(f"recommendations lack the columns {missing}")
        recs = _align_ids(frame, recs, C.USER, "profiles", "recommendations")
        rec_lists = (
            recs.sort(C.USER, C.RANK)
            .group_by(C.USER, maintain_order=True)
            .agg(pl.col(C.ITEM).head(k).alias("_rec_items"))
        )
        if (
            due_lists is not None
            and rec_lists.schema["_rec_items"] != due_lists.schema["_due_items"]
        ):
            raise InputDataError(
                f"item ids of due ({due_lists.schema['_due_items']}) and recommendations "
                f"({rec_lists.schema['_rec_items']}) have different types"
            )
    list_dtype: Any = pl.List(pl.String)
    if due_lists is not None:
        list_dtype = due_lists.schema["_due_items"]
    elif rec_lists is not None:
        list_dtype = rec_lists.schema["_rec_items"]
    work = frame
    if due_lists is not None:
        work = work.join(due_lists, on=C.USER, how="left", maintain_order="left")
        work = work.with_columns(pl.col("_n_due").fill_null(0))
    else:
        work = work.with_columns(
            pl.lit(None, dtype=list_dtype).alias("_due_items"), pl.lit(0).alias("_n_due")
        )
    if rec_lists is not None:
        work = work.join(rec_lists, on=C.USER, how="left", maintain_order="left")
    else:
        work = work.with_columns(pl.lit(None, dtype=list_dtype).alias("_rec_items"))

    columns = work.columns
    action: Any = pl
    reason: Any = pl
    for i, rule in enumerate(rule_list, start=1):
        cond, why = _rule_expr(i, rule, value, columns)
        action = action.when(cond).then(pl.lit(rule["action"]))
        reason = reason.when(cond).then(why)
    if rule_list:
        action = action.otherwise(pl.lit("none"))
        reason = reason.otherwise(pl.lit("no rule matched"))
    else:
        action, reason = pl.lit("none"), pl.lit("no rule matched")
    work = work.with_columns(action.alias("action"), reason.alias("reason"))
    if planned is not None:
        work = work.join(planned, on=C.USER, how="left", maintain_order="left")
        gate = (
            pl.when(pl.col("_plan_reason").is_null())
            .then(pl.lit(PLAN_MISSING + " (no expected gain for this customer)"))
            .when(pl.col("_in_holdout"))
            .then(pl.concat_str([pl.lit(PLAN_HOLDOUT + " ("), pl.col("_plan_reason"), pl.lit(")")]))
            .when(~pl.col("_treat"))
            .then(
                pl.concat_str(
                    [pl.lit(PLAN_NOT_TREATED + " ("), pl.col("_plan_reason"), pl.lit(")")]
                )
            )
        )
        work = work.with_columns(gate.alias("_gate")).with_columns(*_withheld("_gate"))
    v = pl.col(value).cast(pl.Float64).fill_null(0.0)
    stake = (
        pl.when(pl.col("action") == "win_back")
        .then(v * pl.col("churn_risk").fill_null(0.0) if "churn_risk" in columns else v)
        .when(pl.col("action") == "none")
        .then(0.0)
        .otherwise(v)
    )
    work = work.with_columns(stake.alias("projected_value"))
    # budget
    order_key = (
        pl.col(rank_by).cast(pl.Float64).fill_null(0.0) if rank_by else pl.col("projected_value")
    )
    ranked = work.with_columns(
        pl.when(pl.col("action") != "none")
        .then(pl.struct(order_key.neg(), pl.col(C.USER)).rank("ordinal"))
        .alias("_order")
    )
    keep = pl.col("action") != "none"
    cut_reason = pl.lit(None, dtype=pl.String)
    if contact_cost is not None or min_expected_value is not None:
        cost = float(contact_cost or 0.0)
        floor = float(min_expected_value or 0.0)
        ok = (pl.col("projected_value") - cost) >= floor
        cut_reason = pl.when(keep & ~ok).then(
            pl.format(
                "budget: {} projected_value {} - cost "
                + f"{cost:g} < min_expected_value {floor:g}",
                pl.col("action"),
                _fmt(pl.col("projected_value")),
            )
        )
        keep = keep & ok
    ranked = ranked.with_columns(
        pl.when(keep).then(pl.col("_order").rank("ordinal")).alias("priority"),
        cut_reason.alias("_cut"),
    )
    if max_customers is not None:
        over = pl.col("priority") > max_customers
        ranked = ranked.with_columns(
            pl.when(over)
            .then(
                pl.format(
                    "budget: {} ranked {} by projected_value, beyond max_customers "
                    + str(max_customers),
                    pl.col("action"),
                    pl.col("priority"),
                )
            )
            .otherwise(pl.col("_cut"))
            .alias("_cut"),
            pl.when(over).then(None).otherwise(pl.col("priority")).alias("priority"),
        )
    items = (
        pl.when(pl.col("action") == "replenish")
        .then(pl.col("_due_items"))
        .when(pl.col("action") == "none")
        .then(pl.lit([], dtype=list_dtype))
        .otherwise(pl.col("_rec_items"))
    )
    out = ranked.with_columns(*_withheld("_cut"), items.alias("items")).with_columns(
        pl.when(pl.col("action") == "none")
        .then(0.0)
        .otherwise(pl.col("projected_value"))
        .alias("projected_value"),
        pl.when(pl.col("action") == "none")
        .then(pl.lit([], dtype=list_dtype))
        .otherwise(pl.col("items").fill_null(pl.lit([], dtype=list_dtype)))
        .alias("items"),
        pl.col("priority").cast(pl.Int64),
    )
    return out.select(C.USER, "action", "reason", "projected_value", "items", "priority").sort(
        ["priority", C.USER], nulls_last=True
    )


def check_budget(contact_cost: Any, min_expected_value: Any) -> None:
    """Check the budget parameters of `retention_actions` (a finite ``contact_cost >= 0``
    and a finite ``min_expected_value``), before any data is read.

    Examples
    --------
    >>> check_budget(-1, None)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: contact_cost must be >= 0, got -1
    """
    for name, number in (
        ("contact_cost", contact_cost),
        ("min_expected_value", min_expected_value),
    ):
        if number is not None and not (
            isinstance(number, (int, float))
            and not isinstance(number, bool)
            and math.isfinite(number)
        ):
            raise InputDataError(f"{name} must be a finite number, got {number!r}")
    if contact_cost is not None and contact_cost < 0:
        raise InputDataError(f"contact_cost must be >= 0, got {contact_cost!r}")


def _align_ids(
    left: pl.DataFrame, right: pl.DataFrame, column: str, left_name: str, right_name: str
) -> pl.DataFrame:
    """``right`` with its ids of ``left``'s type: integers of any width are widened to
    Int64 (the caller widens ``left``); ids of different kinds are an error, never a
    silent cast."""
    a, b = left.schema[column], right.schema[column]
    if a == b:
        return right
    if a.is_integer() and b.is_integer():
        return right.with_columns(pl.col(column).cast(pl.Int64))
    raise InputDataError(
        f"{column} has type {a} in {left_name} but {b} in {right_name}: give both the same id type"
    )
