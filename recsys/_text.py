"""Counts in words: `counted` (``1 row``, ``2 rows``), the one plural rule of every
message, account and page."""

from __future__ import annotations

__all__ = ["counted"]


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
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
