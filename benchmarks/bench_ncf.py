"""The NCF protocol on MovieLens-100K: EASE, ALS (defaults and tuned), BPR, ItemKNN, Popular.

Usage::

    RECSYS_DATA=/work/shared/data python benchmarks/bench_ncf.py            # ~3-5 min
    RECSYS_DATA=/work/shared/data python benchmarks/bench_ncf.py --quick    # small grids
    python benchmarks/bench_ncf.py --section memory --section online_retail

Sections:

1. ``ncf``: He et al. (2017)'s protocol: each user's last rating (by time) is held out,
   ranked among 99 items the user never rated (sampled with a fixed seed): HR@10 and
   NDCG@10 with 95% bootstrap intervals (and the full-ranking figures beside them: the
   sampled metrics are biased, Krichene & Rendle 2020). Every choice is made on a
   validation split carved from training (each user's second-to-last rating held out,
   `Split.validation`) with `recsys.evaluation.tune` (grid, full-ranking NDCG@10); the test
   ratings are looked at once, for the final figures. MovieLens is read in place from
   the shared data folder and never copied.
2. ``memory``: EASE's memory per catalogue size: the formula ``12 n_items²`` bytes
   (`recsys.models.ease.ease_bytes`) and the peak measured with tracemalloc (numpy
   reports its buffers to it) at three catalogue sizes.
3. ``online_retail``: fit and recommend times (and HR@10, full ranking) of EASE and ALS on
   Online Retail (train before 2011-09-09, the next 90 days as test), both tuned on the
   temporal validation split.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._common import print_environment
from recsys.exceptions import InputDataError
from recsys.models.ease import ease_bytes

SECTIONS = ("ncf", "memory", "online_retail")
EASE_GRID = [50.0, 100.0, 200.0, 300.0, 500.0, 800.0, 1200.0]
# Rendle et al. (2021)'s levers that implicit's ALS exposes: many factors, the weight of
# unobserved items (here 1 / (1 + weight_scale) of an observed one), the L2 penalty.
ALS_GRID = {
    "factors": [64, 128, 192, 256],
    "regularization": [1.0, 5.0, 20.0, 50.0],
    "weight_scale": [0.3, 1.0, 3.0, 10.0],
    "iterations": [16],
}
ALS_TRIALS = 24


def _ratings() -> pl.DataFrame:
    raw = rs.datasets.load_shared("movielens_100k")
    return raw.select(
        "user_id", "item_id", pl.from_epoch("timestamp", time_unit="s").alias("timestamp")
    )


def _tune(name: str, model, space, split, n_trials=None):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = rs.evaluation.tune(
        model, space, split, metric="ndcg", k=10, n_trials=n_trials, seed=0, bootstrap=0,
        show_progress=False,
    )  # fmt: skip
    print(
        f"- {name}: {len(result.table)} trials in {time.perf_counter() - t0:.0f} s; best "
        f"{result.best_params} (validation NDCG@10 full ranking {result.best_value:.4f})"
    )
    return result


def _timed_fit(model, inter):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    model.fit(inter)
    return model, time.perf_counter() - t0


def section_ncf(quick: bool, bootstrap: int) -> None:
    print("\n## 1. NCF protocol on MovieLens-100K (leave-last-out, 99 sampled negatives)")
    try:
        ratings = _ratings()
    except InputDataError as err:
        print(f"skipped: {err}")
        return
    split = rs.evaluation.leave_last_out(ratings)
    print(f"{split!r}; validation: {split.validation()!r}")
    print("\n### Choices on the validation split (rs.evaluation.tune, grid, full-ranking NDCG@10)")
    ease_grid = EASE_GRID[::2] if quick else EASE_GRID
    ease = _tune("EASE l2", rs.EASE(), {"l2": ease_grid}, split)
    als_trials = 6 if quick else ALS_TRIALS
    als = _tune("ALS", rs.ALS(random_state=0), ALS_GRID, split, n_trials=als_trials)
    print("\nALS trials (validation NDCG@10, best first):")
    print(
        als.table.select("factors", "regularization", "weight_scale", "value", "fit_seconds").head(
            8
        )
    )
    models = {
        f"EASE(l2={ease.best_params['l2']:g})": rs.EASE(**ease.best_params),
        "ALS() defaults": rs.ALS(),
        "ALS tuned": rs.ALS(random_state=0, **als.best_params),
        "BPR() defaults": rs.BPR(),
        "ItemKNN() defaults": rs.ItemKNN(),
        "Popular()": rs.Popular(),
    }
    inter = rs.Interactions.from_purchases(split.train)
    fit_s, rec_s = {}, {}
    users = split.test_users
    for name, model in models.items():
        _, fit_s[name] = _timed_fit(model, inter)
        t0 = time.perf_counter()
        model.recommend(users, k=10)
        rec_s[name] = time.perf_counter() - t0
    tables = {}
    for protocol, label in ((rs.evaluation.SampledNegatives(n=99, seed=0), "sampled"),
                            (None, "full")):  # fmt: skip
        tables[label] = rs.evaluate(
            models, split, k=[10], metrics=["hit_rate", "ndcg"], modes=["all"],
            bootstrap=bootstrap, seed=0, show_progress=False, protocol=protocol,
        ).table  # fmt: skip
    print(f"\n### Test: {users.len()} users, 95% bootstrap intervals ({bootstrap} resamples)")
    print(
        "| model | HR@10 (99 neg.) | NDCG@10 (99 neg.) | HR@10 full | NDCG@10 full | "
        "fit s | recommend s (all test users, k=10) |"
    )
    print("|---|---|---|---|---|---:|---:|")
    for name in models:
        cells = []
        for label in ("sampled", "full"):
            for metric in ("hit_rate", "ndcg"):
                r = tables[label].filter(model=name, metric=metric).row(0, named=True)
                cells.append(f"{r['value']:.4f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        print(f"| {name} | " + " | ".join(cells) + f" | {fit_s[name]:.2f} | {rec_s[name]:.2f} |")


def _synthetic(n_users: int, n_items: int, per_user: int, seed: int) -> rs.Interactions:
    rng = np.random.default_rng(seed)
    popularity = rng.zipf(1.3, n_items).astype(np.float64)
    p = popularity / popularity.sum()
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.choice(n_items, size=rows.size, p=p)
    cols[:n_items] = np.arange(n_items)  # every item bought at least once
    frame = pl.DataFrame({"user_id": rows, "item_id": cols})
    return rs.Interactions.from_frame(frame)


def section_memory(quick: bool) -> None:
    print("\n## 2. EASE memory per catalogue size")
    print(
        "| n_items | formula 12 n² (fit peak) | 4 n² (kept) | measured peak (tracemalloc) | fit s |"
    )
    print("|---:|---:|---:|---:|---:|")
    sizes = [1_000, 2_000] if quick else [1_000, 2_000, 4_000]
    for n in sizes:
        inter = _synthetic(max(5_000, 3 * n), n, 20, seed=n)
        tracemalloc.start()
        t0 = time.perf_counter()
        rs.EASE(l2=200.0).fit(inter)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"| {n:,} | {ease_bytes(n) / 2**20:,.1f} MiB | {4 * n * n / 2**20:,.1f} MiB | "
            f"{peak / 2**20:,.1f} MiB | {seconds:.2f} |"
        )
    for n in (10_000, 18_000, 50_000):
        print(f"| {n:,} | {ease_bytes(n) / 2**30:,.2f} GiB | {4 * n * n / 2**30:,.2f} GiB | "
              "(formula only) | |")  # fmt: skip
    try:
        rs.EASE().fit(_synthetic(1_000, 18_001, 20, seed=0))
    except InputDataError as err:
        print(f"\nabove max_items (default 18,000): InputDataError: {err}")


def section_online_retail(quick: bool) -> None:
    print("\n## 3. Online Retail: EASE and ALS tuned on the temporal validation split")
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
    print(f"{split!r}")
    ease = _tune("EASE l2", rs.EASE(), {"l2": EASE_GRID[::2] if quick else EASE_GRID}, split)
    small = {key: values[:2] if quick else values for key, values in ALS_GRID.items()}
    als = _tune("ALS", rs.ALS(random_state=0), small, split, n_trials=6 if quick else 12)
    inter = rs.Interactions.from_purchases(split.train)
    models = {
        f"EASE(l2={ease.best_params['l2']:g})": rs.EASE(**ease.best_params),
        "ALS() defaults": rs.ALS(),
        "ALS tuned": rs.ALS(random_state=0, **als.best_params),
        "Repurchase()": rs.Repurchase(),
    }
    times = {}
    for name, model in models.items():
        _, fit = _timed_fit(model, inter)
        t0 = time.perf_counter()
        model.recommend(split.test_users, k=10)
        times[name] = (fit, time.perf_counter() - t0)
    table = rs.evaluate(
        models, split, k=[10], metrics=["hit_rate"], modes=["all", "new"], bootstrap=200,
        seed=0, show_progress=False,
    ).table  # fmt: skip
    print(
        f"\n| model | HR@10 all | HR@10 new | fit s | recommend s ({split.test_users.len()} users) |"  # noqa: E501
    )
    print("|---|---|---|---:|---:|")
    for name in models:
        cells = []
        for mode in ("all", "new"):
            r = table.filter(model=name, mode=mode).row(0, named=True)
            cells.append(f"{r['value']:.4f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        print(
            f"| {name} | " + " | ".join(cells) + f" | {times[name][0]:.2f} | {times[name][1]:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--section", action="append", choices=SECTIONS)
    args = parser.parse_args()
    print_environment(threads=None)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        for section in args.section or SECTIONS:
            if section == "ncf":
                section_ncf(args.quick, args.bootstrap)
            elif section == "memory":
                section_memory(args.quick)
            else:
                section_online_retail(args.quick)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
