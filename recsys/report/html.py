"""Self-contained HTML pages from Jinja2 templates: inline CSS, plots as PNG data URIs.

The templates are package data (``recsys/report/templates/``). Nothing on a page
is fetched from the network, so it opens anywhere, offline.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import polars as pl

from recsys._io import atomic_path
from recsys.report.format import Table

__all__ = ["HtmlReport", "figure_to_data_uri", "render"]


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("recsys.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """Render a template of ``recsys/report/templates`` (HTML-escaped values)."""
    return str(_environment().get_template(template).render(**context))


def figure_to_data_uri(fig: Any, dpi: int = 110) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI (the figure is closed)."""
    from recsys.report.plotting import pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


class HtmlReport:
    """Build a page section by section, then `write` it (template ``page.html.j2``).

    Examples
    --------
    >>> import polars as pl
    >>> page = HtmlReport("Demo")
    >>> page.heading("Numbers")
    >>> page.table(pl.DataFrame({"a": [1, 2], "b": [0.5, 0.25]}), caption="A table")
    >>> "<table>" in page.render()
    True
    """

    template = "page.html.j2"

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self.subtitle = subtitle
        self.blocks: list[dict[str, Any]] = []

    def heading(self, text: str) -> None:
        """Start a section."""
        self.blocks.append({"kind": "heading", "text": text, "id": _slug(text)})

    def text(self, text: str, *, note: bool = False, style: str | None = None) -> None:
        """A paragraph (plain text, escaped); ``note=True`` highlights it."""
        self.blocks.append({"kind": "text", "text": text, "style": "note" if note else style})

    def table(
        self,
        frame: pl.DataFrame | Table,
        *,
        caption: str | None = None,
        float_format: str = ".3f",
    ) -> None:
        """A polars frame (cells formatted with ``float_format``) or a formatted `Table`."""
        if isinstance(frame, pl.DataFrame):
            formats = {
                c: (lambda v, f=float_format: "" if v is None else format(v, f))
                for c, dtype in frame.schema.items()
                if dtype.is_float()
            }
            frame = Table.from_frame(frame, caption or "", formats)
        self.blocks.append({"kind": "table", "table": frame})

    def figure(self, fig: Any, *, caption: str | None = None) -> None:
        """A matplotlib figure, embedded as PNG."""
        self.blocks.append(
            {"kind": "figure", "uri": figure_to_data_uri(fig), "caption": caption or "plot"}
        )

    def render(self, **context: Any) -> str:
        """The complete HTML document."""
        return render(
            self.template,
            title=self.title,
            subtitle=self.subtitle,
            blocks=self.blocks,
            **context,
        )

    def write(self, path: str | Path, **context: Any) -> Path:
        """Write the page atomically; returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(self.render(**context), encoding="utf-8")
        return path
