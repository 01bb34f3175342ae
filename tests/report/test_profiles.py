"""The profile and cohort plots draw what they are given, and name the extra they need."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


def test_plot_helpers(online_retail: pl.DataFrame) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from recsys.report.profiles import plot_cohort_heatmap, plot_lifecycle, plot_rfm_segments

    sample = online_retail.head(30_000)
    ax = plot_cohort_heatmap(rs.cohort_retention(sample), max_periods=3)
    assert ax.get_xlabel() == "periods since first purchase"
    with pytest.warns(rs.DataWarning, match="price 0"):
        profiles = rs.build_profiles(sample, config=rs.ProfileConfig(churn=False))
    bars = plot_lifecycle(profiles)
    assert sum(p.get_height() for p in bars.patches) == profiles.height
    grid = plot_rfm_segments(profiles)
    assert len(grid.texts) == 25
    with pytest.raises(InputDataError, match="lifecycle_stage"):
        plot_lifecycle(profiles.drop("lifecycle_stage"))
    plt.close("all")


def test_plot_without_matplotlib_names_the_extra(
    online_retail: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from recsys.report.profiles import plot_cohort_heatmap

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_cohort_heatmap(rs.cohort_retention(online_retail))


def test_cohort_axis_never_skips_a_period() -> None:
    from datetime import date

    import polars as pl

    from recsys.report.profiles import plot_cohort_heatmap

    cohorts = pl.DataFrame(
        {
            "cohort": [date(2024, 1, 1)] * 3,
            "period_index": [0, 1, 4],  # nobody bought 2 or 3 months later
            "customers": [10, 4, 2],
            "retention": [1.0, 0.4, 0.2],
        }
    )
    ax = plot_cohort_heatmap(cohorts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3", "4"]
