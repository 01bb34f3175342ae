"""``recsys report``: the main job on your own purchases file (or frame).

Reads and cleans the input (with the cleaning account), keeps product names from
a description column when there is one, runs `recsys.demo.run_pipeline`, and
writes the outputs and the HTML report. ``recsys demo`` is this on the bundled
Online Retail data (`recsys.demo.run_demo`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from recsys.data import CleaningReport, clean_purchases
from recsys.data import columns as C
from recsys.demo.pipeline import (
    DemoConfig,
    DemoResult,
    _step,
    resolve_dates,
    run_pipeline,
    summary_text,
    write_outputs,
)
from recsys.demo.report import write_demo_report

__all__ = ["item_names", "load_purchases", "run_report"]

#: Description columns used for product names when the input has one.
DESCRIPTION_COLUMNS = ("Description", "description", "product_name", "ProductName", "name")


def item_names(purchases: pl.DataFrame, column: str) -> pl.DataFrame:
    """``item_id, name``: the most frequent non-empty description of each item.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"item_id": ["a", "a", "a", "b"],
    ...                       "Description": ["MUG", "MUG", "mug?", None]})
    >>> item_names(frame, "Description").rows()
    [('a', 'MUG')]
    """
    return (
        purchases.select(C.ITEM, pl.col(column).cast(pl.String).str.strip_chars().alias("name"))
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .group_by(C.ITEM, "name")
        .len()
        .sort(C.ITEM, "len", "name", descending=[False, True, False])
        .unique(C.ITEM, keep="first", maintain_order=True)
        .select(C.ITEM, "name")
    )


def _description_column(source: Any, clean_options: Mapping[str, Any]) -> str | None:
    """The first of `DESCRIPTION_COLUMNS` in the input (None when it has none)."""
    from recsys.data.sources import to_lazyframe

    try:
        found = list(
            to_lazyframe(
                source,
                set(),
                encoding=clean_options.get("encoding"),
                separator=clean_options.get("separator"),
            ).collect_schema()
        )
    except Exception:  # unreadable: clean_purchases reports it properly
        return None
    mapped = set((clean_options.get("columns") or {}).values())
    for name in DESCRIPTION_COLUMNS:
        if name not in mapped and name in found:
            return name
    return None


def load_purchases(
    source: Any, *, description: str | None = None, **clean_options: Any
) -> tuple[pl.DataFrame, CleaningReport, pl.DataFrame | None]:
    """Clean ``source`` (a path or a frame); product names from ``description``.

    ``description=None`` looks for a column of `DESCRIPTION_COLUMNS`;
    ``description=""`` uses none. Returns purchases (without the description),
    the cleaning report and ``item_id, name`` (or None).
    """
    if description is None:
        description = _description_column(source, clean_options)
    keep = [description] if description else []
    purchases, report = clean_purchases(source, keep_columns=keep, **clean_options)
    names = None
    if description:
        names = item_names(purchases, description)
        purchases = purchases.drop(description)
    return purchases, report, names


def run_report(
    source: Any,
    out_dir: str | Path,
    config: DemoConfig | None = None,
    *,
    description: str | None = None,
    echo: Callable[[str], Any] = print,
    show_progress: bool = False,
    **clean_options: Any,
) -> DemoResult:
    """Run the whole retention-personalization workflow on ``source`` and write the report.

    ``clean_options`` go to `recsys.clean_purchases` (``columns``, ``preset``,
    ``timestamp_format``, ``dayfirst``, ``encoding``, ...). Writes
    ``purchases.parquet`` (canonical), ``recommendations.parquet``,
    ``profiles.parquet``, ``actions.parquet``, ``metrics.csv`` and ``report.html``
    (self-contained) to ``out_dir``. Without ``config``, the models are evaluated
    on the last 90 days before the day after the last purchase.
    """
    if config is None:  # the test window: the last 90 days of the data
        name = Path(source).name if isinstance(source, (str, Path)) else "your purchases"
        config = DemoConfig(cutoff=None, dataset=name)
    total = 7
    with _step(echo, 1, total, "read and clean the orders"):
        purchases, report, names = load_purchases(source, description=description, **clean_options)
    echo(str(report))
    config = resolve_dates(config, purchases)
    result = run_pipeline(
        purchases,
        report,
        config,
        echo=echo,
        first_step=2,
        total_steps=total,
        item_names=names,
        show_progress=show_progress,
    )
    files = write_outputs(result, out_dir)
    write_demo_report(result, config, files["report"])
    result.summary = summary_text(result, config)
    echo(result.summary)
    for path in files.values():
        echo(f"wrote {path}")
    return result
