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


def test_recommend_batch_refuses_a_fractional_user(tmp_path: Path) -> None:
    purchases = pl.DataFrame({"user_id": [12346, 12347], "item_id": ["a", "b"]})
    model = rs.Popular().fit(rs.Interactions.from_frame(purchases))
    path = tmp_path / "model.npz"
    model.save(path)
    with pytest.raises(UnknownIdError):
        model.recommend([12346.5], k=1)
    # Refused on the driver, before any Ray work (so no cluster is started here).
    with pytest.raises(InputDataError, match=r"12346\.5"):
        rs.distributed.recommend_batch(path, users=[12346.5], k=1, out=tmp_path / "out")
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
