"""Plots of customer profiles and cohorts (matplotlib).

Examples
--------
>>> import recsys as rs
>>> from recsys.report.profiles import plot_cohort_heatmap
>>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> ax = plot_cohort_heatmap(rs.cohort_retention(purchases))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recsys.exceptions import InputDataError
from recsys.report.plotting import pyplot

__all__ = ["plot_cohort_heatmap", "plot_lifecycle", "plot_rfm_segments"]

_STAGES = ("new", "active", "reactivated", "dormant", "churned")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise InputDataError(f"{what} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"{what} lacks the columns {missing}; found {frame.columns}")
    if frame.height == 0:
        raise InputDataError(f"{what} is empty: nothing to plot")


def _text_colour(rgba: tuple[float, ...]) -> str:
    """Black on light backgrounds, white on dark ones (relative luminance, WCAG)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.179 else "white"


def plot_cohort_heatmap(
    cohorts: pl.DataFrame, ax: Any = None, max_periods: int | None = None
) -> Any:
    """Heatmap of retention share by acquisition cohort (rows) and period index (columns).

    Periods not fully observed (``complete`` False) are left blank.

    Parameters
    ----------
    cohorts
        Output of `recsys.cohort_retention`.
    ax
        Matplotlib axes to draw on (default: a new figure).
    max_periods
        Show period indices ``0 .. max_periods - 1`` only.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(cohorts, ("cohort", "period_index", "retention"), "cohorts")
    plt = pyplot()
    if "complete" in cohorts.columns:  # a partly observed period would look like churn
        cohorts = cohorts.filter(pl.col("complete"))
    wide = cohorts.pivot(on="period_index", index="cohort", values="retention", sort_columns=True)
    labels = [str(c) for c in wide["cohort"].to_list()]
    values = wide.drop("cohort")
    present = [int(str(c)) for c in values.columns]
    # every period index from 0 to the last one: a period nobody bought in is a blank
    # column, never a skipped one
    values = values.select(
        pl.col(str(i)) if i in present else pl.lit(None, dtype=pl.Float64).alias(str(i))
        for i in range(max(present, default=-1) + 1)
    )
    if max_periods is not None:
        values = values.select(values.columns[:max_periods])
    grid = values.to_numpy().astype(np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.55 * grid.shape[1], 1 + 0.35 * grid.shape[0]))
    # Period 0 is 1.0 by definition: the colour scale is set on periods >= 1 only,
    # so the differences that matter are visible (period 0 shows as the top colour).
    later = [i for i, c in enumerate(values.columns) if int(str(c)) >= 1]
    finite = grid[:, later][np.isfinite(grid[:, later])] if later else np.array([])
    vmax = float(finite.max()) if finite.size else 1.0
    vmin = float(finite.min()) if finite.size else 0.0
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=vmin, vmax=max(vmax, vmin + 1e-9))
    cmap, norm = image.get_cmap(), image.norm
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            value = grid[i, j]
            if np.isfinite(value):
                ax.text(
                    j,
                    i,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color=_text_colour(cmap(norm(min(value, vmax)))),
                )
    ax.set_xticks(range(grid.shape[1]), values.columns)
    ax.set_yticks(range(grid.shape[0]), labels)
    ax.set_xlabel("periods since first purchase")
    ax.set_ylabel("acquisition cohort")
    ax.figure.colorbar(image, ax=ax, label="retention (scale: periods 1 and later)")
    return ax


def plot_lifecycle(profiles: pl.DataFrame, ax: Any = None) -> Any:
    """Bar chart of customers per ``lifecycle_stage`` (from `recsys.build_profiles`)."""
    _require(profiles, ("lifecycle_stage",), "profiles")
    plt = pyplot()
    counts = dict(profiles["lifecycle_stage"].value_counts().iter_rows())
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(_STAGES, [counts.get(s, 0) for s in _STAGES], color="tab:blue")
    ax.set_ylabel("customers")
    ax.set_title("lifecycle stage")
    return ax


def plot_rfm_segments(profiles: pl.DataFrame, ax: Any = None) -> Any:
    """Heatmap of customers by ``r_score`` (rows, 5 on top) x ``f_score``, cells labelled
    with the segment names of `recsys.profiles.RFM_SEGMENTS` and the counts."""
    from recsys.profiles.rfm import RFM_SEGMENTS

    _require(profiles, ("r_score", "f_score"), "profiles")
    plt = pyplot()
    grid = np.zeros((5, 5))
    for r, f, n in profiles.group_by("r_score", "f_score").len().iter_rows():
        grid[5 - int(r), int(f) - 1] = n
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    image = ax.imshow(grid, cmap="Blues")
    cmap, norm = image.get_cmap(), image.norm
    for i in range(5):
        for j in range(5):
            name = RFM_SEGMENTS[(5 - i, j + 1)].replace("_", " ")
            ax.text(
                j,
                i,
                f"{name}\n{int(grid[i, j]):,}",
                ha="center",
                va="center",
                fontsize=7,
                color=_text_colour(cmap(norm(grid[i, j]))),
            )
    ax.set_xticks(range(5), [str(f) for f in range(1, 6)])
    ax.set_yticks(range(5), [str(r) for r in range(5, 0, -1)])
    ax.set_xlabel("frequency score (5 = most orders)")
    ax.set_ylabel("recency score (5 = most recent)")
    return ax
