"""Ids of another type: matched when exact (``7.0``, ``"7"`` meet ``7``), else a typed error.

The promise of `recsys.data.canonical.cast_ids`: a lossy match is refused, so no
caller pairs one customer's rows with another's (``12346.5`` is not ``12346``)
and no polars join sees two key types.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from recsys.data.canonical import cast_ids
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

RECS = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "rank": [1, 2, 1]})
TRUTH = pl.DataFrame({"user_id": [1, 2], "item_id": [5, 6]})
TRAIN = pl.DataFrame({"user_id": [1, 2], "item_id": [5, 6]})


@pytest.mark.parametrize(
    ("values", "dtype"),
    [([1.5], pl.Int64), (["007"], pl.Int64), (["A1"], pl.Int64), ([2**53 + 1], pl.Float64)],
)
def test_cast_ids_refuses_lossy_matches(values: list, dtype: pl.DataType) -> None:
    with pytest.raises(InputDataError, match="user_id"):
        cast_ids(pl.Series("user_id", values), dtype, "here")


def test_recommend_on_ray_refuses_a_fractional_user(tmp_path: Path) -> None:
    purchases = pl.DataFrame({"user_id": [12346, 12347], "item_id": ["a", "b"]})
    model = rs.Popular().fit(rs.Interactions.from_frame(purchases))
    with pytest.raises(UnknownIdError):
        model.recommend([12346.5], k=1)
    # Refused on the driver, before any Ray work (so no cluster is started here).
    with pytest.raises(UnknownIdError, match=r"12346\.5"):
        model.recommend([12346.5], k=1, engine=rs.engine.Ray(out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "metric",
    [
        lambda train: rs.evaluation.recall(RECS, TRUTH, 2, mode="new", train=train),
        lambda train: rs.evaluation.recall(RECS, TRUTH, 2, mode="repeat", train=train),
        lambda train: rs.evaluation.repeat_share(RECS, train, 2),
        lambda train: rs.evaluation.novelty(RECS, train, 2),
        lambda train: rs.evaluation.novelty(RECS, train, 2, mode="new"),
        lambda train: rs.evaluation.coverage(RECS, [5, 6], 2, mode="new", train=train),
    ],
    ids=["recall-new", "recall-repeat", "repeat_share", "novelty", "novelty-new", "coverage"],
)
def test_repeat_metrics_match_exact_ids_of_another_type(metric) -> None:
    expected = metric(TRAIN)
    as_text = TRAIN.with_columns(pl.col("user_id", "item_id").cast(pl.String))
    as_float = TRAIN.with_columns(pl.col("user_id").cast(pl.Float64))
    assert metric(as_text) == pytest.approx(expected, nan_ok=True)
    assert metric(as_float) == pytest.approx(expected, nan_ok=True)
    with pytest.raises(InputDataError, match="train"):
        metric(TRAIN.with_columns(pl.Series("item_id", [5.5, 6.0])))


@pytest.mark.parametrize("mode", ["new", "repeat"])
def test_repeat_metrics_refuse_user_ids_that_match_no_type(mode: str) -> None:
    train = TRAIN.with_columns(pl.Series("user_id", ["A", "B"]))
    with pytest.raises(InputDataError, match="train"):
        rs.evaluation.recall(RECS, TRUTH, 2, mode=mode, train=train)
    with pytest.raises(InputDataError, match="train"):
        rs.evaluation.repeat_share(RECS, train, 2)


def test_hit_retention_does_not_credit_another_customer() -> None:
    start = datetime(2011, 9, 9)
    purchases = pl.DataFrame(
        {
            "user_id": [1.0, 1.5, 2.0],
            "item_id": ["A", "A", "B"],
            "timestamp": [datetime(2011, 9, 1), datetime(2011, 9, 10), datetime(2011, 9, 10)],
        }
    )
    recs = pl.DataFrame({"user_id": [1, 2], "item_id": ["A", "A"]})
    # Customer 1.5 bought A in the window; customer 1 did not: no hit for anyone.
    with pytest.warns(DataWarning, match="no returned customer with"):
        table = rs.uplift.hit_retention(recs, purchases, start, 30)
    assert table.select("n_hit", "n_no_hit", "n_returned").row(0) == (0, 1, 1)
    with pytest.raises(InputDataError, match="recommendations"):
        rs.uplift.hit_retention(
            recs.with_columns(pl.lit("A1").alias("user_id")), purchases, start, 30
        )


def test_coverage_catalogue_of_another_type() -> None:
    expected = rs.evaluation.coverage(RECS, [5, 6, 7], 2)
    assert rs.evaluation.coverage(RECS, ["5", "6", "7"], 2) == expected
    assert rs.evaluation.coverage(RECS, [5.0, 6.0, 7.0], 2) == expected
    for bad in ([5, "a"], [5.5, 6.0], ["A5"]):
        with pytest.raises(InputDataError, match="catalogue"):
            rs.evaluation.coverage(RECS, bad, 2)


@pytest.mark.parametrize("users", [[1, "a"], "12", 5, [[1]]])
def test_retention_labels_users_of_mixed_or_no_type(users) -> None:
    purchases = pl.DataFrame({"user_id": [1, 2], "timestamp": [datetime(2024, 1, 1)] * 2})
    with pytest.raises(InputDataError, match="users"):
        rs.uplift.retention_labels(purchases, "2024-01-02", 30, users=users)


def test_an_exclude_frame_does_not_exclude_for_another_customer() -> None:
    purchases = pl.DataFrame({"user_id": [1, 2, 2, 3], "item_id": ["a", "a", "b", "b"]})
    model = rs.Popular().fit(rs.Interactions.from_frame(purchases))
    plain = model.recommend([1], k=2, exclude_seen=False)
    exact = pl.DataFrame({"user_id": [1.0], "item_id": ["a"]})
    assert model.recommend([1], k=2, exclude_seen=False, exclude=exact)["item_id"].to_list() == [
        "b"
    ]
    with pytest.raises(InputDataError, match="exclude"):  # 1.5 is not customer 1
        model.recommend([1], k=2, exclude_seen=False, exclude=exact.with_columns(user_id=1.5))
    assert plain.height == 2


def test_an_item_table_does_not_label_another_item() -> None:
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": [7, 8, 7],
            "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3)],
            "quantity": [1.0, 1.0, 1.0],
        }
    )
    items = pl.DataFrame({"item_id": ["007"], "category": ["tea"]})  # not item 7
    with pytest.raises(InputDataError, match="item table"):
        rs.build_profiles(purchases, items=items, as_of="2024-01-04")
