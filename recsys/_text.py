"""Numbers in words, one way everywhere: `counted` (``1 row``, ``2 rows``), the one
plural rule of every message, account and page (`agree` alone, where the number is not
printed: ``it keeps``, ``they keep``); `number` and `interval`, `percent` and
`money`, the one way the job's claims (`recsys.job.claims`) and the report's tables
(`recsys.report.format` re-exports them) print an estimate and its interval, a share and
an amount."""

from __future__ import annotations

import math

__all__ = ["about", "agree", "counted", "first_upper", "interval", "money", "number", "percent"]


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and the noun phrase that agrees with it.

    ``plural`` defaults to ``singular + "s"``; give it where the phrase does not end
    in its noun (``"item id carries"``, ``"item ids carry"``).

    Examples
    --------
    >>> counted(1, "return row"), counted(0, "return row"), counted(12345, "customer")
    ('1 return row', '0 return rows', '12,345 customers')
    >>> counted(1, "item id carries", "item ids carry")
    '1 item id carries'
    """
    return f"{n:,} {agree(n, singular, plural)}"


def agree(n: int, singular: str, plural: str | None = None) -> str:
    """The words that agree with ``n`` without ``n`` itself: `counted`'s rule for a
    phrase that does not print the number (a verb after listed names, a pronoun).

    Examples
    --------
    >>> agree(1, "it keeps", "they keep"), agree(3, "it keeps", "they keep"), agree(0, "row")
    ('it keeps', 'they keep', 'rows')
    """
    return singular if n == 1 else plural or singular + "s"


def about(x: float) -> str:
    """An expected count, which may be fractional: whole from 10 up, one decimal below.

    Examples
    --------
    >>> about(6450.4), about(2.46)
    ('about 6,450', 'about 2.5')
    """
    return f"about {x:,.0f}" if abs(x) >= 10 else f"about {x:,.1f}"


def first_upper(text: str) -> str:
    """``text`` with its first letter upper-case, the rest as it is (unlike
    `str.capitalize`, which lowers the rest: names such as BG/NBD stay).

    Examples
    --------
    >>> first_upper("the learned CLV model's value")
    "The learned CLV model's value"
    """
    return text[:1].upper() + text[1:]


def number(value: float | None, decimals: int = 3, *, signed: bool = False) -> str:
    """A number to ``decimals`` places, ``+`` before a positive one when ``signed``; a
    value that rounds to zero is ``0.000`` (never ``-0.000`` or ``+0.000``); a missing or
    undefined value is ``n/a``.

    Examples
    --------
    >>> number(0.0049), number(-0.00004, signed=True), number(0.0123, signed=True)
    ('0.005', '0.000', '+0.012')
    >>> number(float("nan"))
    'n/a'
    """
    if value is None or value != value:
        return "n/a"
    shown = f"{value:{'+' if signed else ''}.{decimals}f}"
    return f"{0:.{decimals}f}" if float(shown) == 0 else shown


def interval(
    value: float | None,
    low: float | None,
    high: float | None,
    decimals: int = 3,
    *,
    signed: bool = False,
) -> str:
    """``value [low, high]``: the one way the report prints an estimate with its interval,
    every bound as `number` prints it (the same decimals, signed for a difference).

    Examples
    --------
    >>> interval(0.005, -0.00002, 0.0094, signed=True)
    '+0.005 [0.000, +0.009]'
    >>> interval(0.246, 0.23, 0.264, signed=True)
    '+0.246 [+0.230, +0.264]'
    """
    if value is None or value != value:
        return "n/a"
    shown = number(value, decimals, signed=signed)
    if low is None or high is None:
        return shown
    return (
        f"{shown} [{number(low, decimals, signed=signed)}, {number(high, decimals, signed=signed)}]"
    )


def percent(value: float | None, decimals: int = 1) -> str:
    """``0.837`` -> ``83.7%``; a positive share too small to show is ``<0.1%``, never
    ``0%``; a missing, undefined or infinite value is ``n/a``, never ``nan%``.

    Examples
    --------
    >>> percent(0.837), percent(0.0004), percent(float("nan")), percent(0.0, 0)
    ('83.7%', '<0.1%', 'n/a', '0%')
    >>> percent(float("inf")), percent(-0.25)
    ('n/a', '-25.0%')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    shown = f"{value:.{decimals}%}"
    if value > 0 and float(shown.rstrip("%")) == 0:
        return f"<{10**-decimals:g}%"
    return shown


def money(value: float | None, currency: str = "", decimals: int | None = 0) -> str:
    """An amount: the currency symbol or code, thousands separators, the sign in front
    (``-£120``); a missing amount is empty.

    ``decimals=None`` prints whole amounts from 10 up and cents below (a per-contact
    value of ``£4.50`` is not ``£5``).

    Examples
    --------
    >>> money(3782028.311, "£"), money(-120, "£"), money(4.5, "£", 2)
    ('£3,782,028', '-£120', '£4.50')
    >>> money(4.5, "£", None), money(1234.5, "£", None), money(0.0, "£", None)
    ('£4.50', '£1,234', '£0')
    """
    if value is None:
        return ""
    if decimals is None:
        decimals = 0 if abs(value) >= 10 or value == 0 else 2
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.{decimals}f}"
