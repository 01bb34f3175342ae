"""Numbers and names for people, and the plots' readable colours."""

from __future__ import annotations

import matplotlib
import numpy as np
import polars as pl
import pytest

from recsys.report.format import Table, count, ident, money, percent, sort_natural
from recsys.report.profiles import _text_colour, plot_cohort_heatmap, plot_rfm_segments

matplotlib.use("Agg")


def test_numbers_for_people() -> None:
    assert money(3782028.311, "£") == "£3,782,028"
    assert money(-12.5, "EUR ", 2) == "-EUR 12.50"
    assert percent(0.837) == "83.7%"
    assert count(12345) == "12,345"
    assert ident(12346) == "12346"
    assert ident(12346.0) == "12346"


def test_natural_orders() -> None:
    tiers = pl.DataFrame({"tier": ["silver", "platinum", "bronze", "gold"]})
    assert sort_natural(tiers, "tier")["tier"].to_list() == ["bronze", "silver", "gold", "platinum"]
    stages = pl.DataFrame({"lifecycle_stage": ["churned", "new", "dormant", "active"]})
    assert sort_natural(stages, "lifecycle_stage")["lifecycle_stage"].to_list() == [
        "new",
        "active",
        "dormant",
        "churned",
    ]


def test_table_prints_ids_as_ids_and_labels_columns() -> None:
    frame = pl.DataFrame({"user_id": [12346], "monetary": [1234.5], "n_returned": [3]})
    table = Table.from_frame(frame, "caption", formats={"monetary": lambda v: money(v, "£")})
    assert table.rows == [["12346", "£1,234", "3"]]
    assert table.columns == ["customer", "spend to date", "came back"]
    assert table.numeric == [False, True, True]


@pytest.mark.parametrize(
    ("rgba", "colour"), [((0.03, 0.19, 0.42, 1.0), "white"), ((0.97, 0.98, 1.0, 1.0), "black")]
)
def test_annotation_colour_follows_the_background(rgba: tuple[float, ...], colour: str) -> None:
    assert _text_colour(rgba) == colour


def test_rfm_heatmap_has_no_black_text_on_navy() -> None:
    rng = np.random.default_rng(0)
    profiles = pl.DataFrame(
        {"r_score": rng.integers(1, 6, 500), "f_score": rng.integers(1, 6, 500)}
    ).with_columns(pl.col("r_score").cast(pl.Int8), pl.col("f_score").cast(pl.Int8))
    profiles = pl.concat(
        [
            profiles,
            pl.DataFrame({"r_score": [5] * 2000, "f_score": [5] * 2000}, schema=profiles.schema),
        ]
    )
    ax = plot_rfm_segments(profiles)
    image = ax.get_images()[0]
    for text in ax.texts:
        x, y = text.get_position()
        value = image.get_array()[int(y), int(x)]
        expected = _text_colour(image.get_cmap()(image.norm(value)))
        assert matplotlib.colors.to_hex(text.get_color()) == matplotlib.colors.to_hex(expected)
    assert any(matplotlib.colors.to_hex(t.get_color()) == "#ffffff" for t in ax.texts)


def test_cohort_heatmap_scale_ignores_period_zero() -> None:
    cohorts = pl.DataFrame(
        {
            "cohort": ["2011-01", "2011-01", "2011-01", "2011-02", "2011-02"],
            "period_index": [0, 1, 2, 0, 1],
            "retention": [1.0, 0.3, 0.2, 1.0, 0.25],
            "complete": [True] * 5,
        }
    )
    ax = plot_cohort_heatmap(cohorts)
    image = ax.get_images()[0]
    assert image.norm.vmax == pytest.approx(0.3)
    assert image.norm.vmin == pytest.approx(0.2)
