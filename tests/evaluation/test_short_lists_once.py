"""A short list is counted once in an evaluation, in the evaluation's words."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import polars as pl

import recsys as rs
from recsys.exceptions import DataWarning


def test_the_evaluation_counts_short_lists_without_the_recommenders_warning() -> None:
    start = datetime(2024, 1, 1)
    rows = [(u, f"i{(u + d) % 4}", start + timedelta(days=d)) for u in range(20) for d in (0, 40)]
    purchases = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    split = rs.evaluation.temporal_split(purchases, cutoff=start + timedelta(days=30))
    model = rs.Popular().fit(rs.Interactions.from_purchases(split.train))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rs.evaluation.evaluate({"popular": model}, split, k=10, bootstrap=0, show_progress=False)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("k=10 is larger than the longest recommendation list" in s for s in said)
    assert not any("items to recommend to" in s for s in said)
    # outside an evaluation the recommender still says it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.recommend(users=None, k=10)
    assert any("items to recommend to" in str(w.message) for w in caught)
