"""Plots for the uplift evaluators: targeting curves and uplift forest plots.

matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.exceptions import InputDataError
from recsys.report.plotting import pyplot

__all__ = ["plot_curve", "plot_uplift_table"]


def plot_curve(curve: pl.DataFrame, *, label: str = "score", ax: Any = None) -> Any:
    """Draw a Qini or uplift curve with its bootstrap band and the random line.

    Parameters
    ----------
    curve
        Output of `recsys.uplift.qini_curve` or `recsys.uplift.uplift_curve`.
    label
        Legend label of the curve.
    ax
        A matplotlib Axes; a new figure is made when ``None``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> from recsys.report.uplift import plot_curve
    >>> rng = np.random.default_rng(0)
    >>> t = rng.integers(0, 2, 500); y = rng.random(500) < 0.2 + 0.1 * t
    >>> ax = plot_curve(rs.uplift.qini_curve(y, t, rng.random(500), bootstrap=50))
    """
    missing = {"fraction", "value", "ci_low", "ci_high", "random"} - set(curve.columns)
    if missing:
        raise InputDataError(f"curve lacks columns {sorted(missing)}; pass a qini/uplift curve")
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    x = curve["fraction"].to_numpy()
    ax.fill_between(
        x, curve["ci_low"].to_numpy(), curve["ci_high"].to_numpy(), alpha=0.25, linewidth=0
    )
    ax.plot(x, curve["value"].to_numpy(), label=label)
    ax.plot(x, curve["random"].to_numpy(), linestyle="--", color="grey", label="random")
    ax.set_xlabel("share of customers targeted (by descending score)")
    ax.set_ylabel("incremental outcomes")
    ax.legend()
    return ax


def plot_uplift_table(table: pl.DataFrame, *, by: str | None = None, ax: Any = None) -> Any:
    """Forest plot of `recsys.uplift.uplift_table`: uplift and interval per row.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> from recsys.report.uplift import plot_uplift_table
    >>> frame = pl.DataFrame({"arm": ["c"] * 50 + ["t"] * 50, "y": [0, 1] * 50})
    >>> ax = plot_uplift_table(rs.uplift.uplift_table(frame, "arm", "y", "c"))
    """
    missing = {"arm", "uplift", "ci_low", "ci_high"} - set(table.columns)
    if missing:
        raise InputDataError(f"table lacks columns {sorted(missing)}; pass an uplift_table")
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.4 * table.height + 1.2))
    labels = [f"{r[by]} / {r['arm']}" if by else str(r["arm"]) for r in table.iter_rows(named=True)]
    y = list(range(table.height))[::-1]
    d = table["uplift"].to_numpy()
    ax.errorbar(
        d,
        y,
        xerr=[d - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - d],
        fmt="o",
        capsize=3,
    )
    ax.axvline(0.0, color="grey", linestyle="--")
    ax.set_yticks(y, labels)
    ax.set_xlabel("uplift over control")
    return ax
