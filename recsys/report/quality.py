"""The report page's data-quality section: the cleaning account of `recsys.clean_purchases`
(every input row kept or dropped, the return rows kept), its remarks (the lines the
command line prints after the counts: time-zone offsets dropped, non-product rows by
item, listed non-product ids that matched nothing, ...) and what the job does with the
return rows (`recsys.job.inputs.returns_note`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from recsys.job.inputs import returns_note
from recsys.report.format import Table, percent

if TYPE_CHECKING:
    from recsys.data import CleaningReport
    from recsys.report.html import HtmlReport

__all__ = ["quality_notes", "quality_section"]

#: `CleaningReport.to_frame` steps and their labels on the page (the others: ``_`` -> space).
STEP_LABELS = {
    "rows_in": "rows read",
    "rows_out": "rows kept",
    "rows_out: returns kept": "of the rows kept: returns, flagged is_return and netted",
}


def quality_notes(report: CleaningReport) -> list[str]:
    """The remarks of ``report`` (`CleaningReport.remarks`), then `returns_note`.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> frame = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "POST", "a"],
    ...     "timestamp": ["2024-01-02T10:00:00+01:00", "2024-01-02T09:00:00",
    ...                   "2024-01-03T08:00:00"], "quantity": [1.0, 1.0, -1.0]})
    >>> _, report = rs.clean_purchases(frame, non_product_items={"POST", "FEE"},
    ...                                keep_returns=True)
    >>> for note in quality_notes(report):  # doctest: +NORMALIZE_WHITESPACE
    ...     print(note[:62])
    timestamps read as '%Y-%m-%dT%H:%M:%S%.f'
    1 return/cancellation row kept, flagged is_return (counted in
    timestamps: 1 of 3 values of 'timestamp' carry a UTC offset or
    non_product_items: 'FEE' matches no item id of the table and d
    non_product rows by item: POST 1
    1 customer has only return rows (kept, flagged is_return): in
    the return rows kept: the spend measured after the evaluation
    """
    note = returns_note(report)
    return [*report.remarks, *([note] if note is not None else [])]


def quality_section(page: HtmlReport, report: CleaningReport) -> None:
    """The data-quality heading, the account of ``report`` and its `quality_notes`."""
    page.heading("Data quality: what cleaning kept and removed")
    frame = report.to_frame()
    steps = [STEP_LABELS.get(s, s.replace("_", " ")) for s in frame["step"].to_list()]
    page.table(
        Table.from_frame(
            frame.with_columns(step=pl.Series(steps, dtype=pl.String)),
            caption="Every input row, accounted for: each row is kept or dropped for the "
            "reason shown (the rows read are the rows kept plus the rows dropped); share = "
            "share of the rows read.",
            formats={"share": percent},
            labels={"share": "share of rows read"},
        )
    )
    notes = quality_notes(report)
    if notes:
        page.table(
            Table.from_frame(
                pl.DataFrame({"note": notes}, schema={"note": pl.String}),
                caption="What cleaning assumed or changed besides the counts above, and "
                "what the job does with the return rows it kept.",
                text_columns=("note",),
                title="Cleaning notes",
            )
        )
