"""Clean any orders table into canonical purchases, accounting for every row removed."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import polars as pl

from recsys._text import counted
from recsys._validation import InstanceOf, check_param
from recsys.data import columns as C
from recsys.data.canonical import order_keys, without_returns
from recsys.data.clean_ids import apply_id_checks, id_checks, id_expr, integer_ids
from recsys.data.clean_rules import (
    CANCELLED,
    cancelled_expr,
    drop_reason,
    duplicate_rows,
    non_product_expr,
    non_product_ids,
    number_expr,
    one_name_per_item,
    warn_several_names,
    warn_unmatched_non_products,
)
from recsys.data.cleaning_report import DROP_REASONS, CleaningReport
from recsys.data.presets import PRESETS, Preset, get_preset, presets_for
from recsys.data.read import is_text_table, reading
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timestamps import MAX_INVALID_SHARE, TIMESTAMP_FORMATS, parse_timestamps
from recsys.exceptions import InputDataError, MissingColumnError

__all__ = [
    "DROP_REASONS",
    "MAX_INVALID_SHARE",
    "TIMESTAMP_FORMATS",
    "CleaningReport",
    "clean_purchases",
]

_RETURN_REASONS = ("cancellation", "non_positive_quantity")


def _resolve_columns(
    schema: pl.Schema, preset: Preset | None, columns: Mapping[str, str] | None
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if preset is not None:
        mapping.update(preset.columns)
    if columns:
        unknown = set(columns) - set(C.MAPPABLE)
        if unknown:
            raise InputDataError(
                f"columns= keys must be among {list(C.MAPPABLE)}, got {sorted(unknown)}"
            )
        if C.AMOUNT in columns and C.PRICE in columns:
            raise InputDataError(
                f"columns= maps both amount ({columns[C.AMOUNT]!r}, a line total) and price "
                f"({columns[C.PRICE]!r}, a unit price): map one of them"
            )
        mapping.update(columns)
    user_priced = bool(columns) and bool({C.PRICE, C.AMOUNT} & set(columns or ()))
    if preset is not None and preset.price_is_line_total and C.PRICE in mapping and not user_priced:
        mapping[C.AMOUNT] = mapping.pop(C.PRICE)  # the preset's "price" is a line total
    if C.AMOUNT in mapping:
        mapping.pop(C.PRICE, None)
    for name in C.CANONICAL:  # a column already named canonically maps to itself
        if name not in mapping and name in schema:
            mapping[name] = name
    unmapped = [name for name in (C.USER, C.ITEM, C.TIMESTAMP) if name not in mapping]
    if unmapped:
        raise MissingColumnError(
            unmapped, list(schema), [] if preset else presets_for(schema), given=columns
        )
    missing = {canon: src for canon, src in mapping.items() if src not in schema}
    if missing:
        fitting = [p for p in presets_for(schema) if PRESETS[p] is not preset]
        raise InputDataError(
            "mapped column(s) not in the table: "
            + ", ".join(f"{canon} -> {src!r}" for canon, src in missing.items())
            + f"; columns found: {list(schema)}"
            + "".join(f"; the table has the columns of preset={p!r}" for p in fitting[:1])
        )
    return mapping


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
    cancelled_status: Collection[str] | None = None,
    non_product_items: Collection[str | int] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
) -> tuple[pl.DataFrame, CleaningReport]:
    """Clean an orders table into canonical purchases, with an account of every row.

    Each input row is either kept or counted under exactly one reason of
    `DROP_REASONS` (the first rule it fails, in that order):

    - ``missing_user`` / ``missing_item``: null or empty id;
    - ``invalid_timestamp``: null or unparseable time;
    - ``invalid_quantity``: null, non-numeric, NaN or infinite quantity;
    - ``non_product``: the item is one of ``non_product_items`` (postage, fees,
      manual lines, ...: never a purchase, nor a return when cancelled);
    - ``cancellation``: order id starts with the cancellation prefix
      (``"C"`` for the Online Retail presets), or the mapped ``status`` is one
      of ``cancelled_status``;
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
        Three more names (see `recsys.data.columns`): ``amount``, a line total
        (quantity x unit price; the unit ``price`` is ``amount / |quantity|``,
        so spend is never inflated by the quantity, and ``amount`` itself on a
        zero-quantity line, a return row that adds nothing to spend; not together with
        ``price``); ``status``, an order or line status (see
        ``cancelled_status``); ``item_name``, the product name, kept with its
        case in an ``item_name`` column, one name per item id (the most
        frequent; items with several are counted in the report, with a
        `DataWarning`).
    preset
        ``"online_retail"``, ``"online_retail_ii"``, ``"ta_feng"`` or
        ``"complete_journey"``: known column names and rules; ``columns=``
        entries override it. The Online Retail presets drop the StockCodes that
        are not products (postage, carriage, fees, manual lines, discounts,
        adjustments, samples, tests, gift vouchers:
        `recsys.data.presets.ONLINE_RETAIL_NON_PRODUCTS`), since a shop never
        wants postage recommended; ``non_product_items=()`` keeps them.
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
        numbers by magnitude. A trailing ``Z`` or offset (and a datetime column's
        time zone) is dropped, keeping the local clock time, so a purchase stays on
        the shop's day; the report's notes count the values per offset.
    dayfirst
        ``True``: ``01/12/2009`` is 1 December; ``False``: 12 January. Needed only
        when every value reads both ways (otherwise `InputDataError`).
    max_invalid_share
        Share of non-empty timestamp values that may fail to parse with the chosen
        format (default 0.1%): such rows are dropped as ``invalid_timestamp`` with a
        `DataWarning` showing examples; more is an `InputDataError`.
    cancellation_prefix
        Order-id prefix that marks cancellations (overrides the preset).
    cancelled_status
        Values of the mapped ``status`` column (compared without case and
        surrounding spaces) that mean cancelled, returned or unavailable: such
        rows count as ``cancellation``. Default with a ``status`` column:
        `recsys.data.clean_rules.DEFAULT_CANCELLED_STATUS`.
    non_product_items
        Item ids that are not products (e.g. ``{"POSTAGE", "GIFTWRAP"}``; text or
        integers, compared with the cleaned ids, case kept): their rows are
        dropped as ``non_product``. Replaces the preset's list; default: the
        preset's list, or none without a preset. Listed ids that match no item
        id (the preset's own codes aside) are named in a `DataWarning`.
    encoding
        Text encoding of a CSV file (default UTF-8, with or without BOM), e.g.
        ``"latin-1"``.
    separator
        CSV separator (default: detected among ``,`` ``;`` tab ``|``).

    Returns
    -------
    purchases : pl.DataFrame
        Columns ``user_id, item_id, [order_id], timestamp, quantity, [price],
        [item_name], [is_return], *keep_columns``, rows in input order.
    report : CleaningReport

    Raises
    ------
    InputDataError
        Unknown preset, missing or unmapped column (the message lists the columns
        found), ``non_product_items`` that is not a collection of ids, empty table,
        a column whose type cannot be converted, ambiguous or unparseable
        timestamps, a file that does not exist or cannot be parsed.

    Warns
    -----
    DataWarning
        A lossy id conversion (float ids, spaces trimmed), timestamp values
        dropped under ``max_invalid_share``, or ``non_product_items`` that match
        no item id.

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
    >>> purchases, report = rs.clean_purchases(
    ...     orders, columns={"user_id": "customer", "item_id": "sku",
    ...                      "timestamp": "when", "quantity": "qty"}, non_product_items=["B"])
    >>> purchases["item_id"].to_list(), report.dropped["non_product"]
    (['A', 'A'], 1)
    """
    check_param("preset", preset, InstanceOf(str, "a preset name"), None)
    if columns is not None and not isinstance(columns, Mapping):
        raise InputDataError(
            f"columns must map canonical names to yours (a dict), got {type(columns).__name__}"
        )
    preset_obj = get_preset(preset) if preset is not None else None
    user_listed = non_product_items is not None
    if non_product_items is None:
        non_product_items = preset_obj.non_product_items if preset_obj else ()
    non_products = non_product_ids(non_product_items)
    # Only the user's own ids must occur: a preset lists the codes of two files.
    preset_ids = preset_obj.non_product_items if preset_obj else frozenset()
    checked = tuple(i for i in non_products if user_listed and i not in preset_ids)
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
    if cancelled_status is not None and C.STATUS not in mapping:
        raise InputDataError(
            "cancelled_status needs a status column: pass columns={'status': <your column>}"
        )
    has_order, has_status = C.ORDER in mapping, C.STATUS in mapping
    has_price = C.PRICE in mapping or C.AMOUNT in mapping
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
            lf, schema = integer_ids(lf, schema, mapping)
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
        id_expr(mapping[C.USER], schema[mapping[C.USER]], C.USER),
        id_expr(mapping[C.ITEM], schema[mapping[C.ITEM]], C.ITEM),
    ]
    if has_order:
        exprs.append(pl.col(mapping[C.ORDER]).cast(pl.String).str.strip_chars().alias(C.ORDER))
    exprs.append(ts_expr)
    notes: list[str] = [parsed.zones] if parsed.zones else []
    if C.QUANTITY in mapping:
        exprs.append(number_expr(mapping[C.QUANTITY], schema[mapping[C.QUANTITY]], C.QUANTITY))
    else:
        exprs.append(pl.lit(1.0, dtype=pl.Float64).alias(C.QUANTITY))
        notes.append("no quantity column: every row counts as quantity 1")
    price_source = mapping.get(C.PRICE, mapping.get(C.AMOUNT))
    if price_source is not None:
        exprs.append(number_expr(price_source, schema[price_source], C.PRICE))
    if C.ITEM_NAME in mapping:
        name = pl.col(mapping[C.ITEM_NAME]).cast(pl.String).str.strip_chars()
        exprs.append(pl.when(name != "").then(name).alias(C.ITEM_NAME))
    exprs += [pl.col(c) for c in keep_columns]
    if has_status:
        src = mapping[C.STATUS]
        exprs.append(cancelled_expr(src, schema[src], cancelled_status))
    canonical = lf.select(exprs)
    if C.AMOUNT in mapping:
        # a zero-quantity line (a return row: it adds nothing to spend) keeps its
        # amount as its price: amount / 0 would be a non-finite price
        quantity = pl.col(C.QUANTITY).abs()
        canonical = canonical.with_columns(
            pl.when(quantity > 0).then(pl.col(C.PRICE) / quantity).otherwise(pl.col(C.PRICE))
        )
        notes.append(f"unit price derived as line total ({mapping[C.AMOUNT]!r}) / quantity")

    item_dtype = canonical.collect_schema()[C.ITEM]
    non_product = non_product_expr(non_products, item_dtype)
    flagged = canonical.with_columns(
        drop_reason(has_order, has_price, prefix, has_status, non_product)
    )
    flagged = flagged.drop(CANCELLED, strict=False)
    canonical = canonical.drop(CANCELLED, strict=False)
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
    non_product_code = DROP_REASONS.index("non_product") + 1
    by_item_q = (
        flagged.filter(pl.col("_drop_reason") == non_product_code)
        .group_by(C.ITEM)
        .agg(pl.len().alias("n"))
    )
    facts = id_checks(mapping, schema)
    queries = [counts_q, returns_q, output_q, by_item_q]
    if facts:
        queries.append(lf.select(facts))
    checked_expr = non_product_expr(checked, item_dtype)
    if checked_expr is not None:  # the listed ids that occur, whatever their rows' fate
        queries.append(canonical.filter(checked_expr).select(pl.col(C.ITEM).unique()))
    try:
        # One run for all queries: polars shares the scan between them.
        with guard():
            counts, returns, output, by_item, *extra = pl.collect_all(queries, engine="streaming")
    except pl.exceptions.PolarsError as err:
        raise InputDataError(f"could not convert the purchases table: {err}") from err
    if facts:
        notes += apply_id_checks(extra[0].row(0, named=True), mapping)
    if checked_expr is not None:
        matched = {str(i) for i in extra[-1][C.ITEM].to_list()}
        unmatched = warn_unmatched_non_products(checked, matched, item_dtype.is_integer())
        if unmatched is not None:
            notes.append(unmatched)
    if by_item.height:
        notes.append(_non_product_note(by_item))

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
    several = 0
    if C.ITEM_NAME in mapping:
        # the names of purchase and return rows, each row once (kept returns are in output)
        named = [output] if keep_returns else [output, returns]
        both = pl.concat([f.select(C.ITEM, C.ITEM_NAME) for f in named])
        output, several = one_name_per_item(output, both)
        returns = one_name_per_item(returns, both)[0]
        several_note = warn_several_names(several, mapping[C.ITEM_NAME])
        if several_note is not None:
            notes.append(several_note)
    # Carried columns are not compared: a duplicate is the same purchase line twice.
    compared = [c for c in output.columns if c in (*C.CANONICAL, C.IS_RETURN)]
    duplicate = duplicate_rows(output.select(compared))
    exact_duplicates = int(duplicate.sum())
    if drop_duplicates and exact_duplicates:
        output = output.filter(~duplicate)
        dropped["duplicate"] = exact_duplicates
    del duplicate

    purchases = without_returns(output)
    # one query, so polars computes the distinct counts in parallel (returns aside)
    summary = purchases.select(
        pl.col(C.USER).n_unique().alias("n_users"),
        pl.col(C.ITEM).n_unique().alias("n_items"),
        pl.col(C.TIMESTAMP).min().alias("first"),
        pl.col(C.TIMESTAMP).max().alias("last"),
    ).row(0, named=True)
    # A group-by on the key columns, not n_unique of a struct: the struct's row encoding
    # held 1.8 GB more at 19M rows (benchmarks/RESULTS.md, bench_data.py).
    orders = purchases.lazy().group_by(C.USER, *order_keys(purchases)).len()
    n_orders = orders.select(pl.len()).collect().item()
    if output.height > purchases.height:  # kept returns: name the customers with no purchase
        only = output.select(pl.col(C.USER).n_unique()).item() - summary["n_users"]
        if only:
            notes.append(
                f"{counted(only, 'customer has', 'customers have')} only return rows "
                "(kept, flagged is_return): "
                "in no purchase count, so no profile or model built on purchases has them"
            )
    report = CleaningReport(
        rows_in=rows_in,
        rows_out=output.height,
        dropped=dropped,
        exact_duplicates=exact_duplicates,
        returns=returns,
        n_users=summary["n_users"],
        n_items=summary["n_items"],
        n_orders=n_orders,
        first_timestamp=summary["first"],
        last_timestamp=summary["last"],
        timestamp_format=used_format,
        columns={k: mapping[k] for k in C.MAPPABLE if k in mapping},
        notes=tuple(notes),
        items_with_several_names=several,
        returns_kept=output.height - purchases.height,
    )
    assert report.rows_in == report.rows_out + report.rows_dropped
    return output, report


def _non_product_note(by_item: pl.DataFrame, shown: int = 8) -> str:
    """``non_product rows by item: POST 1,099, M 290, ...``: the most frequent first."""
    ranked = by_item.with_columns(pl.col(C.ITEM).cast(pl.String)).sort(
        ["n", C.ITEM], descending=[True, False]
    )
    parts = [f"{item} {n:,}" for item, n in ranked.head(shown).iter_rows()]
    if ranked.height > shown:
        parts.append(f"{counted(ranked.height - shown, 'more item id')}")
    return "non_product rows by item: " + ", ".join(parts)


def _check_convertible(
    count_by_reason: dict[Any, int], rows_in: int, mapping: dict[str, str], schema: pl.Schema
) -> None:
    """A text column where *every* row reaching its rule failed conversion is a wrong type."""
    checked = (
        ("invalid_timestamp", C.TIMESTAMP),
        ("invalid_quantity", C.QUANTITY),
        ("invalid_price", C.AMOUNT if C.AMOUNT in mapping else C.PRICE),
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
