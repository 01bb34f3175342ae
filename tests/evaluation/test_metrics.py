"""Metrics against hand-worked examples and a plain-python reference."""

from __future__ import annotations

import inspect
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

ev = rs.evaluation

# user 1: list [7, 8, 9], truth {8, 5}: one hit at rank 2
# user 2: list [5, 6],    truth {6}:    one hit at rank 2 (list shorter than k=3)
# user 3: no list,        truth {1}:    a miss
RECS = pl.DataFrame(
    {"user_id": [1, 1, 1, 2, 2], "item_id": [7, 8, 9, 5, 6], "rank": [1, 2, 3, 1, 2]}
)
TRUTH = pl.DataFrame({"user_id": [1, 1, 2, 3, 3], "item_id": [8, 5, 6, 1, 1]})


def test_hand_worked_values() -> None:
    d2, d3 = 1 / math.log2(3), 1 / math.log2(4)
    assert ev.hit_rate(RECS, TRUTH, k=3) == pytest.approx(2 / 3)
    assert ev.precision(RECS, TRUTH, k=3) == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert ev.recall(RECS, TRUTH, k=3) == pytest.approx((1 / 2 + 1 + 0) / 3)
    ndcg_1 = d2 / (1 + d2)  # ideal DCG over min(|T|=2, k) = 2 positions
    ndcg_2 = d2 / 1.0
    assert ev.ndcg(RECS, TRUTH, k=3) == pytest.approx((ndcg_1 + ndcg_2) / 3)
    assert ev.map(RECS, TRUTH, k=3) == pytest.approx(((1 / 2) / 2 + (1 / 2) / 1) / 3)
    assert ev.mrr(RECS, TRUTH, k=3) == pytest.approx((1 / 2 + 1 / 2) / 3)
    # k=1: nobody has a hit at rank 1
    assert ev.hit_rate(RECS, TRUTH, k=1) == 0.0
    assert d3 < d2  # the discount falls with rank


def test_per_user_frame() -> None:
    values = ev.accuracy_per_user("recall", RECS, TRUTH, k=3)
    assert values.columns == ["user_id", "value"]
    assert values.sort("user_id")["value"].to_list() == [0.5, 1.0, 0.0]


def test_metric_functions_return_one_type() -> None:
    # the mean is a float; the per-user values come from their own functions
    train = pl.DataFrame({"user_id": [1, 2, 3, 4, 4], "item_id": [5, 6, 7, 8, 9]})
    for name in ev.ACCURACY_METRICS:
        fn = getattr(ev, name)
        assert "per_user" not in inspect.signature(fn).parameters
        assert isinstance(fn(RECS, TRUTH, k=3), float)
        frame = ev.accuracy_per_user(name, RECS, TRUTH, k=3)
        assert frame["value"].mean() == pytest.approx(fn(RECS, TRUTH, k=3))
    assert isinstance(ev.novelty(RECS, train, k=2), float)
    per_user = ev.novelty_per_user(RECS, train, k=2)
    assert per_user.columns == ["user_id", "value"]
    assert per_user["value"].mean() == pytest.approx(ev.novelty(RECS, train, k=2))
    with pytest.raises(InputDataError, match="metric"):
        ev.accuracy_per_user("coverage", RECS, TRUTH, k=3)


def test_new_items_mode() -> None:
    train = pl.DataFrame({"user_id": [1, 2], "item_id": [8, 6]})
    # user 1: new truth {5} -> no hit; user 2: new truth {} -> undefined; user 3: {1} -> miss
    values = ev.accuracy_per_user("hit_rate", RECS, TRUTH, k=3, mode="new", train=train)
    assert values.sort("user_id")["value"].to_list() == [0.0, None, 0.0]
    assert ev.hit_rate(RECS, TRUTH, k=3, mode="new", train=train) == 0.0
    with pytest.raises(InputDataError, match="train"):
        ev.hit_rate(RECS, TRUTH, k=3, mode="new")


def test_novelty_and_coverage_by_hand() -> None:
    train = pl.DataFrame({"user_id": [1, 2, 3, 4], "item_id": [7, 7, 8, 9]})
    recs = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [7, 8, 9], "rank": [1, 2, 1]})
    expected_1 = (-math.log2(2 / 4) - math.log2(1 / 4)) / 2
    expected_2 = -math.log2(1 / 4)
    assert ev.novelty(recs, train, k=2) == pytest.approx((expected_1 + expected_2) / 2)
    # new mode: user 1 bought 7 before, so only item 8 counts for them
    assert ev.novelty(recs, train, k=2, mode="new") == pytest.approx(2.0)
    assert ev.coverage(recs, [7, 8, 9, 10], k=1) == 0.5
    assert ev.coverage(recs, [7, 8, 9, 10], k=2, mode="new", train=train) == 0.5
    with pytest.raises(UnknownIdError, match="catalogue"):
        ev.coverage(recs, [7, 8], k=2)
    with pytest.raises(UnknownIdError, match="training"):
        ev.novelty(recs.with_columns(pl.lit(99).alias("item_id")).head(1), train, k=1)


