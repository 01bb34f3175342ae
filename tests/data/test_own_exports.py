"""A shop's own exports, never silently corrupted: the bad-input suite.

Every case renders the same few thousand rows of the bundled Online Retail table
the way some shop system exports them (date style of a locale, id style,
separator, decimal comma, encoding, compression, container) and asserts either
that ``clean_purchases`` reads them back exactly -- same rows, same ids as
strings, same timestamps, value by value -- or that it raises a typed error
naming the problem.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.data.read import read_table
from recsys.exceptions import DataWarning, InputDataError

HAS_FASTEXCEL = importlib.util.find_spec("fastexcel") is not None
HAS_XLSXWRITER = importlib.util.find_spec("xlsxwriter") is not None

#: canonical name -> the column name in the shop's export
NAMES = {
    "user_id": "Kundennummer",
    "item_id": "Artikel",
    "order_id": "Beleg",
    "timestamp": "Datum",
    "quantity": "Menge",
    "price": "Preis",
}
EXCEL_EPOCH = datetime(1899, 12, 30)
UNIX_EPOCH = datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def base() -> pl.DataFrame:
    """~4,000 purchase rows spread over the year (days 1-31, every month), canonical."""
    raw = rs.datasets.online_retail()
    rows = raw.filter(
        pl.col("CustomerID").is_not_null(),
        pl.col("Quantity") > 0,
        pl.col("UnitPrice") >= 0,
        ~pl.col("InvoiceNo").str.starts_with("C"),
    ).gather_every(100)
    return rows.select(
        user_id=pl.col("CustomerID").cast(pl.Int64),
        item_id=pl.col("StockCode"),
        order_id=pl.col("InvoiceNo"),
        timestamp=pl.col("InvoiceDate"),
        quantity=pl.col("Quantity").cast(pl.Float64),
        price=pl.col("UnitPrice"),
    )


# ---------------------------------------------------------------------------------------
# export styles

#: date styles: name -> (render one datetime, kwargs needed, resolution kept)
DATE_STYLES: dict[str, tuple[Callable[[datetime], Any], dict[str, Any], str]] = {
    "uk dd/mm/yyyy HH:MM": (lambda t: t.strftime("%d/%m/%Y %H:%M"), {}, "minute"),
    "us mm/dd/yyyy HH:MM": (lambda t: t.strftime("%m/%d/%Y %H:%M"), {}, "minute"),
    "us 12-hour clock": (lambda t: t.strftime("%m/%d/%Y %I:%M %p"), {}, "minute"),
    "german dd.mm.yyyy HH:MM": (lambda t: t.strftime("%d.%m.%Y %H:%M"), {}, "minute"),
    "german dd.mm.yyyy HH:MM:SS": (lambda t: t.strftime("%d.%m.%Y %H:%M:%S"), {}, "minute"),
    "dutch dd-mm-yyyy HH:MM": (lambda t: t.strftime("%d-%m-%Y %H:%M"), {}, "minute"),
    "iso": (lambda t: t.strftime("%Y-%m-%d %H:%M:%S"), {}, "minute"),
    "iso T Z": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), {}, "minute"),
    "iso T offset": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+01:00"), {}, "minute"),
    "iso T fraction": (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f"), {}, "minute"),
    "iso date only": (lambda t: t.strftime("%Y-%m-%d"), {}, "day"),
    "japanese yyyy/mm/dd HH:MM": (lambda t: t.strftime("%Y/%m/%d %H:%M"), {}, "minute"),
    "japanese yyyy/mm/dd": (lambda t: t.strftime("%Y/%m/%d"), {}, "day"),
    "uk dd/mm/yyyy date only": (lambda t: t.strftime("%d/%m/%Y"), {}, "day"),
    "excel serial": (lambda t: (t - EXCEL_EPOCH) / timedelta(days=1), {}, "minute"),
    "unix seconds": (lambda t: int((t - UNIX_EPOCH).total_seconds()), {}, "minute"),
    "unix milliseconds": (lambda t: int((t - UNIX_EPOCH).total_seconds()) * 1000, {}, "minute"),
    "yyyymmdd number": (lambda t: int(t.strftime("%Y%m%d")), {}, "day"),
}

#: id styles: name -> render one integer customer id
ID_STYLES: dict[str, Callable[[int], str]] = {
    "int": str,
    "zero-padded": lambda i: f"{i:010d}",
    "alphanumeric": lambda i: f"C-{i}",
    "float-formatted": lambda i: f"{i}.0",
}


@dataclass(frozen=True)
class Export:
    """One way of exporting the base rows."""

    dates: str = "iso"
    ids: str = "int"
    separator: str = ","
    decimal_comma: bool = False
    encoding: str = "utf-8"
    bom: bool = False
    compression: str | None = None
    container: str = "csv"
    note: str | None = None  # an extra text column (non-ASCII for encodings)
    kwargs: dict[str, Any] = field(default_factory=dict)


def _render(base: pl.DataFrame, style: Export) -> pl.DataFrame:
    """The export as a frame of the shop's column names (text for CSV)."""
    render_date, _, _ = DATE_STYLES[style.dates]
    render_id = ID_STYLES[style.ids]
    out = pl.DataFrame(
        {
            NAMES["user_id"]: [render_id(i) for i in base["user_id"]],
            NAMES["item_id"]: base["item_id"],
            NAMES["order_id"]: base["order_id"],
            NAMES["timestamp"]: [render_date(t) for t in base["timestamp"]],
            NAMES["quantity"]: base["quantity"].cast(pl.Int64),
            NAMES["price"]: base["price"],
        }
    )
    if style.note is not None:
        out = out.with_columns(pl.lit(style.note).alias("Notiz"))
    return out


