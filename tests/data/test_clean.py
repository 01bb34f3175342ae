"""Known-answer tests of clean_purchases on hand-made frames, and every error case."""

from __future__ import annotations

import gzip
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.data.clean import DROP_REASONS, TIMESTAMP_FORMATS
from recsys.exceptions import InputDataError
from tests._purchases import PURCHASE_SCHEMA

T0 = "2024-01-05 10:00:00"
COLUMNS = {
    "user_id": "customer",
    "item_id": "sku",
    "order_id": "order",
    "timestamp": "when",
    "quantity": "qty",
    "price": "unit_price",
}


def _orders() -> pl.DataFrame:
    """One row per drop reason (and a few kept rows); ``expected`` says which."""
    rows = [
        # customer, sku, order, when, qty, unit_price, expected
        (1, "A", "1", T0, 2.0, 1.0, None),
        (None, "A", "1", T0, 1.0, 1.0, "missing_user"),
        (1, None, "1", T0, 1.0, 1.0, "missing_item"),
        (1, "  ", "1", T0, 1.0, 1.0, "missing_item"),
        (1, "A", "1", "not a date", 1.0, 1.0, "invalid_timestamp"),
        (1, "A", "1", None, 1.0, 1.0, "invalid_timestamp"),
        (1, "A", "1", T0, None, 1.0, "invalid_quantity"),
        (1, "A", "C9", T0, -1.0, 1.0, "cancellation"),
        (1, "A", "2", T0, 0.0, 1.0, "non_positive_quantity"),
        (2, "B", "3", T0, -3.0, 1.0, "non_positive_quantity"),
        (1, "A", "4", T0, 1.0, None, "invalid_price"),
        (1, "A", "4", T0, 1.0, -0.5, "negative_price"),
        (2, "B", "5", "2024-02-01 09:30:00", 1.0, 0.0, None),  # a free item is kept
        (1, "A", "1", T0, 2.0, 1.0, None),  # exact duplicate of the first row
        # rows failing two rules count under the first one
        (None, None, "1", T0, 1.0, 1.0, "missing_user"),
        (1, None, "1", "garbage", 1.0, 1.0, "missing_item"),
        (1, "A", "C10", "garbage", -1.0, 1.0, "invalid_timestamp"),
        (1, "A", "C11", T0, -2.0, -1.0, "cancellation"),
        (1, "A", "6", T0, -2.0, -1.0, "non_positive_quantity"),
        (3, "A", "7", T0, None, -1.0, "invalid_quantity"),
        (1, "FEE", "8", T0, 1.0, 5.0, "non_product"),
        (1, "FEE", "C12", T0, -1.0, 5.0, "non_product"),  # a refunded fee is not a return
    ]
    names = ["customer", "sku", "order", "when", "qty", "unit_price", "expected"]
    return pl.DataFrame(rows, schema=names, orient="row")


def _clean(frame: pl.DataFrame, **kwargs: object) -> tuple[pl.DataFrame, rs.CleaningReport]:
    kwargs.setdefault("columns", COLUMNS)
    kwargs.setdefault("cancellation_prefix", "C")
    kwargs.setdefault("non_product_items", {"FEE"})
    kwargs.setdefault("max_invalid_share", 0.5)  # the table has 3 bad timestamps in 20 rows
    return rs.clean_purchases(frame.drop("expected"), **kwargs)  # type: ignore[arg-type]


def test_each_drop_reason_counted_under_first_rule() -> None:
    orders = _orders()
    purchases, report = _clean(orders)
    expected = orders["expected"].drop_nulls().value_counts()
    want = {reason: 0 for reason in DROP_REASONS}
    want.update(dict(zip(expected["expected"], expected["count"], strict=True)))
    assert report.dropped == want
    assert list(report.dropped) == list(DROP_REASONS)
    assert report.rows_in == 22
    assert report.rows_out == 3 == purchases.height
    assert report.rows_in == report.rows_out + report.rows_dropped
    assert report.exact_duplicates == 1
    assert report.n_users == 2
    assert report.n_items == 2
    assert report.n_orders == 2
    assert report.first_timestamp == datetime(2024, 1, 5, 10)
    assert report.last_timestamp == datetime(2024, 2, 1, 9, 30)
    assert report.timestamp_format is not None


