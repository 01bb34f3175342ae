"""The sampled-negatives protocol: determinism and a hand-checked ranking."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.evaluation.protocols import sampled_ranks, score_candidates
from recsys.exceptions import InputDataError
from tests.evaluation._double import CountRecommender

ev = rs.evaluation

TRAIN = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3, 3, 3, 4],
        "item_id": [10, 11, 10, 12, 10, 11, 13, 14],
    }
)


def test_negatives_exclude_everything_the_user_bought_and_are_deterministic() -> None:
    test = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [12, 13, 11]})
    a = ev.sample_negatives(test, TRAIN, n=1, seed=7)
    assert a.height == 3 * 2
    positives = a.filter(pl.col("positive")).select("user_id", "item_id")
    assert positives.sort("user_id", "item_id").rows() == [(1, 12), (1, 13), (2, 11)]
    negatives = a.filter(~pl.col("positive"))
    bought = pl.concat([TRAIN, test]).unique()
    assert negatives.join(bought, on=["user_id", "item_id"], how="semi").height == 0
    # user 1 bought 10, 11 (train) and 12, 13 (test): only 14 is left for both cases
    assert negatives.filter(pl.col("user_id") == 1)["item_id"].to_list() == [14, 14]
    assert a.equals(ev.sample_negatives(test, TRAIN, n=1, seed=7))
    two = ev.sample_negatives(test.filter(pl.col("user_id") == 2), TRAIN, n=2, seed=3)
    assert sorted(two.filter(~pl.col("positive"))["item_id"].to_list()) == [13, 14]
    with pytest.raises(InputDataError, match="user 1"):
        ev.sample_negatives(test, TRAIN, n=2)


def test_hand_checked_sampled_rank() -> None:
    # user 1 held-out item 13; the only items user 1 never bought are 12 and 14 -> n=2 is forced.
    test = pl.DataFrame({"user_id": [1], "item_id": [13]})
    candidates = ev.sample_negatives(test, TRAIN, n=2, seed=0)
    assert sorted(candidates["item_id"].to_list()) == [12, 13, 14]
    model = CountRecommender(personal=1.0).fit(
        rs.Interactions.from_frame(TRAIN, user="user_id", item="item_id")
    )
    # popularity among 4 users: 12 -> 1/4, 13 -> 1/4, 14 -> 1/4: all tie; ties count against
    # the positive, so its rank is 3 (the worst), not 1.
    ranks = sampled_ranks(score_candidates(model, candidates))
    assert ranks["rank"].to_list() == [3]
    # give item 13 one more buyer: it now beats both negatives -> rank 1
    richer = pl.concat([TRAIN, pl.DataFrame({"user_id": [4], "item_id": [13]})])
    model = CountRecommender(personal=1.0).fit(
        rs.Interactions.from_frame(richer, user="user_id", item="item_id")
    )
    assert sampled_ranks(score_candidates(model, candidates))["rank"].to_list() == [1]


def test_evaluate_with_sampled_protocol_is_deterministic(online_retail: pl.DataFrame) -> None:
    small = online_retail.filter(pl.col("user_id") < 12600)
    split = ev.leave_last_out(small)
    model = CountRecommender(personal=0.0).fit(rs.Interactions.from_purchases(split.train))
    kwargs = dict(
        k=[10], bootstrap=50, show_progress=False, protocol=ev.SampledNegatives(n=99, seed=1)
    )
    a = rs.evaluate({"pop": model}, split, **kwargs).table
    b = rs.evaluate({"pop": model}, split, **kwargs).table
    assert a.equals(b)
    assert set(a["metric"].unique().to_list()) == {"hit_rate", "ndcg", "mrr"}
    full = rs.evaluate(
        {"pop": model}, split, k=[10], metrics=["hit_rate"], bootstrap=0, show_progress=False
    ).table
    hr = lambda t: t.filter(mode="all", metric="hit_rate", segment="all")["value"].item()  # noqa: E731
    assert hr(a) > hr(full)  # ranking among 100 items is easier than among the catalogue
    with pytest.raises(InputDataError, match=r"sampled-negatives|metrics"):
        rs.evaluate({"pop": model}, split, metrics=["coverage"], protocol=ev.SampledNegatives())
