"""Plots of a `recsys.evaluation.Backtest`: churn calibration and the holdout plot.

matplotlib is imported when a plot is drawn (it is a base dependency). Each function
draws on ``ax`` (a new figure when None) and returns the axes.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.evaluation.backtest import Backtest
from recsys.exceptions import InputDataError

__all__ = ["plot_calibration", "plot_holdout"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5, 4))[1]


def _check(table: Any, what: str) -> None:
    if table.height == 0:
        raise InputDataError(f"this backtest has no {what}: run it with predictions=['churn']")


def plot_calibration(result: Backtest, ax: Any = None, model: str = "churn_risk") -> Any:
    """Observed vs predicted churn by decile of the risk, one line per origin.

    A calibrated score lies on the diagonal. ``model``: ``"churn_risk"`` (the
    profile's) or the class name of the backtest's ``churn_model``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import recsys as rs
    >>> from recsys.evaluation.backtest_plots import plot_calibration
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> result = rs.evaluation.backtest(purchases, ["2011-09-09"], predictions=["churn"],
    ...     bootstrap=0)
    >>> plot_calibration(result).get_xlabel()
    'predicted churn (mean churn_risk of the decile)'
    """
    _check(result.calibration, "churn calibration")
    table = result.calibration.filter(pl.col("model") == model)
    if table.height == 0:
        raise InputDataError(
            f"model: no churn calibration for {model!r}; the backtest has "
            f"{sorted(set(result.calibration['model']))}"
        )
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="calibrated")
    for (origin,), part in table.group_by("origin", maintain_order=True):
        ax.plot(part["predicted_churn"], part["observed_churn"], marker="o", label=str(origin))
    ax.set_xlabel("predicted churn (mean churn_risk of the decile)")
    ax.set_ylabel("observed churn (no purchase in the window)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Churn calibration by decile ({model})")
    ax.legend(title="origin", fontsize="small")
    return ax


def plot_holdout(result: Backtest, ax: Any = None) -> Any:
    """Mean orders in the window (actual vs predicted) by orders before the origin.

    The calibration-period vs holdout-period plot of BG/NBD users (lifetimes,
    pymc-marketing): customers grouped by their number of orders before the origin
    (the last group pools 7 and more); solid = actual, dashed = the model's
    expected orders.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import recsys as rs
    >>> from recsys.evaluation.backtest_plots import plot_holdout
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> result = rs.evaluation.backtest(purchases, ["2011-09-09"], predictions=["churn"],
    ...     bootstrap=0)
    >>> plot_holdout(result).get_ylabel()
    'mean orders in the window'
    """
    _check(result.holdout, "holdout table")
    ax = _axes(ax)
    for (origin,), part in result.holdout.group_by("origin", maintain_order=True):
        (line,) = ax.plot(part["frequency"], part["actual"], marker="o", label=f"{origin} actual")
        ax.plot(
            part["frequency"],
            part["predicted"],
            marker="x",
            linestyle="--",
            color=line.get_color(),
            label=f"{origin} predicted",
        )
    top = int(result.holdout["frequency"].cast(float).max())  # type: ignore[arg-type]
    ax.set_xticks(range(1, top + 1))
    ax.set_xticklabels([str(f) for f in range(1, top)] + [f"{top}+"])
    ax.set_xlabel("orders before the origin")
    ax.set_ylabel("mean orders in the window")
    ax.set_title("Calibration period vs holdout")
    ax.legend(fontsize="small")
    return ax
