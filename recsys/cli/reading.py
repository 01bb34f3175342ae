"""How every ``recsys`` command reads purchases: `read_purchases` (one way, the job's
loader), the account it prints and what each command does with the return rows."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl

from recsys._text import agree
from recsys.cli.common import clean_options
from recsys.data.cleaning_report import CleaningReport
from recsys.exceptions import DataWarning

__all__ = [
    "RETURNS_LEFT_OUT",
    "RETURNS_USE",
    "command_as_of",
    "late_returns",
    "load_purchases",
    "read_purchases",
]


#: What each one-step command does with the return rows its file holds: kept where the
#: output involves money or customers coming back, as the main job keeps them (`recsys
#: report`: `recsys.job.inputs.JOB_RETURNS_USE`); left out (`RETURNS_LEFT_OUT`) where
#: they are no purchase.
RETURNS_USE = {
    "profile": "the profiles' return_rate counts them; no order or purchase count or "
    "profile spend uses them",
    "actions": "the profiles' return_rate counts them; no order or purchase count, profile "
    "spend, check of churn risk or value, item due, model or recommendation uses them",
    "recommend": "recsys recommend leaves them out before fitting the model: no model or "
    "recommendation uses them",
    "evaluate": "recsys evaluate leaves them out before the split: no model is trained or "
    "evaluated on them",
}
RETURNS_LEFT_OUT = ("recommend", "evaluate")

#: What the job's loaders return: purchases, the cleaning account, product names (or None).
Loaded = tuple[pl.DataFrame, CleaningReport, pl.DataFrame | None]


def read_purchases(
    load: Callable[[], Loaded],
    uses: str,
    *,
    label: str | None = None,
    file: Any = None,
    as_of: Callable[[pl.DataFrame], datetime] | None = None,
) -> Loaded:
    """The one way every command reads purchases: ``load()`` (`recsys.job.load_purchases`
    or `recsys.job.load_online_retail`: return rows kept, flagged ``is_return``), then
    the cleaning account and what the command does with the return rows (``uses``,
    `recsys.job.inputs.returns_note`) printed to ``file`` (default stderr).

    With ``label``, the job's step lines (``[read] label ...`` and its timing) frame the
    reading. A cleaning warning that the account prints among its notes (listed
    non-product ids that match nothing, items with several names) is not printed a
    second time; every other warning is. With ``as_of`` (the command's as_of of the
    purchases read), the return rows on or after it, which nothing counts, are counted
    in the note (`late_returns`).
    """
    from recsys.job.inputs import returns_note

    file = file or sys.stderr
    if label is not None:
        print(f"[read] {label} ...", file=file)
    start = time.perf_counter()
    caught: list[warnings.WarningMessage] = []
    loaded = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            loaded = load()
    finally:
        noted = {" ".join(n.split()) for n in loaded[1].notes} if loaded else set()
        for w in caught:
            if " ".join(str(w.message).split()) not in noted:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    account = loaded[1]
    unpriced_units = quantity_warning(account.columns)
    if unpriced_units is not None:  # printed as a warning, not as a note of the account too
        warnings.warn(unpriced_units, DataWarning, stacklevel=2)
        notes = tuple(n for n in account.notes if not n.startswith("no quantity column"))
        account = dataclasses.replace(account, notes=notes)
    if label is not None:
        print(f"      read {label}: {time.perf_counter() - start:.1f} s", file=file)
    print(account, file=file)
    note = returns_note(loaded[1], uses)
    if note is not None:
        if as_of is not None:
            note += late_returns(loaded[0], as_of(loaded[0]))
        print(note, file=file)
    return loaded


def late_returns(purchases: pl.DataFrame, as_of: datetime) -> str:
    """The note's words for the return rows on or after ``as_of`` ("" without any): they
    are after every figure the command computes, so none counts them.

    Examples
    --------
    >>> p = pl.DataFrame({"timestamp": [datetime(2024, 1, d) for d in (1, 2, 9)],
    ...     "is_return": [False, True, True]})
    >>> late_returns(p, datetime(2024, 1, 3))
    '; but 1 of them is dated at or after as_of (2024-01-03 00:00:00), so nothing counts it'
    """
    from recsys.data import columns as C

    if C.IS_RETURN not in purchases.columns:
        return ""
    late = purchases.filter(pl.col(C.IS_RETURN), pl.col(C.TIMESTAMP) >= as_of).height
    if not late:
        return ""
    return (
        f"; but {late:,} of them {agree(late, 'is', 'are')} dated at or after as_of "
        f"({as_of:%Y-%m-%d %H:%M:%S}), so nothing counts {agree(late, 'it', 'them')}"
    )


def command_as_of(given: Any, *, job: bool = True) -> Callable[[pl.DataFrame], datetime]:
    """The as_of a command takes decisions at on purchases: ``given``, or by default the
    job's (`recsys.job.run.default_as_of`: the midnight after the last purchase; ``recsys
    report``, ``demo``, ``actions``) or, with ``job=False``, `recsys.build_profiles`'s
    (just after the last purchase: `recsys.profiles.source.resolve_as_of`; ``recsys
    profile``)."""

    def resolve(purchases: pl.DataFrame) -> datetime:
        from recsys.data import columns as C
        from recsys.data.canonical import without_returns
        from recsys.data.timeutil import to_datetime
        from recsys.job.run import default_as_of
        from recsys.profiles.source import resolve_as_of

        if job:
            return to_datetime(given, "as_of") if given is not None else default_as_of(purchases)
        ts = pl.col(C.TIMESTAMP)
        span = without_returns(purchases).select(pl.len(), ts.min(), ts.max().alias("last"))
        return resolve_as_of([span.row(0)], given)

    return resolve


def quantity_warning(columns: dict[str, str]) -> str | None:
    """The warning for a file read with unit prices but no quantity column (``columns``:
    `recsys.data.CleaningReport.columns`): every row is one unit, so spend is the sum of
    the rows' prices. None with a quantity, without prices or with a line total.

    Examples
    --------
    >>> quantity_warning({"user_id": "member", "price": "Price"})[:64]
    'no quantity column: spend = price per row (every row counts as 1'
    >>> quantity_warning({"user_id": "member", "price": "Price", "quantity": "Qty"}) is None
    True
    """
    if "quantity" in columns or "price" not in columns:
        return None
    return (
        "no quantity column: spend = price per row (every row counts as 1 unit); if a row "
        "can hold several units, pass --columns quantity=<your column>"
    )


def load_purchases(args: argparse.Namespace) -> pl.DataFrame:
    """The purchases of a one-step command's file, read by `read_purchases` (product
    names aside); without the return rows where the command leaves them out
    (`RETURNS_LEFT_OUT`, through `recsys.data.canonical.without_returns`)."""
    from recsys.data.canonical import without_returns
    from recsys.job.inputs import load_purchases as load

    counts_returns = args.command not in RETURNS_LEFT_OUT
    purchases, _, _ = read_purchases(
        lambda: load(args.file, description="", **clean_options(args)),
        RETURNS_USE[args.command],
        as_of=command_as_of(args.as_of, job=args.command != "profile") if counts_returns else None,
    )
    return without_returns(purchases) if args.command in RETURNS_LEFT_OUT else purchases
