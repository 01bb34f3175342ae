"""A self-contained HTML page: inline CSS, tables, and plots embedded as PNG data URIs.

Nothing on the page is fetched from the network, so it opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from recsys._io import atomic_path

__all__ = ["HtmlReport", "figure_to_data_uri"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:70rem;color:#1f2328;line-height:1.45;padding:0 1rem}
h1{font-size:1.8rem;border-bottom:2px solid #3f51b5;padding-bottom:.3rem}
h2{font-size:1.3rem;margin-top:2.2rem;color:#283593}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:right}
th{background:#eef1fb}td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#57606a}
img{max-width:100%}.note{background:#fff8e1;border-left:4px solid #f9a825;padding:.5rem .8rem}
.muted{color:#57606a;font-size:.85rem}
"""


def figure_to_data_uri(fig: Any, dpi: int = 110) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _cell(value: Any, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, float_format)
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


class HtmlReport:
    """Build a one-page report section by section, then `write` it.

    Examples
    --------
    >>> import polars as pl
    >>> page = HtmlReport("Demo")
    >>> page.heading("Numbers")
    >>> page.table(pl.DataFrame({"a": [1, 2], "b": [0.5, 0.25]}), caption="A table")
    >>> "<table>" in page.render()
    True
    """

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if subtitle:
            self._parts.append(f'<p class="muted">{html.escape(subtitle)}</p>')

    def heading(self, text: str) -> None:
        """Start a section."""
        self._parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str, *, note: bool = False) -> None:
        """A paragraph (plain text, escaped); ``note=True`` highlights it."""
        cls = ' class="note"' if note else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(
        self, frame: pl.DataFrame, *, caption: str | None = None, float_format: str = ".3f"
    ) -> None:
        """A polars frame as an HTML table."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_cell(v, float_format)}</td>" for v in row) + "</tr>"
            for row in frame.iter_rows()
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(
            f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )

    def figure(self, fig: Any, *, caption: str | None = None) -> None:
        """A matplotlib figure, embedded as PNG."""
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(
            f'<figure><img alt="{html.escape(caption or "plot")}" '
            f'src="{figure_to_data_uri(fig)}">{cap}</figure>'
        )

    def render(self) -> str:
        """The complete HTML document."""
        body = "\n".join(self._parts)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page atomically; returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(self.render(), encoding="utf-8")
        return path
