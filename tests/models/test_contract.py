"""The contract every recommender honours: one test class run against every model."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys._validation import Interval, MappingOf
from recsys.models import persistence, registry, schema
from recsys.models.schema import Array, Csr, Part, Value, present
from recsys.scoring import select_topk
from tests.models._fixtures import block_interactions, block_purchases, crafted_copy

# Small, fast settings; every factory gives a fresh, unfitted model. Every model in the
# registry has at least one entry (test_every_registered_model_is_covered).
MODELS: dict[str, Callable[[], rs.Recommender]] = {
    "ALS": lambda: rs.ALS(factors=2, iterations=10, regularization=1.0, random_state=3),
    "BPR": lambda: rs.BPR(factors=8, iterations=40, learning_rate=0.05, random_state=3),
    "ItemKNN": lambda: rs.ItemKNN(neighbors=20),
    "ItemKNN-cosine": lambda: rs.ItemKNN(similarity="cosine", neighbors=20, self_similarity=0.0),
    "EASE": lambda: rs.EASE(l2=5.0),
    "Popular": lambda: rs.Popular(),
    "Popular-window": lambda: rs.Popular(window_days=30),
    "Repurchase": lambda: rs.Repurchase(due_weight=0.5),
    "BuyAgain": lambda: rs.BuyAgain(label_days=20),
    "BuyAgain-diversity": lambda: rs.BuyAgain(label_days=20, diversity=0.6),
    "RepeatExplore": lambda: rs.RepeatExplore(
        explore=rs.ALS(factors=2, iterations=10, regularization=1.0, random_state=3)
    ),
    "RepeatExplore-two-explore": lambda: rs.RepeatExplore(
        repeat=rs.Repurchase(),
        explore=[("knn", rs.ItemKNN(neighbors=20)), ("popular", rs.Popular())],
        depth=4,
    ),
    "RepeatExplore-weights-minmax": lambda: rs.RepeatExplore(
        explore=rs.ItemKNN(neighbors=20), merge="weights", normalize="minmax"
    ),
    "Blend": lambda: rs.Blend(
        [
            ("als", rs.ALS(factors=2, iterations=10, regularization=1.0, random_state=3)),
            ("knn", rs.ItemKNN(neighbors=20)),
            ("popular", rs.Popular(window_days=30)),
        ],
        [0.6, 0.2, 0.2],
    ),
    "Blend-minmax": lambda: rs.Blend(
        [
            ("knn", rs.ItemKNN(neighbors=20)),
            ("als", rs.ALS(factors=2, iterations=10, regularization=1.0, random_state=3)),
        ],
        normalize="minmax",
    ),
    "Blend-masks-depth": lambda: rs.Blend(
        [("again", rs.Repurchase()), ("knn", rs.ItemKNN(neighbors=20)), ("pop", rs.Popular())],
        [0.5, 0.3, 0.2],
        masks=["bought", "new", "all"],
        depth=4,
    ),
}
PERSONALISED = {
    "ALS",
    "EASE",
    "BPR",
    "ItemKNN",
    "ItemKNN-cosine",
    "RepeatExplore",
    "RepeatExplore-weights-minmax",
    "Blend",
    "Blend-minmax",
}
# Training with more than one thread is reproducible for all but implicit's Hogwild BPR.
THREAD_INVARIANT_FIT = set(MODELS) - {"BPR"}


def test_every_registered_model_is_covered() -> None:
    covered = {type(make()) for make in MODELS.values()}
    assert covered == set(registry.classes())
    assert registry.names() == tuple(registry.name_of(cls) for cls in registry.classes())


def _dense_scores(model: rs.Recommender, users: np.ndarray) -> np.ndarray:
    """Every (user, item) score through the public score_pairs."""
    u = np.repeat(users, model.n_items)
    i = np.tile(np.arange(model.n_items), len(users))
    return model.score_pairs(u, i).reshape(len(users), model.n_items)


def _reference_blend(
    model: rs.Blend, users: np.ndarray, eligible: np.ndarray, k: int
) -> np.ndarray:
    """Plain-numpy blend: each part's masked, eligible, top-max(depth, k) list, normalised."""
    seen = model.user_items_[users].toarray() > 0
    total = np.zeros(eligible.shape)
    scored = np.zeros(eligible.shape, dtype=bool)
    for part, weight, mask in zip(model.models_, model.weights_, model.masks_, strict=True):
        if weight == 0:
            continue
        scores = _dense_scores(part, users).astype(np.float64)
        allowed = eligible & {"all": True, "new": ~seen, "bought": seen}[mask]
        for r in range(len(users)):
            items = np.flatnonzero(allowed[r] & np.isfinite(scores[r]))
            order = items[np.lexsort((items, -scores[r, items]))]
            if mask != "bought":
                order = order[: max(model.depth, k)]
            if order.size == 0:
                continue
            if model.normalize == "rank":
                norm = 1.0 / (np.arange(1, order.size + 1) + model.rank_offset)
            else:
                s = scores[r, order]
                span = s.max() - s.min()
                norm = (s - s.min()) / span if span > 0 else np.ones(order.size)
            total[r, order] += weight * norm
            scored[r, order] = True
    return np.where(scored, total, -np.inf).astype(np.float32)


