"""The Reality Check decomposition: repeat / explore recall, repeat share, PHR (known answers)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

import recsys as rs
from recsys import evaluation as ev


class _Fixed:
    """Returns the same hand-written lists whatever it is asked."""

    def __init__(self, lists: dict[int, list[str]]) -> None:
        self.lists = lists

    def recommend(self, users=None, k=10, *, exclude_seen=None, on_unknown="raise"):
        rows = [
            (user, item, float(-rank), rank + 1)
            for user, items in self.lists.items()
            for rank, item in enumerate(items[:k])
        ]
        return pl.DataFrame(rows, schema=["user_id", "item_id", "score", "rank"], orient="row")


@pytest.fixture
def split() -> ev.Split:
    # train: user 1 bought a, b; user 2 bought c.  test: user 1 {a, d}, user 2 {e}.
    day = [datetime(2024, 1, d) for d in (1, 2, 3, 10, 10, 10)]
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 1, 1, 2],
            "item_id": ["a", "b", "c", "a", "d", "e"],
            "timestamp": day,
        }
    )
    return ev.temporal_split(purchases, "2024-01-05")


MODEL = _Fixed({1: ["a", "x", "d"], 2: ["c", "e", "y"]})


def _table(split: ev.Split, bootstrap: int = 0) -> pl.DataFrame:
    return rs.evaluate(
        {"m": MODEL},
        split,
        k=[1, 2],
        metrics=["hit_rate", "recall", "repeat_share"],
        modes=["all", "new", "repeat"],
        bootstrap=bootstrap,
        show_progress=False,
    ).table


def _value(table: pl.DataFrame, mode: str, metric: str, k: int) -> tuple[float, int]:
    row = table.filter(mode=mode, metric=metric, k=k, segment="all")
    return row["value"].item(), row["n_users"].item()


def test_repeat_and_explore_recall_by_hand(split: ev.Split) -> None:
    table = _table(split)
    # k=2: user 1 list [a, x]: repeat truth {a} hit, explore truth {d} missed.
    #      user 2 list [c, e]: no repeat truth (undefined), explore truth {e} hit.
    assert _value(table, "repeat", "recall", 2) == (1.0, 1)
    assert _value(table, "new", "recall", 2) == (0.5, 2)
    assert _value(table, "all", "recall", 2) == (0.75, 2)  # (1/2 + 1) / 2
    # k=1: user 1 [a] hits a; user 2 [c] misses e.
    assert _value(table, "repeat", "recall", 1) == (1.0, 1)
    assert _value(table, "new", "recall", 1) == (0.0, 2)
    # PHR = share of users with at least one hit = hit_rate in mode "all".
    assert _value(table, "all", "hit_rate", 1) == (0.5, 2)
    assert _value(table, "all", "hit_rate", 2) == (1.0, 2)


def test_repeat_share_by_hand(split: ev.Split) -> None:
    table = _table(split)
    # k=1: both lists start with a bought item; k=2: one of two slots each.
    assert _value(table, "all", "repeat_share", 1) == (1.0, 2)
    assert _value(table, "all", "repeat_share", 2) == (0.5, 2)
    assert table.filter(metric="repeat_share", mode="new").height == 0
    recs = MODEL.recommend(k=2)
    assert ev.repeat_share(recs, split.train, k=2) == 0.5


def test_metric_functions_take_mode_repeat(split: ev.Split) -> None:
    recs = MODEL.recommend(k=2)
    assert ev.recall(recs, split.test, k=2, mode="repeat", train=split.train) == 1.0
    values = ev.accuracy_per_user("recall", recs, split.test, k=2, mode="repeat", train=split.train)
    assert values["value"].to_list() == [1.0, None]
    with pytest.raises(rs.InputDataError, match="needs train"):
        ev.recall(recs, split.test, k=2, mode="repeat")


def test_repeat_explore_rows_have_intervals_and_segments(split: ev.Split) -> None:
    segments = pl.DataFrame({"user_id": [1, 2], "tier": ["gold", "silver"]})
    results = rs.evaluate(
        {"m": MODEL, "n": _Fixed({1: ["d"], 2: ["e"]})},
        split,
        k=2,
        metrics=["recall"],
        modes=["repeat", "new"],
        by="tier",
        segments=segments,
        bootstrap=50,
        show_progress=False,
    )
    table = results.table
    overall = table.filter(segment="all", model="m", mode="new")
    assert overall["ci_low"].item() <= overall["value"].item() <= overall["ci_high"].item()
    gold = table.filter(segment="gold", model="m", mode="repeat")
    assert gold["value"].item() == 1.0
    assert table.filter(segment="silver", mode="repeat")["n_users"].to_list() == [0, 0]
    paired = ev.compare(results, "n", "m").filter(segment="all", mode="new")
    assert paired["difference"].item() == pytest.approx(0.5)  # n explores both, m one of two
