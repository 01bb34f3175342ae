"""The buy-again / discover blend's learned merge: who gets discovery slots, and no leakage."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.models.repeat_explore import _last_orders, user_habits


def _loyal_and_explorers(n_users: int = 40, n_orders: int = 6, seed: int = 0) -> pl.DataFrame:
    """A known truth: loyal customers rebuy their 4 items; explorers buy 4 items never bought.

    Loyal customers (ids < 1000) buy the same four of items L00..L19 in every order;
    explorers (ids >= 1000) buy four items of E000..E199 they never had, drawn by
    popularity, in every order. One order a week.
    """
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    rows = []
    popularity = 1.0 / np.arange(1, 201)
    for u in range(n_users):
        own = rng.choice(20, size=4, replace=False)
        for week in range(n_orders):
            t = start + timedelta(days=7 * week + int(rng.integers(0, 3)))
            rows += [(u, f"L{i:02d}", t) for i in own]
    for u in range(n_users):
        order = rng.choice(200, size=4 * n_orders, replace=False, p=popularity / popularity.sum())
        for week in range(n_orders):
            t = start + timedelta(days=7 * week + int(rng.integers(0, 3)))
            rows += [(1000 + u, f"E{i:03d}", t) for i in order[4 * week : 4 * week + 4]]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def test_learned_merge_gives_discovery_slots_to_explorers_only() -> None:
    purchases = _loyal_and_explorers()
    inter = rs.Interactions.from_purchases(purchases)
    model = rs.RepeatExplore(explore=rs.Popular()).fit(inter)
    assert model.merge_ == "learned"
    recs = model.recommend(k=4)
    seen = inter.matrix.toarray() > 0
    bought = seen[inter.users.to_index(recs["user_id"]), inter.items.to_index(recs["item_id"])]
    loyal = (recs["user_id"] < 1000).to_numpy()
    # Loyal customers' next order is their own four items; explorers' is four new ones.
    assert bought[loyal].mean() == 1.0
    assert (~bought[~loyal]).mean() >= 0.9
    # The rank fusion with fixed weights cannot tell the two kinds of customer apart.
    fixed = rs.RepeatExplore(explore=rs.Popular(), merge="weights").fit(inter).recommend(k=4)
    fixed_bought = seen[
        inter.users.to_index(fixed["user_id"]), inter.items.to_index(fixed["item_id"])
    ]
    assert fixed_bought[(fixed["user_id"] >= 1000).to_numpy()].mean() >= 0.5


def test_nothing_after_a_customers_own_cutoff_is_used() -> None:
    """Per-user as_of: rows at or after a customer's cutoff change neither the merge nor lists."""
    purchases = _loyal_and_explorers()
    cutoff = pl.DataFrame(
        {
            "user_id": [0, 1, 1000, 1001],
            "as_of": [datetime(2024, 1, 22), datetime(2024, 1, 29)] * 2,
        }
    )
    later = purchases.join(cutoff, on="user_id").filter(pl.col("timestamp") >= pl.col("as_of"))
    assert later.height > 0
    before = purchases.join(
        later.select("user_id", "item_id", "timestamp"), on=list(purchases.columns), how="anti"
    )
    # The same customers with new, different purchases after their cutoffs.
    changed = pl.concat(
        [before, later.select("user_id", pl.lit("E199").alias("item_id"), "timestamp")]
    )
    fits = []
    for frame in (purchases, before, changed):
        inter = rs.Interactions.from_purchases(frame, as_of=cutoff)
        fits.append(rs.RepeatExplore(explore=rs.Popular()).fit(inter))
    reference = fits[0].recommend([0, 1, 1000, 1001], k=6)
    for model in fits[1:]:
        for mine, theirs in zip(
            model.bought_weights_ + model.new_weights_,
            fits[0].bought_weights_ + fits[0].new_weights_,
            strict=True,
        ):
            np.testing.assert_array_equal(mine, theirs)
        assert model.recommend([0, 1, 1000, 1001], k=6).equals(reference)


def test_last_orders_hold_out_each_customers_last_order() -> None:
    t = datetime(2024, 1, 1)
    log = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 3, 3],
            "item_id": ["a", "b", "c", "a", "a", "b"],
            "timestamp": [t, t + timedelta(days=3), t + timedelta(days=3, hours=5), t, t, t],
        }
    )
    rows, start = _last_orders(log)
    # Customer 1's last order is day 3 (two rows); 2 and 3 have one order: nothing to learn.
    assert rows.sort("item_id").rows() == [(1, "b"), (1, "c")]
    assert start.rows() == [(1, t + timedelta(days=3))]