def _reference_learned_merge(
    model: rs.RepeatExplore, users: np.ndarray, eligible: np.ndarray, k: int
) -> np.ndarray:
    """Plain-numpy learned merge: bought items and each explore part's new top items.

    A bought item scores ``sigma(w_b . [log repeat score, habits])``; an item some
    explore part ranks among its eligible new top-``max(depth, k)`` scores
    ``sigma(w_n . [per part 1/(rank+1), log(1+rank) (0, log(1+depth) if absent),
    habits, new-item habit * rank features])``.
    """

    def probability(weights: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        mean, scale, coef = weights
        return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ coef[:-1] + coef[-1])))

    seen = model.user_items_[users].toarray() > 0
    habits = model.habits_[users]
    depth = max(model.depth, k)
    repeat = _dense_scores(model.models_[0], users).astype(np.float64)
    ranks = []
    for part in model.models_[1:]:
        scores = _dense_scores(part, users).astype(np.float64)
        rank = np.full(eligible.shape, np.inf)
        for r in range(len(users)):
            items = np.flatnonzero(eligible[r] & ~seen[r] & np.isfinite(scores[r]))
            order = items[np.lexsort((items, -scores[r, items]))][:depth]
            rank[r, order] = np.arange(order.size)
        ranks.append(rank)
    out = np.full(eligible.shape, -np.inf)
    for r in range(len(users)):
        bought = np.flatnonzero(eligible[r] & seen[r])
        x = np.column_stack([np.log(repeat[r, bought]), np.tile(habits[r], (bought.size, 1))])
        out[r, bought] = probability(model.bought_weights_, x)
        new = np.flatnonzero(np.any([np.isfinite(rank[r]) for rank in ranks], axis=0))
        features = []
        for rank in ranks:
            at = rank[r, new]
            present = np.isfinite(at)
            features.append(np.where(present, 1.0 / (np.where(present, at, 0) + 1.0), 0.0))
            features.append(
                np.where(present, np.log1p(np.where(present, at, 0)), np.log1p(model.depth))
            )
        f = np.column_stack(features)
        x = np.column_stack([f, np.tile(habits[r], (new.size, 1)), habits[r, 2] * f])
        out[r, new] = probability(model.new_weights_, x)
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def inter() -> rs.Interactions:
    return block_interactions()


@pytest.fixture(scope="module")
def fitted(inter: rs.Interactions) -> dict[str, rs.Recommender]:
    return {name: make().fit(inter) for name, make in MODELS.items()}


def _seen_pairs(inter: rs.Interactions) -> set[tuple[int, str]]:
    rows, cols = inter.matrix.nonzero()
    users = inter.users.to_ids(rows)
    items = inter.items.to_ids(cols)
    return set(zip(users.tolist(), items.tolist(), strict=True))


