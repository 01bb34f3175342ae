"""Known-answer tests of rs.Blend: hand-worked rank fusion, eligibility, weights, defaults."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from tests.models._fixtures import block_interactions, block_purchases


def _purchases() -> pl.DataFrame:
    """Five items; distinct buyers (all history) a:4, b:3, c:2, d:3, e:1.

    User 1 bought only ``a``; in the last 30 days before the reference time only
    ``d`` (users 2, 3, 4) and ``e`` (user 5) sold, so the windowed popularity
    ranks d > e > the rest.
    """
    old = datetime(2024, 1, 1)
    new = datetime(2024, 3, 20)
    rows = [
        (1, "a", old),
        (2, "a", old),
        (3, "a", old),
        (4, "a", old),
        (2, "b", old),
        (3, "b", old),
        (4, "b", old),
        (3, "c", old + timedelta(days=1)),
        (4, "c", old + timedelta(days=1)),
        (2, "d", new),
        (3, "d", new),
        (4, "d", new),
        (5, "e", new + timedelta(days=1)),
    ]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def _rrf(order: list[str], offset: float) -> dict[str, float]:
    return {item: 1.0 / (rank + offset) for rank, item in enumerate(order, start=1)}


def test_rank_fusion_hand_worked() -> None:
    inter = rs.Interactions.from_purchases(_purchases())
    model = rs.Blend(
        [("all", rs.Popular()), ("recent", rs.Popular(window_days=30))], [0.5, 0.5], rank_offset=1.0
    )
    recs = model.fit(inter).recommend([1], k=4, exclude_seen=True)
    # User 1 bought "a": it is removed before ranking. All-history buyers among the rest:
    # b:3 = d:3 (tie: b first, lower index) > c:2 > e:1.
    all_history = _rrf(["b", "d", "c", "e"], 1.0)
    # Last 30 days: d:3 > e:1 > b:0 = c:0 (ties keep item order).
    recent = _rrf(["d", "e", "b", "c"], 1.0)
    expected = {i: 0.5 * all_history[i] + 0.5 * recent[i] for i in "bcde"}
    order = sorted(expected, key=lambda i: (-expected[i], i))
    assert recs["item_id"].to_list() == order
    np.testing.assert_allclose(recs["score"].to_numpy(), [expected[i] for i in order], rtol=1e-6)


def test_ranks_count_only_eligible_items() -> None:
    """An excluded item does not push the others down a part's ranking."""
    inter = rs.Interactions.from_purchases(_purchases())
    model = rs.Blend([("popular", rs.Popular())], rank_offset=0.0).fit(inter)
    recs = model.recommend([5], k=2, exclude_seen=False, exclude=["a"])
    # Without "a", "b" is rank 1 (score 1/1) and "d" rank 2 (1/2), not 1/2 and 1/3.
    assert recs["item_id"].to_list() == ["b", "d"]
    np.testing.assert_allclose(recs["score"].to_numpy(), [1.0, 0.5])
    only = model.recommend([5], k=1, exclude_seen=False, candidates=["c", "e"])
    assert only["item_id"].to_list() == ["c"]
    np.testing.assert_allclose(only["score"].to_numpy(), [1.0])


def test_single_part_keeps_its_ranking() -> None:
    inter = block_interactions()
    knn = rs.ItemKNN(neighbors=20).fit(inter)
    blend = rs.Blend([("knn", rs.ItemKNN(neighbors=20))]).fit(inter)
    users = np.arange(inter.shape[0], dtype=np.int32)
    ids, scores = knn.recommend_index(users, k=5)
    blend_ids, _ = blend.recommend_index(users, k=5)
    clear = (np.abs(np.diff(scores, axis=1)) > 1e-5).all(axis=1)
    np.testing.assert_array_equal(blend_ids[clear], ids[clear])


def test_zero_weight_part_is_ignored() -> None:
    inter = rs.Interactions.from_purchases(_purchases())
    alone = rs.Blend([("recent", rs.Popular(window_days=30))]).fit(inter).recommend(k=3)
    mixed = rs.Blend(
        [("all", rs.Popular()), ("recent", rs.Popular(window_days=30))], [0.0, 2.0]
    ).fit(inter)
    recs = mixed.recommend(k=3)
    assert recs["item_id"].to_list() == alone["item_id"].to_list()
    np.testing.assert_allclose(recs["score"].to_numpy(), 2.0 * alone["score"].to_numpy())


def test_default_parts_and_untimed_fallback() -> None:
    model = rs.Blend()
    assert model.models is None
    assert model.weights is None
    timed = rs.Blend().fit(block_interactions())
    assert [type(m).__name__ for m in timed.models_] == ["ALS", "ItemKNN", "Popular"]
    assert timed.models_[2].window_days == 30.0
    np.testing.assert_allclose(timed.weights_, [0.6, 0.2, 0.2])
    frame = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
    with pytest.warns(rs.DataWarning, match="no purchase times"):
        untimed = rs.Blend().fit(rs.Interactions.from_frame(frame))
    assert untimed.models_[2].window_days is None


