"""The job's input: a purchases file or frame, read and cleaned, with product names.

`load_purchases` cleans any file or frame (with the cleaning account) and keeps
product names from a description column when there is one; `load_online_retail`
is the same on the bundled UCI Online Retail data (``recsys demo``). Both keep the
return and cancellation rows, flagged ``is_return`` (`returns_note` says what the job
does with them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from recsys.data import CleaningReport, clean_purchases
from recsys.data import columns as C
from recsys.data.presets import get_preset
from recsys.exceptions import InputDataError

__all__ = [
    "JOB_RETURNS_USE",
    "ONLINE_RETAIL_PRESET",
    "item_names",
    "load_online_retail",
    "load_purchases",
    "returns_note",
]

ONLINE_RETAIL_PRESET = "online_retail"

#: Description columns used for product names when the input has one.
DESCRIPTION_COLUMNS = ("Description", "description", "product_name", "ProductName", "name")


def item_names(purchases: pl.DataFrame, column: str) -> pl.DataFrame:
    """``item_id, name``: the most frequent non-empty description of each item.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"item_id": ["a", "a", "a", "b"],
    ...                       "Description": ["MUG", "MUG", "mug?", None]})
    >>> item_names(frame, "Description").rows()
    [('a', 'MUG')]
    """
    return (
        purchases.select(C.ITEM, pl.col(column).cast(pl.String).str.strip_chars().alias("name"))
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .group_by(C.ITEM, "name")
        .len()
        .sort(C.ITEM, "len", "name", descending=[False, True, False])
        .unique(C.ITEM, keep="first", maintain_order=True)
        .select(C.ITEM, "name")
    )


def _description_column(source: Any, clean_options: Mapping[str, Any]) -> str | None:
    """The first of `DESCRIPTION_COLUMNS` in the input (None when it has none)."""
    from recsys.data.sources import to_lazyframe

    try:
        found = list(
            to_lazyframe(
                source,
                set(),
                encoding=clean_options.get("encoding"),
                separator=clean_options.get("separator"),
            ).collect_schema()
        )
    except Exception:  # unreadable: clean_purchases reports it properly
        return None
    mapped = set((clean_options.get("columns") or {}).values())
    for name in DESCRIPTION_COLUMNS:
        if name not in mapped and name in found:
            return name
    return None


def load_purchases(
    source: Any, *, description: str | None = None, **clean_options: Any
) -> tuple[pl.DataFrame, CleaningReport, pl.DataFrame | None]:
    """Clean ``source`` (a path or a frame); product names from ``description``.

    ``description=None`` uses the ``item_name`` mapped in ``columns`` or else looks for a
    column of `DESCRIPTION_COLUMNS`; ``description=""`` uses none. The names are read
    by `recsys.clean_purchases` as ``item_name`` (case kept, one name per item, items
    with several names counted). Returns purchases (without the names), the cleaning
    report and ``item_id, name`` (or None). A ``description`` that is not a column of
    the input is an error naming it.

    Return and cancellation rows are kept, flagged ``is_return``
    (``clean_purchases(keep_returns=True)``): the job nets them where it measures
    spend after the evaluation cutoff and leaves them out everywhere else
    (`returns_note`).
    """
    columns = dict(clean_options.pop("columns", None) or {})
    if description is None and C.ITEM_NAME not in columns:
        description = _description_column(source, {**clean_options, "columns": columns})
    if description:
        columns[C.ITEM_NAME] = description
    try:
        purchases, report = clean_purchases(
            source, columns=columns or None, keep_returns=True, **clean_options
        )
    except InputDataError as err:
        if description and repr(description) in str(err) and C.ITEM_NAME in str(err):
            raise InputDataError(
                f"the product-name column {description!r} (description) is not in the input"
            ) from None
        raise
    names = None
    if C.ITEM_NAME in purchases.columns:
        names = item_names(purchases, C.ITEM_NAME)
        purchases = purchases.drop(C.ITEM_NAME)
    return purchases, report, names


def load_online_retail(
    *, sample_users: int | None = None, seed: int = 0
) -> tuple[pl.DataFrame, CleaningReport, pl.DataFrame | None]:
    """The bundled UCI Online Retail data, cleaned, with product names.

    ``sample_users`` keeps the rows of that many customers drawn at random (``seed``)
    among those with a purchase after cleaning, as the job draws them
    (`recsys.job.sampling.sample_customers`; a customer with only cancellations is never
    drawn), so the sample has exactly that many customers (or all of them, when there
    are fewer). The rows without a customer are kept, so the cleaning account stays
    representative; it is the account of the sample's rows. Finding the customers
    with a purchase takes one cleaning of the whole table before the sample's.

    Examples
    --------
    >>> purchases, report, names = load_online_retail(sample_users=50)
    >>> purchases.filter(~pl.col("is_return"))["user_id"].n_unique(), report.n_users
    (50, 50)
    >>> names.columns
    ['item_id', 'name']
    """
    from recsys.datasets import online_retail

    raw = online_retail()
    if sample_users is not None:
        raw = _sample_raw(raw, sample_users, seed)
    return load_purchases(raw, description="Description", preset=ONLINE_RETAIL_PRESET)


def _sample_raw(raw: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """The raw rows of ``n`` customers drawn by `recsys.job.sampling.sample_customers`
    among the customers with a purchase after cleaning, and the rows without a customer."""
    import warnings

    from recsys.job.sampling import sample_customers

    customer = get_preset(ONLINE_RETAIL_PRESET).columns[C.USER]  # the raw customer column
    with warnings.catch_warnings():  # the sample's own cleaning warns about its rows
        warnings.simplefilter("ignore")
        cleaned, _ = clean_purchases(raw, preset=ONLINE_RETAIL_PRESET)
    chosen = sample_customers(cleaned.select(C.USER), n, seed)[C.USER].unique()
    chosen = chosen.cast(raw.schema[customer])
    return raw.filter(pl.col(customer).is_in(chosen.implode()) | pl.col(customer).is_null())


#: What the main job (`recsys.job.run`) does with the return rows it is given.
JOB_RETURNS_USE = (
    "the spend measured after the evaluation cutoff (the campaign check) is net of the "
    "returns made in it; the profiles' return_rate counts them; no order or purchase "
    "count, profile spend, model or recommendation uses them"
)


def returns_note(report: CleaningReport, uses: str = JOB_RETURNS_USE) -> str | None:
    """What is done with the return rows the cleaning kept (None without any): ``uses``,
    by default the job's (`JOB_RETURNS_USE`). Their count is the cleaning account's
    (`CleaningReport.remarks`), not repeated here.

    `recsys.job.run` leaves them out of every order and purchase count, profile
    spend, model and recommendation; they count in the profiles' ``return_rate`` and,
    net, in the spend the campaign check measures after the evaluation cutoff
    (`recsys.job.campaign.campaign_backtest`).

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> frame = pl.DataFrame({"user_id": [1, 1], "item_id": ["a", "a"],
    ...     "timestamp": ["2024-01-02", "2024-01-03"], "quantity": [2.0, -1.0]})
    >>> _, report = rs.clean_purchases(frame, keep_returns=True)
    >>> print(returns_note(report))  # doctest: +NORMALIZE_WHITESPACE
    the return rows kept: the spend measured after the evaluation cutoff (the campaign
    check) is net of the returns made in it; the profiles' return_rate counts them; no
    order or purchase count, profile spend, model or recommendation uses them
    """
    return f"the return rows kept: {uses}" if report.returns_kept else None
