"""Reading the files people have: every reader failure becomes one `InputDataError`.

One function, `read_table`, reads every table file recsys accepts (CSV/TSV in
any common dialect, optionally gzip- or zstd-compressed, Parquet, Excel), and one
context manager, `reading`, turns whatever a reader raises -- polars errors,
``OSError``, ``UnicodeDecodeError``, even the ``pyo3_runtime.PanicException`` of a
Rust reader (a ``BaseException``) -- into an `InputDataError` naming the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from recsys.exceptions import InputDataError, RecsysError

__all__ = ["CSV_SEPARATORS", "is_rust_panic", "is_text_table", "read_table", "reading"]

#: Separators tried, in this order, when a CSV file's separator is detected.
CSV_SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")

_HEAD_BYTES = 1 << 16
_SNIFF_LINES = 50
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".data", ".tab"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_COMPRESSED = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_UNSUPPORTED_COMPRESSION = {".bz2", ".xz", ".zip", ".7z"}
_MAGIC = {
    b"PAR1": "parquet",
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
    b"\xd0\xcf\x11\xe0": "ole2",
}
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_INTEGER = re.compile(r"^\s*-?\d+\s*$")
_MAX_LOCATE_BYTES = 64 << 20


def is_rust_panic(err: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (``pyo3_runtime.PanicException``, a ``BaseException``).

    Told by the type's name and module, since pyo3 does not export the class.

    Examples
    --------
    >>> class PanicException(BaseException):
    ...     pass
    >>> is_rust_panic(PanicException("boom")), is_rust_panic(KeyboardInterrupt())
    (True, False)
    """
    kind = type(err)
    return kind.__name__ == "PanicException" or kind.__module__.startswith("pyo3_runtime")


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


@contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """Run a reader; turn any failure into an `InputDataError` naming ``path``.

    ``KeyboardInterrupt``, ``SystemExit`` and the library's own errors pass through
    unchanged; every other exception, and a Rust panic (a ``BaseException``), is
    re-raised as `InputDataError` with a one-line message.

    Examples
    --------
    >>> import polars as pl
    >>> try:
    ...     with reading("missing.csv"):
    ...         pl.read_csv("missing.csv")
    ... except InputDataError as err:
    ...     print(str(err).split(":")[0])
    could not read missing.csv
    """
    try:
        yield
    except RecsysError:
        raise
    except BaseException as err:
        if not (isinstance(err, Exception) or is_rust_panic(err)):
            raise  # KeyboardInterrupt, SystemExit, GeneratorExit
        detail = _one_line(str(err)) or type(err).__name__
        raise InputDataError(f"could not read {path}: {detail}") from err


def _read_bytes(path: Path, compression: str | None, size: int = -1) -> bytes:
    """The first ``size`` bytes (all with ``-1``) of the file, decompressed."""
    if compression == "gzip":
        with gzip.open(path, "rb") as f:
            return f.read(size)
    if compression == "zstd":
        import pyarrow as pa

        with pa.input_stream(str(path), compression="zstd") as f:
            return bytes(f.read(None if size < 0 else size))
    with open(path, "rb") as f:
        return f.read(size)


def _kind(path: Path, magic: bytes) -> tuple[str, str | None]:
    """(``csv`` | ``parquet`` | ``excel``, compression) from the magic bytes and the name."""
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    detected = next((kind for sig, kind in _MAGIC.items() if magic.startswith(sig)), None)
    if detected == "parquet":
        return "parquet", None
    if detected in ("zip", "ole2"):
        if last in _EXCEL_SUFFIXES or detected == "ole2":
            return "excel", None
        raise InputDataError(
            f"{path} is a zip archive: unzip it and pass the CSV, Parquet or .xlsx file inside"
        )
    if detected in ("gzip", "zstd"):
        return "csv", detected
    if last in _UNSUPPORTED_COMPRESSION:
        raise InputDataError(
            f"{path}: {last} compression is not supported; use gzip (.gz) or zstd (.zst), "
            "or decompress the file"
        )
    if last in _PARQUET_SUFFIXES:
        raise InputDataError(f"could not read {path}: not a Parquet file (no PAR1 header)")
    if last in _EXCEL_SUFFIXES:
        raise InputDataError(f"could not read {path}: not an Excel workbook")
    inner = suffixes[-2] if last in _COMPRESSED and len(suffixes) > 1 else last
    if inner in _CSV_SUFFIXES or last in _CSV_SUFFIXES:
        return "csv", None
    raise InputDataError(
        f"cannot tell the format of {path}: expected a name ending in .csv, .tsv, .txt, "
        ".parquet, .xlsx (CSV optionally compressed, e.g. .csv.gz, .csv.zst)"
    )


