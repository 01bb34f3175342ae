"""clean_purchases drops the item ids that are not products (postage, fees, ...), counted."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import recsys as rs
from recsys.data.presets import ONLINE_RETAIL_NON_PRODUCTS, PRESETS
from recsys.exceptions import InputDataError
from tests.conftest import shared_dataset

NON_PRODUCTS = list(ONLINE_RETAIL_NON_PRODUCTS)
#: Product codes: five digits and an optional letter suffix (``85123A``, ``15056bl``).
PRODUCT_CODE = r"^\d{5}[A-Za-z]{0,2}$"
#: Codes of another shape that are goods, kept (see recsys.data.presets).
KEPT_EXCEPTIONS = r"^(DCGS\w+|PADS|SP1002)$"


def _orders(items: list[object]) -> pl.DataFrame:
    n = len(items)
    return pl.DataFrame(
        {
            "user_id": list(range(n)),
            "item_id": items,
            "timestamp": ["2024-01-05"] * n,
            "quantity": [1.0] * n,
        }
    )


def test_presets_drop_the_online_retail_non_products(online_retail_raw: pl.DataFrame) -> None:
    purchases, report = rs.clean_purchases(online_retail_raw, preset="online_retail")
    # counted with plain polars: a row with a customer and a listed code (every time,
    # quantity and price of the bundled table is valid, so no earlier rule applies)
    with_customer = online_retail_raw.filter(pl.col("CustomerID").is_not_null())
    listed = pl.col("StockCode").str.strip_chars().is_in(NON_PRODUCTS)
    cancelled = pl.col("InvoiceNo").str.starts_with("C")
    assert report.dropped["non_product"] == with_customer.filter(listed).height > 0
    assert report.dropped["cancellation"] == with_customer.filter(~listed & cancelled).height
    assert report.rows_out == with_customer.filter(~listed & ~cancelled).height
    assert report.rows_in == report.rows_out + report.rows_dropped == online_retail_raw.height
    assert not purchases["item_id"].is_in(NON_PRODUCTS).any()
    assert not report.returns["item_id"].is_in(NON_PRODUCTS).any()  # a postage refund is no return
    assert "non_product rows by item: POST " in str(report)
    assert PRESETS["online_retail_ii"].non_product_items == frozenset(NON_PRODUCTS)


def test_an_empty_list_keeps_them_and_a_list_replaces_the_preset_s(
    online_retail_raw: pl.DataFrame,
) -> None:
    raw = online_retail_raw.filter(pl.col("CustomerID").is_not_null())
    purchases, report = rs.clean_purchases(raw, preset="online_retail", non_product_items=())
    assert report.dropped["non_product"] == 0
    assert set(purchases["item_id"]) >= {"POST", "M", "C2"}
    purchases, report = rs.clean_purchases(raw, preset="online_retail", non_product_items={"POST"})
    assert report.dropped["non_product"] == raw.filter(pl.col("StockCode") == "POST").height
    assert "POST" not in set(purchases["item_id"])
    assert {"M", "C2"} <= set(purchases["item_id"])


def test_own_file_without_preset_text_and_integer_ids() -> None:
    with pytest.warns(rs.DataWarning, match="spaces trimmed"):
        purchases, report = rs.clean_purchases(_orders(["A", "POSTAGE", " fee ", "B"]))
    assert report.dropped["non_product"] == 0  # no preset: nothing is assumed
    with pytest.warns(rs.DataWarning, match="spaces trimmed"):
        purchases, report = rs.clean_purchases(
            _orders(["A", "POSTAGE", " fee ", "B"]), non_product_items=["POSTAGE", "fee"]
        )
    assert purchases["item_id"].to_list() == ["A", "B"]
    assert report.dropped["non_product"] == 2
    assert report.n_items == 2
    # integer ids: 123 and "123" name the same item; other text can match nothing
    with pytest.warns(rs.DataWarning, match="'POST' matches no item id"):
        purchases, report = rs.clean_purchases(
            _orders([7, 123, 8, 9]), non_product_items=[123, "9", "POST"]
        )
    assert purchases["item_id"].to_list() == [7, 8]
    assert report.dropped["non_product"] == 2
    # case is kept: "m" is not "M"
    purchases, _ = rs.clean_purchases(_orders(["M", "m"]), non_product_items={"M"})
    assert purchases["item_id"].to_list() == ["m"]


def _data_warnings(**kwargs: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rs.clean_purchases(**kwargs)  # type: ignore[arg-type]
    return [str(w.message) for w in caught if issubclass(w.category, rs.DataWarning)]


def test_listed_ids_that_match_no_item_are_named_in_one_warning() -> None:
    # integer ids: "POST" and "0123" can match nothing, 123 and "9" match
    found = _data_warnings(
        source=_orders([7, 123, 8, 9]), non_product_items=[123, "9", "POST", "0123"]
    )
    assert found == [
        "non_product_items: '0123', 'POST' match no item id of the table and drop no row (the "
        "item ids are integers here); check their spelling and case"
    ]
    # text ids, case kept: "post" is not "POST"; an id whose only row is dropped earlier
    # (no customer) still matches an item
    frame = _orders(["A", "POST", "B"]).with_columns(user_id=pl.Series([1, None, 2]))
    assert _data_warnings(source=frame, non_product_items=["POST"]) == []
    (message,) = _data_warnings(source=frame, non_product_items=["post", "A"])
    assert message.startswith("non_product_items: 'post' matches no item id")
    assert "integers" not in message
    # at most ten named, then a count
    (message,) = _data_warnings(source=frame, non_product_items=[f"X{i:02d}" for i in range(13)])
    assert "'X09' and 3 more match no item id" in message
    assert "'X10'" not in message


def test_a_preset_s_own_codes_need_not_occur(online_retail_raw: pl.DataFrame) -> None:
    raw = online_retail_raw.filter(pl.col("CustomerID").is_not_null())
    absent = set(NON_PRODUCTS) - set(raw["StockCode"].str.strip_chars())
    assert absent  # the preset lists codes this file lacks, and says nothing of them
    assert _data_warnings(source=raw, preset="online_retail") == []
    # the user's ids are checked; the preset's codes among them are not
    listed = [*NON_PRODUCTS, "POSTAGE"]
    (message,) = _data_warnings(source=raw, preset="online_retail", non_product_items=listed)
    assert message.startswith("non_product_items: 'POSTAGE' matches no item id")


def test_non_product_comes_after_the_validity_rules() -> None:
    frame = _orders(["POST", "POST", "POST"]).with_columns(
        user_id=pl.Series([None, 1, 2]), timestamp=pl.Series(["2024-01-05", "2024-01-05", None])
    )
    _, report = rs.clean_purchases(frame, non_product_items={"POST"})
    assert report.dropped["missing_user"] == 1
    assert report.dropped["invalid_timestamp"] == 1
    assert report.dropped["non_product"] == 1


@pytest.mark.parametrize(
    "bad", ["POST", b"POST", {"POST": "postage"}, 3, [None], [True], [""], ["  "], [1.5]]
)
def test_a_bad_non_product_items_is_a_typed_error(bad: object) -> None:
    with pytest.raises(InputDataError, match="non_product_items must"):
        rs.clean_purchases(_orders(["A"]), non_product_items=bad)  # type: ignore[arg-type]


def test_the_list_matches_the_shared_online_retail_files() -> None:
    """Every listed code occurs; every code that is not product-shaped is listed or kept."""
    codes = set()
    for name in ("online_retail", "online_retail_ii"):
        raw = shared_dataset(name)
        codes |= set(raw["StockCode"].cast(pl.String).str.strip_chars().unique().to_list())
    assert set(NON_PRODUCTS) <= codes
    every = pl.Series(sorted(codes))
    odd = every.filter(~every.str.contains(PRODUCT_CODE))
    unlisted = odd.filter(~odd.is_in(NON_PRODUCTS) & ~odd.str.contains(KEPT_EXCEPTIONS))
    assert unlisted.to_list() == []