def test_output_schema_values_and_order() -> None:
    purchases, _ = _clean(_orders())
    assert purchases.columns == ["user_id", "item_id", "order_id", "timestamp", "quantity", "price"]
    assert purchases.schema == PURCHASE_SCHEMA
    first = (1, "A", "1", datetime(2024, 1, 5, 10), 2.0, 1.0)
    assert purchases.rows() == [first, (2, "B", "5", datetime(2024, 2, 1, 9, 30), 1.0, 0.0), first]


def test_keep_returns_flags_and_keeps_return_rows() -> None:
    orders = _orders()
    purchases, report = _clean(orders, keep_returns=True)
    assert purchases.columns[-1] == "is_return"
    returns = purchases.filter(pl.col("is_return"))
    # one cancellation (C9), two non-positive quantities, and C11 / order 6 (negative price too)
    assert returns.height == 5
    assert sorted(returns["quantity"].to_list()) == [-3.0, -2.0, -2.0, -1.0, 0.0]
    assert report.dropped["cancellation"] == 0
    assert report.dropped["non_positive_quantity"] == 0
    assert report.rows_out == 8
    assert report.rows_in == report.rows_out + report.rows_dropped
    assert purchases.filter(~pl.col("is_return")).height == 3
    # the same rows are always in report.returns
    assert report.returns.height == 5
    assert sorted(report.returns["order_id"].to_list()) == ["2", "3", "6", "C11", "C9"]


def test_returns_available_without_keep_returns() -> None:
    purchases, report = _clean(_orders())
    assert "is_return" not in purchases.columns
    assert report.returns.columns == purchases.columns
    assert (
        report.returns.height
        == report.dropped["cancellation"] + report.dropped["non_positive_quantity"]
    )
    assert report.returns["user_id"].null_count() == 0


def test_drop_duplicates_keeps_first_and_counts() -> None:
    purchases, report = _clean(_orders(), drop_duplicates=True)
    assert report.dropped["duplicate"] == 1
    assert report.exact_duplicates == 1
    assert purchases.height == report.rows_out == 2
    assert purchases["order_id"].to_list() == ["1", "5"]
    assert report.rows_in == report.rows_out + report.rows_dropped


def test_keep_columns_carried_through() -> None:
    orders = _orders().with_columns(country=pl.lit("UK"), note=pl.int_range(pl.len()))
    purchases, _ = _clean(orders, keep_columns=["country", "note"])
    assert purchases.columns[-2:] == ["country", "note"]
    assert purchases["note"].to_list() == [0, 12, 13]
    purchases, _ = _clean(orders, keep_columns=["note"], keep_returns=True)
    assert purchases.columns[-2:] == ["is_return", "note"]


def test_report_table_and_text() -> None:
    _, report = _clean(_orders())
    table = report.to_frame()
    assert table["rows"][0] == report.rows_in
    assert table["rows"][-1] == report.rows_out
    assert table["rows"][1:-1].sum() == report.rows_dropped
    text = str(report)
    assert "missing_user" in text
    assert "22" in text
    assert "non_product rows by item: FEE 2" in text
    assert f"timestamps read as {report.timestamp_format!r}" in text


def test_canonical_names_need_no_mapping_and_quantity_defaults_to_one() -> None:
    frame = pl.DataFrame(
        {"user_id": ["u1", "u2"], "item_id": [10, 20], "timestamp": [date(2024, 1, 1)] * 2}
    )
    purchases, report = rs.clean_purchases(frame)
    assert purchases["quantity"].to_list() == [1.0, 1.0]
    assert purchases.schema["user_id"] == pl.String
    assert purchases.schema["item_id"] == pl.Int64
    assert report.n_orders == 2  # no order ids: one order per customer-day
    assert any("quantity" in note for note in report.notes)


def test_string_numbers_and_ids_are_converted() -> None:
    frame = pl.DataFrame(
        {
            "user_id": [" 7 ", "8", "9"],
            "item_id": ["a", "b", "c"],
            "timestamp": ["2024-01-01"] * 3,
            "quantity": ["2", " 1.5", "x"],
            "price": ["3.25", "oops", "1"],
        }
    )
    with pytest.warns(rs.DataWarning, match=r"spaces trimmed around 1 id\b"):
        purchases, report = rs.clean_purchases(frame)
    assert purchases.rows() == [("7", "a", datetime(2024, 1, 1), 2.0, 3.25)]
    assert report.dropped["invalid_quantity"] == 1
    assert report.dropped["invalid_price"] == 1