@pytest.mark.parametrize("name", list(MODELS))
class TestRecommenderContract:
    def test_not_fitted(self, name: str, tmp_path) -> None:
        model = MODELS[name]()
        with pytest.raises(rs.NotFittedError):
            model.recommend([0])
        with pytest.raises(rs.NotFittedError):
            model.recommend_index(np.array([0]))
        with pytest.raises(rs.NotFittedError):
            model.similar_items(["A00"])
        with pytest.raises(rs.NotFittedError):
            model.save(tmp_path / "m.npz")

    def test_fit_returns_self_and_refit_starts_over(self, name: str, inter) -> None:
        model = MODELS[name]()
        assert model.fit(inter) is model
        assert model.n_users == inter.shape[0]
        assert model.n_items == inter.shape[1]
        small = rs.Interactions.from_purchases(
            block_purchases(n_users_per_group=5, n_items_per_group=6, seed=1).drop("group")
        )
        model.fit(small)
        assert model.n_users == small.shape[0]
        assert model.n_items == small.shape[1]
        recs = model.recommend(k=3)
        assert set(recs["user_id"].unique()) <= set(small.users.ids.to_list())
        assert set(recs["item_id"].unique()) <= set(small.items.ids.to_list())

    def test_fit_rejects_non_interactions(self, name: str) -> None:
        with pytest.raises(rs.InputDataError, match="Interactions"):
            MODELS[name]().fit(sp.csr_matrix(np.eye(3)))  # type: ignore[arg-type]

    def test_fit_rejects_empty_interactions(self, name: str) -> None:
        empty = pl.DataFrame(
            {"user_id": [], "item_id": [], "timestamp": []},
            schema={"user_id": pl.Int64, "item_id": pl.String, "timestamp": pl.Datetime("us")},
        )
        inter = rs.Interactions.from_purchases(empty)
        with pytest.raises(rs.InputDataError, match="empty"):
            MODELS[name]().fit(inter)

    def test_frame_shape_and_ranks(self, name: str, fitted, inter) -> None:
        recs = fitted[name].recommend(k=5)
        assert recs.columns == ["user_id", "item_id", "score", "rank"]
        assert recs.schema["user_id"] == pl.Int64
        assert recs.schema["item_id"] == pl.String
        assert recs.schema["score"] == pl.Float32
        assert recs.schema["rank"] == pl.Int32
        assert recs["user_id"].n_unique() == inter.shape[0]  # users=None: every known user
        per_user = recs.group_by("user_id", maintain_order=True).agg("rank", "score")
        for ranks, scores in zip(per_user["rank"], per_user["score"], strict=True):
            assert ranks.to_list() == list(range(1, len(ranks) + 1))
            s = scores.to_numpy()
            assert np.all(s[:-1] >= s[1:])  # filled slots (-inf) last

    def test_no_seen_item_when_excluded(self, name: str, fitted, inter) -> None:
        recs = fitted[name].recommend(k=10, exclude_seen=True)
        pairs = set(zip(recs["user_id"].to_list(), recs["item_id"].to_list(), strict=True))
        assert not pairs & _seen_pairs(inter)

    @pytest.mark.parametrize("exclude_seen", [True, False])
    def test_recommend_index_matches_generic_scoring(
        self, name: str, fitted, exclude_seen: bool
    ) -> None:
        """The fast path ranks exactly like select_topk on the public pair scores.

        Blends are checked against a plain-numpy blend of their parts' pair scores.
        """
        model = fitted[name]
        users = np.arange(model.n_users, dtype=np.int32)
        ids, scores = model.recommend_index(users, k=6, exclude_seen=exclude_seen)
        seen = model.user_items_[users]
        excluded = seen if exclude_seen else sp.csr_matrix(seen.shape, dtype=np.float32)
        eligible = ~(excluded.toarray() > 0)
        if isinstance(model, rs.RepeatExplore) and model.merge_ == "learned":
            block = _reference_learned_merge(model, users, eligible, 6)
        elif isinstance(model, rs.Blend):
            block = _reference_blend(model, users, eligible, 6)
        else:
            block = _dense_scores(model, users)
        ref_ids, ref_scores = select_topk(block, 6, exclude=excluded)
        ref_ids[np.isneginf(ref_scores)] = -1  # -inf = not recommendable: padding
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-5)
        with np.errstate(invalid="ignore"):  # -inf padding: inf - inf
            gaps = np.abs(np.diff(ref_scores, axis=1))
        clear = np.nan_to_num(gaps, nan=1.0).min(axis=1) > 1e-4
        np.testing.assert_array_equal(ids[clear], ref_ids[clear])

    def test_unknown_users(self, name: str, fitted) -> None:
        model = fitted[name]
        with pytest.raises(rs.UnknownIdError, match="99999"):
            model.recommend([0, 99999])
        skipped = model.recommend([0, 99999], k=3, on_unknown="skip")
        assert skipped["user_id"].unique().to_list() == [0]
        assert skipped.equals(model.recommend([0], k=3))
        both = model.recommend([99999, 0], k=3, on_unknown="fallback")
        cold = both.filter(pl.col("user_id") == 99999)
        order = np.lexsort((np.arange(model.n_items), -model.item_popularity_))
        assert cold["item_id"].to_list() == model.items_.to_ids(order[:3]).tolist()
        assert both.filter(pl.col("user_id") == 0)["item_id"].equals(
            model.recommend([0], k=3)["item_id"]
        )
        with pytest.raises(rs.InputDataError, match="on_unknown"):
            model.recommend([0], on_unknown="ignore")  # type: ignore[arg-type]

    def test_empty_user_list(self, name: str, fitted) -> None:
        model = fitted[name]
        recs = model.recommend([], k=5)
        assert recs.height == 0
        assert recs.columns == ["user_id", "item_id", "score", "rank"]
        assert recs.schema["item_id"] == pl.String
        ids, scores = model.recommend_index(np.array([], dtype=np.int32), k=5)
        assert ids.shape == (0, 5)
        assert scores.shape == (0, 5)

    def test_k_edge_cases(self, name: str, fitted) -> None:
        model = fitted[name]
        for bad in (0, -1, 2.5):
            with pytest.raises(rs.InputDataError, match="k"):
                model.recommend([0], k=bad)  # type: ignore[arg-type]
        big = model.n_items + 5
        ids, scores = model.recommend_index(np.array([0, 1]), k=big, exclude_seen=True)
        assert ids.shape == (2, big)
        n_seen = np.diff(model.user_items_.indptr)[:2]
        for row, s, seen in zip(ids, scores, n_seen, strict=True):
            valid = row >= 0
            assert valid.sum() <= model.n_items - seen
            assert np.all(row[~valid] == -1)
            assert np.all(np.isneginf(s[~valid]))
            assert np.all(valid[: valid.sum()])  # padding only at the end
            assert len(set(row[valid].tolist())) == valid.sum()
        recs = model.recommend([0], k=big)
        assert recs.height <= model.n_items
        assert recs["item_id"].n_unique() == recs.height

    def test_candidates_and_exclude(self, name: str, fitted) -> None:
        model = fitted[name]
        cands = ["A01", "A03", "B02", "B05"]
        recs = model.recommend([0, 1000], k=10, exclude_seen=False, candidates=cands)
        assert set(recs["item_id"].to_list()) <= set(cands)
        with pytest.raises(rs.UnknownIdError, match="NOPE"):
            model.recommend([0], candidates=["A01", "NOPE"])
        top = model.recommend([0], k=2, exclude_seen=False)["item_id"].to_list()
        excluded = model.recommend([0], k=5, exclude_seen=False, exclude=[*top, "NOPE"])
        assert not set(top) & set(excluded["item_id"].to_list())
        per_user = pl.DataFrame({"user_id": [0, 0], "item_id": top})
        excluded2 = model.recommend([0, 1000], k=5, exclude_seen=False, exclude=per_user)
        assert not set(top) & set(excluded2.filter(pl.col("user_id") == 0)["item_id"].to_list())
        other = excluded2.filter(pl.col("user_id") == 1000)
        alone = model.recommend([1000], k=5, exclude_seen=False)
        # Same items; scores may differ in the last bits (a BLAS block of 2 rows vs 1).
        assert other["item_id"].equals(alone["item_id"])
        np.testing.assert_allclose(other["score"], alone["score"], rtol=1e-5)

    def test_save_load_round_trip(self, name: str, fitted, tmp_path) -> None:
        model = fitted[name]
        path = tmp_path / "model.npz"
        model.save(path)
        loaded = rs.load_model(path)
        assert type(loaded) is type(model)
        assert loaded.get_params().keys() == model.get_params().keys()
        for flag in (True, False):
            a = model.recommend(k=7, exclude_seen=flag)
            b = loaded.recommend(k=7, exclude_seen=flag)
            assert a.equals(b)
        assert model.similar_items(["A00"], k=3).equals(loaded.similar_items(["A00"], k=3))
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["__meta__"]))
        assert meta["format_version"] == rs.models.persistence.FORMAT_VERSION
        assert meta["model"]["class"] == type(model).__name__

    def test_deterministic_refit_and_threads(self, name: str, inter) -> None:
        a = MODELS[name]().fit(inter).recommend(k=5, num_threads=1)
        b = MODELS[name]().fit(inter).recommend(k=5, num_threads=2)
        assert a.equals(b)
        if name in THREAD_INVARIANT_FIT:
            model = MODELS[name]()
            if "num_threads" in model.get_params():
                model.set_params(num_threads=2)
            c = model.fit(inter).recommend(k=5, num_threads=2)
            assert a.equals(c)

    def test_block_structure(self, name: str, fitted) -> None:
        """Two disjoint customer groups: personalised models stay inside the group."""
        if name not in PERSONALISED:
            pytest.skip("not a personalised model")
        model = fitted[name]
        recs = model.recommend(k=3, exclude_seen=True)
        group_of_user = (recs["user_id"] >= 1000).to_numpy()
        group_of_item = recs["item_id"].str.starts_with("B").to_numpy()
        assert recs.height > 0
        assert np.array_equal(group_of_user, group_of_item)

    def test_similar_items(self, name: str, fitted) -> None:
        model = fitted[name]
        sim = model.similar_items(["A00", "B01"], k=3)
        assert sim.columns == ["item_id", "similar_item_id", "score", "rank"]
        assert not (sim["item_id"] == sim["similar_item_id"]).any()
        with pytest.raises(rs.UnknownIdError):
            model.similar_items(["NOPE"])