def test_clone_copies_parts_and_save_load(tmp_path) -> None:
    parts = [("knn", rs.ItemKNN(neighbors=7)), ("recent", rs.Popular(window_days=30))]
    model = rs.Blend(parts, [0.3, 0.7], normalize="minmax")
    copy = model.clone()
    assert copy.models is not parts
    assert copy.models[0][1] is not parts[0][1]
    assert copy.models[0] == ("knn", copy.models[0][1])
    assert copy.models[0][1].neighbors == 7
    assert copy.weights == [0.3, 0.7]
    inter = rs.Interactions.from_purchases(_purchases())
    model.fit(inter).save(tmp_path / "blend.npz")
    loaded = rs.load_model(tmp_path / "blend.npz")
    assert loaded.models[0][0] == "knn"
    assert isinstance(loaded.models[0][1], rs.ItemKNN)
    assert loaded.get_params()["knn__neighbors"] == 7
    assert loaded.recommend(k=3).equals(model.recommend(k=3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": []}, r"models=\.\.\.\) must be a non-empty list of \(name, model\)"),
        ({"models": rs.ALS()}, r"models=\.\.\.\) must be a non-empty list"),
        ({"models": [rs.ALS(), rs.ItemKNN()]}, r"\(name, model\) pairs"),  # unnamed
        ({"models": [("a", rs.ALS()), ("a", rs.ItemKNN())]}, "distinct names"),
        ({"models": [("a__b", rs.ALS())]}, r"\(name, model\) pairs"),
        ({"models": [("depth", rs.ALS())]}, r"part names \['depth'\] are parameter names"),
        ({"models": [("als", rs.ALS()), ("knn", "ItemKNN")]}, r"\(name, model\)"),
        ({"models": [("pop", rs.Popular())], "weights": [1.0, 2.0]}, "one number per model"),
        ({"models": [("pop", rs.Popular())], "weights": [-1.0]}, r"weights=\.\.\.\).*>= 0"),
        ({"weights": [0.0, 0.0, 0.0]}, "not be all 0"),
        ({"weights": ["x", 1, 2]}, r"weights=\.\.\.\) must be a non-empty list of \(a number"),
        ({"masks": ["all", "old", "all"]}, "masks"),
        ({"masks": ["all"]}, "one mask per model"),
        ({"depth": 0}, "depth"),
        ({"normalize": "zscore"}, "normalize"),
        ({"rank_offset": -1}, "rank_offset"),
    ],
)
def test_param_validation(kwargs, message) -> None:
    inter = rs.Interactions.from_purchases(_purchases())
    with pytest.raises(rs.InputDataError, match=message):
        rs.Blend(**kwargs).fit(inter)


def test_long_lists_are_not_cut_by_depth() -> None:
    """Each part proposes at least k items: ranking a large candidate set stays exact."""
    inter = block_interactions()
    parts = [("knn", rs.ItemKNN(neighbors=20)), ("popular", rs.Popular())]
    shallow = rs.Blend(parts, depth=2).fit(inter)
    deep = rs.Blend(parts, depth=inter.shape[1]).fit(inter)
    users = np.arange(inter.shape[0], dtype=np.int32)
    k = inter.shape[1]
    a_ids, a_scores = shallow.recommend_index(users, k=k, exclude_seen=False)
    b_ids, b_scores = deep.recommend_index(users, k=k, exclude_seen=False)
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_array_equal(a_scores, b_scores)
    short, _ = shallow.recommend_index(users, k=1, exclude_seen=False)
    assert (short[:, 0] >= 0).all()


def test_named_parts_reach_get_params_set_params_and_clone() -> None:
    """Parts are named like a scikit-learn Pipeline's steps."""
    als, popular = rs.ALS(factors=8), rs.Popular()
    model = rs.Blend([("als", als), ("popular", popular)], [0.7, 0.3])
    params = model.get_params(deep=True)
    assert params["als"] is als
    assert params["als__factors"] == 8
    assert params["popular__window_days"] is None
    assert model.set_params(als__factors=128, popular__window_days=7.0, depth=20) is model
    assert als.factors == 128
    assert popular.window_days == 7.0
    assert model.depth == 20
    replacement = rs.ItemKNN(neighbors=5)
    model.set_params(popular=replacement)
    assert model.models[1] == ("popular", replacement)
    assert model.get_params()["popular__neighbors"] == 5
    with pytest.raises(rs.InputDataError, match="no parameter or part 'bpr'"):
        model.set_params(bpr__factors=3)
    copy = model.clone()
    assert copy.models[0][1] is not als
    assert copy.get_params()["als__factors"] == 128
    base = pytest.importorskip("sklearn.base")
    cloned = base.clone(model)
    assert repr(cloned) == repr(model)
    assert cloned.models[0][1] is not als
    fitted = model.fit(rs.Interactions.from_purchases(_purchases()))
    assert fitted.models_[0].factors == 128


def test_tune_reaches_named_parts() -> None:
    """tune clones the blend and sets ``<part>__<parameter>`` on each trial."""
    purchases = block_purchases().drop("group")
    split = rs.evaluation.temporal_split(purchases, "2024-02-20", horizon_days=10)
    blend = rs.Blend([("pop", rs.Popular()), ("knn", rs.ItemKNN(neighbors=20))], [0.2, 0.8])
    result = rs.evaluation.tune(
        blend, {"knn__neighbors": [1, 5]}, split, k=3, bootstrap=0, show_progress=False
    )
    assert sorted(result.table["knn__neighbors"].to_list()) == [1, 5]
    assert blend.models[1][1].neighbors == 20  # the given model is never changed
    # each trial's figure is the validation figure of the blend built with set_params
    val = result.validation
    for row in result.table.iter_rows(named=True):
        trial = blend.clone().set_params(knn__neighbors=row["knn__neighbors"])
        trial.fit(rs.Interactions.from_purchases(val.train, as_of=val.as_of))
        recs = trial.recommend(val.test["user_id"].unique(), k=3, on_unknown="skip")
        assert row["value"] == pytest.approx(rs.evaluation.hit_rate(recs, val.test, k=3))
    with pytest.raises(rs.InputDataError, match="no parameter or part 'als'"):
        rs.evaluation.tune(blend, {"als__factors": [2]}, split, bootstrap=0)
    with pytest.raises(rs.InputDataError, match=r"rs\.ALS\(\)"):
        rs.evaluation.tune(rs.ALS, {"factors": [2]}, split, bootstrap=0)