# ---------------------------------------------------------------------------------------
# presets


def test_preset_online_retail() -> None:
    raw = pl.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "C536379", "536380", "536370", "C536379"],
            "StockCode": ["85123A", "71053", "22633", "22728", "POST", "D"],
            "Description": ["x", "y", "w", "z", "POSTAGE", "Discount"],
            "Quantity": [6, 6, -1, 24, 1, -1],
            "InvoiceDate": ["2010-12-01 08:26:00"] * 3 + ["2010-12-01 09:41:00"] * 3,
            "UnitPrice": [2.55, 3.39, 2.1, 3.75, 18.0, 27.5],
            "CustomerID": [17850, 17850, 14527, None, 12583, 14527],
            "Country": ["United Kingdom"] * 6,
        }
    )
    purchases, report = rs.clean_purchases(raw, preset="online_retail", keep_columns=["Country"])
    assert purchases["item_id"].to_list() == ["85123A", "71053"]
    assert report.dropped["cancellation"] == 1
    assert report.dropped["missing_user"] == 1
    assert report.dropped["non_product"] == 2  # postage, and a cancelled discount
    assert report.returns["order_id"].to_list() == ["C536379"]
    assert report.columns["user_id"] == "CustomerID"


def test_preset_online_retail_ii_and_columns_override() -> None:
    raw = pl.DataFrame(
        {
            "Invoice": ["489434", "C489449"],
            "StockCode": ["85048", "22087"],
            "Quantity": [12, -12],
            "InvoiceDate": ["2009-12-01 07:45:00", "2009-12-01 10:33:00"],
            "Price": [6.95, 0.85],
            "Customer ID": [13085.0, 16321.0],  # as pandas reads it: float with NaN
            "Shopper": [1, 2],
        }
    )
    purchases, report = rs.clean_purchases(raw, preset="online_retail_ii")
    assert purchases.rows() == [
        (13085, "85048", "489434", datetime(2009, 12, 1, 7, 45), 12.0, 6.95)
    ]
    assert report.dropped["cancellation"] == 1
    purchases, _ = rs.clean_purchases(
        raw, preset="online_retail_ii", columns={"user_id": "Shopper"}
    )
    assert purchases["user_id"].to_list() == [1]


def test_preset_ta_feng_price_is_line_total() -> None:
    raw = pl.DataFrame(
        {
            "TRANSACTION_DT": ["11/1/2000", "2/28/2001"],
            "CUSTOMER_ID": ["00141833", "01376753"],
            "PRODUCT_ID": ["4710085120468", "4710265847666"],
            "AMOUNT": [3, 1],
            "ASSET": [51, 100],
            "SALES_PRICE": [57, 120],
        }
    )
    purchases, report = rs.clean_purchases(raw, preset="ta_feng")
    assert purchases["price"].to_list() == [19.0, 120.0]
    assert purchases["user_id"].to_list() == ["00141833", "01376753"]  # zero padding kept
    assert purchases["timestamp"].to_list() == [datetime(2000, 11, 1), datetime(2001, 2, 28)]
    assert any("line total" in note for note in report.notes)


def test_preset_complete_journey_offsets_keep_local_time() -> None:
    raw = pl.DataFrame(
        {
            "household_id": [2261, 2131],
            "basket_id": ["31625220889", "32053127496"],
            "product_id": [940996, 873902],
            "quantity": [2, 1],
            "sales_value": [3.86, 1.59],
            "transaction_timestamp": ["2017-01-28T14:06:53-05:00", "2017-02-28T22:31:57-05:00"],
        }
    )
    purchases, _ = rs.clean_purchases(raw, preset="complete_journey")
    assert purchases["timestamp"].to_list() == [
        datetime(2017, 1, 28, 14, 6, 53),
        datetime(2017, 2, 28, 22, 31, 57),
    ]
    assert purchases["price"].to_list() == [1.93, 1.59]