def test_similar_items_stay_in_group() -> None:
    model = rs.ItemKNN(similarity="cosine", neighbors=20).fit(block_interactions())
    sim = model.similar_items(["A00", "B01"], k=5)
    for item, other in zip(sim["item_id"], sim["similar_item_id"], strict=True):
        assert item[0] == other[0]


# ------------------------------------------------------------- parameters and config
_WRONG = object()  # of no accepted type for any parameter


@pytest.mark.parametrize("cls", registry.classes(), ids=lambda c: c.__name__)
def test_every_parameter_is_declared_and_checked(cls) -> None:
    """A wrongly typed value for any parameter fails fit with InputDataError naming it."""
    names = list(inspect.signature(cls).parameters)
    assert names == list(cls().get_params(deep=False))
    inter = block_interactions(n_users_per_group=4, n_items_per_group=4)
    for name in names:
        for bad in (_WRONG, "x", float("nan")):
            if bad is None:
                continue
            model = cls(**{name: bad})
            with pytest.raises(rs.InputDataError, match=rf"{cls.__name__}\({name}=") as info:
                model.fit(inter)
            assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", list(MODELS))
def test_config_round_trips_through_json(name: str) -> None:
    model = MODELS[name]()
    encoded = json.dumps(rs.models.to_config(model))
    rebuilt = rs.models.from_config(json.loads(encoded))
    assert repr(rebuilt) == repr(model)
    assert rebuilt.get_params().keys() == model.get_params().keys()


