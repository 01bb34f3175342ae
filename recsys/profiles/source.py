"""The input of `recsys.build_profiles`: the purchases checked, ``as_of`` resolved, the
orders before it, and the exact sums of money and units.

Amounts are summed in integer micro-units (1e-6), so totals do not depend on row
order or thread count; a customer whose total spend or units exceed
`MAX_CUSTOMER_AMOUNT` is refused (an Int64 sum would wrap around silently).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl

from recsys._text import counted
from recsys.data import columns as C
from recsys.data.canonical import (
    ORDER_KEY,
    US_PER_DAY,
    cast_ids,
    order_keys,
    require_purchases,
    without_returns,
)
from recsys.data.sources import FrameLike, to_frame, to_lazyframe
from recsys.data.timeutil import to_datetime
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.config import ProfileConfig

__all__ = [
    "MAX_CUSTOMER_AMOUNT",
    "ProfileSource",
    "as_days",
    "check_tallies",
    "item_categories",
    "micro_units",
    "orders_before",
    "prepare_source",
    "resolve_as_of",
    "time_range",
]

Engine = Literal["in-memory", "streaming"]


_ONE_US = timedelta(microseconds=1)


MICRO = 1_000_000.0


TALLIES = ("null", "negative", "zero", "non_positive_quantity", "unknown_category")


#: Largest total (of spend, or of units) one customer may have before ``as_of``: amounts
#: are summed in Int64 micro-units, which hold about 9.22e12 whole units.
MAX_CUSTOMER_AMOUNT = 9.2e12


def micro_units(expr: pl.Expr, strict: bool = True) -> pl.Expr:
    """Amounts as whole micro-units (Int64): integer sums do not depend on row order or
    thread count, unlike float sums. With ``strict=False`` out-of-range values become
    null, for sums whose totals are checked against `MAX_CUSTOMER_AMOUNT` (as
    `orders_before` does)."""
    return (expr.cast(pl.Float64) * MICRO).round().cast(pl.Int64, strict=strict)


def _check_amounts(orders: pl.DataFrame, has_price: bool) -> None:
    """`InputDataError` when a customer's total spend or units cannot be summed exactly."""
    columns = {"_abs_units": f"{C.QUANTITY!r}"}
    if has_price:
        columns["_abs_spend"] = f"{C.QUANTITY!r} x {C.PRICE!r} (spend)"
    totals = orders.group_by(C.USER).agg(pl.col(c).sum() for c in columns)
    for column, what in columns.items():
        over = totals.filter(~(pl.col(column) <= MAX_CUSTOMER_AMOUNT))
        if over.height:
            worst = over.sort(column, descending=True, nulls_last=False).row(0, named=True)
            raise InputDataError(
                f"{over.height} customer(s) have a total {what} above {MAX_CUSTOMER_AMOUNT:.3g} "
                f"before as_of (e.g. customer {worst[C.USER]!r}: {worst[column]:.4g}), or a "
                "non-finite one: amounts are summed exactly in integer micro-units, which "
                f"cannot hold more; check the {what} column for a unit or parsing error"
            )


def as_days(expr: pl.Expr) -> pl.Expr:
    """A Duration expression as fractional days."""
    return expr.dt.total_microseconds().cast(pl.Float64) / US_PER_DAY


@dataclass(frozen=True)
class ProfileSource:
    """Canonical purchases to profile: the whole table, or every row of some customers.

    Attributes
    ----------
    lf
        The purchases, lazily.
    schema
        Their schema (decides the optional columns: price, returns, categories).
    engine
        polars engine of the aggregations: in memory for frames, streaming for files.
    """

    lf: pl.LazyFrame
    schema: pl.Schema
    engine: Engine

    @property
    def has_price(self) -> bool:
        return C.PRICE in self.schema

    @property
    def has_return(self) -> bool:
        return C.IS_RETURN in self.schema


def prepare_source(purchases: FrameLike, caller: str = "build_profiles") -> ProfileSource:
    """Purchases checked for the canonical columns, as a `ProfileSource`."""
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, caller)
    # Frames already in memory are aggregated by the in-memory engine (faster on them);
    # lazy frames and files by the streaming engine (bounded memory).
    engine: Engine = "in-memory" if isinstance(purchases, pl.DataFrame) else "streaming"
    return ProfileSource(lf, lf.collect_schema(), engine)


def time_range(source: ProfileSource) -> tuple[int, datetime | None, datetime | None]:
    """Purchase rows (returns excluded), earliest and latest timestamp of a source."""
    stats = (
        without_returns(source.lf)
        .select(
            pl.len().alias("n"),
            pl.col(C.TIMESTAMP).min().alias("first"),
            pl.col(C.TIMESTAMP).max().alias("last"),
        )
        .collect(engine=source.engine)
    )
    n, first, last = stats.row(0)
    return int(n), first, last


