"""Clean any orders table into canonical purchases, accounting for every row removed."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from recsys._arrays import sorted_unique
from recsys._validation import InstanceOf, check_param
from recsys.data import columns as C
from recsys.data.presets import Preset, get_preset
from recsys.data.read import is_text_table, reading
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timestamps import MAX_INVALID_SHARE, TIMESTAMP_FORMATS, parse_timestamps
from recsys.exceptions import DataWarning, InputDataError

__all__ = [
    "DROP_REASONS",
    "MAX_INVALID_SHARE",
    "TIMESTAMP_FORMATS",
    "CleaningReport",
    "clean_purchases",
]

#: Why a row can be removed, in the order the rules are applied: a row is counted
#: under the first rule it fails.
DROP_REASONS: tuple[str, ...] = (
    "missing_user",
    "missing_item",
    "invalid_timestamp",
    "invalid_quantity",
    "cancellation",
    "non_positive_quantity",
    "invalid_price",
    "negative_price",
    "duplicate",
)
_RETURN_REASONS = ("cancellation", "non_positive_quantity")

_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,17})$"


@dataclass(frozen=True)
class CleaningReport:
    """What `clean_purchases` did, row by row.

    ``rows_in == rows_out + sum(dropped.values())`` always holds.

    Attributes
    ----------
    rows_in, rows_out
        Rows read and rows in the canonical purchases.
    dropped
        Rows removed per reason, every reason of `DROP_REASONS` listed (zeros
        included), in the order the rules are applied.
    exact_duplicates
        Output rows identical to an earlier output row (kept unless
        ``drop_duplicates=True``, in which case they are counted in ``dropped``).
    returns
        The canonical rows removed as ``cancellation`` or ``non_positive_quantity``
        (customer, item and time known), so return behaviour is not lost.
    n_users, n_items, n_orders
        Distinct values in the output (``n_orders`` is ``None`` without order ids).
    first_timestamp, last_timestamp
        Time range of the output.
    timestamp_format
        The strftime format used to parse timestamp strings, or the unit of
        numeric timestamps (``"unix_s"``, ``"excel"``, ...); ``None`` for
        datetime and date columns.
    columns
        Canonical name -> source column used.
    """

    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    exact_duplicates: int
    returns: pl.DataFrame
    n_users: int
    n_items: int
    n_orders: int | None
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    timestamp_format: str | None
    columns: dict[str, str]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows_dropped(self) -> int:
        """Total rows removed."""
        return sum(self.dropped.values())

    def to_frame(self) -> pl.DataFrame:
        """The account as a table: ``step, rows, share`` (share of ``rows_in``)."""
        steps = ["rows_in", *(f"dropped: {r}" for r in self.dropped), "rows_out"]
        rows = [self.rows_in, *self.dropped.values(), self.rows_out]
        return pl.DataFrame({"step": steps, "rows": rows}).with_columns(
            share=pl.col("rows") / max(self.rows_in, 1)
        )

    def __str__(self) -> str:
        width = max(len(r) for r in self.dropped) + 2
        lines = [f"{'rows in':<{width + 9}}{self.rows_in:>12,}"]
        lines += [
            f"  dropped: {reason:<{width}}{n:>12,}  ({n / max(self.rows_in, 1):6.2%})"
            for reason, n in self.dropped.items()
            if n
        ]
        lines.append(f"{'rows out':<{width + 9}}{self.rows_out:>12,}")
        lines.append(
            f"{self.n_users:,} users, {self.n_items:,} items"
            + (f", {self.n_orders:,} orders" if self.n_orders is not None else "")
            + (f", {self.first_timestamp} .. {self.last_timestamp}" if self.rows_out else "")
        )
        if self.timestamp_format is not None:
            lines.append(f"timestamps read as {self.timestamp_format!r}")
        if self.exact_duplicates and not self.dropped.get("duplicate"):
            lines.append(f"{self.exact_duplicates:,} exact duplicate rows kept")
        if len(self.returns):
            lines.append(f"{len(self.returns):,} return/cancellation rows in report.returns")
        lines += list(self.notes)
        return "\n".join(lines)


def _resolve_columns(
    schema: pl.Schema, preset: Preset | None, columns: Mapping[str, str] | None
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if preset is not None:
        mapping.update(preset.columns)
    if columns:
        unknown = set(columns) - set(C.CANONICAL)
        if unknown:
            raise InputDataError(
                f"columns= keys must be canonical names {list(C.CANONICAL)}, got {sorted(unknown)}"
            )
        mapping.update(columns)
    for name in C.CANONICAL:  # a column already named canonically maps to itself
        if name not in mapping and name in schema:
            mapping[name] = name
    for name in (C.USER, C.ITEM, C.TIMESTAMP):
        if name not in mapping:
            raise InputDataError(
                f"no column for {name!r}: pass columns={{{name!r}: <your column>}}; "
                f"columns found: {list(schema)}"
            )
    missing = {canon: src for canon, src in mapping.items() if src not in schema}
    if missing:
        raise InputDataError(
            "mapped column(s) not in the table: "
            + ", ".join(f"{canon} -> {src!r}" for canon, src in missing.items())
            + f"; columns found: {list(schema)}"
        )
    return mapping


def _id_expr(src: str, dtype: pl.DataType, name: str) -> pl.Expr:
    col = pl.col(src)
    if dtype.is_integer() or dtype == pl.Null:
        return col.cast(pl.Int64).alias(name)
    if dtype.is_float():
        # pandas stores integer ids with missing values as floats: convert back exactly
        # (clean_purchases checks that every value is integral, see _id_checks).
        return col.fill_nan(None).cast(pl.Int64, strict=False).alias(name)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = col.cast(pl.String).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).alias(name)
    raise InputDataError(
        f"column {src!r} (for {name}) has dtype {dtype}; ids must be integers or strings"
    )


def _integer_ids(
    lf: pl.LazyFrame, schema: pl.Schema, mapping: dict[str, str]
) -> tuple[pl.LazyFrame, pl.Schema]:
    """Turn text user/item id columns whose every value is a canonical integer into Int64.

    Canonical: no sign but ``-``, no leading zeros, spaces or decimals, at most 18
    digits, so the conversion is lossless (``str(int(x)) == x``).
    """
    text_ids = [
        mapping[c] for c in (C.USER, C.ITEM) if c in mapping and schema[mapping[c]] == pl.String
    ]
    if not text_ids:
        return lf, schema
    flags = (
        lf.select(
            (pl.col(src).is_null() | pl.col(src).str.contains(_CANONICAL_INT)).all().alias(src)
            for src in dict.fromkeys(text_ids)
        )
        .collect()
        .row(0, named=True)
    )
    integers = [src for src, ok in flags.items() if ok]
    if integers:
        lf = lf.with_columns(pl.col(src).cast(pl.Int64) for src in integers)
        schema = lf.collect_schema()
    return lf, schema


def _id_checks(mapping: dict[str, str], schema: pl.Schema) -> list[pl.Expr]:
    """Facts about the id columns, computed in the same run as the cleaning.

    ``<canon>:whole``: every float id is a whole number; ``<canon>:floats``: float
    ids turned into integers; ``<canon>:trimmed``: text ids with spaces around them.
    """
    checks: list[pl.Expr] = []
    for canon in (C.USER, C.ITEM, C.ORDER):
        if canon not in mapping:
            continue
        src, dtype = mapping[canon], schema[mapping[canon]]
        col = pl.col(src)
        if dtype.is_float() and canon != C.ORDER:
            whole = col.is_null() | col.is_nan() | (col == col.floor())
            checks.append(whole.all().alias(f"{canon}:whole"))
            checks.append(col.fill_nan(None).count().alias(f"{canon}:floats"))
        if dtype == pl.String:
            stripped = col.str.strip_chars()  # a blank id is missing, not trimmed
            trimmed = (col != stripped) & (stripped != "")
            checks.append(trimmed.sum().alias(f"{canon}:trimmed"))
    return checks


def _apply_id_checks(facts: dict[str, Any], mapping: dict[str, str]) -> None:
    """Raise on fractional float ids, warn on lossy conversions."""
    for canon in (C.USER, C.ITEM, C.ORDER):
        src = mapping.get(canon)
        if facts.get(f"{canon}:whole") is False:
            raise InputDataError(
                f"column {src!r} holds non-integer numbers; ids must be integers or strings "
                "(cast the column to string if the decimals are meaningful)"
            )
        if facts.get(f"{canon}:floats"):
            warnings.warn(
                f"column {src!r} ({canon}) holds float numbers: {facts[f'{canon}:floats']:,} "
                "ids converted to integers (1.0 -> 1); read the ids as text to keep their form",
                DataWarning,
                stacklevel=3,
            )
        if facts.get(f"{canon}:trimmed"):
            n = facts[f"{canon}:trimmed"]
            warnings.warn(
                f"column {src!r} ({canon}): spaces trimmed around {n:,} ids",
                DataWarning,
                stacklevel=3,
            )


def _number_expr(src: str, dtype: pl.DataType, name: str) -> pl.Expr:
    """The column as Float64, null where it is missing, not a number, NaN or infinite."""
    col = pl.col(src)
    if dtype.is_numeric() or dtype == pl.Null:
        number = col.cast(pl.Float64)
    elif dtype == pl.String:
        number = col.str.strip_chars().cast(pl.Float64, strict=False)
    else:
        raise InputDataError(f"column {src!r} (for {name}) has dtype {dtype}; expected numbers")
    return pl.when(number.is_finite()).then(number).alias(name)


def _drop_reason(has_order: bool, has_price: bool, cancellation_prefix: str | None) -> pl.Expr:
    rules: list[tuple[str, pl.Expr]] = [
        ("missing_user", pl.col(C.USER).is_null()),
        ("missing_item", pl.col(C.ITEM).is_null()),
        ("invalid_timestamp", pl.col(C.TIMESTAMP).is_null()),
        ("invalid_quantity", pl.col(C.QUANTITY).is_null()),
    ]
    if has_order and cancellation_prefix:
        rules.append(
            ("cancellation", pl.col(C.ORDER).str.starts_with(cancellation_prefix).fill_null(False))
        )
    rules.append(("non_positive_quantity", pl.col(C.QUANTITY) <= 0))
    if has_price:
        rules += [
            ("invalid_price", pl.col(C.PRICE).is_null()),
            ("negative_price", pl.col(C.PRICE) < 0),
        ]
    # A small integer code per row (0 = kept, i + 1 = DROP_REASONS[i]) is much cheaper
    # to build, filter and count than a string per row.
    reason: pl.Expr = pl.lit(0, dtype=pl.UInt8)
    for reason_name, condition in reversed(rules):  # the first rule failed wins
        code = pl.lit(DROP_REASONS.index(reason_name) + 1, dtype=pl.UInt8)
        reason = pl.when(condition).then(code).otherwise(reason)
    return reason.alias("_drop_reason")


def _exact_duplicates(frame: pl.DataFrame) -> pl.Series:
    """Boolean mask of rows identical to an earlier row.

    Rows are compared exactly, but only among the few whose 64-bit row hash repeats:
    hashing every row is far cheaper in time and memory than grouping whole rows.
    """
    hashes = frame.hash_rows(seed=0)
    ordered = np.sort(hashes.to_numpy())
    repeated = sorted_unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    mask = np.zeros(frame.height, dtype=bool)
    if repeated.size == 0:
        return pl.Series("duplicate", mask)
    candidates = np.flatnonzero(hashes.is_in(pl.Series(repeated).implode()).to_numpy())
    del hashes
    subset = frame[candidates]
    later = ~subset.select(pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()
    mask[candidates[later]] = True
    return pl.Series("duplicate", mask)


def clean_purchases(
    source: FrameLike,
    *,
    columns: Mapping[str, str] | None = None,
    preset: str | None = None,
    keep_returns: bool = False,
    drop_duplicates: bool = False,
    keep_columns: Sequence[str] = (),
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    max_invalid_share: float = MAX_INVALID_SHARE,
    cancellation_prefix: str | None = None,
    encoding: str | None = None,
    separator: str | None = None,
) -> tuple[pl.DataFrame, CleaningReport]:
    """Clean an orders table into canonical purchases, with an account of every row.

    Each input row is either kept or counted under exactly one reason of
    `DROP_REASONS` (the first rule it fails, in that order):

    - ``missing_user`` / ``missing_item``: null or empty id;
    - ``invalid_timestamp``: null or unparseable time;
    - ``invalid_quantity``: null, non-numeric, NaN or infinite quantity;
    - ``cancellation``: order id starts with the cancellation prefix
      (``"C"`` for the Online Retail presets);
    - ``non_positive_quantity``: quantity <= 0 (returns and adjustments);
    - ``invalid_price`` / ``negative_price``: null, non-numeric, NaN or infinite,
      or negative price
      (a price of 0, a free item, is kept);
    - ``duplicate``: exact copy of an earlier kept row, only with
      ``drop_duplicates=True``. By default exact duplicates are **kept** (a shop
      can sell the same line twice) and only counted in ``exact_duplicates``.

    Parameters
    ----------
    source
        A polars DataFrame or LazyFrame, a pandas DataFrame, or the path of a file
        read by `recsys.data.read.read_table`: CSV/TSV (separator and
        decimal comma detected, optionally gzip- or zstd-compressed), Parquet or
        Excel. Lazy and Parquet inputs are processed with polars' streaming
        engine. From a file, the id columns (user, item, order) are read as text;
        user and item ids become integers only when every value is a canonical
        integer (no leading zeros, spaces or ``.0``), so ids such as
        ``0000013085`` or ``A-17`` come out exactly as written.
    columns
        Canonical name -> your column name, e.g. ``{"user_id": "CustomerID"}``.
        Columns already named canonically need no entry. ``order_id``, ``price``
        and ``quantity`` are optional (a missing quantity means 1 per row).
    preset
        ``"online_retail"``, ``"online_retail_ii"``, ``"ta_feng"`` or
        ``"complete_journey"``: known column names and rules; ``columns=``
        entries override it.
    keep_returns
        Keep cancellation and non-positive-quantity rows in the output, flagged
        by a boolean ``is_return`` column (quantity stays negative). They are
        always available as ``report.returns``.
    drop_duplicates
        Remove exact duplicate rows (counted as ``duplicate``).
    keep_columns
        Extra source columns to carry through unchanged (e.g. ``"Country"``).
    timestamp_format
        strftime format of timestamp strings, or for numbers one of ``"unix_s"``,
        ``"unix_ms"``, ``"unix_us"``, ``"unix_ns"``, ``"excel"`` (serial day
        numbers), ``"yyyymmdd"``. By default it is decided from *all* the distinct
        values (see `recsys.data.timestamps`): the preset's format if it reads
        every value, else the format of `TIMESTAMP_FORMATS` reading the most;
        numbers by magnitude. A trailing ``Z`` or offset is dropped, keeping the
        local clock time.
    dayfirst
        ``True``: ``01/12/2009`` is 1 December; ``False``: 12 January. Needed only
        when every value reads both ways (otherwise `InputDataError`).
    max_invalid_share
        Share of non-empty timestamp values that may fail to parse with the chosen
        format (default 0.1%): such rows are dropped as ``invalid_timestamp`` with a
        `DataWarning` showing examples; more is an `InputDataError`.
    cancellation_prefix
        Order-id prefix that marks cancellations (overrides the preset).
    encoding
        Text encoding of a CSV file (default UTF-8, with or without BOM), e.g.
        ``"latin-1"``.
    separator
        CSV separator (default: detected among ``,`` ``;`` tab ``|``).

    Returns
    -------
    purchases : pl.DataFrame
        Columns ``user_id, item_id, [order_id], timestamp, quantity, [price],
        [is_return], *keep_columns``, rows in input order.
    report : CleaningReport

    Raises
    ------
    InputDataError
        Unknown preset, missing or unmapped column (the message lists the columns
        found), empty table, a column whose type cannot be converted, ambiguous or
        unparseable timestamps, a file that does not exist or cannot be parsed.

    Warns
    -----
    DataWarning
        A lossy id conversion (float ids, spaces trimmed), or timestamp values
        dropped under ``max_invalid_share``.

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> orders = pl.DataFrame({
    ...     "customer": [1, 1, 2, None],
    ...     "sku": ["A", "B", "A", "C"],
    ...     "when": ["2024-01-05", "2024-01-05", "2024-02-01", "2024-02-03"],
    ...     "qty": [2, -1, 1, 1],
    ... })
    >>> purchases, report = rs.clean_purchases(
    ...     orders, columns={"user_id": "customer", "item_id": "sku",
    ...                      "timestamp": "when", "quantity": "qty"})
    >>> purchases.height, report.dropped["missing_user"], report.dropped["non_positive_quantity"]
    (2, 1, 1)
    """
    check_param("preset", preset, InstanceOf(str, "a preset name"), None)
    if columns is not None and not isinstance(columns, Mapping):
        raise InputDataError(
            f"columns must map canonical names to yours (a dict), got {type(columns).__name__}"
        )
    preset_obj = get_preset(preset) if preset is not None else None
    id_names = (C.USER, C.ITEM, C.ORDER)
    string_columns = set(id_names)
    if preset_obj is not None:
        string_columns |= set(preset_obj.string_ids)
        string_columns |= {preset_obj.columns[c] for c in id_names if c in preset_obj.columns}
    string_columns |= {columns[c] for c in id_names if columns and c in columns}
    from_file = isinstance(source, (str, os.PathLike))

    def guard() -> AbstractContextManager[None]:
        return reading(str(source)) if from_file else nullcontext()

    lf = to_lazyframe(source, string_columns, encoding=encoding, separator=separator)
    try:
        schema = lf.collect_schema()
    except pl.exceptions.PolarsError as err:
        raise InputDataError(f"could not read the purchases table: {err}") from err
    mapping = _resolve_columns(schema, preset_obj, columns)
    has_order, has_price = C.ORDER in mapping, C.PRICE in mapping
    prefix = cancellation_prefix or (preset_obj.cancellation_prefix if preset_obj else None)
    # A preset's format is preferred, not imposed: exports of the same data differ.
    preset_format = preset_obj.timestamp_format if preset_obj else None

    clash = set(keep_columns) & {*C.CANONICAL, C.IS_RETURN}
    if clash:
        raise InputDataError(f"keep_columns must not use canonical names: {sorted(clash)}")
    absent = [c for c in keep_columns if c not in schema]
    if absent:
        raise InputDataError(f"keep_columns not in the table: {absent}; found {list(schema)}")

    with guard():
        if from_file and is_text_table(str(source)):  # ids read as text: ints if lossless
            lf, schema = _integer_ids(lf, schema, mapping)
        parsed = parse_timestamps(
            lf,
            mapping[C.TIMESTAMP],
            schema[mapping[C.TIMESTAMP]],
            timestamp_format=timestamp_format,
            dayfirst=dayfirst,
            preferred=preset_format,
            max_invalid_share=max_invalid_share,
        )
    ts_expr, used_format = parsed.expr.alias(C.TIMESTAMP), parsed.format
    exprs = [
        _id_expr(mapping[C.USER], schema[mapping[C.USER]], C.USER),
        _id_expr(mapping[C.ITEM], schema[mapping[C.ITEM]], C.ITEM),
    ]
    if has_order:
        exprs.append(pl.col(mapping[C.ORDER]).cast(pl.String).str.strip_chars().alias(C.ORDER))
    exprs.append(ts_expr)
    notes: list[str] = []
    if C.QUANTITY in mapping:
        exprs.append(_number_expr(mapping[C.QUANTITY], schema[mapping[C.QUANTITY]], C.QUANTITY))
    else:
        exprs.append(pl.lit(1.0, dtype=pl.Float64).alias(C.QUANTITY))
        notes.append("no quantity column: every row counts as quantity 1")
    if has_price:
        exprs.append(_number_expr(mapping[C.PRICE], schema[mapping[C.PRICE]], C.PRICE))
    exprs += [pl.col(c) for c in keep_columns]
    canonical = lf.select(exprs)
    if has_price and preset_obj is not None and preset_obj.price_is_line_total:
        canonical = canonical.with_columns(pl.col(C.PRICE) / pl.col(C.QUANTITY).abs())
        notes.append("unit price derived as line total / quantity")

    flagged = canonical.with_columns(_drop_reason(has_order, has_price, prefix))
    return_codes = [DROP_REASONS.index(r) + 1 for r in _RETURN_REASONS]
    is_return = pl.col("_drop_reason").is_in(return_codes)
    kept_rule = pl.col("_drop_reason") == 0
    if keep_returns:
        kept_rule = kept_rule | is_return

    counts_q = flagged.group_by("_drop_reason").agg(pl.len().alias("n"))
    returns_q = flagged.filter(is_return).drop("_drop_reason")
    output_q = flagged.filter(kept_rule)
    output_q = (
        output_q.with_columns(is_return.alias(C.IS_RETURN)).drop("_drop_reason")
        if keep_returns
        else output_q.drop("_drop_reason")
    )
    if keep_returns:
        base = [c for c in canonical.collect_schema() if c not in keep_columns]
        output_q = output_q.select([*base, C.IS_RETURN, *keep_columns])
    id_checks = _id_checks(mapping, schema)
    queries = [counts_q, returns_q, output_q]
    if id_checks:
        queries.append(lf.select(id_checks))
    try:
        # One run for all queries: polars shares the scan between them.
        with guard():
            counts, returns, output, *checks = pl.collect_all(queries, engine="streaming")
    except pl.exceptions.PolarsError as err:
        raise InputDataError(f"could not convert the purchases table: {err}") from err
    if checks:
        _apply_id_checks(checks[0].row(0, named=True), mapping)

    count_by_reason = {
        (DROP_REASONS[code - 1] if code else None): n
        for code, n in zip(counts["_drop_reason"].to_list(), counts["n"].to_list(), strict=True)
    }
    rows_in = sum(count_by_reason.values())
    if rows_in == 0:
        raise InputDataError("the purchases table is empty (0 rows)")
    _check_convertible(count_by_reason, rows_in, mapping, schema)

    dropped = {reason: 0 for reason in DROP_REASONS}
    for reason, n in count_by_reason.items():
        if reason is not None and not (keep_returns and reason in _RETURN_REASONS):
            dropped[reason] += n
    duplicate = _exact_duplicates(output)
    exact_duplicates = int(duplicate.sum())
    if drop_duplicates and exact_duplicates:
        output = output.filter(~duplicate)
        dropped["duplicate"] = exact_duplicates
    del duplicate

    # one query, so polars computes the distinct counts in parallel
    summary = output.select(
        pl.col(C.USER).n_unique().alias("n_users"),
        pl.col(C.ITEM).n_unique().alias("n_items"),
        (pl.col(C.ORDER) if has_order else pl.lit(None)).n_unique().alias("n_orders"),
        pl.col(C.TIMESTAMP).min().alias("first"),
        pl.col(C.TIMESTAMP).max().alias("last"),
    ).row(0, named=True)
    report = CleaningReport(
        rows_in=rows_in,
        rows_out=output.height,
        dropped=dropped,
        exact_duplicates=exact_duplicates,
        returns=returns,
        n_users=summary["n_users"],
        n_items=summary["n_items"],
        n_orders=summary["n_orders"] if has_order else None,
        first_timestamp=summary["first"],
        last_timestamp=summary["last"],
        timestamp_format=used_format,
        columns={k: mapping[k] for k in C.CANONICAL if k in mapping},
        notes=tuple(notes),
    )
    assert report.rows_in == report.rows_out + report.rows_dropped
    return output, report


def _check_convertible(
    count_by_reason: dict[Any, int], rows_in: int, mapping: dict[str, str], schema: pl.Schema
) -> None:
    """A text column where *every* row reaching its rule failed conversion is a wrong type."""
    checked = (
        ("invalid_timestamp", C.TIMESTAMP),
        ("invalid_quantity", C.QUANTITY),
        ("invalid_price", C.PRICE),
    )
    for reason, canon in checked:
        # only text can fail to convert; nulls in a typed column are just missing values
        if canon not in mapping or schema[mapping[canon]] != pl.String:
            continue
        earlier = DROP_REASONS[: DROP_REASONS.index(reason)]
        reached = rows_in - sum(n for r, n in count_by_reason.items() if r in earlier)
        failed = count_by_reason.get(reason, 0)
        if failed and failed == reached:
            raise InputDataError(
                f"column {mapping[canon]!r} ({canon}, dtype {schema[mapping[canon]]}): no value "
                "could be converted; check the column mapping"
                + (" or pass timestamp_format=" if canon == C.TIMESTAMP else "")
            )