def test_user_habits_by_hand() -> None:
    t = datetime(2024, 1, 1)
    log = pl.DataFrame(
        {
            "user_id": ["u", "u", "u", "u", "v"],
            "item_id": ["a", "a", "b", "c", "a"],
            "timestamp": [
                t,
                t + timedelta(days=1),
                t + timedelta(days=1),
                t + timedelta(days=2),
                t,
            ],
        }
    )
    users = rs.data.IdMap.from_values(pl.Series(["u", "v", "w"]))
    habits = user_habits(log, users)
    # u: 3 orders, 3 items; after the first order 3 (item, order) rows, 2 of them new.
    share = (2 + 1) / (3 + 2)
    np.testing.assert_allclose(
        habits,
        [
            [np.log(4), np.log(4), np.log(share / (1 - share))],
            [np.log(2), np.log(2), 0.0],
            [0.0, 0.0, 0.0],  # no purchase
        ],
    )


def test_falls_back_to_weights_without_a_purchase_log() -> None:
    purchases = _loyal_and_explorers(n_users=5)
    inter = rs.Interactions.from_frame(purchases, user="user_id", item="item_id")
    with pytest.warns(rs.DataWarning, match="merge='weights'"):
        model = rs.RepeatExplore(explore=rs.Popular()).fit(inter)
    assert model.merge_ == "weights"
    assert model.recommend(k=3).height > 0


def test_explore_parts_and_wrong_parts() -> None:
    inter = rs.Interactions.from_purchases(_loyal_and_explorers(n_users=10))
    model = rs.RepeatExplore(
        explore=[("popular", rs.Popular()), ("knn", rs.ItemKNN(neighbors=5))]
    ).fit(inter)
    assert len(model.models_) == 3
    assert model.new_weights_[2].shape == (4 * 2 + 3 + 1,)
    assert model.get_params()["knn__neighbors"] == 5
    model.set_params(knn__neighbors=3)
    assert model.explore[1][1].neighbors == 3
    assert model.clone().get_params()["knn__neighbors"] == 3
    with pytest.raises(rs.InputDataError, match="explore"):
        rs.RepeatExplore(explore=[]).fit(inter)
    with pytest.raises(rs.InputDataError, match="merge"):
        rs.RepeatExplore(merge="stacked").fit(inter)


def test_same_lists_and_weights_at_one_and_two_threads() -> None:
    """BLAS, Numba and polars thread counts change no bit of the learned merge."""
    from tests._subprocess import same_output_at_one_and_two_threads

    out = same_output_at_one_and_two_threads(
        """
        import warnings
        import numpy as np
        import recsys as rs
        warnings.simplefilter("ignore")
        purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        inter = rs.Interactions.from_purchases(purchases.head(60_000))
        model = rs.RepeatExplore().fit(inter)
        for w in model.bought_weights_ + model.new_weights_ + (model.models_[0].coef_,):
            print(w.tobytes().hex())
        print(model.recommend(k=10).write_csv())
        """
    )
    assert out.count("\n") > 100


def test_above_the_merge_sample_the_parts_learn_from_the_sample_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above `_MERGE_USERS` customers with two orders, the merge is what the sampled
    customers' purchases alone teach (the other customers' purchases are not read)."""
    import recsys.models.repeat_explore as module

    purchases = _loyal_and_explorers(n_users=30)
    monkeypatch.setattr(module, "_MERGE_USERS", 20)
    capped = rs.RepeatExplore().fit(rs.Interactions.from_purchases(purchases))
    _, starts = _last_orders(purchases)
    sampled = starts.sample(20, seed=0).select("user_id")
    alone = rs.RepeatExplore().fit(
        rs.Interactions.from_purchases(purchases.join(sampled, on="user_id", how="semi"))
    )
    assert capped.merge_ == alone.merge_ == "learned"
    for a, b in zip(
        capped.bought_weights_ + capped.new_weights_,
        alone.bought_weights_ + alone.new_weights_,
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    # the parts used for scoring still learn from every customer
    assert capped.n_users == purchases["user_id"].n_unique()