def _write(frame: pl.DataFrame, style: Export, folder: Path) -> Path:
    if style.container == "parquet":
        path = folder / "export.parquet"
        frame.write_parquet(path)
        return path
    if style.container == "xlsx":
        path = folder / "export.xlsx"
        frame.write_excel(path)
        return path
    text_frame = frame
    if style.decimal_comma:
        text_frame = frame.with_columns(
            pl.col(NAMES["price"]).cast(pl.String).str.replace(".", ",", literal=True)
        )
    text = text_frame.write_csv(separator=style.separator)
    data = ("\ufeff" if style.bom else "") + text
    raw = data.encode(style.encoding)
    suffix = ".tsv" if style.separator == "\t" else ".csv"
    if style.compression == "gzip":
        path = folder / f"export{suffix}.gz"
        path.write_bytes(gzip.compress(raw))
    elif style.compression == "zstd":
        import pyarrow as pa

        path = folder / f"export{suffix}.zst"
        with pa.CompressedOutputStream(str(path), "zstd") as f:
            f.write(raw)
    else:
        path = folder / f"export{suffix}"
        path.write_bytes(raw)
    return path


def _expected(base: pl.DataFrame, style: Export) -> pl.DataFrame:
    """The canonical frame the export must read back to (ids as the strings written)."""
    _, _, resolution = DATE_STYLES[style.dates]
    ts = base["timestamp"]
    return base.with_columns(
        user_id=pl.Series([ID_STYLES[style.ids](i) for i in base["user_id"]]),
        timestamp=ts.dt.truncate("1d") if resolution == "day" else ts,
    )


def _clean(path: Path | pl.DataFrame, style: Export) -> tuple[pl.DataFrame, rs.CleaningReport]:
    kwargs = {**DATE_STYLES[style.dates][1], **style.kwargs}
    keep = ["Notiz"] if style.note is not None else []
    return rs.clean_purchases(path, columns=NAMES, keep_columns=keep, **kwargs)


