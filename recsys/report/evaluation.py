"""Plots of evaluation tables: metric@k curves per model, optionally one panel per segment.

matplotlib (a base dependency) is imported only when a plot is asked for.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.data.sources import to_frame
from recsys.exceptions import InputDataError
from recsys.report.plotting import pyplot

__all__ = ["plot_metric_curves"]


def plot_metric_curves(
    table: Any,
    metric: str = "hit_rate",
    mode: str = "all",
    *,
    by_segment: bool = False,
    show_ci: bool = True,
    ax: Any = None,
) -> Any:
    """Plot ``metric@k`` against ``k`` for every model of an `recsys.evaluate` table.

    Parameters
    ----------
    table
        The table returned by ``rs.evaluate`` (several values of ``k`` make a curve).
    metric
        Which metric to plot.
    mode
        ``"all"`` or ``"new"`` items.
    by_segment
        One panel per segment (the overall ``"all"`` panel first) instead of the
        overall rows only.
    show_ci
        Shade the bootstrap confidence interval.
    ax
        An existing Axes to draw on (only without ``by_segment``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl
    >>> from recsys.report.evaluation import plot_metric_curves
    >>> table = pl.DataFrame({"model": ["a", "a"], "mode": ["all", "all"],
    ...     "metric": ["hit_rate"] * 2, "k": [5, 10], "segment": ["all", "all"],
    ...     "value": [0.5, 0.6], "ci_low": [0.45, 0.55], "ci_high": [0.55, 0.65],
    ...     "n_users": [100, 100]})
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = plot_metric_curves(table)
    >>> len(fig.axes)
    1
    """
    frame = to_frame(table)
    needed = ("model", "mode", "metric", "k", "segment", "value", "ci_low", "ci_high")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputDataError(f"table must come from rs.evaluate; it lacks columns {missing}")
    rows = frame.filter((pl.col("metric") == metric) & (pl.col("mode") == mode))
    if rows.height == 0:
        raise InputDataError(
            f"the table has no rows for metric={metric!r}, mode={mode!r}; metrics: "
            f"{frame['metric'].unique().to_list()}, modes: {frame['mode'].unique().to_list()}"
        )
    segments = ["all"]
    if by_segment:
        segments += sorted(s for s in rows["segment"].unique().to_list() if s != "all")
        if ax is not None:
            raise InputDataError("ax= cannot be used with by_segment=True (one panel per segment)")
    plt = pyplot()
    if ax is None:
        n = len(segments)
        columns = min(n, 3)
        fig, axes = plt.subplots(
            (n + columns - 1) // columns,
            columns,
            figsize=(4.5 * columns, 3.5 * ((n + columns - 1) // columns)),
            squeeze=False,
            sharey=True,
        )
        flat = list(axes.ravel())
        for extra in flat[n:]:
            extra.set_visible(False)
    else:
        fig, flat = ax.figure, [ax]
    for panel, segment in zip(flat, segments, strict=False):
        part = rows.filter(pl.col("segment") == segment)
        for model in part["model"].unique(maintain_order=True).to_list():
            curve = part.filter(pl.col("model") == model).sort("k")
            ks = curve["k"].to_list()
            panel.plot(ks, curve["value"].to_list(), marker="o", label=model)
            if show_ci and curve["ci_low"].null_count() == 0:
                panel.fill_between(
                    ks, curve["ci_low"].to_list(), curve["ci_high"].to_list(), alpha=0.2
                )
        n_users = part["n_users"].max() if "n_users" in part.columns and part.height else None
        title = str(segment) + (f" (n={n_users!s})" if n_users is not None else "")
        panel.set_title(title)
        panel.set_xlabel("k")
        panel.set_ylabel(f"{metric}@k ({'new items' if mode == 'new' else 'all items'})")
        panel.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    all_ks = sorted({int(k) for k in rows["k"].to_list()})
    for panel in flat[: len(segments)]:
        if len(all_ks) <= 12:  # a tick at each evaluated k, nothing in between
            panel.set_xticks(all_ks)
        else:
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    # The legend goes outside the panels, so it never hides a curve.
    handles, labels = flat[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(
        handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title="model"
    )
    return fig
