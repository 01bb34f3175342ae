"""plot_metric_curves draws one line per model, one panel per segment."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from tests.evaluation import test_evaluate

ev = rs.evaluation
# The evaluation tests' split and models (fixtures), not a copy of them.
split = test_evaluate.split
models = test_evaluate.models


def test_plot_metric_curves(split: ev.Split, models: dict) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from recsys.report.evaluation import plot_metric_curves

    segments = pl.DataFrame({"user_id": split.test["user_id"].unique()}).with_columns(
        (pl.col("user_id") % 2).cast(pl.String).alias("parity")
    )
    table = rs.evaluate(
        models,
        split,
        k=[5, 10],
        metrics=["ndcg"],
        segments=segments,
        bootstrap=50,
        show_progress=False,
    ).table
    fig = plot_metric_curves(table, "ndcg")
    assert len(fig.axes[0].lines) == 2
    fig = plot_metric_curves(table, "ndcg", mode="new", by_segment=True)
    assert [ax.get_title().split(" ")[0] for ax in fig.axes if ax.get_visible()] == [
        "all",
        "0",
        "1",
    ]
    with pytest.raises(InputDataError, match="no rows"):
        plot_metric_curves(table, "recall")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_metric_curves_are_readable() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import polars as pl

    from recsys.report.evaluation import plot_metric_curves

    rows = [
        {
            "model": m,
            "mode": "all",
            "metric": "hit_rate",
            "k": k,
            "segment": "all",
            "value": v,
            "ci_low": v - 0.01,
            "ci_high": v + 0.01,
            "n_users": 100,
        }
        for m, base in (("a", 0.5), ("b", 0.3))
        for k, v in ((5, base), (10, base + 0.1), (20, base + 0.2))
    ]
    fig = plot_metric_curves(pl.DataFrame(rows))
    ax = fig.axes[0]
    assert [t for t in ax.get_xticks()] == [5, 10, 20]  # integer ticks at the evaluated k
    assert ax.get_legend() is None  # the legend is outside the curves, on the figure
    assert len(fig.legends) == 1