def test_unknown_preset_lists_known_ones() -> None:
    with pytest.raises(InputDataError, match=r"unknown preset 'nope'.*online_retail"):
        rs.clean_purchases(_orders(), preset="nope")


# ---------------------------------------------------------------------------------------
# timestamps


def _frame_with_times(times: object) -> pl.DataFrame:
    values = pl.Series("timestamp", times)
    return pl.DataFrame(
        {"user_id": np.arange(len(values)), "item_id": ["a"] * len(values), "timestamp": values}
    )


@pytest.mark.parametrize("fmt", TIMESTAMP_FORMATS)
def test_every_listed_string_format_is_detected(fmt: str) -> None:
    moments = [datetime(2024, 3, 17, 13, 45, 0), datetime(2023, 11, 28, 8, 5, 0)]
    python_fmt = fmt.replace("%.f", ".%f")
    purchases, report = rs.clean_purchases(
        _frame_with_times([m.strftime(python_fmt) for m in moments])
    )
    has_time = "%H" in fmt or "%I" in fmt
    expected = [m if has_time else datetime(m.year, m.month, m.day) for m in moments]
    assert purchases["timestamp"].to_list() == expected
    assert report.timestamp_format is not None


def test_fractional_seconds_mixed_with_whole_seconds() -> None:
    purchases, _ = rs.clean_purchases(
        _frame_with_times(["2024-01-01 10:00:00", "2024-01-01 10:00:00.25"])
    )
    assert purchases["timestamp"].to_list() == [
        datetime(2024, 1, 1, 10),
        datetime(2024, 1, 1, 10, 0, 0, 250_000),
    ]


def test_ambiguous_slash_dates_need_dayfirst_or_explicit_format() -> None:
    with pytest.raises(InputDataError, match=r"'timestamp'.*'01/02/2024'.*dayfirst="):
        rs.clean_purchases(_frame_with_times(["01/02/2024"]))
    purchases, _ = rs.clean_purchases(_frame_with_times(["01/02/2024"]), dayfirst=False)
    assert purchases["timestamp"].to_list() == [datetime(2024, 1, 2)]
    purchases, _ = rs.clean_purchases(_frame_with_times(["01/02/2024"]), dayfirst=True)
    assert purchases["timestamp"].to_list() == [datetime(2024, 2, 1)]
    # one value with a day > 12 decides for the whole column
    purchases, _ = rs.clean_purchases(_frame_with_times(["01/02/2024", "13/02/2024"]))
    assert purchases["timestamp"].to_list() == [datetime(2024, 2, 1), datetime(2024, 2, 13)]
    purchases, report = rs.clean_purchases(
        _frame_with_times(["01/02/2024"]), timestamp_format="%d/%m/%Y"
    )
    assert purchases["timestamp"].to_list() == [datetime(2024, 2, 1)]
    assert report.timestamp_format == "%d/%m/%Y"


def test_string_offsets_are_dropped_keeping_clock_time() -> None:
    purchases, report = rs.clean_purchases(
        _frame_with_times(["2024-06-01T12:30:00+02:00", "2024-06-01T12:30:00Z"])
    )
    assert purchases["timestamp"].to_list() == [datetime(2024, 6, 1, 12, 30)] * 2
    assert report.notes[0] == (
        "timestamps: 2 of 2 values of 'timestamp' carry a UTC offset or zone (+02:00 on 1, "
        "Z on 1); the local clock time is kept and the zone dropped (the shop's day stays its day)"
    )
    assert report.notes[0] in str(report)


def test_offsets_are_counted_per_offset_and_absent_ones_not_noted() -> None:
    times = ["2017-01-28T14:06:53-05:00"] * 3 + ["2017-04-02T09:00:00-04:00", "2017-04-03T09:00:00"]
    _, report = rs.clean_purchases(_frame_with_times(times))
    assert report.notes[0].startswith(
        "timestamps: 4 of 5 values of 'timestamp' carry a UTC offset or zone (-05:00 on 3, "
        "-04:00 on 1)"
    )
    _, plain = rs.clean_purchases(_frame_with_times(["2017-04-03 09:00"] * 2))
    assert not any("zone" in note for note in plain.notes)


