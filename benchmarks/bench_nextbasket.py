"""Next-basket recommendation: recsys against the Reality Check's peers on its protocol.

The protocol of Li et al., "A Next Basket Recommendation Reality Check" (ACM TOIS
2023), rebuilt from the raw files:

* Ta-Feng (``ta_feng_all_months_merged.csv.gz``): per customer, one basket per
  transaction date (the distinct products of that date), in date order;
  customers with 3 to 50 dates; the last date is the target basket; products
  that appear in fewer than 3 history baskets (over all customers, target
  baskets excluded) are removed everywhere (the rule of the authors'
  ``preprocess/tafeng.py``); customers left with an empty target or history
  are dropped.
* Online Retail (bundled): the same with invoices as baskets.
* Complete Journey sample: the same with ``basket_id`` as baskets.

Customers are split at random 72% train / 8% validation / 20% test (the
authors' ``keyset_fold.py``), for each of ``--seeds`` seeds; figures are means
over the seeds. Hyperparameters are chosen on the validation customers only;
the test customers are scored once with the chosen values.

Models are fitted on every history basket plus the target baskets of the
training customers; validation and test customers' targets are held out, and
each of them is scored as of the date of their own target basket (the
per-user ``as_of`` of ``Interactions.from_purchases``). Peers, written here from
their papers with the Reality Check's Ta-Feng settings: G-TopFreq,
P-TopFreq, GP-TopFreq, UP-CF@r (r=10, alpha=0.75, q=10) and TIFU-KNN
(neighbours=300, r_b=0.9, r_g=0.7, alpha=0.7, m=7; neighbours among the
training customers, history baskets only). NDCG here is recsys's (ideal DCG over
``min(|T|, k)`` hits); the authors' code divides by the ideal DCG of all ``|T|``
test items, so their NDCG values are lower for large baskets.

Run ``RECSYS_DATA=../shared/data python benchmarks/bench_nextbasket.py``
(``--datasets ta_feng``, ``--seeds 0``, ``--sample 0.3`` while developing).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # this checkout's recsys
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import print_environment

import recsys as rs

KS = (10, 20)
METRICS = ("recall", "ndcg", "hit_rate", "repeat_share")


# ---------------------------------------------------------------- data


def _ta_feng() -> pl.DataFrame:
    raw = rs.datasets.load_shared("ta_feng")
    return raw.select(
        pl.col("CUSTOMER_ID").cast(pl.String).alias("user_id"),
        pl.col("PRODUCT_ID").cast(pl.String).alias("item_id"),
        pl.col("TRANSACTION_DT").str.strptime(pl.Datetime("us"), "%m/%d/%Y").alias("timestamp"),
    ).with_columns(pl.col("timestamp").alias("basket_time"))


def _online_retail() -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    basket_time = pl.col("timestamp").min().over("user_id", "order_id")
    return purchases.filter(
        ~pl.col("is_return") if "is_return" in purchases.columns else pl.lit(True)
    ).select(
        pl.col("user_id").cast(pl.String),
        pl.col("item_id").cast(pl.String),
        "timestamp",
        basket_time.alias("basket_time"),
    )


def _complete_journey() -> pl.DataFrame:
    raw = rs.datasets.load_shared("complete_journey")
    time_col = pl.col("transaction_timestamp")
    if raw.schema["transaction_timestamp"] == pl.String:
        time_col = time_col.str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S")
    frame = raw.select(
        pl.col("household_id").cast(pl.String).alias("user_id"),
        pl.col("product_id").cast(pl.String).alias("item_id"),
        pl.col("basket_id").cast(pl.String).alias("basket"),
        time_col.alias("timestamp"),
    )
    return frame.with_columns(
        pl.col("timestamp").min().over("user_id", "basket").alias("basket_time")
    ).drop("basket")


LOADERS: dict[str, Callable[[], pl.DataFrame]] = {
    "ta_feng": _ta_feng,
    "online_retail": _online_retail,
    "complete_journey": _complete_journey,
}


@dataclass
class Data:
    """Baskets after the Reality Check's preprocessing."""

    rows: pl.DataFrame  # user_id, item_id, basket (0..n-1 per user), timestamp, is_target
    n_users: int
    n_items: int


