"""Column presets for known purchase-history datasets."""

from __future__ import annotations

from dataclasses import dataclass, field

from recsys.exceptions import InputDataError

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """How a known dataset maps onto the canonical purchase columns.

    Attributes
    ----------
    columns
        Canonical name -> source column name.
    cancellation_prefix
        Order ids starting with this string are cancellations (returns).
    timestamp_format
        strftime format of the timestamp strings, when known.
    price_is_line_total
        The price column holds the line total (unit price x quantity), as in
        Ta-Feng's ``SALES_PRICE``; the canonical unit price is derived from it.
    string_ids
        Source columns to read as strings even when they look numeric
        (zero-padded ids).
    """

    columns: dict[str, str]
    cancellation_prefix: str | None = None
    timestamp_format: str | None = None
    price_is_line_total: bool = False
    string_ids: tuple[str, ...] = field(default_factory=tuple)


PRESETS: dict[str, Preset] = {
    "online_retail": Preset(
        columns={
            "user_id": "CustomerID",
            "item_id": "StockCode",
            "order_id": "InvoiceNo",
            "timestamp": "InvoiceDate",
            "quantity": "Quantity",
            "price": "UnitPrice",
        },
        cancellation_prefix="C",
        timestamp_format="%Y-%m-%d %H:%M:%S",
        string_ids=("InvoiceNo", "StockCode"),
    ),
    "online_retail_ii": Preset(
        columns={
            "user_id": "Customer ID",
            "item_id": "StockCode",
            "order_id": "Invoice",
            "timestamp": "InvoiceDate",
            "quantity": "Quantity",
            "price": "Price",
        },
        cancellation_prefix="C",
        timestamp_format="%Y-%m-%d %H:%M:%S",
        string_ids=("Invoice", "StockCode"),
    ),
    "ta_feng": Preset(
        columns={
            "user_id": "CUSTOMER_ID",
            "item_id": "PRODUCT_ID",
            "timestamp": "TRANSACTION_DT",
            "quantity": "AMOUNT",
            "price": "SALES_PRICE",
        },
        timestamp_format="%m/%d/%Y",
        price_is_line_total=True,
        string_ids=("CUSTOMER_ID", "PRODUCT_ID", "PRODUCT_SUBCLASS"),
    ),
    "complete_journey": Preset(
        columns={
            "user_id": "household_id",
            "item_id": "product_id",
            "order_id": "basket_id",
            "timestamp": "transaction_timestamp",
            "quantity": "quantity",
            "price": "sales_value",
        },
        price_is_line_total=True,
        string_ids=("basket_id",),
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; raises `InputDataError` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputDataError(
            f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}"
        ) from None
