"""Model-specific behaviour: known answers for each recommender."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.models.blend import _normalized
from recsys.scoring import item_similarity
from tests.models._fixtures import block_interactions

T0 = datetime(2024, 3, 1)


def _purchases(rows: list[tuple[int, str, float]]) -> pl.DataFrame:
    """(user, item, days before T0) rows -> canonical purchases."""
    frame = pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "timestamp": [T0 - timedelta(days=r[2]) for r in rows],
        }
    )
    return frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us")))


# ----------------------------------------------------------------------------- Popular
def test_popular_counts_distinct_buyers() -> None:
    p = _purchases([(1, "a", 5), (1, "a", 4), (2, "a", 50), (2, "b", 3), (3, "c", 1), (3, "b", 0)])
    inter = rs.Interactions.from_purchases(p)
    model = rs.Popular().fit(inter)
    assert model.popularity_.tolist() == [2.0, 2.0, 1.0]
    recent = rs.Popular(window_days=10).fit(inter)
    # user 2 bought "a" 50 days ago: outside the window
    assert recent.popularity_.tolist() == [1.0, 2.0, 1.0]
    recs = recent.recommend([1], k=2)
    assert recs["item_id"].to_list() == ["b", "c"]


def test_popular_window_needs_times() -> None:
    inter = rs.Interactions.from_frame(pl.DataFrame({"user_id": [1], "item_id": ["a"]}))
    with pytest.raises(rs.InputDataError, match="purchase times"):
        rs.Popular(window_days=7).fit(inter)
    with pytest.raises(rs.InputDataError, match="window_days"):
        rs.Popular(window_days=-1).fit(inter)


# -------------------------------------------------------------------------- Repurchase
def test_repurchase_count_and_recency_hand_worked() -> None:
    # user 1: "a" x3 (last 100 days ago), "b" x1 (today), "c" x2 (last 10 days ago)
    p = _purchases(
        [
            (1, "a", 300),
            (1, "a", 200),
            (1, "a", 100),
            (1, "b", 0),
            (1, "c", 20),
            (1, "c", 10),
            (2, "d", 1),
            (3, "d", 2),
            (3, "e", 2),
        ]
    )
    inter = rs.Interactions.from_purchases(p)
    model = rs.Repurchase(half_life_days=50.0, repeat_rate_power=0.0, trend_window_days=None).fit(
        inter
    )
    expected = {"a": 3 * 0.5**2, "b": 1.0, "c": 2 * 0.5**0.2}
    recs = model.recommend([1], k=5)
    got = dict(zip(recs["item_id"].to_list()[:3], recs["score"].to_list()[:3], strict=True))
    assert got.keys() == expected.keys()
    for item, score in expected.items():
        assert got[item] == pytest.approx(score, rel=1e-5)
    assert recs["item_id"].to_list()[:3] == ["c", "b", "a"]
    # Backfill: never-bought items by popularity ("d" has 2 buyers), below every bought item.
    assert recs["item_id"].to_list()[3:] == ["d", "e"]
    assert (recs["score"][3:] < 0).all()
    # Without decay the count decides: a (3) > c (2) > b (1).
    by_count = rs.Repurchase(half_life_days=None, repeat_rate_power=0, trend_window_days=None)
    by_count = by_count.fit(inter)
    by_count = by_count.recommend([1], k=3)
    assert by_count["item_id"].to_list() == ["a", "c", "b"]
    # exclude_seen defaults to False for buy-again; True leaves the backfill.
    assert model.recommend([1], k=2, exclude_seen=True)["item_id"].to_list() == ["d", "e"]


def test_repurchase_due_interval() -> None:
    # Item "x": bought every ~10 days by repeat buyers; user 9 bought it 10 days ago
    # (due), user 8 bought "x" 0.5 days ago (just bought: not due).
    rows = []
    for u in range(5):
        rows += [(u, "x", 40.0), (u, "x", 30.0), (u, "x", 20.0), (u, "x", 10.0 + u)]
    rows += [(9, "x", 10.0), (9, "y", 10.0), (8, "x", 0.5), (8, "y", 0.5), (7, "z", 0.0)]
    inter = rs.Interactions.from_purchases(_purchases(rows))
    model = rs.Repurchase(
        half_life_days=None, repeat_rate_power=0, trend_window_days=None, due_weight=1.0
    ).fit(inter)
    x = model.items_.to_index(["x"])[0]
    # users 0-4: span = 10 + u days... observed last purchase 10+u days ago, count 4:
    # interval = (10 + u) / 3 -> median over u = 0..4 is 12 / 3 = 4 days.
    assert model.interval_days_[x] == pytest.approx(4.0)
    assert np.isnan(model.interval_days_[model.items_.to_index(["y"])[0]])
    s9 = model.recommend([9], k=2)
    s8 = model.recommend([8], k=2)
    due9 = np.exp(-0.5 * np.log(10.0 / 4.0) ** 2)
    due8 = np.exp(-0.5 * np.log(0.5 / 4.0) ** 2)
    x9 = s9.filter(pl.col("item_id") == "x")["score"].item()
    x8 = s8.filter(pl.col("item_id") == "x")["score"].item()
    assert x9 == pytest.approx((1 + 1 / 12) * due9, rel=1e-4)
    assert x8 == pytest.approx((1 + 1 / 2.5) * due8, rel=1e-4)


def test_repurchase_item_repeat_rate() -> None:
    # user 1 bought soap x2 and vase x2; users 2 and 3 soap x2 and vase x1 each.
    rows = [(1, "soap", 9), (1, "soap", 8), (1, "vase", 9), (1, "vase", 8)]
    rows += [(u, "soap", d) for u in (2, 3) for d in (7, 6)] + [(2, "vase", 5), (3, "vase", 5)]
    inter = rs.Interactions.from_purchases(_purchases(rows))
    model = rs.Repurchase(half_life_days=None, repeat_rate_power=1.0, trend_window_days=None).fit(
        inter
    )
    soap, vase = model.items_.to_index(["soap", "vase"])
    # soap: 3 buyers, 3 repeaters -> 4/5; vase: 3 buyers, 1 repeater -> 2/5
    assert model.item_repeat_rate_[soap] == pytest.approx(0.8)
    assert model.item_repeat_rate_[vase] == pytest.approx(0.4)
    recs = model.recommend([1], k=2)
    assert recs["item_id"].to_list() == ["soap", "vase"]
    # no decay: count x rate, plus 1 / (2 + days since last) to break ties by recency;
    # the reference time is the last purchase (5 days before T0), user 1's was 8 days before.
    assert recs["score"][0] == pytest.approx(2 * 0.8 + 1 / (2 + 3), rel=1e-4)
    assert recs["score"][1] == pytest.approx(2 * 0.4 + 1 / (2 + 3), rel=1e-4)


def test_repurchase_trend_factor() -> None:
    # user 1 bought "old" 3x and "new" 2x; only "new" sold in the last 30 days (user 2).
    rows = [(1, "old", 200), (1, "old", 190), (1, "old", 180), (1, "new", 100), (1, "new", 95)]
    rows += [(2, "new", 5), (3, "new", 0), (4, "old", 150)]
    inter = rs.Interactions.from_purchases(_purchases(rows))
    plain = rs.Repurchase(half_life_days=None, repeat_rate_power=0, trend_window_days=None)
    assert plain.fit(inter).recommend([1], k=2)["item_id"].to_list() == ["old", "new"]
    trend = rs.Repurchase(half_life_days=None, repeat_rate_power=0, trend_window_days=30)
    recs = trend.fit(inter).recommend([1], k=2)
    assert recs["item_id"].to_list() == ["new", "old"]
    # new: (2 + 1/(2+95)) * log(2 + 2 recent buyers); old: (3 + 1/(2+180)) * log(2 + 0)
    assert recs["score"].to_list() == pytest.approx(
        [(2 + 1 / 97) * np.log(4.0), (3 + 1 / 182) * np.log(2.0)], rel=1e-5
    )


def test_repurchase_without_times_warns() -> None:
    inter = rs.Interactions.from_frame(
        pl.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "b", "b"]})
    )
    with pytest.warns(rs.DataWarning, match="no purchase times"):
        model = rs.Repurchase().fit(inter)
    assert model.recommend([1], k=2)["item_id"].to_list() == ["b", "a"]


# --------------------------------------------------------------------------- ItemKNN
def test_itemknn_scores_match_numpy_reference() -> None:
    inter = block_interactions()
    model = rs.ItemKNN(
        similarity="cosine",
        neighbors=5,
        weighting="binary",
        user_weighting="log",
        self_similarity=2.0,
    ).fit(inter)
    binary = inter.matrix.copy()
    binary.data[:] = 1.0
    neighbours = item_similarity(binary, similarity="cosine", neighbors=5).toarray()
    sim = neighbours + np.diag(2.0 * neighbours.max(axis=1))
    rows = inter.matrix.toarray()
    expected = np.log1p(rows) @ sim
    users = np.arange(inter.shape[0])
    ids, scores = model.recommend_index(users, k=4, exclude_seen=False)
    np.testing.assert_allclose(scores, np.take_along_axis(expected, ids, axis=1), rtol=1e-5)
    np.testing.assert_allclose(scores[:, 0], expected.max(axis=1), rtol=1e-5)


def test_itemknn_recommend_history_matches_training_user() -> None:
    inter = block_interactions()
    model = rs.ItemKNN(neighbors=10).fit(inter)
    user = 3
    row = inter.matrix[user]
    items = model.items_.to_ids(row.indices)
    adhoc = model.recommend_history(items, k=5, weights=row.data)
    stored = model.recommend([model.users_.to_ids([user])[0]], k=5, exclude_seen=True, fill=None)
    assert adhoc["item_id"].equals(stored["item_id"])
    with pytest.raises(rs.InputDataError, match="weights"):
        model.recommend_history(items, weights=[1.0])


def test_itemknn_param_validation() -> None:
    inter = block_interactions()
    for bad in (
        {"similarity": "pearson"},
        {"weighting": "sqrt"},
        {"neighbors": 0},
        {"shrink": -1},
        {"asymmetry": 2},
        {"self_similarity": -1},
    ):
        with pytest.raises(rs.InputDataError):
            rs.ItemKNN(**bad).fit(inter)


# ------------------------------------------------------------------------ ALS and BPR
def test_als_recalculate_user_agrees_with_fitted_factors() -> None:
    inter = block_interactions()
    # Exact solves, run to convergence: the user's solve then reproduces its factors.
    model = rs.ALS(factors=4, iterations=200, regularization=1.0, use_cg=False, random_state=0).fit(
        inter
    )
    for user in (0, 7, 40):
        row = inter.matrix[user]
        items = model.items_.to_ids(row.indices)
        vec = model.recalculate_user(items, weights=row.data)
        np.testing.assert_allclose(vec, model.user_factors_[user], atol=5e-4)
        # Same numbers as implicit's own solver, given the same confidences.
        from implicit.cpu.als import AlternatingLeastSquares

        ref = AlternatingLeastSquares(factors=4, regularization=1.0, use_cg=False)
        ref.item_factors = model.item_factors_.copy()
        ref.user_factors = model.user_factors_.copy()
        conf = sp.csr_matrix(
            (model._confidence_data(row.data), row.indices, [0, row.nnz]),
            shape=(1, model.n_items),
        )
        np.testing.assert_allclose(vec, ref.recalculate_user(0, conf), rtol=1e-4, atol=1e-5)
    adhoc = model.recommend_history(
        model.items_.to_ids(inter.matrix[0].indices), k=3, weights=inter.matrix[0].data
    )
    stored = model.recommend([0], k=3)
    assert adhoc["item_id"].equals(stored["item_id"])


def test_als_factors_layout_and_validation() -> None:
    inter = block_interactions()
    model = rs.ALS(factors=6, iterations=2).fit(inter)
    for arr, n in ((model.user_factors_, inter.shape[0]), (model.item_factors_, inter.shape[1])):
        assert arr.dtype == np.float32
        assert arr.flags.c_contiguous
        assert arr.shape == (n, 6)
    for bad in (
        {"factors": 0},
        {"weight_scale": 0},
        {"weighting": "exp"},
        {"random_state": None},
        {"regularization": -1.0},
    ):
        with pytest.raises(rs.InputDataError):
            rs.ALS(**bad).fit(inter)


def test_bpr_bias_column_and_determinism() -> None:
    inter = block_interactions()
    a = rs.BPR(factors=6, iterations=10, random_state=5).fit(inter)
    b = rs.BPR(factors=6, iterations=10, random_state=5).fit(inter)
    assert a.item_factors_.shape == (inter.shape[1], 7)
    np.testing.assert_array_equal(a.user_factors_[:, -1], 1.0)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = rs.BPR(factors=6, iterations=10, random_state=6).fit(inter)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


# ----------------------------------------------------------------------------- blend
def test_rank_and_minmax_normalisation_hand_worked() -> None:
    # Two customers' lists, best first: row 0 proposes items 0, 3 (tied at 3.0) and 2;
    # row 1 three items tied at 0.5.
    rows = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([3.0, 3.0, 1.0, 0.5, 0.5, 0.5], dtype=np.float32)
    ranks = _normalized(rows, scores, "rank", 1.0)
    np.testing.assert_allclose(ranks[:3], [1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(ranks[3:], [1 / 2, 1 / 3, 1 / 4])
    mm = _normalized(rows, scores, "minmax", 0.0)
    np.testing.assert_allclose(mm[:3], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(mm[3:], [1.0, 1.0, 1.0])


def test_blend_extremes_reduce_to_components() -> None:
    inter = block_interactions()
    repeat_only = rs.RepeatExplore(repeat=rs.Repurchase(), merge="weights", weight=1.0).fit(inter)
    repurchase = rs.Repurchase().fit(inter)
    n_bought = np.diff(inter.matrix.indptr)
    users = inter.users.ids.head(10)
    a = repeat_only.recommend(users, k=3)
    b = repurchase.recommend(users, k=3)
    assert n_bought[:10].min() >= 3
    assert a["item_id"].equals(b["item_id"])
    knn = rs.ItemKNN(neighbors=10)
    explore_only = rs.RepeatExplore(explore=knn, merge="weights", weight=0.0).fit(inter)
    c = explore_only.recommend(users, k=3, exclude_seen=True)
    d = knn.clone().fit(inter).recommend(users, k=3, exclude_seen=True)
    assert c["item_id"].equals(d["item_id"])
    assert knn.get_params() == rs.ItemKNN(neighbors=10).get_params()  # components are cloned


def test_blend_mixes_new_and_bought_items() -> None:
    inter = block_interactions()
    model = rs.RepeatExplore(
        explore=rs.ItemKNN(self_similarity=0.0), merge="weights", weight=0.5
    ).fit(inter)
    recs = model.recommend(k=8)
    seen = inter.matrix.toarray() > 0
    uidx = model.users_.to_index(recs["user_id"])
    iidx = model.items_.to_index(recs["item_id"])
    bought = seen[uidx, iidx]
    assert bought.any()
    assert (~bought).any()
    with pytest.raises(rs.InputDataError, match="repeat"):
        rs.RepeatExplore(repeat="Repurchase").fit(inter)  # type: ignore[arg-type]
    with pytest.raises(rs.InputDataError, match="weight"):
        rs.RepeatExplore(weight=1.5).fit(inter)


# ------------------------------------------------------------------- base behaviour
def test_params_clone_repr() -> None:
    model = rs.ItemKNN(neighbors=7)
    assert model.get_params()["neighbors"] == 7
    assert "ItemKNN(similarity=" in repr(model)
    clone = model.clone()
    assert clone is not model
    assert clone.get_params() == model.get_params()
    model.set_params(neighbors=9)
    assert model.neighbors == 9
    with pytest.raises(TypeError, match="'k'"):
        rs.ItemKNN(k=5)  # type: ignore[call-arg]  # k is a list's length, nowhere else
    with pytest.raises(rs.InputDataError, match="no parameter"):
        model.set_params(kk=1)


def test_pandas_and_numpy_user_ids() -> None:
    pd = pytest.importorskip("pandas")
    inter = block_interactions()
    model = rs.Popular().fit(inter)
    a = model.recommend([0, 1000], k=2)
    assert model.recommend(pd.Series([0, 1000]), k=2).equals(a)
    assert model.recommend(np.array([0, 1000]), k=2).equals(a)
    assert model.recommend(pl.Series([0, 1000]), k=2).equals(a)
    excl = model.recommend([0], k=2, exclude=pd.DataFrame({"user_id": [0], "item_id": ["A00"]}))
    assert "A00" not in excl["item_id"].to_list()


def test_recommend_index_validation() -> None:
    model = rs.Popular().fit(block_interactions())
    with pytest.raises(rs.UnknownIdError, match="out of range"):
        model.recommend_index(np.array([model.n_users]))
    with pytest.raises(rs.InputDataError, match="1-D integer"):
        model.recommend_index(np.array([0.5]))
    with pytest.raises(rs.UnknownIdError, match="candidate"):
        model.recommend_index(np.array([0]), candidates=np.array([10_000]))
    with pytest.raises(rs.InputDataError, match="shape"):
        model.recommend_index(np.array([0]), exclude=sp.csr_matrix((2, model.n_items)))
    ids, _ = model.recommend_index(np.array([0]), k=3, candidates=np.array([], dtype=np.int32))
    assert (ids == -1).all()


def test_progress_bar_and_blocks(monkeypatch, capsys) -> None:
    from recsys.models import ranker

    inter = block_interactions()
    model = rs.RepeatExplore(explore=rs.ItemKNN(neighbors=10)).fit(inter)  # candidate lists
    full = model.recommend(k=4)
    per_user = model._bytes_per_user()
    assert per_user is not None
    monkeypatch.setattr(ranker, "BLOCK_BYTES", per_user * 7)  # 7 users per block
    assert ranker.block_size(model._bytes_per_user()) == 7
    blocked = model.recommend(k=4, show_progress=True)
    assert blocked.equals(full)
    assert "RepeatExplore recommend" in capsys.readouterr().err
    # Kernels with their own memory bound take users in large blocks.
    assert ranker.block_size(rs.ItemKNN().fit(inter)._bytes_per_user()) == 65_536


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")  # no times: Repurchase
def test_save_load_string_users_int_items(tmp_path) -> None:
    p = pl.DataFrame({"user_id": ["u1", "u1", "u2", "u3", "u3"], "item_id": [10, 20, 10, 30, 20]})
    inter = rs.Interactions.from_frame(p)
    for model in (rs.ItemKNN(neighbors=5), rs.ALS(factors=2, iterations=2), rs.RepeatExplore()):
        model.fit(inter)
        path = tmp_path / f"{type(model).__name__}.npz"
        model.save(path)
        loaded = rs.load_model(path)
        a = model.recommend(["u2", "nobody"], k=3, on_unknown="fallback")
        b = loaded.recommend(["u2", "nobody"], k=3, on_unknown="fallback")
        assert a.equals(b)
        assert b.schema["user_id"] == pl.String
        assert b.schema["item_id"] == pl.Int64


# ------------------------------------------------------------------ short lists filled
def _lonely_purchases() -> pl.DataFrame:
    """Customer 9 bought only "z", which nobody else bought: ItemKNN scores nothing for 9."""
    rows = [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
        (2, "c"),
        (3, "a"),
        (3, "c"),
        (4, "d"),
        (9, "z"),
    ]
    return pl.DataFrame(rows, schema=["user_id", "item_id"], orient="row")


def test_short_lists_are_filled_from_popularity_and_counted() -> None:
    inter = rs.Interactions.from_frame(_lonely_purchases())
    model = rs.ItemKNN(similarity="cosine", self_similarity=0.0).fit(inter)
    ids, _ = model.recommend_index(model.users_.to_index([9]), k=3)
    assert (ids == -1).all()  # the model's own ranking: nothing to offer customer 9
    with pytest.warns(rs.DataWarning, match=r"too few items for \d+ of 5 customers") as info:
        recs = model.recommend(k=3)
    lonely = recs.filter(pl.col("user_id") == 9)
    # Buyers per item: a 3, b 2, c 2, d 1, z 1: ties to the lower index; z is seen.
    assert lonely["item_id"].to_list() == ["a", "b", "c"]
    assert lonely["rank"].to_list() == [1, 2, 3]
    assert lonely["score"].is_infinite().all()
    # Every customer gets k items, or every eligible one (customer 2 bought 3 of 5);
    # the filled ones (score -inf) come after the model's.
    lengths = recs.group_by("user_id", maintain_order=True).len()["len"].to_list()
    assert lengths == [3, 2, 3, 3, 3]
    filled = recs.filter(pl.col("score").is_infinite())
    own = model.recommend(k=3, fill=None)
    assert own.height + filled.height == recs.height == 14
    assert recs.filter(pl.col("score").is_finite()).equals(own)
    per_customer = filled.group_by("user_id").len()["len"]
    assert str(info.list[0].message) == (
        f"ItemKNN scores too few items for {per_customer.len()} of 5 customers: the most "
        f"popular products fill {filled.height} empty slots of their lists "
        f"({per_customer.min()} to {per_customer.max()} per customer), with score -inf"
    )
    # The filled slots respect the exclusions and the candidates.
    with pytest.warns(rs.DataWarning):
        narrow = model.recommend([9], k=3, exclude=["a"], candidates=["a", "b", "d", "z"])
    assert narrow["item_id"].to_list() == ["b", "d"]  # a excluded, z seen, c not a candidate
    with pytest.warns(rs.DataWarning):
        again = model.recommend([9], k=2, exclude_seen=False)
    assert again["item_id"].to_list() == ["a", "b"]
    assert model.recommend([9], k=3, fill=None).height == 0
    with pytest.raises(rs.InputDataError, match="fill"):
        model.recommend([9], fill="random")  # type: ignore[arg-type]