def reality_check(frame: pl.DataFrame, min_baskets: int = 3, max_baskets: int = 50) -> Data:
    """Distinct items per basket; customers with 3..50 baskets; items in >= 3 history baskets."""
    rows = frame.group_by("user_id", "basket_time", "item_id").agg(pl.col("timestamp").min())
    baskets = (
        rows.select("user_id", "basket_time")
        .unique()
        .sort("user_id", "basket_time")
        .with_columns(
            pl.int_range(pl.len()).over("user_id").alias("basket"),
            pl.len().over("user_id").alias("n_baskets"),
        )
        .filter(pl.col("n_baskets").is_between(min_baskets, max_baskets))
    )
    rows = rows.join(baskets, on=["user_id", "basket_time"]).with_columns(
        (pl.col("basket") == pl.col("n_baskets") - 1).alias("is_target")
    )
    history_count = rows.filter(~pl.col("is_target")).group_by("item_id").len()
    kept_items = history_count.filter(pl.col("len") >= 3).select("item_id")
    rows = rows.join(kept_items, on="item_id", how="semi")
    # Customers with an empty target or an empty history after the item filter go.
    per_user = rows.group_by("user_id").agg(
        pl.col("is_target").any().alias("t"), (~pl.col("is_target")).any().alias("h")
    )
    rows = rows.join(per_user.filter(pl.col("t") & pl.col("h")).select("user_id"), on="user_id")
    # Re-number the remaining baskets 0..n-1 per customer.
    order = (
        rows.select("user_id", "basket")
        .unique()
        .sort("user_id", "basket")
        .with_columns(pl.int_range(pl.len()).over("user_id").alias("position"))
    )
    rows = (
        rows.join(order, on=["user_id", "basket"])
        .drop("basket", "n_baskets")
        .rename({"position": "basket"})
        .select(
            "user_id", "item_id", "basket", pl.col("basket_time").alias("timestamp"), "is_target"
        )
        .sort("user_id", "basket", "item_id")
    )
    return Data(rows, rows["user_id"].n_unique(), rows["item_id"].n_unique())


