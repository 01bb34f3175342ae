"""Timestamps read right or not at all: the format is decided from the whole column.

A text column is parsed through its distinct values: every format of
`TIMESTAMP_FORMATS` is tried on them (on an evenly spread sample of at most
`SAMPLE_SIZE` of them, then the winner on all of them), so a day-first
column whose first rows all have a day <= 12 is still read day-first. When the
day-first and month-first readings both parse every value, the column is
ambiguous and `InputDataError` asks for ``timestamp_format=`` or
``dayfirst=``. Numbers are read as unix seconds, milliseconds, microseconds or
nanoseconds, Excel serial day numbers or ``yyyymmdd``, told apart by magnitude.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from recsys._text import counted
from recsys.exceptions import DataWarning, InputDataError

__all__ = [
    "MAX_INVALID_SHARE",
    "NUMERIC_FORMATS",
    "TIMESTAMP_FORMATS",
    "ParsedTimestamps",
    "parse_timestamps",
]

#: Share of non-empty timestamp values allowed not to parse (their rows are dropped
#: as ``invalid_timestamp`` with a `DataWarning`); above it, an error.
MAX_INVALID_SHARE = 0.001

#: Timestamp string formats tried when no format is given (``%.f`` also reads whole
#: seconds). A trailing ``Z``, ``UTC`` or offset such as ``+01:00`` after a time is
#: dropped first, keeping the local clock time.
TIMESTAMP_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m-%d-%Y %H:%M:%S",
    "%m-%d-%Y %H:%M",
    "%m-%d-%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d.%m.%y",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
)

#: Names accepted by ``timestamp_format=`` for numeric columns.
NUMERIC_FORMATS: dict[str, tuple[float, float]] = {
    # name: (lowest, highest) plausible value, 1950..2130
    "excel": (18_264, 84_000),
    "yyyymmdd": (19_000_101, 21_301_231),
    "unix_s": (1e8, 5e9),
    "unix_ms": (1e11, 5e12),
    "unix_us": (1e14, 5e15),
    "unix_ns": (1e17, 5e18),
}
_UNIT_US = {"unix_s": 1e6, "unix_ms": 1e3, "unix_us": 1.0, "unix_ns": 1e-3}
_EXCEL_EPOCH = datetime(1899, 12, 30)
SAMPLE_SIZE = 20_000
_YEARS = (1900, 2200)
_TZ = r"^(.*\d:\d\d(?::\d\d)?(?:[.,]\d+)?)\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$"
_ZONE = r"\d\s*(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$"
_NUMBER = r"^[+-]?\d+(?:\.\d*)?$"
_KEPT_LOCAL = "the local clock time is kept and the zone dropped (the shop's day stays its day)"


def _mirror(fmt: str) -> str | None:
    """The same format with day and month swapped (``None`` for year-first formats)."""
    if fmt.startswith(("%d", "%m")):
        return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return None


def _is_day_first(fmt: str) -> bool:
    return fmt.startswith("%d")


@dataclass(frozen=True)
class ParsedTimestamps:
    """How a timestamp column is read.

    Attributes
    ----------
    expr
        Expression on the source column giving ``Datetime("us")`` (null where the
        value is missing or does not parse).
    format
        The strftime format or numeric unit used (``None`` for datetime columns).
    invalid
        Non-empty values that do not parse (their rows become ``invalid_timestamp``).
    zones
        What was done with time zones, for the cleaning report (``None`` when the
        values carry none): the local clock time is kept and the zone or UTC offset
        dropped, so a purchase at 22:00 in the shop stays on the shop's day.
    """

    expr: pl.Expr
    format: str | None
    invalid: int = 0
    zones: str | None = None


def _date_part(fmt: str) -> str | None:
    """``%d/%m/%Y`` of ``%d/%m/%Y %H:%M`` (``None`` for a format without a time)."""
    cut = min((i for i in (fmt.find("%H"), fmt.find("%I")) if i > 0), default=-1)
    return fmt[:cut].rstrip(" T") if cut > 0 else None


def _strptime(text: pl.Expr, fmt: str, midnight: bool) -> pl.Expr:
    """``text`` read with ``fmt``; with ``midnight``, also dates written without a time."""
    parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False)
    day = _date_part(fmt) if midnight else None
    if day is not None:  # some exports write midnight as the date alone
        parsed = pl.coalesce(parsed, text.str.strptime(pl.Datetime("us"), day, strict=False))
    return parsed


def _parse(values: pl.Series, fmt: str, midnight: bool = False) -> pl.Series:
    """``values`` read with ``fmt``; null where they do not parse or the year is absurd."""
    parsed = values.to_frame("v").select(_strptime(pl.col("v"), fmt, midnight)).to_series()
    year = parsed.dt.year()
    return parsed.set(~year.is_between(*_YEARS).fill_null(False), None)


def _describe(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def _numeric_unit(lf: pl.LazyFrame, numbers: pl.Expr) -> tuple[str | None, str]:
    """The unit of a numeric timestamp column, from its largest and smallest values.

    The largest value decides; a smallest value that is itself plausible in another
    unit (seconds mixed with milliseconds) makes the column ambiguous (``None``).
    """
    finite = numbers.filter(numbers.is_finite())
    lo, hi = lf.select(finite.min().alias("lo"), finite.max().alias("hi")).collect().row(0)
    if hi is None:
        return "unix_s", ""
    span = f"numbers from {lo:g} to {hi:g}"
    unit = next((n for n, (a, b) in NUMERIC_FORMATS.items() if a <= hi <= b), None)
    if unit is None:
        return None, span
    for other, (a, b) in NUMERIC_FORMATS.items():
        if other != unit and a <= lo <= b:
            return None, span + f" (mixed {other} and {unit}?)"
    return unit, span


def _numeric(lf: pl.LazyFrame, src: str, col: pl.Expr, fmt: str | None) -> tuple[pl.Expr, str]:
    numbers = col.cast(pl.Float64, strict=False)
    if fmt is not None:
        finite = numbers.filter(numbers.is_finite())
        lo, hi = lf.select(finite.min().alias("lo"), finite.max().alias("hi")).collect().row(0)
        low, high = NUMERIC_FORMATS[fmt]
        if lo is not None and not (low <= hi <= high and (lo <= 0 or lo >= low)):
            raise InputDataError(
                f"column {src!r} (timestamp) holds numbers from {lo:g} to {hi:g}: not {fmt} "
                f"of the years 1950-2130 (between {low:g} and {high:g}); check "
                f"timestamp_format= (one of {list(NUMERIC_FORMATS)})"
            )
    else:
        fmt, span = _numeric_unit(lf, numbers)
        if fmt is None:
            raise InputDataError(
                f"column {src!r} (timestamp) holds {span}: not all unix seconds, "
                "milliseconds, microseconds or nanoseconds, Excel serial days or yyyymmdd "
                f"dates of the years 1950-2130; pass timestamp_format= one of "
                f"{list(NUMERIC_FORMATS)} or a strftime format"
            )
    if fmt == "excel":
        micros = (numbers * 86_400_000).round() * 1000
        expr = pl.lit(_EXCEL_EPOCH) + pl.duration(microseconds=micros.cast(pl.Int64))
    elif fmt == "yyyymmdd":
        expr = (
            numbers.cast(pl.Int64, strict=False)
            .cast(pl.String)
            .str.strptime(pl.Datetime("us"), "%Y%m%d", strict=False)
        )
    else:
        micros = (numbers * _UNIT_US[fmt]).round().cast(pl.Int64, strict=False)
        expr = pl.from_epoch(micros, time_unit="us")
    return expr.cast(pl.Datetime("us")), fmt


def parse_timestamps(
    lf: pl.LazyFrame,
    src: str,
    dtype: pl.DataType,
    *,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    preferred: str | None = None,
    max_invalid_share: float = MAX_INVALID_SHARE,
) -> ParsedTimestamps:
    """Decide how to read the timestamp column ``src`` of ``lf``, from all its values.

    Parameters
    ----------
    lf
        The table.
    src
        The timestamp column.
    dtype
        Its dtype.
    timestamp_format
        A strftime format, or one of `NUMERIC_FORMATS` for numbers; default:
        decided from the data.
    dayfirst
        ``True`` for day-first (``31/12/2024``), ``False`` for month-first
        (``12/31/2024``) dates; default: decided from the data, an error when the
        data cannot decide.
    preferred
        A format tried first (a preset's): when it reads every value it is used,
        without the day/month ambiguity check (the preset knows the layout).
    max_invalid_share
        Largest share of non-empty values allowed not to parse.

    Returns
    -------
    ParsedTimestamps

    Raises
    ------
    InputDataError
        No format reads the values, the day/month order is ambiguous, or more than
        ``max_invalid_share`` of the values do not parse with the chosen format.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"when": ["01/12/2009 07:45", "13/12/2009 08:00"]})
    >>> parsed = parse_timestamps(lf, "when", pl.String)
    >>> parsed.format
    '%d/%m/%Y %H:%M'
    >>> lf.select(parsed.expr).collect()["when"].dt.month().to_list()
    [12, 12]
    """
    if not 0 <= max_invalid_share < 1:
        raise InputDataError(f"max_invalid_share must be in [0, 1), got {max_invalid_share!r}")
    col = pl.col(src)
    if isinstance(dtype, pl.Datetime):
        zones = None
        if dtype.time_zone is not None:  # keep the shop's local clock time
            col = col.dt.replace_time_zone(None)
            zones = f"timestamps: column {src!r} is in time zone {dtype.time_zone}; {_KEPT_LOCAL}"
        return ParsedTimestamps(col.cast(pl.Datetime("us")).alias(src), None, zones=zones)
    if dtype == pl.Date or dtype == pl.Null:
        return ParsedTimestamps(col.cast(pl.Datetime("us")).alias(src), None)
    if (
        timestamp_format is not None
        and timestamp_format not in NUMERIC_FORMATS
        and "%" not in timestamp_format
    ):
        raise InputDataError(
            f"timestamp_format={timestamp_format!r} is neither a strftime format (like "
            f"'%d/%m/%Y %H:%M') nor one of {list(NUMERIC_FORMATS)}"
        )
    if dtype.is_numeric():
        numeric_unit = timestamp_format in NUMERIC_FORMATS
        if timestamp_format is None:
            numeric_unit = _numeric_unit(lf, col.cast(pl.Float64))[0] is not None
        if numeric_unit:
            expr, fmt = _numeric(lf, src, col, timestamp_format)
            return ParsedTimestamps(expr.alias(src), fmt)
        if not dtype.is_integer():  # decimals but no known unit: _numeric explains
            _numeric(lf, src, col, timestamp_format)
        col = col.cast(pl.String)  # digits such as 20240105103000 read as text
        dtype = pl.String()
        from_numbers = True
    else:
        from_numbers = False
    if dtype not in (pl.String, pl.Categorical) and not isinstance(dtype, pl.Enum):
        raise InputDataError(
            f"column {src!r} (timestamp) has dtype {dtype}; expected datetimes, dates, "
            "unix times, Excel serial days or date strings"
        )
    text = col.cast(pl.String).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    counts = (
        lf.select(text.alias("value")).drop_nulls().group_by("value").len().sort("value").collect()
    )
    values, n = counts["value"], counts["len"]
    if values.len() and (
        timestamp_format in NUMERIC_FORMATS
        or (
            timestamp_format is None
            and values.str.contains(_NUMBER).all()
            and _numeric_unit(counts.lazy(), pl.col("value").cast(pl.Float64))[0] is not None
        )
    ):
        expr, fmt = _numeric(lf, src, text, timestamp_format)
        return ParsedTimestamps(expr.alias(src), fmt)
    normal = values.str.replace(_TZ, "${1}")
    zones = _zone_note(src, values, normal, n)
    try:
        fmt = timestamp_format or _choose_format(src, normal, dayfirst, preferred)
    except InputDataError:
        if from_numbers or values.str.contains(_NUMBER).all():
            _numeric(lf, src, text, None)  # numbers of no known unit: say so
        raise
    parsed = _parse(normal, fmt)
    midnight = False
    if parsed.null_count() and parsed.null_count() < len(parsed):
        with_dates = _parse(normal, fmt, midnight=True)
        if with_dates.null_count() < parsed.null_count():
            parsed, midnight = with_dates, True
    bad = parsed.is_null()
    invalid = int(n.filter(bad).sum())
    total = int(n.sum())
    if invalid:
        examples = ", ".join(repr(v) for v in values.filter(bad).head(3).to_list())
        share = invalid / total
        message = (
            f"column {src!r} (timestamp): {invalid:,} of {total:,} values ({share:.2%}) do not "
            f"parse as {fmt!r}, e.g. {examples}"
        )
        if invalid == total:
            raise InputDataError(f"{message}; pass timestamp_format= (strftime syntax)")
        if share > max_invalid_share:
            raise InputDataError(
                f"{message}; more than max_invalid_share={max_invalid_share:g}: fix the values, "
                "pass timestamp_format=, or raise max_invalid_share to drop these rows"
            )
        warnings.warn(
            f"{message}: {counted(invalid, 'row')} dropped as invalid_timestamp",
            DataWarning,
            stacklevel=3,
        )
    # The same reading on the whole column: strptime is ~10x faster than a lookup.
    if not values.equals(normal):
        text = text.str.replace(_TZ, "${1}")
    expr = _strptime(text, fmt, midnight)
    unchecked = normal.to_frame("v").select(_strptime(pl.col("v"), fmt, midnight)).to_series()
    if unchecked.null_count() < bad.sum():
        expr = pl.when(expr.dt.year().is_between(*_YEARS)).then(expr)
    return ParsedTimestamps(expr.alias(src), fmt, invalid, zones)


def _zone_note(src: str, values: pl.Series, normal: pl.Series, n: pl.Series) -> str | None:
    """How many values carried a zone or UTC offset (dropped), per zone; None if none.

    Examples
    --------
    >>> values = pl.Series(["2017-01-28T14:06:53-05:00", "2017-04-02T09:00:00-04:00",
    ...                     "2017-04-03T09:00:00"])
    >>> note = _zone_note("t", values, values.str.replace(_TZ, "${1}"), pl.Series([3, 1, 2]))
    >>> print(note.split("; ")[0])
    timestamps: 4 of 6 values of 't' carry a UTC offset or zone (-05:00 on 3, -04:00 on 1)
    """
    zoned = values != normal
    if not zoned.any():
        return None
    by_zone = (
        pl.DataFrame({"zone": values.filter(zoned).str.extract(_ZONE, 1), "n": n.filter(zoned)})
        .group_by("zone")
        .agg(pl.col("n").sum())
        .sort("n", "zone", descending=[True, False])
    )
    shown = ", ".join(f"{z} on {k:,}" for z, k in by_zone.head(5).iter_rows())
    more = f", {by_zone.height - 5} more" if by_zone.height > 5 else ""
    return (
        f"timestamps: {int(by_zone['n'].sum()):,} of {int(n.sum()):,} values of {src!r} carry "
        f"a UTC offset or zone ({shown}{more}); {_KEPT_LOCAL}"
    )


def _choose_format(
    src: str, values: pl.Series, dayfirst: bool | None, preferred: str | None
) -> str:
    """The format that parses the most values; an error when day/month order is unclear."""
    if values.len() == 0:
        return preferred or TIMESTAMP_FORMATS[0]
    candidates = [
        f
        for f in dict.fromkeys([*([preferred] if preferred else []), *TIMESTAMP_FORMATS])
        if dayfirst is None or _mirror(f) is None or _is_day_first(f) == dayfirst
    ]
    sample = values
    if values.len() > SAMPLE_SIZE:  # evenly spread over the sorted distinct values
        step = values.len() / SAMPLE_SIZE
        sample = values.gather([int(i * step) for i in range(SAMPLE_SIZE)])
    if preferred is not None and _parse(values, preferred).null_count() == 0:
        return preferred  # a preset's documented layout reads every value
    hits = [sample.len() - _parse(sample, f).null_count() for f in candidates]
    top = max(range(len(hits)), key=lambda i: (hits[i], -i))
    if hits[top] == 0:
        raise InputDataError(
            f"column {src!r} (timestamp): cannot parse values such as "
            f"{', '.join(repr(v) for v in values.head(2).to_list())} as "
            "dates; pass timestamp_format= (strftime syntax, e.g. '%d/%m/%Y %H:%M')"
        )
    best = candidates[top]
    mirror = _mirror(best)
    if dayfirst is None and mirror is not None:
        ours, theirs = _parse(values, best), _parse(values, mirror)
        if theirs.null_count() < ours.null_count():  # the sample misled: all values decide
            return mirror
        if theirs.null_count() == ours.null_count():
            differ = (ours != theirs).fill_null(False)
            examples = values.filter(differ).head(2).to_list() or values.head(2).to_list()
            first, second = (best, mirror) if _is_day_first(best) else (mirror, best)
            readings = "; ".join(
                f"{v!r} is {_describe(_parse(pl.Series([v]), first)[0])} day-first "
                f"or {_describe(_parse(pl.Series([v]), second)[0])} month-first"
                for v in examples
                if _parse(pl.Series([v]), first)[0] is not None
                and _parse(pl.Series([v]), second)[0] is not None
            )
            raise InputDataError(
                f"column {src!r} (timestamp): every value reads both day-first and month-first "
                f"({readings}); pass dayfirst=True or dayfirst=False, "
                f"or timestamp_format= "
                f"(e.g. {first!r} or {second!r})"
            )
    return best