def _check(purchases: pl.DataFrame, report: rs.CleaningReport, expected: pl.DataFrame) -> None:
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    assert report.rows_in == expected.height
    assert report.rows_out == expected.height
    got = purchases.select(
        pl.col("user_id").cast(pl.String),
        pl.col("item_id").cast(pl.String),
        pl.col("order_id").cast(pl.String),
        "timestamp",
        "quantity",
        "price",
    )
    for name in got.columns:
        left, right = got[name], expected[name]
        mismatch = (left != right).fill_null(True) | (left.is_null() != right.is_null())
        assert not mismatch.any(), (
            f"{name}: {mismatch.sum()} values differ, e.g. row {mismatch.arg_max()}: "
            f"{left[mismatch.arg_max()]!r} != {right[mismatch.arg_max()]!r}"
        )


# ---------------------------------------------------------------------------------------
# exports read back exactly

READABLE: dict[str, Export] = {
    **{f"dates: {name}": Export(dates=name) for name in DATE_STYLES},
    **{f"ids: {name}": Export(ids=name) for name in ID_STYLES},
    "separator ;": Export(separator=";"),
    "separator tab": Export(separator="\t"),
    "separator |": Export(separator="|"),
    "separator ; with decimal comma": Export(separator=";", decimal_comma=True),
    "separator tab with decimal comma": Export(separator="\t", decimal_comma=True),
    "german export: ; decimal comma dd.mm.yyyy zero-padded": Export(
        dates="german dd.mm.yyyy HH:MM", ids="zero-padded", separator=";", decimal_comma=True
    ),
    "utf-8 with BOM": Export(bom=True, note="Café Zürich"),
    "utf-8 with BOM, ;": Export(bom=True, separator=";", note="Café Zürich"),
    "latin-1 with encoding=": Export(
        encoding="latin-1", note="Café Zürich", kwargs={"encoding": "latin-1"}
    ),
    "cp1252 with encoding=": Export(
        encoding="cp1252", note="€ Café", kwargs={"encoding": "cp1252"}
    ),
    "gzip": Export(compression="gzip"),
    "gzip, uk dates, zero-padded": Export(
        compression="gzip", dates="uk dd/mm/yyyy HH:MM", ids="zero-padded"
    ),
    "zstd": Export(compression="zstd"),
    "zstd, ; decimal comma": Export(compression="zstd", separator=";", decimal_comma=True),
    "parquet, text dates and ids": Export(container="parquet", ids="alphanumeric"),
    "uk dates with dayfirst=True": Export(dates="uk dd/mm/yyyy HH:MM", kwargs={"dayfirst": True}),
    "explicit timestamp_format": Export(
        dates="uk dd/mm/yyyy HH:MM", kwargs={"timestamp_format": "%d/%m/%Y %H:%M"}
    ),
    "explicit unix_ms": Export(dates="unix milliseconds", kwargs={"timestamp_format": "unix_ms"}),
}


@pytest.mark.parametrize("case", list(READABLE))
def test_export_reads_back_exactly(case: str, base: pl.DataFrame, tmp_path: Path) -> None:
    style = READABLE[case]
    path = _write(_render(base, style), style, tmp_path)
    purchases, report = _clean(path, style)
    _check(purchases, report, _expected(base, style))
    if style.note is not None:
        assert purchases["Notiz"].unique().to_list() == [style.note]


@pytest.mark.skipif(not (HAS_FASTEXCEL and HAS_XLSXWRITER), reason="needs fastexcel, xlsxwriter")
@pytest.mark.parametrize("ids", ["int", "zero-padded", "alphanumeric"])
def test_excel_export(ids: str, base: pl.DataFrame, tmp_path: Path) -> None:
    style = Export(ids=ids, container="xlsx")
    frame = _render(base.head(500), style).with_columns(
        pl.Series(NAMES["timestamp"], base.head(500)["timestamp"])  # Excel date cells
    )
    path = _write(frame, style, tmp_path)
    purchases, report = _clean(path, style)
    _check(purchases, report, _expected(base.head(500), style))