def test_dates_and_datetimes() -> None:
    purchases, _ = rs.clean_purchases(_frame_with_times([date(2024, 2, 29)]))
    assert purchases["timestamp"].to_list() == [datetime(2024, 2, 29)]
    ns = pl.Series([datetime(2024, 2, 29, 1, 2, 3, 4)]).cast(pl.Datetime("ns"))
    purchases, _ = rs.clean_purchases(_frame_with_times(ns))
    assert purchases.schema["timestamp"] == pl.Datetime("us")
    assert purchases["timestamp"].to_list() == [datetime(2024, 2, 29, 1, 2, 3, 4)]


def test_tz_aware_datetimes_keep_local_clock_time() -> None:
    aware = pl.Series([datetime(2024, 7, 1, 12), datetime(2024, 1, 1, 12)]).dt.replace_time_zone(
        "Europe/London"
    )
    purchases, report = rs.clean_purchases(_frame_with_times(aware))
    assert purchases.schema["timestamp"] == pl.Datetime("us")
    assert purchases["timestamp"].to_list() == [datetime(2024, 7, 1, 12), datetime(2024, 1, 1, 12)]
    assert (
        "timestamps: column 'timestamp' is in time zone Europe/London; the local clock time is "
        "kept and the zone dropped (the shop's day stays its day)"
    ) in report.notes


def test_unix_seconds_int_and_float() -> None:
    purchases, _ = rs.clean_purchases(_frame_with_times([1_700_000_000, 0]))
    assert purchases["timestamp"].to_list() == [
        datetime(2023, 11, 14, 22, 13, 20),
        datetime(1970, 1, 1),
    ]
    purchases, _ = rs.clean_purchases(_frame_with_times([1_700_000_000.5, float("nan")]))
    assert purchases["timestamp"].to_list() == [datetime(2023, 11, 14, 22, 13, 20, 500_000)]


# ---------------------------------------------------------------------------------------
# input kinds


def _simple() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cust": [1, 2, None, 2],
            "sku": ["A", "B", "A", "B"],
            "inv": ["1", "2", "3", "C4"],
            "ts": ["2024-01-01 10:00:00", "2024-01-02 11:00:00", "2024-01-03 10:00:00", T0],
            "q": [1, 2, 1, -2],
            "p": [1.5, 2.0, 1.5, 2.0],
        }
    )


SIMPLE_COLUMNS = {
    "user_id": "cust",
    "item_id": "sku",
    "order_id": "inv",
    "timestamp": "ts",
    "quantity": "q",
    "price": "p",
}


def _check_simple(purchases: pl.DataFrame, report: rs.CleaningReport) -> None:
    assert purchases.select("user_id", "item_id", "order_id", "quantity").rows() == [
        (1, "A", "1", 1.0),
        (2, "B", "2", 2.0),
    ]
    assert purchases["timestamp"].to_list() == [
        datetime(2024, 1, 1, 10),
        datetime(2024, 1, 2, 11),
    ]
    assert report.dropped["missing_user"] == 1
    assert report.dropped["cancellation"] == 1
    assert report.rows_in == 4


def test_lazyframe_input() -> None:
    _check_simple(
        *rs.clean_purchases(_simple().lazy(), columns=SIMPLE_COLUMNS, cancellation_prefix="C")
    )


def test_pandas_input() -> None:
    pd = pytest.importorskip("pandas")
    frame = _simple().to_pandas()
    assert frame["cust"].dtype == np.float64  # pandas holds the missing id as NaN
    _check_simple(*rs.clean_purchases(frame, columns=SIMPLE_COLUMNS, cancellation_prefix="C"))
    aware = pd.DataFrame(
        {
            "user_id": [1],
            "item_id": ["a"],
            "timestamp": pd.to_datetime(["2024-03-01 09:00"]).tz_localize("US/Eastern"),
        }
    )
    purchases, _ = rs.clean_purchases(aware)
    assert purchases["timestamp"].to_list() == [datetime(2024, 3, 1, 9)]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".parquet"])