def test_sklearn_clone_and_nested_params() -> None:
    base = pytest.importorskip("sklearn.base")
    model = rs.RepeatExplore(explore=rs.ALS(factors=8))
    copy = base.clone(model)
    assert copy is not model
    assert copy.explore is not model.explore
    assert repr(copy) == repr(model)
    assert base.clone(rs.ALS()).get_params() == rs.ALS().get_params()
    assert model.get_params()["explore__factors"] == 8
    model.set_params(explore__factors=16, weight=0.5)
    assert model.explore.factors == 16
    assert model.weight == 0.5
    with pytest.raises(rs.InputDataError, match="not a model"):
        model.set_params(repeat__half_life_days=3)  # repeat is None


# ------------------------------------------------------------------ the declared schema
def _arrays_of(model: rs.Recommender, prefix: str = "") -> list[tuple[str, Any, rs.Recommender]]:
    """(file key, spec, owner) of every declared array of ``model`` and its parts
    (a CSR matrix by its ``data`` array)."""
    out: list[tuple[str, Any, rs.Recommender]] = []
    for spec in model.schema:
        if not present(model, spec):
            continue
        if isinstance(spec, Array):
            out.append((f"{prefix}model.{spec.name}", spec, model))
        elif isinstance(spec, Csr):
            out.append((f"{prefix}model.{spec.name}.data", spec, model))
        elif isinstance(spec, Part):
            value = getattr(model, f"{spec.name}_")
            if isinstance(value, list):
                for i, sub in enumerate(value):
                    out += _arrays_of(sub, f"{prefix}{spec.name}[{i}].")
            elif value is not None:
                out += _arrays_of(value, f"{prefix}{spec.name}.")
    return out