def test_excel_without_fastexcel_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    import builtins

    real_import = builtins.__import__

    def no_fastexcel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "fastexcel":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fastexcel)
    with pytest.raises(InputDataError, match=r"recsys\[excel\]"):
        read_table(path)


def test_pandas_frame_in_and_to_pandas_out(base: pl.DataFrame) -> None:
    pd = pytest.importorskip("pandas")
    frame = _render(base, Export(ids="zero-padded")).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    purchases, report = _clean(frame, Export())  # type: ignore[arg-type]
    _check(purchases, report, _expected(base, Export(ids="zero-padded")))
    back = purchases.to_pandas()
    assert back["user_id"].tolist()[:2] == purchases["user_id"].head(2).to_list()


def test_pandas_float_ids_warn_with_a_count(base: pl.DataFrame) -> None:
    pytest.importorskip("pandas")
    frame = base.with_columns(
        user_id=pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("user_id"))
    ).to_pandas()
    assert frame["user_id"].dtype.kind == "f"  # pandas: integers with a missing value
    with pytest.warns(DataWarning, match=rf"{base.height - 1:,} ids converted"):
        purchases, report = rs.clean_purchases(frame)
    assert purchases["user_id"].dtype == pl.Int64
    assert report.dropped["missing_user"] == 1


def test_spaces_around_ids_are_trimmed_with_a_warning(base: pl.DataFrame, tmp_path: Path) -> None:
    frame = _render(base, Export()).with_columns(pl.format(" {} ", pl.col(NAMES["user_id"])))
    path = tmp_path / "export.csv"
    frame.write_csv(path)
    with pytest.warns(DataWarning, match=rf"spaces trimmed around {base.height:,} ids"):
        purchases, report = _clean(path, Export())
    _check(purchases, report, _expected(base, Export()))


@pytest.mark.parametrize("ids", ["int", "zero-padded", "alphanumeric"])
def test_recommendations_join_back_to_the_input(
    ids: str, base: pl.DataFrame, tmp_path: Path
) -> None:
    style = Export(ids=ids)
    path = _write(_render(base, style), style, tmp_path)
    purchases, _ = _clean(path, style)
    model = rs.Popular().fit(rs.Interactions.from_purchases(purchases))
    recs = model.recommend(users=None, k=3)
    crm = pl.read_csv(path, schema_overrides={NAMES["user_id"]: pl.String})
    customers = crm.select(pl.col(NAMES["user_id"]).alias("user_id")).unique()
    joined = recs.with_columns(pl.col("user_id").cast(pl.String)).join(
        customers, on="user_id", how="inner"
    )
    assert joined.height == recs.height
    assert joined["user_id"].n_unique() == customers.height


# ---------------------------------------------------------------------------------------
# exports refused with a typed error naming the problem


def _uk_small_days(base: pl.DataFrame) -> pl.DataFrame:
    """Every day <= 12: day-first and month-first both read every value."""
    ts = base["timestamp"]
    return base.with_columns(timestamp=ts.dt.replace(day=ts.dt.day().clip(1, 12)))


def test_ambiguous_day_month_order_is_an_error(base: pl.DataFrame, tmp_path: Path) -> None:
    small = _uk_small_days(base)
    style = Export(dates="uk dd/mm/yyyy HH:MM")
    path = _write(_render(small, style), style, tmp_path)
    with pytest.raises(InputDataError, match=r"'Datum'.*day-first.*month-first.*dayfirst="):
        _clean(path, style)
    purchases, report = _clean(path, replace(style, kwargs={"dayfirst": True}))
    _check(purchases, report, _expected(small, style))