def test_file_paths(tmp_path: pytest.TempPathFactory, suffix: str) -> None:
    path = tmp_path / f"orders{suffix}"  # type: ignore[operator]
    frame = _simple()
    if suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix == ".tsv":
        frame.write_csv(path, separator="\t")
    elif suffix == ".csv.gz":
        path.write_bytes(gzip.compress(frame.write_csv().encode()))
    else:
        frame.write_csv(path)
    _check_simple(*rs.clean_purchases(path, columns=SIMPLE_COLUMNS, cancellation_prefix="C"))
    _check_simple(*rs.clean_purchases(str(path), columns=SIMPLE_COLUMNS, cancellation_prefix="C"))


def test_csv_order_ids_stay_text(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "orders.csv"  # type: ignore[operator]
    path.write_text("cust,sku,inv,ts,q\n1,A,007,2024-01-01,1\n")
    purchases, _ = rs.clean_purchases(path, columns={**SIMPLE_COLUMNS, "price": "q"})
    assert purchases["order_id"].to_list() == ["007"]


# ---------------------------------------------------------------------------------------
# errors


def test_missing_mapped_column_is_named_with_columns_found() -> None:
    with pytest.raises(InputDataError) as err:
        rs.clean_purchases(_simple(), columns={**SIMPLE_COLUMNS, "price": "UnitPrice"})
    message = str(err.value)
    assert "'UnitPrice'" in message
    assert "price" in message
    assert "columns found" in message
    assert "'cust'" in message
    assert "'sku'" in message


def test_required_column_without_mapping() -> None:
    with pytest.raises(InputDataError, match=r"no column for 'timestamp'.*'cust'"):
        rs.clean_purchases(_simple(), columns={"user_id": "cust", "item_id": "sku"})


def test_missing_columns_are_named_with_the_preset_whose_columns_the_table_has() -> None:
    table = pl.DataFrame(
        {
            "Invoice": ["1"],
            "StockCode": ["A"],
            "Quantity": [1],
            "InvoiceDate": ["2010-01-01 10:00:00"],
            "Price": [1.0],
            "Customer ID": [7.0],
            "Country": ["UK"],
        }
    )
    with pytest.raises(rs.MissingColumnError) as err:
        rs.clean_purchases(table)
    assert err.value.columns == ("user_id", "item_id", "timestamp")
    assert err.value.presets == ("online_retail_ii",)
    assert str(err.value).startswith(
        "no column for 'user_id', 'item_id', 'timestamp': pass preset='online_retail_ii' (the "
        "table has its columns), or columns={'user_id': <your column>, 'item_id': <your "
        "column>, 'timestamp': <your column>}; columns found: ['Invoice', "
    )
    with pytest.raises(rs.MissingColumnError) as other:
        rs.clean_purchases(table.drop("Price"))  # no longer Online Retail II's columns
    assert other.value.presets == ()
    assert "preset" not in str(other.value)
    # the mapping given is repeated, so the hint can be used as it stands
    with pytest.raises(rs.MissingColumnError) as given:
        rs.clean_purchases(table, columns={"user_id": "Customer ID", "quantity": "Quantity"})
    assert given.value.columns == ("item_id", "timestamp")
    assert given.value.given == {"user_id": "Customer ID", "quantity": "Quantity"}
    assert (
        "or columns={'user_id': 'Customer ID', 'quantity': 'Quantity', 'item_id': <your "
        "column>, 'timestamp': <your column>}; columns found: ['Invoice', "
    ) in str(given.value)


def test_non_canonical_columns_key() -> None:
    with pytest.raises(InputDataError, match="customer"):
        rs.clean_purchases(_simple(), columns={"customer": "cust"})


def test_preset_on_a_table_without_its_columns() -> None:
    with pytest.raises(InputDataError, match=r"'CustomerID'.*columns found"):
        rs.clean_purchases(_simple(), preset="online_retail")


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame(schema={"user_id": pl.Int64, "item_id": pl.String, "timestamp": pl.Date}),
        pl.DataFrame({"user_id": [], "item_id": [], "timestamp": []}),
        pl.DataFrame(
            schema={"user_id": pl.Int64, "item_id": pl.String, "timestamp": pl.String}
        ).lazy(),
    ],
)
def test_empty_table(frame: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="empty"):
        rs.clean_purchases(frame)


