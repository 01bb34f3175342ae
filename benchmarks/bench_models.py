"""Recommender benchmarks: ItemKNN and ALS against implicit, and accuracy on Online Retail.

Run from the repository root::

    python benchmarks/bench_models.py            # everything, 2 threads
    python benchmarks/bench_models.py --quick    # fewer repeats, no Ta-Feng
    python benchmarks/bench_models.py --part accuracy

Parts
-----
(a) ``knn``: ItemKNN (cosine, k=100) on Online Retail and Ta-Feng: fit and recommend-all
    (top-10, seen items excluded) times against implicit's ``CosineRecommender`` and
    ``BM25Recommender`` with the same K, their ratios, and the share of users whose
    cosine top-10 is identical to implicit's.
(b) ``als``: ALS fit through ``rs.ALS`` against ``implicit.cpu.als.AlternatingLeastSquares``
    used directly on the same confidence matrix, same parameters and threads: overhead %.
(c) ``accuracy``: Online Retail, train = purchases before 2011-09-09, test = purchases in
    the next 90 days by users seen in training. HR@10 = share of test users with at
    least one test item in their top 10, over all items and excluding items the user
    already bought (there: over users with at least one new test item). Every recsys
    model next to implicit used directly and the reference figures of issue 3.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _alternatives import item_similarity_blocked
from _common import (
    best_of,
    evaluate_at_10,
    peak_rss_mb,
    print_environment,
    shared_purchases,
)

import recsys as rs

THREADS = 2
K = 100
REFERENCE_ALL = {
    "repurchase": 0.840,
    "implicit ALS": 0.799,
    "BM25 item-item": 0.781,
    "popularity": 0.552,
}
REFERENCE_NEW = {"implicit ALS": 0.497, "BM25 item-item": 0.473, "popularity": 0.325}
CUTOFF = datetime(2011, 9, 9)
HORIZON = timedelta(days=90)


# ----------------------------------------------------------------------------- data
def online_retail() -> pl.DataFrame:
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    return purchases


# ---------------------------------------------------------------------- (a) ItemKNN
def _implicit_knn(cls: type, x: sp.csr_matrix):
    model = cls(K=K, num_threads=THREADS)
    model.fit(sp.csr_matrix(x), show_progress=False)
    return model


def bench_knn(name: str, purchases: pl.DataFrame, repeat: int) -> None:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    inter = rs.Interactions.from_purchases(purchases, weight="count")
    x = inter.matrix
    users = np.arange(x.shape[0], dtype=np.int32)
    print(
        f"\n(a) ItemKNN cosine k={K} on {name}: {x.shape[0]:,} users x {x.shape[1]:,} items, "
        f"{x.nnz:,} pairs, top-10, seen excluded, {THREADS} threads"
    )
    # implicit's cosine keeps the item itself among its K neighbours (similarity 1);
    # ItemKNN keeps k other items plus an optional self term: k = K - 1 is the same
    # neighbourhood. Both score the raw counts.
    ours = rs.ItemKNN(
        similarity="cosine",
        neighbors=K - 1,
        weighting="raw",
        user_weighting="raw",
        self_similarity=1.0,
        num_threads=THREADS,
    )
    rows = []
    with threadpool_limits(1, "blas"):
        ours.fit(inter).recommend_index(users[:10], 10)  # warm-up: Numba JIT / cache load
        fit_ours, _ = best_of(lambda: ours.fit(inter), repeat)
        rec_ours, (ids_ours, scores_ours) = best_of(
            lambda: ours.recommend_index(users, 10, exclude_seen=True, num_threads=THREADS),
            repeat,
        )
        for label, cls in (
            ("implicit Cosine", CosineRecommender),
            ("implicit BM25", BM25Recommender),
        ):
            fit_t, model = best_of(lambda cls=cls: _implicit_knn(cls, x), repeat)
            rec_t, (ids, scores) = best_of(
                lambda model=model: model.recommend(
                    users, x, N=10, filter_already_liked_items=True
                ),
                repeat,
            )
            rows.append((label, fit_t, rec_t, ids, scores, model))
    print(f"  {'model':<22}{'fit s':>9}{'recommend s':>13}{'fit ratio':>11}{'rec ratio':>11}")
    print(f"  {'recsys ItemKNN':<22}{fit_ours:>9.3f}{rec_ours:>13.3f}{'':>11}{'':>11}")
    for label, fit_t, rec_t, *_ in rows:
        print(
            f"  {label:<22}{fit_t:>9.3f}{rec_t:>13.3f}{fit_t / fit_ours:>10.2f}x"
            f"{rec_t / rec_ours:>10.2f}x"
        )
    cos_ids, cos_scores = rows[0][3], rows[0][4]
    same = np.array(
        [
            set(a[a >= 0].tolist()) == set(b[b >= 0].tolist())
            for a, b in zip(ids_ours, cos_ids, strict=True)
        ]
    )
    # Lists that differ only where two items have exactly the same score (a tie broken
    # toward the lower index by recsys, arbitrarily by implicit) have the same scores.
    # implicit fills a list whose user reaches fewer than 10 items with unrelated items
    # of score 0; ItemKNN pads it (-1): compare the scored (> 0) part.
    ours_s = np.where(ids_ours >= 0, scores_ours, 0.0)
    theirs_s = np.where(cos_scores > 0, cos_scores, 0.0)
    same_scores = np.isclose(ours_s, theirs_s, rtol=1e-5, atol=1e-6).all(axis=1)
    filled = ((cos_scores <= 0) & (cos_ids >= 0)).any(axis=1)
    print(
        f"  identical cosine top-10 (as sets): {same.mean():.4f}; identical apart from exact "
        f"ties and implicit's zero-score filler: {(same | same_scores).mean():.4f} "
        f"of {len(users):,} users ({filled.mean():.4f} of users get zero-score filler "
        "from implicit)"
    )
    n_diff, n_tied = _neighbour_differences(ours.similarity_, rows[0][5].similarity.tocsr())
    print(
        f"  neighbour lists differing from implicit's: {n_diff:,} of {x.shape[1]:,} items, "
        f"{n_tied:,} of them only in items tied at the k-th similarity (recsys keeps the "
        "lower index, implicit an arbitrary one)"
    )
    print("  (ratio = implicit time / recsys time: > 1 = recsys faster; target recommend >= 2x)")
    # the similarity build alone: the fused Numba kernel against the alternative kept in
    # benchmarks/_alternatives.py (scipy products on row blocks, each pruned by Numba)
    options = {"similarity": "cosine", "neighbors": K - 1, "num_threads": THREADS}
    fused_t, fused = best_of(lambda: rs.scoring.item_similarity(x, **options), repeat)
    blocked_t, blocked = best_of(lambda: item_similarity_blocked(x, **options), repeat)
    same = (fused != blocked).nnz == 0
    print(
        f"  item_similarity fused {fused_t:.3f} s, blocked scipy products {blocked_t:.3f} s: "
        f"ratio blocked / fused {blocked_t / fused_t:.2f}x (identical result: {same})"
    )


def _neighbour_differences(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> tuple[int, int]:
    """Rows whose neighbour sets differ (self left out), and those differing only in ties."""
    n_diff = n_tied = 0
    for i in range(ours.shape[0]):
        a_idx = ours.indices[ours.indptr[i] : ours.indptr[i + 1]]
        a_val = ours.data[ours.indptr[i] : ours.indptr[i + 1]]
        b_idx = theirs.indices[theirs.indptr[i] : theirs.indptr[i + 1]]
        b_val = theirs.data[theirs.indptr[i] : theirs.indptr[i + 1]]
        a = dict(zip(a_idx.tolist(), a_val.tolist(), strict=True))
        b = dict(zip(b_idx.tolist(), b_val.tolist(), strict=True))
        a.pop(i, None)
        b.pop(i, None)
        if a.keys() == b.keys():
            continue
        n_diff += 1
        odd = [a[j] for j in a.keys() - b.keys()] + [b[j] for j in b.keys() - a.keys()]
        boundary = min(min(a.values()), min(b.values()))
        n_tied += bool(np.allclose(odd, boundary, rtol=1e-5))
    return n_diff, n_tied


# -------------------------------------------------------------------------- (b) ALS
def bench_als(purchases: pl.DataFrame, repeat: int) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    inter = rs.Interactions.from_purchases(purchases, weight="count")
    params = {"factors": 64, "regularization": 0.05, "iterations": 15}
    ours = rs.ALS(
        **params, weight_scale=1.0, weighting="linear", num_threads=THREADS, random_state=0
    )
    # The confidence matrix rs.ALS documents (and hands to implicit): C = 1 + weight_scale * r.
    conf = inter.matrix.copy().astype(np.float32)
    conf.data = (1.0 + ours.weight_scale * conf.data.astype(np.float64)).astype(np.float32)

    def direct():
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                **params, alpha=1.0, num_threads=THREADS, random_state=0
            )
            model.fit(conf, show_progress=False)
        return model

    times_ours, times_direct = [], []
    for _ in range(repeat):  # interleaved, so machine noise hits both alike
        t, ref = best_of(direct, 1)
        times_direct.append(t)
        t, _ = best_of(lambda: ours.fit(inter), 1)
        times_ours.append(t)
    t_ours, t_direct = min(times_ours), min(times_direct)
    same = np.allclose(ours.item_factors_, ref.item_factors, atol=1e-6)
    print(
        f"\n(b) ALS fit on Online Retail ({inter.shape[0]:,} x {inter.shape[1]:,}), "
        f"{params}, {THREADS} threads, best of {repeat}"
    )
    print(
        f"  implicit direct: {t_direct:.3f} s   rs.ALS: {t_ours:.3f} s   "
        f"overhead: {100 * (t_ours / t_direct - 1):+.1f}% (target < 5%)   "
        f"identical factors: {same}"
    )


# --------------------------------------------------------------------- (c) accuracy
class HitRate:
    """HR@10 on the issue's protocol, self-contained (no evaluation module needed)."""

    def __init__(self, purchases: pl.DataFrame) -> None:
        train = purchases.filter(pl.col("timestamp") < CUTOFF)
        test = purchases.filter(
            (pl.col("timestamp") >= CUTOFF) & (pl.col("timestamp") < CUTOFF + HORIZON)
        )
        self.train = train
        self.inter = rs.Interactions.from_purchases(train, weight="count")
        test = test.filter(pl.col("user_id").is_in(self.inter.users.ids.implode()))
        users = self.inter.users.to_index(test["user_id"])
        items = self.inter.items.to_index(test["item_id"], on_unknown="minus_one")
        known = items >= 0  # items first sold after the cutoff cannot be recommended
        truth = sp.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (users[known], items[known])),
            shape=self.inter.shape,
        )
        truth.sum_duplicates()
        truth.data[:] = 1
        seen = self.inter.matrix.copy()
        seen.data[:] = 1
        new = truth - truth.multiply(seen)
        new.eliminate_zeros()
        self.truth, self.truth_new = truth, new
        self.users = np.flatnonzero(np.diff(truth.indptr) > 0).astype(np.int32)
        self.users_new = np.flatnonzero(np.diff(new.indptr) > 0).astype(np.int32)

    @staticmethod
    def _hr(ids: np.ndarray, users: np.ndarray, truth: sp.csr_matrix) -> float:
        hits = [
            np.isin(row[row >= 0], truth.indices[truth.indptr[u] : truth.indptr[u + 1]]).any()
            for row, u in zip(ids, users, strict=True)
        ]
        return float(np.mean(hits))

    def score(self, recommend) -> tuple[float, float]:
        """``recommend(users, exclude_seen) -> ids [n, 10]`` -> (HR all items, HR new items)."""
        all_items = self._hr(recommend(self.users, False), self.users, self.truth)
        new_items = self._hr(recommend(self.users_new, True), self.users_new, self.truth_new)
        return all_items, new_items