def test_a_few_bad_timestamps_are_dropped_with_a_warning(
    base: pl.DataFrame, tmp_path: Path
) -> None:
    style = Export(dates="uk dd/mm/yyyy HH:MM")
    frame = _render(base, style).with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit("31/02/2011 10:00"))
        .otherwise(pl.col(NAMES["timestamp"]))
        .alias(NAMES["timestamp"])
    )
    path = _write(frame, style, tmp_path)
    with pytest.warns(DataWarning, match=r"1 of .*'31/02/2011 10:00'"):
        purchases, report = _clean(path, style)
    assert report.dropped["invalid_timestamp"] == 1
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    _check_rows = _expected(base, style).filter(pl.int_range(pl.len()) != 5)
    assert purchases["timestamp"].equals(_check_rows["timestamp"])


def test_many_bad_timestamps_are_an_error(base: pl.DataFrame, tmp_path: Path) -> None:
    style = Export(dates="uk dd/mm/yyyy HH:MM")
    frame = _render(base, style).with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0)
        .then(pl.lit("unknown"))
        .otherwise(pl.col(NAMES["timestamp"]))
        .alias(NAMES["timestamp"])
    )
    path = _write(frame, style, tmp_path)
    with pytest.raises(InputDataError, match=r"'Datum'.*'unknown'.*max_invalid_share"):
        _clean(path, style)
    with pytest.warns(DataWarning, match="80 rows dropped"):
        _, report = _clean(path, replace(style, kwargs={"max_invalid_share": 0.05}))
    assert report.dropped["invalid_timestamp"] == (base.height + 49) // 50 == 80


def _write_bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _truncated_parquet(folder: Path) -> Path:
    path = folder / "export.parquet"
    pl.DataFrame({"user_id": range(1000), "item_id": ["a"] * 1000}).write_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _latin1(folder: Path) -> Path:
    path = folder / "export.csv"
    path.write_bytes("Kundennummer,Artikel,Datum\n1,Café,2011-01-01\n".encode("latin-1"))
    return path