def _decode_head(path: Path, head: bytes, encoding: str | None, complete: bool) -> str:
    """The first bytes as text; a clear error for binary content or another encoding."""
    if not complete:  # drop a possibly cut last line (and a cut multi-byte character)
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    if encoding is not None:
        try:
            return head.decode(encoding, errors="replace").lstrip("\ufeff")
        except LookupError:
            raise InputDataError(f"encoding={encoding!r} is not a known text encoding") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputDataError(f"{path} is UTF-16 text: pass encoding='utf-16'")
    if b"\x00" in head:
        raise InputDataError(f"{path} is not a text (CSV) file: it holds binary data")
    try:
        return head.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as err:
        line = head[: err.start].count(b"\n") + 1
        raise InputDataError(
            f"{path} is not UTF-8 text (byte 0x{head[err.start]:02x} on line {line}): pass "
            "encoding= (--encoding) with the file's encoding, e.g. encoding='latin-1' or 'cp1252'"
        ) from None


def _sniff(text: str, path: Path) -> tuple[str, bool, list[str]]:
    """(separator, decimal comma, header) from the first lines of a CSV text."""
    lines = text.splitlines()[:_SNIFF_LINES]
    if not lines or not lines[0].strip():
        raise InputDataError(f"could not read {path}: no header line (the file is empty)")
    best: tuple[int, int, str, list[list[str]]] | None = None
    for rank, sep in enumerate(CSV_SEPARATORS):
        try:
            rows = [row for row in csv.reader(lines, delimiter=sep) if row]
        except csv.Error:
            continue
        widths = {len(row) for row in rows[:-1] or rows}  # the last line may be cut
        if len(widths) == 1 and (width := widths.pop()) > 1:
            score = (width, -rank)
            if best is None or score > (best[0], best[1]):
                best = (width, -rank, sep, rows)
    if best is None:  # a single column, or lines of uneven width: polars will say where
        rows = list(csv.reader(lines[:1]))
        return ",", False, rows[0] if rows else []
    _, _, sep, rows = best
    decimal_comma = False
    if sep != ",":  # a column of numbers with decimal commas (and none with points)
        for column in zip(*rows[1:], strict=False):
            values = [v for v in column if v.strip()]
            if (
                values
                and any(_DECIMAL_COMMA.match(v) for v in values)
                and all(_DECIMAL_COMMA.match(v) or _INTEGER.match(v) for v in values)
            ):
                decimal_comma = True
    return sep, decimal_comma, rows[0]


def _locate_csv_problem(
    path: Path, compression: str | None, encoding: str | None, sep: str, width: int
) -> str:
    """Where a CSV file goes wrong (``"line N: ..."``), found with Python's csv module.

    Only for files up to 64 MB (decompressed); ``""`` when nothing is found.
    """
    start = 1
    try:
        raw = _read_bytes(path, compression, _MAX_LOCATE_BYTES + 1)
        if len(raw) > _MAX_LOCATE_BYTES:
            return ""
        text = raw.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")
        reader = csv.reader(text.splitlines(keepends=True), delimiter=sep, strict=True)
        for row in reader:
            if len(row) != width and row:
                if reader.line_num > start:
                    return f"line {start}: a quoted field is not closed"
                return f"line {start}: {len(row)} fields, the header has {width}"
            start = reader.line_num + 1
    except csv.Error as err:
        if "end of data" in str(err) or "EOF" in str(err):
            return f"line {start}: a quoted field is not closed"
        return f"line {start}: {err}"
    except Exception:
        return ""
    return ""


def _read_csv(
    path: Path,
    compression: str | None,
    text_columns: Iterable[str],
    encoding: str | None,
    separator: str | None,
) -> pl.DataFrame:
    head = _read_bytes(path, compression, _HEAD_BYTES)
    complete = len(head) < _HEAD_BYTES
    text = _decode_head(path, head, encoding, complete)
    sniffed_sep, decimal_comma, header = _sniff(text, path)
    sep = separator or sniffed_sep
    if separator is not None and separator != sniffed_sep:
        header = next(csv.reader(text.splitlines()[:1], delimiter=sep), [])
        decimal_comma = False
    overrides = {name: pl.String for name in text_columns if name in header}
    source: Path | io.BytesIO = path
    if encoding is not None and not _is_utf8(encoding):
        # polars would decode the file's bytes before decompressing them: decompress,
        # decode and hand polars UTF-8 ourselves.
        with reading(path):
            source = io.BytesIO(_read_bytes(path, compression).decode(encoding).encode())
    try:
        with reading(path):
            return pl.read_csv(
                source,
                separator=sep,
                decimal_comma=decimal_comma,
                schema_overrides=overrides,
                infer_schema_length=None,
            )
    except InputDataError as err:
        if "invalid utf-8" in str(err):
            raise InputDataError(
                f"{err}: the file is not UTF-8; pass encoding= (--encoding) with the file's "
                "encoding, e.g. encoding='latin-1' or 'cp1252'"
            ) from err.__cause__
        where = _locate_csv_problem(path, compression, encoding, sep, len(header))
        if where:
            raise InputDataError(f"could not read {path}: {where}") from err.__cause__
        raise


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        raise InputDataError(f"encoding={encoding!r} is not a known text encoding") from None


