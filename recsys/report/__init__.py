"""Render a `recsys.job.JobResult`: its files, plots, number formats and the HTML page.

`write` writes every file of a result and the page; nothing here computes a
decision or words a claim (`recsys.job` does). matplotlib and jinja2 are base
dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from recsys.report.files import FILES, write_files

if TYPE_CHECKING:
    from recsys.job import JobResult

__all__ = ["FILES", "write"]


def write(result: JobResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the files of ``result`` and ``report.html`` to ``out_dir``.

    Returns the paths by name (``"report"`` is the page). Every Parquet file
    carries ``as_of`` in its metadata (see `recsys.report.files.write_files`).
    """
    from recsys.report.page import write_page

    paths = write_files(result, out_dir)
    paths["report"] = write_page(result, Path(out_dir) / "report.html")
    return paths