def resolve_as_of(
    ranges: Sequence[tuple[int, datetime | None, datetime | None]], as_of: Any
) -> datetime:
    """``as_of`` checked against the `time_range` of every shard (default: just after
    the latest purchase)."""
    n = sum(r[0] for r in ranges)
    firsts = [r[1] for r in ranges if r[1] is not None]
    lasts = [r[2] for r in ranges if r[2] is not None]
    if n == 0 or not firsts:
        raise InputDataError("purchases are empty: no purchase rows to profile")
    first, last = min(firsts), max(lasts)
    if as_of is None:
        return last + _ONE_US
    when = to_datetime(as_of, "as_of")
    if when <= first:
        raise InputDataError(
            f"as_of={when} is not after the first purchase ({first}): no customer has a "
            "purchase strictly before it"
        )
    return when


def item_categories(
    items: FrameLike | None, schema: pl.Schema, config: ProfileConfig
) -> pl.DataFrame | None:
    """The item table as ``item_id -> _category`` (checked), or None without one."""
    if items is None:
        return None
    column = config.category_column
    table = to_frame(items)
    missing = [c for c in (C.ITEM, column) if c not in table.columns]
    if missing:
        raise InputDataError(
            f"item table lacks the column(s) {missing} (category_column={column!r}); "
            f"found {table.columns}"
        )
    table = table.select(C.ITEM, pl.col(column).cast(pl.String).alias("_category")).unique()
    table = table.with_columns(cast_ids(table[C.ITEM], schema[C.ITEM], "item table"))
    dup = table.filter(pl.col(C.ITEM).is_duplicated())
    if dup.height:
        raise InputDataError(
            f"item table maps {dup[C.ITEM].n_unique()} item_id(s) to several {column!r} "
            f"values, e.g. {dup[C.ITEM][0]!r}"
        )
    return table


def orders_before(
    source: ProfileSource, as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, int]]:
    """The orders before ``as_of`` (sorted by user, time), returned units per user and
    the tallies of suspicious rows (checked on the whole table by `global_statistics`)."""
    before = source.lf.filter(pl.col(C.TIMESTAMP) < as_of)
    bought = without_returns(before)
    has_price = source.has_price
    aggs = [
        pl.col(C.TIMESTAMP).min().alias("t"),
        pl.col(C.TIMESTAMP).max().alias("t_end"),
        micro_units(pl.col(C.QUANTITY), strict=False).sum().alias("units"),
        pl.col(C.QUANTITY).cast(pl.Float64).abs().sum().alias("_abs_units"),
    ]
    if has_price:
        spend = pl.col(C.QUANTITY).cast(pl.Float64) * pl.col(C.PRICE).cast(pl.Float64)
        aggs.append(
            micro_units(pl.col(C.QUANTITY) * pl.col(C.PRICE), strict=False).sum().alias("spend")
        )
        aggs.append(spend.abs().sum().alias("_abs_spend"))
    queries = [bought.group_by(C.USER, *order_keys(source.schema)).agg(aggs)]
    if has_price:
        queries.append(
            bought.select(
                pl.col(C.PRICE).is_null().sum().alias("null"),
                (pl.col(C.PRICE) < 0).sum().alias("negative"),
                (pl.col(C.PRICE) == 0).sum().alias("zero"),
                (pl.col(C.QUANTITY) <= 0).sum().alias("non_positive_quantity"),
            )
        )
    if source.has_return:
        queries.append(
            before.filter(pl.col(C.IS_RETURN))
            .group_by(C.USER)
            .agg((micro_units(pl.col(C.QUANTITY).abs()).sum() / MICRO).alias("_returned_units"))
        )
    results = pl.collect_all(queries, engine=source.engine)
    tallies = dict.fromkeys(TALLIES, 0)
    if has_price:
        tallies.update({k: int(v or 0) for k, v in results[1].row(0, named=True).items()})
    _check_amounts(results[0], has_price)
    occ = (
        results[0]
        .select(pl.exclude(ORDER_KEY, ORDER_KEY + "_day", "_abs_units", "_abs_spend"))
        .sort([C.USER, "t", "t_end", "units"])
    )
    occ = occ.with_columns(as_days(pl.col("t").diff().over(C.USER)).alias("gap"))
    returns = results[-1] if source.has_return else None
    return occ, returns, tallies


def check_tallies(tallies: dict[str, int], has_price: bool) -> None:
    if has_price:
        nulls, negative = tallies["null"], tallies["negative"]
        if nulls or negative:
            raise InputDataError(
                f"column 'price' has {nulls} null and {negative} negative values among the "
                "purchases before as_of; monetary columns need prices >= 0 "
                "(rs.clean_purchases drops such rows)"
            )
        if tallies["zero"]:
            warnings.warn(
                counted(
                    tallies["zero"],
                    "purchase row before as_of has price 0 (a free item): it adds nothing "
                    "to monetary but counts as an item and an order",
                    "purchase rows before as_of have price 0 (free items): they add nothing "
                    "to monetary but count as items and orders",
                ),
                DataWarning,
                stacklevel=4,
            )
        if tallies["non_positive_quantity"]:
            raise InputDataError(
                f"{tallies['non_positive_quantity']} purchase rows have quantity <= 0 but are "
                "not flagged is_return; clean them with rs.clean_purchases(keep_returns=True)"
            )
