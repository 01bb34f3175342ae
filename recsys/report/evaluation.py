"""Plots of evaluation tables: metric@k curves per model, optionally one panel per segment.

matplotlib (a base dependency) is imported only when a plot is asked for.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.data.sources import to_frame
from recsys.exceptions import InputDataError
from recsys.report.plotting import pyplot

__all__ = ["plot_metric_curves", "plot_model_comparison"]


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


def plot_model_comparison(metrics: Any, k: int, chosen: str | None = None) -> Any:
    """Hit rate@``k`` of every model with its interval: all items and new items side by side.

    Parameters
    ----------
    metrics
        The table returned by ``rs.evaluate`` (rows with ``segment == "all"`` are read).
    k
        The list length to show.
    chosen
        The model to highlight (drawn in red), e.g. the one the job uses.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from recsys.report.evaluation import plot_model_comparison
    >>> table = pl.DataFrame({"model": ["a", "b", "a", "b"], "mode": ["all", "all", "new", "new"],
    ...     "metric": ["hit_rate"] * 4, "k": [10] * 4, "segment": ["all"] * 4,
    ...     "value": [0.5, 0.6, 0.1, 0.2], "ci_low": [0.4, 0.5, 0.05, 0.1],
    ...     "ci_high": [0.6, 0.7, 0.15, 0.3], "n_users": [100] * 4})
    >>> [ax.get_title() for ax in plot_model_comparison(table, 10, chosen="b").axes]
    ['hit rate@10, all items', 'hit rate@10, new items only']
    """
    from matplotlib.ticker import PercentFormatter

    plt = pyplot()
    rows = to_frame(metrics).filter(
        (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("segment") == "all")
    )
    if rows.height == 0:
        raise InputDataError(f"no hit_rate rows at k={k} for the segment 'all' to plot")
    order = rows.filter(pl.col("mode") == "all").sort("value", "model", descending=[False, True])
    models = order["model"].to_list()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, mode, title in zip(axes, ("all", "new"), ("all items", "new items only"), strict=True):
        lookup = {r["model"]: r for r in rows.filter(pl.col("mode") == mode).iter_rows(named=True)}
        present = [m for m in models if m in lookup]
        value = [lookup[m]["value"] for m in present]
        err = [
            [lookup[m]["value"] - lookup[m]["ci_low"] for m in present],
            [lookup[m]["ci_high"] - lookup[m]["value"] for m in present],
        ]
        colours = ["#c62828" if m == chosen else "#5c6bc0" for m in present]
        ax.barh(range(len(present)), value, xerr=err, color=colours, capsize=3)
        ax.set_yticks(range(len(present)), present)
        ax.set_xlim(0, 1)
        ax.set_title(f"hit rate@{k}, {title}")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