def test_empty_csv_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "empty.csv"  # type: ignore[operator]
    path.write_text("user_id,item_id,timestamp\n")
    with pytest.raises(InputDataError, match="empty"):
        rs.clean_purchases(path)


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("user_id", [True, False], r"'user_id'.*Boolean.*integers or strings"),
        ("item_id", [[1], [2]], r"'item_id'.*List"),
        ("item_id", [1.5, 2.0], r"'item_id'.*non-integer"),
        ("timestamp", [True, False], r"'timestamp'.*Boolean"),
        ("timestamp", ["yesterday", "today"], r"'timestamp'.*cannot parse.*'yesterday'"),
        ("quantity", [date(2024, 1, 1)] * 2, r"'quantity'.*Date.*numbers"),
        ("quantity", ["lots", "few"], r"'quantity'.*no value could be converted"),
        ("price", ["cheap", "dear"], r"'price'.*no value could be converted"),
    ],
)
def test_wrong_dtype_that_cannot_be_converted(column: str, values: list, pattern: str) -> None:
    frame = pl.DataFrame(
        {"user_id": [1, 2], "item_id": ["a", "b"], "timestamp": ["2024-01-01"] * 2}
    ).with_columns(pl.Series(column, values))
    with pytest.raises(InputDataError, match=pattern):
        rs.clean_purchases(frame)


def test_unparseable_with_explicit_format() -> None:
    frame = _frame_with_times(["2024-01-01", "2024-01-02"])
    with pytest.raises(InputDataError, match=r"'timestamp'.*timestamp_format"):
        rs.clean_purchases(frame, timestamp_format="%d.%m.%Y")


def test_missing_file(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(InputDataError, match="file not found"):
        rs.clean_purchases(tmp_path / "nope.csv")  # type: ignore[operator]


def test_directory_and_unknown_suffix(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(InputDataError, match="directory"):
        rs.clean_purchases(tmp_path)
    path = tmp_path / "orders.foo"  # type: ignore[operator]
    path.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(InputDataError, match=r"cannot tell the format.*\.csv"):
        rs.clean_purchases(path)
    path = tmp_path / "orders.xlsx"  # type: ignore[operator]
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputDataError, match=r"could not read .*orders\.xlsx"):
        rs.clean_purchases(path)


def test_corrupt_parquet(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "orders.parquet"  # type: ignore[operator]
    path.write_bytes(b"this is not parquet" * 10)
    with pytest.raises(InputDataError, match=r"could not read .*orders\.parquet"):
        rs.clean_purchases(path)


def test_truncated_gzip_csv(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "orders.csv.gz"  # type: ignore[operator]
    data = gzip.compress(pl.concat([_simple()] * 200).write_csv().encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match=r"could not read .*orders\.csv\.gz"):
        rs.clean_purchases(path, columns=SIMPLE_COLUMNS)


def test_unsupported_source_type() -> None:
    with pytest.raises(InputDataError, match="got list"):
        rs.clean_purchases([1, 2, 3])


def test_keep_columns_errors() -> None:
    with pytest.raises(InputDataError, match="canonical"):
        rs.clean_purchases(_simple(), columns=SIMPLE_COLUMNS, keep_columns=["price"])
    with pytest.raises(InputDataError, match=r"'Country'.*found"):
        rs.clean_purchases(_simple(), columns=SIMPLE_COLUMNS, keep_columns=["Country"])


def test_preset_format_is_preferred_not_imposed() -> None:
    raw = pl.DataFrame(
        {
            "InvoiceNo": ["536365", "536366"],
            "StockCode": ["85123A", "71053"],
            "Quantity": [6, 6],
            "InvoiceDate": ["12/1/2010 8:26", "12/13/2010 16:05"],  # the UCI spreadsheet's form
            "UnitPrice": [2.55, 3.39],
            "CustomerID": [17850, 17850],
        }
    )
    purchases, report = rs.clean_purchases(raw, preset="online_retail")
    assert purchases["timestamp"].to_list() == [
        datetime(2010, 12, 1, 8, 26),
        datetime(2010, 12, 13, 16, 5),
    ]
    assert report.timestamp_format == "%m/%d/%Y %H:%M"
    iso = raw.with_columns(InvoiceDate=pl.lit("2010-12-01 08:26:00"))
    assert rs.clean_purchases(iso, preset="online_retail")[1].timestamp_format == (
        "%Y-%m-%d %H:%M:%S"
    )
