"""Every parameter of the public API refuses a wrong value with InputDataError naming it.

One root cause, one check family (``recsys._validation``): these cases used to escape
as bare TypeError/ValueError/IndexError or as silently wrong results.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

import recsys as rs


@pytest.fixture(scope="module")
def purchases() -> pl.DataFrame:
    p, _ = rs.clean_purchases(rs.datasets.online_retail().head(5000), preset="online_retail")
    return p


def _bgnbd() -> rs.profiles.BGNBD:
    return rs.profiles.BGNBD().fit([1, 2, 0], [3, 4, 0], [10, 10, 10])


EXPERIMENT = pl.DataFrame({"arm": ["t", "c"] * 5, "y": [1, 0] * 5})

CASES = [
    ("preset", lambda p: rs.clean_purchases(rs.datasets.online_retail().head(10), preset=["x"])),
    ("columns", lambda p: rs.clean_purchases(rs.datasets.online_retail().head(10), columns=["a"])),
    ("half_life_days", lambda p: rs.Interactions.from_purchases(p, half_life_days="10")),
    ("fraction", lambda p: rs.evaluation.random_holdout(p, fraction="a fifth")),
    ("rhythm_multiple", lambda p: rs.ProfileConfig(rhythm_multiple="2")),
    (
        "confidence",
        lambda p: rs.uplift.uplift_table(
            EXPERIMENT, arm="arm", control="c", outcome="y", confidence="high"
        ),
    ),
    ("baseline_rate", lambda p: rs.uplift.sample_size(None, 0.02)),
    ("mde", lambda p: rs.uplift.sample_size(0.1, "0.02")),
    ("mde", lambda p: rs.uplift.sample_size(0.1, 1e-200)),
    ("sd", lambda p: rs.uplift.sample_size(0.1, 0.02, sd="wide")),
    ("n_control", lambda p: rs.uplift.minimum_detectable_effect("many", 100, 0.1)),
    ("horizon_days", lambda p: rs.uplift.retention_labels(p, "2011-01-01", math.inf)),
    ("counts", lambda p: rs.uplift.sample_ratio_mismatch({"a": -5, "b": 100})),
    ("counts", lambda p: rs.uplift.sample_ratio_mismatch([-5, 100])),
    (
        "expected_ratio",
        lambda p: rs.uplift.sample_ratio_mismatch({"a": 5, "b": 6}, {"a": 1, "b": 0}),
    ),
    ("t", lambda p: _bgnbd().expected_purchases(-5)),
    ("t", lambda p: _bgnbd().expected_purchases("x")),
    ("t", lambda p: _bgnbd().conditional_expected_purchases(-1, [1], [2], [3])),
    ("users", lambda p: rs.uplift.retention_labels(p, "2011-01-01", 30, users=[1.5, 2.9])),
]


@pytest.mark.parametrize(
    ("name", "call"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_wrong_value_names_the_parameter(purchases, name, call) -> None:
    with pytest.raises(rs.InputDataError, match=name):
        call(purchases)


def test_segments_with_text_ids_against_integer_ids(purchases) -> None:
    users = pl.DataFrame({"user_id": purchases["user_id"].unique().head(3)})
    text = pl.DataFrame({"user_id": ["A", "B"], "stage": ["new", "active"]})
    with pytest.raises(rs.InputDataError, match="not Int64 ids"):
        rs.data.canonical.attach_segments(users, "stage", text)
    as_text = text.with_columns(pl.Series("user_id", users["user_id"].head(2).cast(pl.String)))
    frame, _ = rs.data.canonical.attach_segments(users.head(2), "stage", as_text)
    assert frame["stage"].to_list() == ["new", "active"]  # "12346" is the id 12346