def _negative(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.flat[0] = -1
    return out


def _apply(arrays: dict, key: str, change: Callable) -> None:
    arrays[key] = change(arrays[key])


@pytest.mark.parametrize("name", list(MODELS))
class TestSchema:
    def test_schema_lists_the_whole_fitted_state(self, name: str, fitted) -> None:
        model = fitted[name]
        shared = {"users_", "items_", "user_items_", "item_popularity_", "reference_time_"}
        own = {
            attr
            for attr, value in vars(model).items()
            if attr.endswith("_") and not attr.startswith("_") and value is not None
        }
        declared = {f"{spec.name}_" for spec in model.schema if present(model, spec)}
        assert own - shared == declared
        for _, spec, owner in _arrays_of(model):
            value = getattr(owner, f"{spec.name}_")
            assert value.dtype == np.dtype(getattr(spec, "dtype", "float32")), spec.name
            assert value.shape == schema.resolve(owner, spec.shape), spec.name

    def test_arrays_round_trip_without_a_file(self, name: str, fitted) -> None:
        model = fitted[name]
        meta, arrays = persistence.to_arrays(model)
        rebuilt = persistence.model_from_arrays(meta, arrays)
        assert rebuilt.recommend(k=6).equals(model.recommend(k=6))

    def test_files_crafted_against_the_schema_are_refused(self, name: str, fitted, tmp_path):
        """Re-signed files (valid checksum) breaking a declared dtype, shape or bound."""
        model = fitted[name]
        good = tmp_path / "good.npz"
        model.save(good)
        crafted = 0
        for key, spec, _ in _arrays_of(model):
            dtype = getattr(spec, "dtype", "float32")
            wrong_dtype = "float64" if dtype == "float32" else "float32"
            changes = {
                "dtype": lambda a, t=wrong_dtype: a.astype(t),
                "shape": lambda a: np.concatenate([a, a[:1]]),
            }
            if spec.per_user:
                changes["users"] = lambda a: a[:-1]
            low, above = getattr(spec, "low", None), getattr(spec, "above", None)
            if (low is not None and low >= 0) or above is not None:
                changes["negative"] = _negative
            for kind, change in changes.items():
                path = tmp_path / f"{key}-{kind}.npz"
                crafted_copy(good, path, lambda meta, arrays, k=key, c=change: _apply(arrays, k, c))
                with pytest.raises(rs.ModelFormatError, match=spec.name):
                    rs.load_model(path)
                crafted += 1
        assert crafted >= 2 * len(_arrays_of(model)) > 0

    def test_select_users_keeps_their_lists(self, name: str, fitted) -> None:
        model = fitted[name]
        index = np.array([3, 0, model.n_users - 1, 31, 7])
        ids = model.users_.to_ids(index).tolist()
        part = model.select_users(index)
        assert part.n_users == len(index)
        assert part.users_.ids.to_list() == ids
        for flag in (True, False):
            assert part.recommend(ids, k=6, exclude_seen=flag).equals(
                model.recommend(ids, k=6, exclude_seen=flag)
            )
        assert part.recommend(k=6).equals(model.recommend(ids, k=6))
        for (_, spec, owner), (_, _, copy) in zip(_arrays_of(model), _arrays_of(part), strict=True):
            if not spec.per_user:  # item-side arrays are shared, not copied
                assert getattr(copy, f"{spec.name}_") is getattr(owner, f"{spec.name}_")
        # What a worker receives: per-user arrays of those users only, and it scores alike.
        meta, arrays = persistence.to_arrays(part)
        seen = int(np.diff(model.user_items_.indptr)[index].sum())
        for key, spec, _ in _arrays_of(part):
            if isinstance(spec, Csr) and spec.per_user:
                assert arrays[key.replace(".data", ".indptr")].shape[0] == len(index) + 1
            elif spec.per_user:
                rows = seen if spec.shape[0] == "seen" else len(index)
                assert arrays[key].shape[0] == rows, key
        rebuilt = persistence.model_from_arrays(meta, arrays)
        assert rebuilt.recommend(k=6).equals(model.recommend(ids, k=6))
        with pytest.raises(rs.InputDataError, match="repeat"):
            model.select_users(np.array([1, 1]))


# ---------------------------------------------------------------- customer models
def _simulated_purchases(n_customers: int = 120, seed: int = 0) -> pl.DataFrame:
    """Customers buying at their own Poisson rate over 400 days, with prices."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 1, 1)
    rows: list[tuple[int, str, datetime, float, int]] = []
    for user in range(n_customers):
        rate = rng.gamma(2.0, 1.0 / 60.0)  # purchases per day
        t = float(rng.uniform(0, 120))
        while t < 400:
            item = f"i{int(rng.integers(0, 15)):02d}"
            day = start + timedelta(days=t)
            rows.append((user, item, day, float(rng.gamma(3.0, 5.0)), 1))
            t += rng.exponential(1.0 / rate)
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "price", "quantity"], orient="row"
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us")))


def _simulated_bgnbd(rng: np.random.Generator, n: int = 300):
    """(x, t_x, T) from the BG/NBD story (rate ~ Gamma, drop-out ~ Beta) in weeks."""
    lam, drop = rng.gamma(0.5, 1.0 / 4.0, n), rng.beta(0.8, 2.5, n)
    T = rng.uniform(27.0, 39.0, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = rng.exponential(1.0 / lam[i])
        while t <= T[i]:
            x[i] += 1
            t_x[i] = t
            if rng.random() < drop[i]:
                break
            t += rng.exponential(1.0 / lam[i])
    return x, t_x, T


def _fit_bgnbd() -> rs.profiles.CustomerModel:
    return rs.profiles.BGNBD().fit(*_simulated_bgnbd(np.random.default_rng(1)))


def _fit_gammagamma() -> rs.profiles.CustomerModel:
    rng = np.random.default_rng(2)
    x = 1.0 + rng.poisson(2.0, 300)
    nu = rng.gamma(3.7, 1.0 / 15.0, 300)
    return rs.profiles.GammaGamma(penalizer=0.01).fit(x, rng.gamma(6.0 * x, 1.0 / (nu * x)))


def _fit_churn() -> rs.profiles.CustomerModel:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(float)
    return rs.profiles.ChurnCalibrator(l2=0.01).fit(X, y)


def _fit_survival() -> rs.profiles.CustomerModel:
    rng = np.random.default_rng(4)
    return rs.profiles.OneTimeBuyerSurvival().fit(rng.uniform(0, 90, 200), rng.random(200) < 0.6)


def _fit_gaps() -> rs.profiles.CustomerModel:
    rng = np.random.default_rng(5)
    gaps = rng.gamma(2.0, 1.0 / rng.gamma(3.0, 1.0 / 90.0, 300)[:, None], (300, 4))
    return rs.profiles.GapSurvival().fit(np.full(300, 4), gaps.sum(1), np.log(gaps).sum(1))


CUSTOMER_MODELS: dict[str, Callable[[], rs.profiles.CustomerModel]] = {
    "BGNBD": _fit_bgnbd,
    "GapSurvival": _fit_gaps,
    "GammaGamma": _fit_gammagamma,
    "ChurnCalibrator": _fit_churn,
    "OneTimeBuyerSurvival": _fit_survival,
    "DueItems": lambda: rs.profiles.DueItems(horizon_days=30, min_calibration_pairs=20).fit(
        _simulated_purchases(), as_of="2024-01-20"
    ),
    "DueItems-uncalibrated": lambda: rs.profiles.DueItems(calibrate=False).fit(
        _simulated_purchases(), as_of="2024-01-20"
    ),
    "LearnedCLV": lambda: rs.profiles.LearnedCLV(origins=2, step_days=30).fit(
        _simulated_purchases(), as_of="2024-01-20", horizon_days=60
    ),
    "LearnedChurn": lambda: rs.profiles.LearnedChurn(origins=2, step_days=30).fit(
        _simulated_purchases(), as_of="2024-01-20", horizon_days=60
    ),
}
# Fitted attributes that are the fit's output, not state a prediction needs (not saved).
NOT_STATE = {"DueItems": {"items_"}}


def test_every_customer_model_is_covered() -> None:
    covered = {name.split("-")[0] for name in CUSTOMER_MODELS}
    assert covered == {cls.__name__ for cls in registry.classes("customer")}
    assert not set(registry.names()) & covered  # never a --model choice


@pytest.fixture(scope="module")
def customer_models() -> dict[str, rs.profiles.CustomerModel]:
    return {name: fit() for name, fit in CUSTOMER_MODELS.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (np.isnan(a) and np.isnan(b)))
    return type(a) is type(b) and a == b


def _wrong_values(spec: Value) -> dict[str, Any]:
    """Crafted values breaking ``spec``'s constraints: a wrong type, and a value below
    the lower bound where one is declared."""
    out: dict[str, Any] = {"type": [1, 2]}
    for constraint in spec.allowed:
        if isinstance(constraint, Interval) and constraint.low is not None:
            out["range"] = constraint.kind(constraint.low - 1)
        if isinstance(constraint, MappingOf) and isinstance(constraint.item, Interval):
            out["missing key"] = {k: 1.0 for k in constraint.keys[1:]}
            if constraint.item.low is not None:
                out["range"] = {k: constraint.item.low - 1.0 for k in constraint.keys}
    return out


@pytest.mark.parametrize("name", list(CUSTOMER_MODELS))
class TestCustomerModelSchema:
    """The persistence part of the contract, for every customer model."""

    def test_schema_lists_the_whole_fitted_state(self, name: str, customer_models) -> None:
        model = customer_models[name]
        own = {a for a in vars(model) if a.endswith("_") and not a.startswith("_")}
        declared = {f"{spec.name}_" for spec in model.schema if present(model, spec)}
        assert own - NOT_STATE.get(type(model).__name__, set()) == declared
        for spec in model.schema:
            if isinstance(spec, Array):
                value = getattr(model, f"{spec.name}_")
                assert value.dtype == np.dtype(spec.dtype), spec.name
                shape = schema.resolve(model, spec.shape)
                assert len(shape) == value.ndim, spec.name
                assert all(s in (None, n) for s, n in zip(shape, value.shape, strict=True))

    def test_save_load_round_trip(self, name: str, customer_models, tmp_path) -> None:
        model = customer_models[name]
        path = tmp_path / "model.npz"
        model.save(path)
        loaded = rs.load_model(path)
        assert type(loaded) is type(model)
        assert loaded.is_fitted
        assert loaded.get_params() == model.get_params()
        for spec in model.schema:
            attr = f"{spec.name}_"
            assert _same(getattr(model, attr), getattr(loaded, attr)), attr
        if type(model)._parameter_table is not rs.profiles.CustomerModel._parameter_table:
            assert loaded.summary().equals(model.summary())

    def test_files_crafted_against_the_schema_are_refused(
        self, name: str, customer_models, tmp_path
    ) -> None:
        """Re-signed files (valid checksum) breaking a declared dtype, shape or bound."""
        model = customer_models[name]
        good = tmp_path / "good.npz"
        model.save(good)
        changes: list[tuple[str, str, Callable]] = []
        for spec in model.schema:
            if isinstance(spec, Array):
                key = f"model.{spec.name}"

                def edit(f: Callable, k: str = key) -> Callable:
                    return lambda meta, arrays: _apply(arrays, k, f)

                changes += [
                    (spec.name, "dtype", edit(lambda a: a.astype("float32"))),
                    (spec.name, "ndim", edit(lambda a: a[None])),
                    (spec.name, "shape", edit(lambda a: np.concatenate([a, a[:1]]))),
                    (spec.name, "missing", lambda meta, arrays, k=key: arrays.pop(k)),
                ]
                if spec.finite:
                    changes.append((spec.name, "nan", edit(lambda a: np.full_like(a, np.nan))))
                if spec.low is not None or spec.above is not None:
                    changes.append((spec.name, "negative", edit(_negative)))
            elif isinstance(spec, Value):
                for kind, value in _wrong_values(spec).items():

                    def put(meta: dict, arrays: dict, n: str = spec.name, v: Any = value) -> None:
                        meta["model"]["state"][n] = v

                    changes.append((spec.name, kind, put))
        changes += [
            ("extra", "array", lambda meta, arrays: arrays.update({"model.extra": np.zeros(2)})),
            ("extra", "value", lambda meta, arrays: meta["model"]["state"].update(extra=1)),
            ("evil", "parameter", lambda meta, arrays: meta["model"]["params"].update(evil=1)),
        ]
        for field, kind, change in changes:
            value = getattr(model, f"{field}_", None)
            if kind in ("shape", "nan", "negative") and not value.size:
                continue  # an empty array: the change leaves it as it is
            path = tmp_path / f"{field}-{kind}.npz"
            crafted_copy(good, path, change)
            with pytest.raises(rs.ModelFormatError, match=field):
                rs.load_model(path)
        assert len(changes) >= 3 + len(model.schema)