def _read_excel(path: Path) -> pl.DataFrame:
    try:
        import fastexcel  # noqa: F401
    except ImportError:
        raise InputDataError(
            f"reading the Excel file {path} needs the optional package fastexcel: "
            "pip install 'recsys[excel]'"
        ) from None
    with reading(path):
        return pl.read_excel(path, engine="calamine")


def _file_kind(path: Path) -> tuple[str, str | None]:
    """(``csv`` | ``parquet`` | ``excel``, compression) of an existing, non-empty file."""
    if not path.exists():
        raise InputDataError(f"file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"expected a CSV, Parquet or Excel file, got a directory: {path}")
    with reading(path):
        size = path.stat().st_size
        with open(path, "rb") as f:
            magic = f.read(8)
    if size == 0:
        raise InputDataError(f"could not read {path}: the file is empty (0 bytes)")
    return _kind(path, magic)


def _check_parquet(path: Path) -> None:
    """Decode every row group of a Parquet file with pyarrow, one at a time.

    Polars panics on some corrupt data pages: its panic hook prints the message
    and a backtrace to stderr before Python sees an exception, and some panics
    abort the process. pyarrow raises an ordinary error for the same pages, so a
    corrupt file is refused here, before polars reads it (memory: one row group).
    """
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for group in range(parquet.metadata.num_row_groups):
            parquet.read_row_group(group)


def is_text_table(path: str | os.PathLike[str]) -> bool:
    """True when `read_table` reads ``path`` as CSV text (plain or compressed).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
    >>> _ = path.write_text("a,b\\n1,2\\n")
    >>> is_text_table(path)
    True
    """
    return _file_kind(Path(path))[0] == "csv"


def read_table(
    path: str | os.PathLike[str],
    *,
    text_columns: Iterable[str] = (),
    encoding: str | None = None,
    separator: str | None = None,
) -> pl.LazyFrame:
    """Read a table file into a LazyFrame, or raise an `InputDataError` naming it.

    The format is told by the file's first bytes, then its name: Parquet (scanned
    lazily), Excel (``.xlsx``, ``.xls``, ``.ods``; needs ``pip install
    'recsys[excel]'``), otherwise CSV text, plain or gzip/zstd-compressed. For CSV
    the separator (one of `CSV_SEPARATORS`) and a decimal comma (``1,25``,
    with a separator other than ``,``) are detected from the first lines; UTF-8
    with or without a byte-order mark is read as is, any other encoding needs
    ``encoding=``. Every failure -- a malformed CSV (with its line where it can be
    found), binary content, an empty file, a truncated or corrupt Parquet file
    (decoded by pyarrow first: polars panics on some corrupt pages), a directory
    -- raises `InputDataError` naming the file.

    Parameters
    ----------
    path
        The file.
    text_columns
        CSV columns read as text even when they look numeric (ids such as
        ``0000013085`` keep their zeros). Names absent from the file are ignored.
    encoding
        Text encoding of a CSV file (``"latin-1"``, ``"cp1252"``, ...); default UTF-8.
    separator
        CSV field separator; default: detected.

    Returns
    -------
    pl.LazyFrame

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
    >>> _ = path.write_text("customer;price\\n0042;1,5\\n0043;2,25\\n")
    >>> read_table(path, text_columns=["customer"]).collect().rows()
    [('0042', 1.5), ('0043', 2.25)]
    """
    path = Path(path)
    kind, compression = _file_kind(path)
    if kind == "parquet":
        with reading(path):
            _check_parquet(path)
            lf = pl.scan_parquet(path)
            lf.collect_schema()
        return lf
    if kind == "excel":
        return _read_excel(path).lazy()
    if compression is None and (suffix := path.suffix.lower()) in _COMPRESSED:
        raise InputDataError(f"could not read {path}: not a {_COMPRESSED[suffix]} file")
    with reading(path):
        frame = _read_csv(path, compression, text_columns, encoding, separator)
    if frame.width == 0:
        raise InputDataError(f"could not read {path}: no columns")
    return frame.lazy()
