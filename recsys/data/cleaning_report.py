"""The account of `recsys.clean_purchases`: `CleaningReport` and `DROP_REASONS`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from recsys._text import counted

__all__ = ["DROP_REASONS", "CleaningReport"]

#: Why a row can be removed, in the order the rules are applied: a row is counted
#: under the first rule it fails.
DROP_REASONS: tuple[str, ...] = (
    "missing_user",
    "missing_item",
    "invalid_timestamp",
    "invalid_quantity",
    "non_product",
    "cancellation",
    "non_positive_quantity",
    "invalid_price",
    "negative_price",
    "duplicate",
)


@dataclass(frozen=True)
class CleaningReport:
    """What `clean_purchases` did, row by row.

    ``rows_in == rows_out + sum(dropped.values())`` always holds.

    Attributes
    ----------
    rows_in, rows_out
        Rows read and rows in the canonical purchases.
    dropped
        Rows removed per reason, every reason of `DROP_REASONS` listed (zeros
        included), in the order the rules are applied.
    exact_duplicates
        Output rows identical to an earlier output row (kept unless
        ``drop_duplicates=True``, in which case they are counted in ``dropped``).
    returns
        The canonical rows removed as ``cancellation`` or ``non_positive_quantity``
        (customer, item and time known), so return behaviour is not lost; with
        ``keep_returns=True`` the same rows are kept instead (``returns_kept``). A
        cancelled ``non_product`` line (a postage refund) is not a return.
    n_users, n_items, n_orders
        Distinct customers, items and orders in the output (returns aside). An
        order is the one of `recsys.data.canonical.order_key`: an ``order_id``
        of a customer, or a customer-day where there is no order id.
    first_timestamp, last_timestamp
        Time range of the output (returns aside; None without a purchase row).
    timestamp_format
        The strftime format used to parse timestamp strings, or the unit of
        numeric timestamps (``"unix_s"``, ``"excel"``, ...); ``None`` for
        datetime and date columns.
    columns
        Canonical name -> source column used (``amount`` for a line total,
        ``status`` and ``item_name`` where mapped).
    notes
        What was assumed or changed, one line each.
    items_with_several_names
        Item ids whose rows carry more than one product name (each keeps its
        most frequent name).
    returns_kept
        Return rows kept in the output, flagged ``is_return`` (``keep_returns=True``;
        counted in ``rows_out``; 0 otherwise).
    """

    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    exact_duplicates: int
    returns: pl.DataFrame
    n_users: int
    n_items: int
    n_orders: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    timestamp_format: str | None
    columns: dict[str, str]
    notes: tuple[str, ...] = field(default_factory=tuple)
    items_with_several_names: int = 0
    returns_kept: int = 0

    @property
    def rows_dropped(self) -> int:
        """Total rows removed."""
        return sum(self.dropped.values())

    def to_frame(self) -> pl.DataFrame:
        """The account as a table: ``step, rows, share`` (share of ``rows_in``).

        ``rows_in`` is the sum of the ``dropped`` rows and ``rows_out``; with
        ``returns_kept``, a last step ``rows_out: returns kept`` is the part of
        ``rows_out`` flagged ``is_return``.
        """
        steps = ["rows_in", *(f"dropped: {r}" for r in self.dropped), "rows_out"]
        rows = [self.rows_in, *self.dropped.values(), self.rows_out]
        if self.returns_kept:
            steps.append("rows_out: returns kept")
            rows.append(self.returns_kept)
        return pl.DataFrame({"step": steps, "rows": rows}).with_columns(
            share=pl.col("rows") / max(self.rows_in, 1)
        )

    def __str__(self) -> str:
        width = max(len(r) for r in self.dropped) + 2
        lines = [f"{'rows in':<{width + 9}}{self.rows_in:>12,}"]
        lines += [
            f"  dropped: {reason:<{width}}{n:>12,}  ({n / max(self.rows_in, 1):6.2%})"
            for reason, n in self.dropped.items()
            if n
        ]
        lines.append(f"{'rows out':<{width + 9}}{self.rows_out:>12,}")
        lines.append(
            f"{counted(self.n_users, 'user')}, {counted(self.n_items, 'item')}"
            + f", {counted(self.n_orders, 'order')}"
            + (
                f", {self.first_timestamp} .. {self.last_timestamp}"
                if self.first_timestamp is not None
                else ""
            )
        )
        lines += self.remarks
        return "\n".join(lines)

    @property
    def remarks(self) -> list[str]:
        """What the counts do not say, one line each: how timestamps were read,
        duplicates and returns kept, then ``notes`` (time-zone offsets dropped, listed
        non-product ids that matched nothing, non-product rows by item, items with several
        names, customers with only return rows); ``str(report)`` prints them after the
        counts.

        Examples
        --------
        >>> import polars as pl
        >>> import recsys as rs
        >>> frame = pl.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "a", "b"],
        ...     "timestamp": ["2024-01-02", "2024-01-02", "2024-01-03"],
        ...     "quantity": [1.0, 1.0, -1.0]})
        >>> for kept in (True, False):
        ...     for line in rs.clean_purchases(frame, keep_returns=kept)[1].remarks:
        ...         print(line)
        timestamps read as '%Y-%m-%d'
        1 exact duplicate row kept
        1 return/cancellation row kept, flagged is_return (counted in rows out)
        timestamps read as '%Y-%m-%d'
        1 exact duplicate row kept
        1 return/cancellation row in report.returns
        """
        lines = []
        if self.timestamp_format is not None:
            lines.append(f"timestamps read as {self.timestamp_format!r}")
        if self.exact_duplicates and not self.dropped.get("duplicate"):
            lines.append(f"{counted(self.exact_duplicates, 'exact duplicate row')} kept")
        if self.returns_kept:
            lines.append(
                f"{counted(self.returns_kept, 'return/cancellation row')} kept, flagged "
                "is_return (counted in rows out)"
            )
        elif len(self.returns):
            lines.append(
                f"{counted(len(self.returns), 'return/cancellation row')} in report.returns"
            )
        return lines + list(self.notes)