def _header_only(folder: Path) -> Path:
    path = folder / "export.csv"
    path.write_text("user_id,item_id,timestamp\n")
    return path


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "unclosed quote": (
        _write_bytes("export.csv", b'user_id,item_id,timestamp\n1,"a,2011-01-01\n2,b,2011-01-02\n'),
        r"export\.csv: line 2: a quoted field is not closed",
    ),
    "row with too many fields": (
        _write_bytes("export.csv", b"user_id,item_id,timestamp\n1,a,2011-01-01\n2,b,c,d\n"),
        r"export\.csv: line 3: 4 fields",
    ),
    "binary junk renamed .csv": (
        _write_bytes("export.csv", bytes(range(256)) * 16),
        r"export\.csv is not a text \(CSV\) file",
    ),
    "empty file": (_write_bytes("export.csv", b""), r"export\.csv: the file is empty"),
    "header only": (_header_only, r"empty \(0 rows\)"),
    "truncated parquet": (_truncated_parquet, r"could not read .*export\.parquet"),
    "text renamed .parquet": (
        _write_bytes("export.parquet", b"user_id,item_id\n1,2\n"),
        r"export\.parquet: not a Parquet file",
    ),
    "directory": (lambda folder: folder, "got a directory"),
    "missing file": (lambda folder: folder / "nope.csv", r"file not found: .*nope\.csv"),
    "latin-1 without encoding=": (_latin1, r"export\.csv is not UTF-8 text .*encoding="),
    "utf-16": (
        _write_bytes("export.csv", "user_id,item_id\n1,2\n".encode("utf-16")),
        r"UTF-16.*encoding='utf-16'",
    ),
    "truncated gzip": (
        _write_bytes("export.csv.gz", gzip.compress(b"user_id,item_id,timestamp\n" * 5000)[:200]),
        r"could not read .*export\.csv\.gz",
    ),
    "unknown suffix": (_write_bytes("export.dat", b"a,b\n"), "cannot tell the format"),
    "bz2 compression": (_write_bytes("export.csv.bz2", b"BZh91AY"), "bz2 compression"),
    "zip archive": (_write_bytes("export.zip", b"PK\x03\x04" + b"\0" * 50), "unzip it"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_unreadable_file_is_a_typed_error_naming_it(case: str, tmp_path: Path) -> None:
    make, pattern = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(InputDataError, match=pattern) as info:
        rs.clean_purchases(path)
    assert "\n" not in str(info.value)


BAD_TIMES: dict[str, tuple[list[Any], dict[str, Any], str]] = {
    "unix ms read as seconds": (
        [1_291_191_960_000, 1_291_191_960_000],
        {"timestamp_format": "unix_s"},
        r"not unix_s",
    ),
    "seconds mixed with milliseconds": (
        [1_291_191_960, 1_291_191_960_000],
        {},
        r"mixed unix_s and unix_ms",
    ),
    "numbers of no known unit": ([12_345_678_901, 12_345_678_902], {}, r"timestamp_format="),
    "words": (["soon", "later"], {}, r"cannot parse values such as"),
    "ambiguous dates": (["01/02/2011", "03/04/2011"], {}, r"dayfirst="),
    "not a format": (["2011-01-01"], {"timestamp_format": "dd/mm/yyyy"}, "strftime"),
}


@pytest.mark.parametrize("case", list(BAD_TIMES))
def test_unreadable_timestamps_are_refused(case: str) -> None:
    values, kwargs, pattern = BAD_TIMES[case]
    frame = pl.DataFrame({"user_id": range(len(values)), "item_id": "a", "timestamp": values})
    with pytest.raises(InputDataError, match=pattern):
        rs.clean_purchases(frame, **kwargs)


def test_reader_panic_becomes_input_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class PanicException(BaseException):  # what pyo3 raises on a Rust panic
        pass

    def panic(*args: Any, **kwargs: Any) -> None:
        raise PanicException("index out of bounds")

    path = tmp_path / "export.csv"
    path.write_text("user_id,item_id,timestamp\n1,a,2011-01-01\n")
    monkeypatch.setattr(pl, "read_csv", panic)
    with pytest.raises(InputDataError, match=r"export\.csv: index out of bounds"):
        read_table(path)

    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pl, "read_csv", interrupt)
    with pytest.raises(KeyboardInterrupt):
        read_table(path)


# ---------------------------------------------------------------------------------------
# property: random valid frames in random export styles round-trip

UNAMBIGUOUS = [name for name in DATE_STYLES if not name.startswith(("uk", "us", "german", "dutch"))]


