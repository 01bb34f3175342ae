"""How every ``recsys`` command reads purchases: `read_purchases` (one way, the job's
loader), the account it prints and what each command does with the return rows."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import polars as pl

from recsys.cli.common import clean_options
from recsys.data.cleaning_report import CleaningReport
from recsys.exceptions import DataWarning

__all__ = ["RETURNS_LEFT_OUT", "RETURNS_USE", "load_purchases", "read_purchases"]


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
    load: Callable[[], Loaded], uses: str, *, label: str | None = None, file: Any = None
) -> Loaded:
    """The one way every command reads purchases: ``load()`` (`recsys.job.load_purchases`
    or `recsys.job.load_online_retail`: return rows kept, flagged ``is_return``), then
    the cleaning account and what the command does with the return rows (``uses``,
    `recsys.job.inputs.returns_note`) printed to ``file`` (default stderr).

    With ``label``, the job's step lines (``[read] label ...`` and its timing) frame the
    reading. A cleaning warning that the account prints among its notes (listed
    non-product ids that match nothing, items with several names) is not printed a
    second time; every other warning is.
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
        print(note, file=file)
    return loaded


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

    purchases, _, _ = read_purchases(
        lambda: load(args.file, description="", **clean_options(args)),
        RETURNS_USE[args.command],
    )
    return without_returns(purchases) if args.command in RETURNS_LEFT_OUT else purchases
