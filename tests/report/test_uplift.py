"""The optional matplotlib helpers draw what they are given."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from recsys.report.uplift import plot_curve, plot_uplift_table  # noqa: E402


def test_plot_curve_draws_curve_band_and_random_line():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 300)
    y = (rng.random(300) < 0.2 + 0.1 * t).astype(float)
    curve = rs.uplift.qini_curve(y, t, rng.random(300), n_points=21, bootstrap=20)
    ax = plot_curve(curve, label="model")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["model", "random"]
    assert np.allclose(lines[0].get_ydata(), curve["value"].to_numpy())
    with pytest.raises(InputDataError, match="lacks columns"):
        plot_curve(curve.drop("random"))


def test_plot_uplift_table_one_point_per_row():
    frame = pl.DataFrame({"arm": ["c"] * 40 + ["t"] * 40 + ["u"] * 40, "y": [0, 1, 1, 0] * 30})
    table = rs.uplift.uplift_table(frame, "arm", "y", "c")
    ax = plot_uplift_table(table)
    # first table row at the top: y positions [1, 0] for arms t, u
    labels = {tick.get_text(): tick.get_position()[1] for tick in ax.get_yticklabels()}
    assert labels == {"t": 1, "u": 0}