def evaluate_validation_and_test(purchases: pl.DataFrame) -> None:
    """HR@10 with ``rs.evaluate`` on the validation split (inside the training period) and test."""
    split = rs.evaluation.temporal_split(purchases, cutoff=CUTOFF, horizon_days=90)
    print("  rs.evaluate HR@10 (exclude_seen=None: each model's default), validation | test:")
    for which, part in (("validation", split.validation()), ("test", split)):
        inter = rs.Interactions.from_purchases(part.train)
        models = {
            "Repurchase": rs.Repurchase(),
            "BuyAgain": rs.BuyAgain(),
            "RepeatExplore": rs.RepeatExplore(),
            "ALS": rs.ALS(num_threads=THREADS),
            "ItemKNN": rs.ItemKNN(num_threads=THREADS),
        }
        for model in models.values():
            model.fit(inter)
        table = evaluate_at_10(models, part, metrics=["hit_rate"], bootstrap=200).table
        for row in table.sort("model", "mode").iter_rows(named=True):
            print(
                f"    {which:<10} {row['model']:<14} {row['mode']:<4} {row['value']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
            )


def bench_accuracy(purchases: pl.DataFrame) -> dict[str, tuple[float, float]]:
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    hr = HitRate(purchases)
    x = hr.inter.matrix
    print(
        f"\n(c) HR@10 on Online Retail: train before {CUTOFF:%Y-%m-%d} "
        f"({x.shape[0]:,} users x {x.shape[1]:,} items), test = next 90 days; "
        f"{len(hr.users):,} test users ({len(hr.users_new):,} with a new item)"
    )
    results: dict[str, tuple[float, float]] = {}

    def implicit_rec(model):
        def rec(users, exclude):
            ids, _ = model.recommend(users, x[users], N=10, filter_already_liked_items=exclude)
            return ids

        return rec

    with threadpool_limits(1, "blas"):
        for label, model in (
            (
                "implicit ALS (defaults)",
                AlternatingLeastSquares(random_state=0, num_threads=THREADS),
            ),
            ("implicit BM25 item-item", BM25Recommender(K=K, num_threads=THREADS)),
            ("implicit cosine item-item", CosineRecommender(K=K, num_threads=THREADS)),
        ):
            model.fit(x, show_progress=False)
            results[label] = hr.score(implicit_rec(model))
            print(
                f"  {label:<46} all={results[label][0]:.3f}  new={results[label][1]:.3f}",
                flush=True,
            )

    models = {
        "rs.Popular()": rs.Popular(),
        "rs.Popular(window_days=90)": rs.Popular(window_days=90),
        "rs.Repurchase()": rs.Repurchase(),
        "rs.BuyAgain() (learned)": rs.BuyAgain(),
        "rs.Repurchase(due_weight=0)": rs.Repurchase(due_weight=0.0),
        "rs.Repurchase(half_life_days=None, due_weight=0)": rs.Repurchase(
            half_life_days=None, due_weight=0.0
        ),
        "rs.ItemKNN() (bm25, defaults)": rs.ItemKNN(num_threads=THREADS),
        "rs.ItemKNN(similarity='cosine')": rs.ItemKNN(similarity="cosine", num_threads=THREADS),
        "rs.ALS() (defaults)": rs.ALS(num_threads=THREADS),
        "rs.BPR() (defaults)": rs.BPR(),
        "rs.RepeatExplore() (learned merge)": rs.RepeatExplore(),
        "rs.RepeatExplore(merge='weights')": rs.RepeatExplore(merge="weights"),
    }
    for label, model in models.items():
        start = time.perf_counter()
        model.fit(hr.inter)
        fit_s = time.perf_counter() - start

        def rec(users, exclude, model=model):
            ids, _ = model.recommend_index(users, 10, exclude_seen=exclude, num_threads=THREADS)
            return ids

        results[label] = hr.score(rec)
        print(
            f"  {label:<46} all={results[label][0]:.3f}  new={results[label][1]:.3f}"
            f"  (fit {fit_s:.1f} s)",
            flush=True,
        )

    evaluate_validation_and_test(purchases)
    print("  reference figures (issue 3, implicit used directly):")
    for label, value in REFERENCE_ALL.items():
        new = REFERENCE_NEW.get(label)
        print(f"    {label:<44} all={value:.3f}" + (f"  new={new:.3f}" if new else ""))
    blend = results["rs.RepeatExplore() (learned merge)"][0]
    repurchase = results["rs.Repurchase()"][0]
    knn = results["rs.ItemKNN() (bm25, defaults)"]
    best_implicit_knn = [max(results[k][i] for k in results if "item-item" in k) for i in (0, 1)]
    print("  targets:")
    beats_issue = "met" if blend > REFERENCE_ALL["repurchase"] else "NOT met"
    beats_ours = "met" if blend > repurchase else "NOT met"
    print(
        f"    blend {blend:.3f} > repurchase 0.840 (issue figure): {beats_issue}; "
        f"> rs.Repurchase {repurchase:.3f} (measured here): {beats_ours}"
    )
    knn_met = knn[0] > best_implicit_knn[0] and knn[1] > best_implicit_knn[1]
    print(
        f"    ItemKNN all {knn[0]:.3f} / new {knn[1]:.3f} vs implicit item-item best "
        f"{best_implicit_knn[0]:.3f} / {best_implicit_knn[1]:.3f}: "
        f"{'met' if knn_met else 'NOT met'}"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("knn", "als", "accuracy", "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="1 repeat, Online Retail only")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="implicit")  # BLAS-threads and COO notices
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print_environment(THREADS)
    repeat = 1 if args.quick else 3
    purchases = online_retail()
    if args.part in ("knn", "all"):
        bench_knn("Online Retail", purchases, repeat)
        if not args.quick:
            tf = shared_purchases("ta_feng")
            if tf is not None:
                bench_knn("Ta-Feng", tf, repeat)
    if args.part in ("als", "all"):
        bench_als(purchases, repeat)
    if args.part in ("accuracy", "all"):
        bench_accuracy(purchases)
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
