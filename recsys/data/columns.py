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
========== ========================= =========================================
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

SCORE: Final = "score"
RANK: Final = "rank"

REQUIRED: Final = (USER, ITEM, TIMESTAMP, QUANTITY)
OPTIONAL: Final = (ORDER, PRICE)
CANONICAL: Final = (USER, ITEM, ORDER, TIMESTAMP, QUANTITY, PRICE)
