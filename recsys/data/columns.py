"""Canonical column names of a purchases table, in one place.

A *canonical purchases* frame (the output of `recsys.clean_purchases`) has
one row per purchased line item:

========== ========================= =========================================
column     dtype                     meaning
========== ========================= =========================================
user_id    Int64 or String           the customer
item_id    Int64 or String           the product (SKU, stock code)
order_id   String (optional)         the order / invoice / basket
timestamp  Datetime("us")            when, in the shop's local clock time
quantity   Float64                   units bought (> 0 for purchases)
price      Float64 (optional)        unit price (>= 0)
is_return  Boolean (optional)        present only with ``keep_returns=True``
item_name  String (optional)         the product's name, one per item_id
========== ========================= =========================================

Three more names can be mapped to your columns in ``clean_purchases(columns=...)``
without being canonical columns themselves: ``amount`` (a line total, quantity x
unit price: the unit ``price`` is derived from it), ``status`` (an order or line
status; the values that mean cancelled count as ``cancellation``) and
``item_name`` (kept, one name per item).
"""

from __future__ import annotations

from typing import Final

USER: Final = "user_id"
ITEM: Final = "item_id"
ORDER: Final = "order_id"
TIMESTAMP: Final = "timestamp"
QUANTITY: Final = "quantity"
PRICE: Final = "price"
IS_RETURN: Final = "is_return"
ITEM_NAME: Final = "item_name"
AMOUNT: Final = "amount"
STATUS: Final = "status"

SCORE: Final = "score"
RANK: Final = "rank"

REQUIRED: Final = (USER, ITEM, TIMESTAMP, QUANTITY)
OPTIONAL: Final = (ORDER, PRICE)
CANONICAL: Final = (USER, ITEM, ORDER, TIMESTAMP, QUANTITY, PRICE)
#: Names ``clean_purchases(columns=...)`` accepts: the canonical ones and three more.
MAPPABLE: Final = (*CANONICAL, AMOUNT, STATUS, ITEM_NAME)
