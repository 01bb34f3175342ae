"""Numbers, names and orders for people: what the report's tables print.

Money with a currency and thousands separators, shares as percentages, counts
with separators, ids as ids (never ``12,346``), ordered categories in their
natural order, and column labels in words instead of column names.

Examples
--------
>>> money(3782028.311, "£")
'£3,782,028'
>>> percent(0.8372)
'83.7%'
>>> interval(0.512, 0.48, 0.55)
'0.512 [0.480, 0.550]'
>>> import polars as pl
>>> sort_natural(pl.DataFrame({"tier": ["gold", "bronze", "platinum"]}), "tier")["tier"].to_list()
['bronze', 'gold', 'platinum']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from recsys._text import interval, money, number, percent
from recsys.profiles.config import ProfileConfig
from recsys.profiles.rfm import SEGMENT_NAMES

__all__ = [
    "LABELS",
    "NATURAL_ORDER",
    "Table",
    "count",
    "ident",
    "interval",
    "label",
    "money",
    "number",
    "percent",
    "plain",
    "sort_natural",
]

#: Natural orders of the ordered categories (anything else sorts after, by name).
NATURAL_ORDER: dict[str, tuple[str, ...]] = {
    "tier": ProfileConfig().tier_names,
    "lifecycle_stage": ("new", "active", "reactivated", "dormant", "churned"),
    "segment": ("all", "new", "active", "reactivated", "dormant", "churned"),
    "action": ("win_back", "replenish", "cross_sell", "onboard", "none"),
    "rfm_segment": SEGMENT_NAMES,
}

#: Column names as words.
LABELS: dict[str, str] = {
    "user_id": "customer",
    "item_id": "product code",
    "name": "product",
    "lifecycle_stage": "lifecycle stage",
    "rfm_segment": "RFM segment",
    "customers": "customers",
    "share": "share of customers",
    "monetary": "spend to date",
    "churn_risk": "mean churn risk",
    "clv": "expected value",
    "projected_value": "projected value",
    "action": "action",
    "reason": "why",
    "items": "products to show",
    "priority": "contact order",
    "decile": "risk decile",
    "predicted_churn": "predicted churn",
    "observed_churn": "observed churn",
    "n_customers": "customers",
    "n_returned": "came back",
    "n_hit": "bought a recommended item",
    "hit_retention": "retention (bought one)",
    "n_no_hit": "bought none",
    "no_hit_retention": "retention (bought none)",
    "difference": "difference",
    "p_value": "p-value",
    "n_users": "test customers",
    "segment": "segment",
    "model": "model",
    "rank": "rank",
    "score": "score",
    "p_within_horizon": "chance within horizon",
    "due_date": "due date",
    "reason_dropped": "reason",
    "rows": "rows",
}


def label(column: str) -> str:
    """The words for a column name (the name itself, with spaces, when unknown)."""
    return LABELS.get(column, column.replace("_", " "))


def orders(value: float | None) -> str:
    """A number of orders: whole numbers without decimals, fractions with one.

    Examples
    --------
    >>> orders(9.0), orders(2.46), orders(1234.0)
    ('9 orders', '2.5 orders', '1,234 orders')
    """
    if value is None or value != value:
        return "n/a"
    shown = f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
    return f"{shown} orders"


def count(value: int | float | None) -> str:
    """``12345`` -> ``12,345``; undefined: ``n/a``."""
    if value is None:
        return ""
    return "n/a" if value != value else f"{value:,.0f}"


def ident(value: Any) -> str:
    """An id as an id: no thousands separators, no ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plain(value: Any) -> str:
    """Any value, readably (dates as ISO dates, floats to 3 decimals, ints with separators)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value)
    return str(value)


def sort_natural(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Rows of ``frame`` in the natural order of ``column`` (see `NATURAL_ORDER`)."""
    order = NATURAL_ORDER.get(column, ())
    rank = {name: i for i, name in enumerate(order)}
    return (
        frame.with_columns(
            _rank=pl.col(column).cast(pl.String).replace_strict(rank, default=len(order)),
            _name=pl.col(column).cast(pl.String),
        )
        .sort("_rank", "_name")
        .drop("_rank", "_name")
    )


@dataclass
class Table:
    """A table ready for the template: caption, column labels, formatted cells.

    ``formats`` maps a column to a function value -> text; columns without one
    use `plain`, except id columns (``user_id``, ``item_id``, ``order_id``) which
    use `ident`.
    """

    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)
    title: str = ""

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        caption: str,
        formats: Mapping[str, Callable[[Any], str]] | None = None,
        labels: Mapping[str, str] | None = None,
        text_columns: Sequence[str] = (),
        title: str = "",
    ) -> Table:
        """Format every cell of ``frame``; ``caption`` says how to read the table."""
        formats = dict(formats or {})
        for column in ("user_id", "item_id", "order_id"):
            formats.setdefault(column, ident)
        labels = dict(labels or {})
        columns = frame.columns
        numeric = [
            (frame.schema[c].is_numeric() and c not in formats and c not in text_columns)
            or (c in formats and c not in ("user_id", "item_id", "order_id", *text_columns))
            for c in columns
        ]
        rows = [
            [formats.get(c, plain)(v) for c, v in zip(columns, row, strict=True)]
            for row in frame.iter_rows()
        ]
        return cls(
            caption=caption,
            columns=[labels.get(c, label(c)) for c in columns],
            rows=rows,
            numeric=numeric,
            title=title,
        )
