"""Column presets for known purchase-history datasets."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from recsys.exceptions import InputDataError

__all__ = [
    "ONLINE_RETAIL_NON_PRODUCTS",
    "PRESETS",
    "Preset",
    "get_preset",
    "presets_for",
]

#: The StockCodes of the UCI Online Retail and Online Retail II files that are not
#: products, with the reason (the file's own description, quoted). Decided from every
#: code of both files (``online_retail`` and ``online_retail_ii_2009_2010``; the second
#: sheet of Online Retail II is the ``online_retail`` file). Product codes are five
#: digits with an optional letter suffix; the exceptions kept as products are goods:
#: ``DCGS...`` (DotCom Gift Shop stock such as "BOXED GLASS ASHTRAY", "GIRLS PARTY BAG";
#: its rows named "ebay" or "update" are stock notes without a customer), ``PADS``
#: ("PADS TO MATCH ALL CUSHIONS", goods at a nominal price) and ``SP1002`` ("KID'S
#: CHALKBOARD/EASEL"). Product codes on stock-note rows ("adjustment", "damages",
#: "samples") stay: the code is a product, the row has no customer (``missing_user``).
ONLINE_RETAIL_NON_PRODUCTS: dict[str, str] = {
    # shipping
    "POST": "postage ('POSTAGE')",
    "DOT": "postage ('DOTCOM POSTAGE')",
    "C2": "carriage ('CARRIAGE')",
    "C3": "carriage: the code after C2 ('CARRIAGE'); its one row has no description",
    "23444": "carriage ('Next Day Carriage'), a product-shaped code",
    # fees and charges
    "BANK CHARGES": "fee ('Bank Charges')",
    "AMAZONFEE": "fee ('AMAZON FEE')",
    "CRUK": "fee ('CRUK Commission', a charity's commission)",
    "23574": "fee ('PACKING CHARGE'), a product-shaped code",
    "23702": "fee ('High Resolution Image', 1.50 to 21.00 a line), a product-shaped code",
    # manual lines, discounts, adjustments
    "M": "manual line ('Manual'): an amount typed in, not a product",
    "m": "manual line ('Manual')",
    "D": "discount ('Discount')",
    "B": "adjustment ('Adjust bad debt')",
    "ADJUST": "adjustment ('Adjustment by john on ...')",
    "ADJUST2": "adjustment ('Adjustment by Peter on ...')",
    # samples and tests
    "S": "samples ('SAMPLES')",
    "TEST001": "test ('This is a test product.')",
    "TEST002": "test ('This is a test product.')",
    # gift vouchers: stored value, not merchandise (the money comes back when redeemed)
    **{
        f"gift_0001_{value}": f"gift voucher ('Dotcomgiftshop Gift Voucher £{value}.00')"
        for value in (10, 20, 30, 40, 50, 60, 70, 80, 90)
    },
    "22016": "gift voucher ('Dotcomgiftshop Gift Voucher £100.00'), a product-shaped code",
    "GIFT": "gift voucher: the gift_0001_... family; its one row has no description",
}


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
    non_product_items
        Item ids that are not products (postage, fees, manual lines, ...): their
        rows are dropped as ``non_product`` unless `recsys.clean_purchases` is
        given ``non_product_items=`` itself.
    """

    columns: dict[str, str]
    cancellation_prefix: str | None = None
    timestamp_format: str | None = None
    price_is_line_total: bool = False
    string_ids: tuple[str, ...] = field(default_factory=tuple)
    non_product_items: frozenset[str] = frozenset()


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
        non_product_items=frozenset(ONLINE_RETAIL_NON_PRODUCTS),
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
        non_product_items=frozenset(ONLINE_RETAIL_NON_PRODUCTS),
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


def presets_for(columns: Collection[str]) -> list[str]:
    """The presets all of whose source columns are among ``columns`` (a table's).

    Examples
    --------
    >>> presets_for(["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate",
    ...              "Price", "Customer ID", "Country"])
    ['online_retail_ii']
    >>> presets_for(["member", "product", "date"])
    []
    """
    have = set(columns)
    return [name for name, preset in PRESETS.items() if set(preset.columns.values()) <= have]