@st.composite
def _frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 40))
    minutes = st.integers(0, 60 * 24 * 365 * 20)
    start = datetime(2005, 1, 1)
    return pl.DataFrame(
        {
            "user_id": draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n)),
            "item_id": draw(
                st.lists(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True), min_size=n, max_size=n)
            ),
            "order_id": [
                str(i) for i in draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n))
            ],
            "timestamp": [
                start + timedelta(minutes=m)
                for m in draw(st.lists(minutes, min_size=n, max_size=n))
            ],
            "quantity": [
                float(q) for q in draw(st.lists(st.integers(1, 500), min_size=n, max_size=n))
            ],
            "price": [
                p / 100 for p in draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n))
            ],
        },
        schema_overrides={"timestamp": pl.Datetime("us")},
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frame=_frames(),
    dates=st.sampled_from(sorted(DATE_STYLES)),
    ids=st.sampled_from(sorted(ID_STYLES)),
    separator=st.sampled_from([",", ";", "\t", "|"]),
    compression=st.sampled_from([None, "gzip", "zstd"]),
    bom=st.booleans(),
)
def test_random_frames_round_trip(
    frame: pl.DataFrame,
    dates: str,
    ids: str,
    separator: str,
    compression: str | None,
    bom: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    kwargs: dict[str, Any] = {}
    if dates not in UNAMBIGUOUS:  # a few random rows may not decide day/month order
        kwargs["dayfirst"] = dates.startswith(("uk", "german", "dutch"))
    style = Export(
        dates=dates,
        ids=ids,
        separator=separator,
        decimal_comma=separator != ",",
        compression=compression,
        bom=bom,
        kwargs=kwargs,
    )
    folder = tmp_path_factory.mktemp("export")
    path = _write(_render(frame, style), style, folder)
    purchases, report = _clean(path, style)
    _check(purchases, report, _expected(frame, style))


def test_format_decided_by_all_values_not_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.data import timestamps

    monkeypatch.setattr(timestamps, "SAMPLE_SIZE", 3)
    values = [f"{d:02d}/{m:02d}/2011" for m in range(1, 13) for d in range(1, 13)]
    frame = pl.DataFrame({"user_id": 1, "item_id": "a", "timestamp": [*values, "25/12/2011"]})
    purchases, report = rs.clean_purchases(frame)
    assert report.timestamp_format == "%d/%m/%Y"
    assert purchases["timestamp"][-1] == datetime(2011, 12, 25)


def test_preset_format_is_a_declaration_not_ambiguous() -> None:
    frame = pl.DataFrame(
        {
            "CUSTOMER_ID": ["01", "02"],
            "PRODUCT_ID": ["a", "b"],
            "TRANSACTION_DT": ["11/1/2000", "12/2/2000"],
            "AMOUNT": [1, 2],
            "SALES_PRICE": [3.0, 4.0],
        }
    )
    purchases, _ = rs.clean_purchases(frame, preset="ta_feng")
    assert purchases["timestamp"].to_list() == [datetime(2000, 11, 1), datetime(2000, 12, 2)]


def test_parquet_keeps_its_own_id_types(base: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    base.with_columns(pl.col("user_id").cast(pl.String)).write_parquet(path)
    purchases, _ = rs.clean_purchases(path)
    assert purchases["user_id"].dtype == pl.String  # text in the file stays text
    assert purchases["item_id"].dtype == pl.String


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_latin1_with_encoding(
    compression: str, base: pl.DataFrame, tmp_path: Path
) -> None:
    style = Export(
        compression=compression,
        encoding="latin-1",
        separator=";",
        decimal_comma=True,
        note="Café Zürich",
        kwargs={"encoding": "latin-1"},
    )
    path = _write(_render(base, style), style, tmp_path)
    purchases, report = _clean(path, style)
    _check(purchases, report, _expected(base, style))
    assert purchases["Notiz"].unique().to_list() == ["Café Zürich"]
    with pytest.raises(InputDataError, match="not UTF-8"):
        _clean(path, replace(style, kwargs={}))


def test_unclosed_quote_in_gzip_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(b'user_id;item_id;timestamp\n1;a;2011-01-01\n2;"b;2011-01-02\n'))
    with pytest.raises(InputDataError, match=r"export\.csv\.gz: line 3: a quoted field"):
        rs.clean_purchases(path)


def test_midnight_written_as_the_date_alone(base: pl.DataFrame, tmp_path: Path) -> None:
    style = Export(dates="uk dd/mm/yyyy HH:MM")
    midnight = base["timestamp"].dt.truncate("1d")
    moved = base.with_columns(
        timestamp=pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(midnight)
        .otherwise(pl.col("timestamp"))
    )
    frame = _render(moved, style).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.col(NAMES["timestamp"]).str.slice(0, 10))
        .otherwise(pl.col(NAMES["timestamp"]))
        .alias(NAMES["timestamp"])
    )
    assert frame[NAMES["timestamp"]][0] == moved["timestamp"][0].strftime("%d/%m/%Y")
    path = _write(frame, style, tmp_path)
    purchases, report = _clean(path, style)
    _check(purchases, report, _expected(moved, style))