def test_string_ids_and_pandas() -> None:
    recs = RECS.with_columns(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String))
    truth = TRUTH.with_columns(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String))
    assert ev.hit_rate(recs.to_pandas(), truth.to_pandas(), k=3) == pytest.approx(2 / 3)


def test_bad_recommendations() -> None:
    duplicated = pl.concat(
        [RECS, RECS.head(1).with_columns(pl.lit(4, dtype=pl.Int64).alias("rank"))]
    )
    with pytest.raises(InputDataError, match="repeated"):
        ev.hit_rate(duplicated, TRUTH, k=3)
    gap = RECS.with_columns(
        pl.when(pl.col("rank") == 3).then(5).otherwise(pl.col("rank")).alias("rank")
    )
    with pytest.raises(InputDataError, match=r"ranks must be 1\.\.n"):
        ev.hit_rate(gap, TRUTH, k=3)
    with pytest.raises(InputDataError, match="'rank'"):
        ev.hit_rate(RECS.drop("rank"), TRUTH, k=3)
    with pytest.raises(UnknownIdError, match="dtype"):
        ev.hit_rate(RECS.with_columns(pl.col("item_id").cast(pl.String)), TRUTH, k=3)
    with pytest.raises(InputDataError, match="empty"):
        ev.hit_rate(RECS, TRUTH.head(0), k=3)
    with pytest.raises(InputDataError, match="k must be"):
        ev.hit_rate(RECS, TRUTH, k=0)


def test_unknown_users_warn_and_long_k_warns() -> None:
    extra = pl.concat([RECS, pl.DataFrame({"user_id": [42], "item_id": [1], "rank": [1]})])
    with pytest.warns(DataWarning, match="not in the test data"):
        assert ev.hit_rate(extra, TRUTH, k=3) == pytest.approx(2 / 3)
    with pytest.warns(DataWarning, match="longest recommendation list"):
        assert ev.precision(RECS, TRUTH, k=6) == pytest.approx((1 / 6 + 1 / 6) / 3)


# --- plain-python reference -------------------------------------------------


def reference(lists: dict[int, list[int]], truth: dict[int, set[int]], k: int) -> dict[str, float]:
    sums = dict.fromkeys(ev.ACCURACY_METRICS, 0.0)
    for user, relevant in truth.items():
        top = lists.get(user, [])[:k]
        hits = [item in relevant for item in top]
        n_hits = sum(hits)
        sums["hit_rate"] += float(n_hits > 0)
        sums["precision"] += n_hits / k
        sums["recall"] += n_hits / len(relevant)
        dcg = sum(1 / math.log2(j + 2) for j, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(j + 2) for j in range(min(len(relevant), k)))
        sums["ndcg"] += dcg / idcg
        ap, seen = 0.0, 0
        for j, h in enumerate(hits):
            if h:
                seen += 1
                ap += seen / (j + 1)
        sums["map"] += ap / min(len(relevant), k)
        sums["mrr"] += next((1 / (j + 1) for j, h in enumerate(hits) if h), 0.0)
    return {name: total / len(truth) for name, total in sums.items()}


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[int, list[int]], dict[int, set[int]], int]:
    n_users = draw(st.integers(1, 6))
    truth = {u: draw(st.sets(st.integers(0, 9), min_size=1, max_size=6)) for u in range(n_users)}
    lists = {
        u: draw(st.lists(st.integers(0, 9), unique=True, max_size=8))
        for u in range(n_users + 1)  # one user outside the truth
        if draw(st.booleans()) or u < n_users
    }
    return lists, truth, draw(st.integers(1, 8))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_metrics_match_plain_python_reference(case: tuple) -> None:
    lists, truth, k = case
    recs = pl.DataFrame(
        [(u, item, r + 1) for u, items in lists.items() for r, item in enumerate(items)],
        schema={"user_id": pl.Int64, "item_id": pl.Int64, "rank": pl.Int64},
        orient="row",
    )
    truth_frame = pl.DataFrame(
        [(u, item) for u, items in truth.items() for item in items],
        schema={"user_id": pl.Int64, "item_id": pl.Int64},
        orient="row",
    )
    expected = reference(lists, truth, k)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for name in ev.ACCURACY_METRICS:
            got = getattr(ev, name)(recs, truth_frame, k=k)
            assert got == pytest.approx(expected[name], abs=1e-12), name


def test_accuracy_from_hits_matches_reference_on_random_data() -> None:
    from recsys.evaluation.metrics import accuracy_from_hits

    rng = np.random.default_rng(3)
    hits = rng.random((200, 12)) < 0.2
    n_truth = rng.integers(1, 15, size=200)
    n_truth = np.maximum(n_truth, hits.sum(axis=1))
    for k in (1, 5, 12):
        lists = {u: [j for j in range(12)] for u in range(200)}
        truth = {
            u: {j for j in range(12) if hits[u, j]}
            | {100 + j for j in range(n_truth[u] - hits[u].sum())}
            for u in range(200)
        }
        expected = reference(lists, truth, k)
        for name in ev.ACCURACY_METRICS:
            assert accuracy_from_hits(hits, n_truth, k, name).mean() == pytest.approx(
                expected[name]
            )