def split_users(users: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """72% train / 8% validation / 20% test customers (the authors' keyset_fold.py)."""
    shuffled = np.random.default_rng(seed).permutation(users)
    n = len(shuffled)
    a, b = int(n * 4 / 5 * 0.9), int(n * 4 / 5)
    return {"train": shuffled[:a], "val": shuffled[a:b], "test": shuffled[b:]}


# ---------------------------------------------------------------- peers


@dataclass
class Index:
    """Integer view of the baskets: customers and items 0..n-1."""

    users: np.ndarray  # user id of each row of the matrices
    items: np.ndarray  # item id of each column
    user_of: dict[str, int]
    history: sp.csr_matrix  # baskets x items (binary), history baskets only
    basket_user: np.ndarray  # user index of each history basket
    basket_pos: np.ndarray  # position of the basket in the user's history (0 = oldest)
    n_history: np.ndarray  # history baskets per user


def build_index(data: Data) -> Index:
    users = np.sort(data.rows["user_id"].unique().to_numpy())
    items = np.sort(data.rows["item_id"].unique().to_numpy())
    user_of = {u: i for i, u in enumerate(users)}
    hist = data.rows.filter(~pl.col("is_target"))
    u = np.searchsorted(users, hist["user_id"].to_numpy())
    i = np.searchsorted(items, hist["item_id"].to_numpy())
    pos = hist["basket"].to_numpy()
    key = u.astype(np.int64) * 64 + pos  # < 64 baskets per customer
    basket_keys, basket_row = np.unique(key, return_inverse=True)
    history = sp.csr_matrix(
        (np.ones(len(i), np.float32), (basket_row, i)), shape=(len(basket_keys), len(items))
    )
    history.sum_duplicates()
    basket_user = (basket_keys // 64).astype(np.int64)
    basket_pos = (basket_keys % 64).astype(np.int64)
    n_history = np.bincount(basket_user, minlength=len(users))
    return Index(users, items, user_of, history, basket_user, basket_pos, n_history)


def _user_sum(ix: Index, weights: np.ndarray) -> sp.csr_matrix:
    """users x items: sum over each customer's history baskets of ``weight * basket``."""
    n_baskets = ix.history.shape[0]
    s = sp.csr_matrix(
        (weights, (ix.basket_user, np.arange(n_baskets))), shape=(len(ix.users), n_baskets)
    )
    return (s @ ix.history).tocsr()


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Top-k column indices per row (ties toward the lower index), -1 where the score is <= 0."""
    part = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if scores.shape[1] > k
        else np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    )
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    top_vals = np.take_along_axis(vals, order, axis=1)
    return np.where(top_vals > 0, top, -1)


def _blocks(n: int, size: int = 1000) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def g_topfreq(ix: Index, users: np.ndarray, k: int) -> np.ndarray:
    freq = np.asarray(ix.history.sum(axis=0)).ravel()
    top = np.argsort(-freq, kind="stable")[:k]
    return np.tile(top, (len(users), 1))


def p_topfreq(ix: Index, users: np.ndarray, k: int, fill: bool = False) -> np.ndarray:
    counts = _user_sum(ix, np.ones(ix.history.shape[0], np.float32))[users].toarray()
    if fill:  # GP-TopFreq: the customer's items first, then the most frequent items
        freq = np.asarray(ix.history.sum(axis=0)).ravel()
        counts = counts + (freq / (freq.max() + 1.0))[None, :] * (counts == 0)
    return _topk(counts, k)


def up_cf(
    ix: Index, users: np.ndarray, k: int, r: int = 10, alpha: float = 0.75, q: float = 10.0
) -> np.ndarray:
    """UP-CF@r (Faggioli et al. 2020): recency-aware user popularity smoothed over users."""
    recent = ix.basket_pos >= (ix.n_history[ix.basket_user] - r)
    denom = np.minimum(ix.n_history, r)[ix.basket_user].astype(np.float32)
    rc = _user_sum(ix, np.where(recent, 1.0 / denom, 0.0).astype(np.float32))
    binary = _user_sum(ix, np.ones(ix.history.shape[0], np.float32))
    binary.data[:] = 1.0
    size = np.asarray(binary.sum(axis=1)).ravel()
    out = np.empty((len(users), k), np.int64)
    for block in _blocks(len(users)):
        uu = users[block]
        overlap = (binary[uu] @ binary.T).toarray()
        sim = overlap / (size[uu, None] ** alpha * size[None, :] ** (1 - alpha) + 1e-12)
        sim[np.arange(len(uu)), uu] = 1.0
        out[block] = _topk(np.asarray(rc.T @ (sim**q).T).T, k)
    return out


def tifu_vectors(ix: Index, r_b: float, r_g: float, m: int) -> sp.csr_matrix:
    """TIFU-KNN's personal item frequency vectors (Hu et al. 2020), one row per customer."""
    n = ix.n_history[ix.basket_user]
    groups = np.minimum(n, m)
    base = n // groups
    extra = n - base * groups  # the last ``extra`` groups hold one basket more
    small = groups - extra
    pos = ix.basket_pos
    in_small = pos < small * base
    group = np.where(
        in_small, pos // np.maximum(base, 1), small + (pos - small * base) // (base + 1)
    )
    start = np.where(in_small, group * base, small * base + (group - small) * (base + 1))
    size = np.where(group < small, base, base + 1)
    within = pos - start
    weight = r_b ** (size - 1 - within) / size * r_g ** (groups - 1 - group) / groups
    return _user_sum(ix, weight.astype(np.float32))


def tifu_knn(
    ix: Index,
    users: np.ndarray,
    train_users: np.ndarray,
    k: int,
    neighbors: int = 300,
    r_b: float = 0.9,
    r_g: float = 0.7,
    alpha: float = 0.7,
    m: int = 7,
) -> np.ndarray:
    vectors = tifu_vectors(ix, r_b, r_g, m)
    pool = vectors[train_users]
    pool_sq = np.asarray(pool.multiply(pool).sum(axis=1)).ravel()
    out = np.empty((len(users), k), np.int64)
    nn = min(neighbors, len(train_users))
    for block in _blocks(len(users)):
        query = vectors[users[block]]
        q_sq = np.asarray(query.multiply(query).sum(axis=1)).ravel()
        dist = q_sq[:, None] + pool_sq[None, :] - 2.0 * (query @ pool.T).toarray()
        near = np.argpartition(dist, nn - 1, axis=1)[:, :nn]
        rows = np.repeat(np.arange(near.shape[0]), nn)
        pick = sp.csr_matrix(
            (np.full(rows.size, 1.0 / nn, np.float32), (rows, near.ravel())),
            shape=(near.shape[0], len(train_users)),
        )
        score = alpha * query.toarray() + (1 - alpha) * (pick @ pool).toarray()
        out[block] = _topk(score, k)
    return out


def peer_models(
    ix: Index, train_idx: np.ndarray, depth: int
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The peers with the Reality Check's Ta-Feng settings: customers -> top-``depth`` items."""
    return {
        "G-TopFreq": lambda u: g_topfreq(ix, u, depth),
        "P-TopFreq": lambda u: p_topfreq(ix, u, depth),
        "GP-TopFreq": lambda u: p_topfreq(ix, u, depth, fill=True),
        "UP-CF@r": lambda u: up_cf(ix, u, depth),
        "TIFU-KNN": lambda u: tifu_knn(ix, u, train_idx, depth),
    }


PEERS = ("G-TopFreq", "P-TopFreq", "GP-TopFreq", "UP-CF@r", "TIFU-KNN")


class Lists:
    """A peer's precomputed lists behind the ``recommend`` interface of rs.evaluate."""

    def __init__(self, ix: Index, users: np.ndarray, top: np.ndarray) -> None:
        u = np.repeat(users, top.shape[1])
        rank = np.tile(np.arange(1, top.shape[1] + 1), len(users))
        flat = top.ravel()
        keep = flat >= 0
        self.frame = pl.DataFrame(
            {
                "user_id": ix.users[u[keep]],
                "item_id": ix.items[flat[keep]],
                "score": (-rank[keep]).astype(np.float32),
                "rank": rank[keep],
            }
        )

    def recommend(
        self, users: Any = None, k: int = 10, *, exclude_seen: Any = None, on_unknown: str = "skip"
    ) -> pl.DataFrame:
        return self.frame.filter(pl.col("rank") <= k)


# ---------------------------------------------------------------- recsys models


def recsys_candidates() -> dict[str, Callable[[], Any]]:
    """Default recsys models: name -> factory."""
    return {
        "Popular": lambda: rs.Popular(),
        "Repurchase": lambda: rs.Repurchase(),
        "BuyAgain": lambda: rs.BuyAgain(),
        "ItemKNN": lambda: rs.ItemKNN(),
        "ALS": lambda: rs.ALS(),
        "RepeatExplore": lambda: rs.RepeatExplore(),
        "Blend": lambda: rs.Blend(),
    }


#: Validation grids (chosen on the 8% validation customers only).
GRIDS: dict[str, list[dict[str, Any]]] = {
    "Repurchase": [
        {"half_life_days": h, "repeat_rate_power": p, "trend_window_days": t}
        for h in (30.0, 120.0, None)
        for p in (0.0, 0.5)
        for t in (90.0, None)
    ],
    "ItemKNN": [{"neighbors": n} for n in (50, 200)],
    "RepeatExplore": [
        {"explore": e, "regularization": r} for e in (None, "popular") for r in (1.0, 30.0)
    ],
}


def _resolve(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if out.get("explore") == "popular":
        out["explore"] = rs.Popular(window_days=30.0)
    return out


# ---------------------------------------------------------------- protocol


def fit_frame(data: Data, held_out: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Training purchases (all but the held-out customers' targets) and their per-user as_of."""
    held = pl.Series("user_id", held_out)
    rows = data.rows.with_columns(
        order_id=pl.col("user_id") + "/" + pl.col("basket").cast(pl.String)
    )
    train = rows.filter(~(pl.col("is_target") & pl.col("user_id").is_in(held.implode())))
    as_of = (
        rows.filter(pl.col("is_target") & pl.col("user_id").is_in(held.implode()))
        .group_by("user_id")
        .agg(pl.col("timestamp").min().alias("as_of"))
    )
    return train.select("user_id", "item_id", "order_id", "timestamp"), as_of


def make_split(
    data: Data, train: pl.DataFrame, as_of: pl.DataFrame, users: np.ndarray
) -> rs.evaluation.Split:
    test = data.rows.filter(
        pl.col("is_target") & pl.col("user_id").is_in(pl.Series(users).implode())
    ).select("user_id", "item_id", "timestamp")
    return rs.evaluation.Split(train, test, None, "leave_last_basket", {}, {}, as_of=as_of)


def score(
    models: dict[str, Any], split: rs.evaluation.Split, bootstrap: int = 0, seed: int = 0
) -> rs.evaluation.EvaluationResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        return rs.evaluate(
            models,
            split,
            k=list(KS),
            metrics=list(METRICS),
            modes=["all", "repeat", "new"],
            bootstrap=bootstrap,
            seed=seed,
            show_progress=False,
        )


def headline(table: pl.DataFrame) -> pl.DataFrame:
    """One row per model: R/NDCG/PHR@10/20, repeat and explore recall@10/20, repeat share@10."""
    t = table.filter(pl.col("segment") == "all")
    cols = []
    for metric, mode, label in (
        ("recall", "all", "R"),
        ("ndcg", "all", "NDCG"),
        ("hit_rate", "all", "PHR"),
        ("recall", "repeat", "R_rep"),
        ("recall", "new", "R_expl"),
        ("repeat_share", "all", "rep_share"),
    ):
        for k in KS:
            cols.append(
                t.filter(
                    (pl.col("metric") == metric) & (pl.col("mode") == mode) & (pl.col("k") == k)
                ).select("model", pl.col("value").alias(f"{label}@{k}"))
            )
    out = cols[0]
    for c in cols[1:]:
        out = out.join(c, on="model", how="left", maintain_order="left")
    return out


def run_dataset(
    name: str,
    seeds: list[int],
    sample: float | None,
    bootstrap: int,
    only: list[str] | None = None,
) -> pl.DataFrame | None:
    print(f"\n=== {name} ===")
    try:
        frame = LOADERS[name]()
    except rs.InputDataError as err:
        print(f"{name} skipped: {err}")
        return None
    data = reality_check(frame)
    if sample:
        users = data.rows["user_id"].unique().sort()
        keep = users.sample(fraction=sample, seed=0)
        data = Data(data.rows.filter(pl.col("user_id").is_in(keep.implode())), len(keep), 0)
    n_customers = data.rows["user_id"].n_unique()
    print(
        f"after preprocessing: {n_customers:,} customers, "
        f"{data.rows['item_id'].n_unique():,} items, {data.rows.height:,} basket-items, "
        f"mean target size {data.rows.filter('is_target').height / n_customers:.1f}"
    )
    if n_customers < 500:
        print(f"{name}: too few customers for the protocol ({n_customers}); skipped")
        return None
    ix = build_index(data)
    per_seed = []
    for seed in seeds:
        groups = split_users(ix.users, seed)
        held = np.concatenate([groups["val"], groups["test"]])
        train, as_of = fit_frame(data, held)
        val_split = make_split(data, train, as_of, groups["val"])
        test_split = make_split(data, train, as_of, groups["test"])
        times: dict[str, tuple[float, float]] = {}
        models: dict[str, Any] = {}

        # Peers: recommend directly for the test customers.
        test_idx = np.array([ix.user_of[u] for u in groups["test"]])
        train_idx = np.array([ix.user_of[u] for u in groups["train"]])
        depth = max(KS)
        peers = peer_models(ix, train_idx, depth)
        for peer, fn in peers.items():
            start = time.perf_counter()
            top = fn(test_idx)
            times[peer] = (0.0, time.perf_counter() - start)
            models[peer] = Lists(ix, test_idx, top)

        inter = rs.Interactions.from_purchases(train, as_of=as_of)
        # recsys models: defaults, then tuned on the validation customers.
        tuned_params: dict[str, dict[str, Any]] = {}
        for model_name, factory in recsys_candidates().items():
            if only and model_name not in only:
                continue
            start = time.perf_counter()
            model = factory().fit(inter)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            model.recommend(groups["test"], k=depth, on_unknown="skip")
            times[model_name] = (fit_s, time.perf_counter() - start)
            models[model_name] = model
            grid = GRIDS.get(model_name)
            if grid:
                best, best_value = None, -1.0
                cls = type(model)
                for params in grid:
                    candidate = cls(**_resolve(params)).fit(inter)
                    res = score({"m": candidate}, val_split).table
                    value = res.filter(
                        (pl.col("metric") == "ndcg")
                        & (pl.col("k") == 10)
                        & (pl.col("mode") == "all")
                        & (pl.col("segment") == "all")
                    )["value"].item()
                    if value > best_value:
                        best, best_value = params, value
                assert best is not None
                tuned_params[model_name] = best
                start = time.perf_counter()
                tuned = cls(**_resolve(best)).fit(inter)
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                tuned.recommend(groups["test"], k=depth, on_unknown="skip")
                times[model_name + " (tuned)"] = (fit_s, time.perf_counter() - start)
                models[model_name + " (tuned)"] = tuned
        print(f"seed {seed}: tuned on validation: {tuned_params}")
        results = score(models, test_split, bootstrap=bootstrap, seed=seed)
        table = headline(results.table).with_columns(
            pl.col("model")
            .replace_strict({k: v[0] for k, v in times.items()}, default=None)
            .alias("fit_s"),
            pl.col("model")
            .replace_strict({k: v[1] for k, v in times.items()}, default=None)
            .alias("recommend_s"),
            pl.lit(seed).alias("seed"),
        )
        per_seed.append(table)
        if bootstrap:
            for a, b in (
                ("RepeatExplore", "Repurchase"),
                ("RepeatExplore", "BuyAgain"),
                ("RepeatExplore (tuned)", "Repurchase (tuned)"),
            ):
                diff = rs.evaluation.compare(results, a, b).filter(
                    (pl.col("segment") == "all")
                    & (pl.col("k") == 10)
                    & pl.col("metric").is_in(["recall", "ndcg"])
                )
                if a not in models or b not in models:
                    continue
                print(f"seed {seed}: {a} - {b} (paired 95% CI)")
                print(diff.select("mode", "metric", "k", "difference", "ci_low", "ci_high"))
    table = pl.concat(per_seed)
    numeric = [c for c in table.columns if c not in ("model", "seed")]
    mean = table.group_by("model", maintain_order=True).agg(pl.col(numeric).mean())
    with pl.Config(tbl_rows=50, tbl_cols=30, tbl_width_chars=250, float_precision=4):
        print(f"{name}: mean over seeds {seeds}")
        print(mean)
    tifu = mean.filter(pl.col("model") == "TIFU-KNN")
    ours = mean.filter(~pl.col("model").is_in(list(PEERS)))
    best = ours.sort("NDCG@10", descending=True).row(0, named=True)
    r_ratio = best["R@10"] / tifu["R@10"].item()
    n_ratio = best["NDCG@10"] / tifu["NDCG@10"].item()
    print(
        f"best recsys model by NDCG@10: {best['model']}: R@10 x{r_ratio:.2f}, "
        f"NDCG@10 x{n_ratio:.2f} of TIFU-KNN"
    )
    print(markdown(mean))
    return mean


def markdown(table: pl.DataFrame) -> str:
    """The mean table as a markdown table (for benchmarks/RESULTS.md)."""
    cols = [c for c in table.columns if c != "seed"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.select(cols).iter_rows():
        cells = [row[0]] + [
            "" if v is None else (f"{v:.2f}" if c.endswith("_s") else f"{v:.4f}")
            for c, v in zip(cols[1:], row[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(LOADERS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sample", type=float, default=None, help="share of customers (dev)")
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--models", nargs="+", default=None, help="recsys models to run (all)")
    args = parser.parse_args()
    print_environment()
    print(f"recsys from {rs.__file__}")
    for name in args.datasets:
        run_dataset(name, args.seeds, args.sample, args.bootstrap, args.models)


if __name__ == "__main__":
    main()
