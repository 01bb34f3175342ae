"""Accuracy of every recsys recommender beside implicit's, on honest splits, with bootstrap CIs.

Usage: python benchmarks/bench_accuracy.py [--quick] [--bootstrap N] [--skip-tuning]

Sections
1. Online Retail, temporal split at 2011-09-09, 90-day test window: HR@10, NDCG@10,
   recall@10 with 95% CIs over "all items" and "new items only", for rs.ALS, rs.BPR,
   rs.ItemKNN, rs.Popular, rs.Repurchase, rs.RepeatExplore (default parameters) and
   implicit's AlternatingLeastSquares, BayesianPersonalizedRanking, CosineRecommender,
   BM25Recommender (default parameters, used directly through a thin adapter); then the
   best recsys models tuned on the validation split (never the test window).
2. Ta-Feng, cutoff 2001-02-01, test to the end of the data.
3. MovieLens 100K (shared data, read in place), leave-last-out, full ranking and 99
   sampled negatives (the sampled protocol is biased: Krichene & Rendle 2020).
   ``--only buy_again``: buy-again candidates chosen on the validation split, the
   chosen one tested against rs.Repurchase with a paired bootstrap interval.
4. Online Retail per lifecycle stage (profiles as of the cutoff).
5. Speed: rs.evaluate on 100k users at k=10 with 1,000 bootstrap resamples, against a
   plain numpy index-resampling bootstrap of the same per-user values (the peer).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import evaluate_at_10, print_environment, shared_purchases

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError

METRICS = ["hit_rate", "ndcg", "recall"]


class ImplicitAdapter:
    """implicit used directly (its own fit/recommend), with the recsys recommend() frame out."""

    default_exclude_seen = True

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def fit(self, interactions: rs.Interactions) -> ImplicitAdapter:
        self.users_, self.items_ = interactions.users, interactions.items
        self.user_items_ = sp.csr_matrix(interactions.matrix, dtype=np.float32)
        self.model_ = self.factory()
        self.model_.fit(self.user_items_, show_progress=False)
        return self

    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = True,
        candidates: Any = None,
        on_unknown: str = "raise",
    ) -> pl.DataFrame:
        ids = self.users_.ids if users is None else pl.Series("user_id", users)
        index = self.users_.to_index(ids, on_unknown="minus_one")
        keep = index >= 0
        index, ids = index[keep], ids.filter(pl.Series(keep))
        items = None if candidates is None else self.items_.to_index(candidates)
        k = min(k, len(self.items_) if items is None else len(items))
        top, scores = self.model_.recommend(
            index,
            self.user_items_[index],
            N=k,
            filter_already_liked_items=exclude_seen is not False,
            items=items,
        )
        top, scores = np.atleast_2d(top), np.atleast_2d(scores)
        valid = (top >= 0) & np.isfinite(scores)
        rows = np.repeat(np.arange(len(index)), top.shape[1]).reshape(top.shape)
        ranks = np.cumsum(valid, axis=1)
        return pl.DataFrame(
            {
                "user_id": ids.gather(rows[valid]),
                "item_id": pl.Series(self.items_.to_ids(top[valid])),
                "score": scores[valid].astype(np.float32),
                "rank": ranks[valid].astype(np.int64),
            }
        )


def recsys_models() -> dict[str, Any]:
    return {
        "rs.ALS": rs.ALS(),
        "rs.BPR": rs.BPR(),
        "rs.ItemKNN": rs.ItemKNN(),
        "rs.Popular": rs.Popular(),
        "rs.Repurchase": rs.Repurchase(),
        "rs.BuyAgain": rs.BuyAgain(),
        "rs.RepeatExplore": rs.RepeatExplore(),
        "rs.Blend": rs.Blend(),
    }


def implicit_models() -> dict[str, Any]:
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    return {
        "implicit.ALS": ImplicitAdapter(lambda: AlternatingLeastSquares(random_state=0)),
        "implicit.BPR": ImplicitAdapter(lambda: BayesianPersonalizedRanking(random_state=0)),
        "implicit.Cosine": ImplicitAdapter(CosineRecommender),
        "implicit.BM25": ImplicitAdapter(BM25Recommender),
    }


def fit_all(models: dict[str, Any], train: pl.DataFrame) -> dict[str, float]:
    inter = rs.Interactions.from_purchases(train)
    seconds = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(inter)
        seconds[name] = time.perf_counter() - start
    return seconds


def show(table: pl.DataFrame, title: str, fit_seconds: dict[str, float] | None = None) -> None:
    """One line per model: metric@10 [CI] for each mode."""
    print(f"\n### {title}")
    head = "| model | " + " | ".join(f"{m}@10 {mode}" for mode in ("all", "new") for m in METRICS)
    print(head + (" | fit s |" if fit_seconds else " |"))
    print("|" + "---|" * (2 + 2 * len(METRICS) - (0 if fit_seconds else 1)))
    for model in table["model"].unique(maintain_order=True).to_list():
        cells = []
        for mode in ("all", "new"):
            for metric in METRICS:
                row = table.filter(model=model, mode=mode, metric=metric, k=10, segment="all")
                if row.height == 0 or row["value"][0] is None:
                    cells.append("-")
                    continue
                r = row.row(0, named=True)
                ci = f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if r["ci_low"] is not None else ""
                cells.append(f"{r['value']:.3f}{ci}")
        fit = f" | {fit_seconds.get(model, float('nan')):.1f}" if fit_seconds else ""
        print(f"| {model} | " + " | ".join(cells) + fit + " |")
    n_all = table.filter(mode="all", segment="all")["n_users"].max()
    n_new = table.filter(mode="new", segment="all")["n_users"].max()
    print(f"(test users: {n_all} all items, {n_new} with new items)")


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a Markdown table (for RESULTS.md)."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def best(table: pl.DataFrame, mode: str, prefix: str = "rs.") -> tuple[str, float]:
    rows = table.filter(
        pl.col("model").str.starts_with(prefix), mode=mode, metric="hit_rate", k=10, segment="all"
    ).sort("value", descending=True)
    return rows["model"][0], rows["value"][0]


def fit_and_evaluate(
    split: Any, args: argparse.Namespace
) -> tuple[rs.evaluation.EvaluationResults, dict[str, float]]:
    """Fit every recsys and implicit model on the training purchases; evaluate at k=10."""
    models = {**recsys_models(), **implicit_models()}
    seconds = fit_all(models, split.train)
    return evaluate_at_10(models, split, metrics=METRICS, bootstrap=args.bootstrap), seconds


def online_retail(args: argparse.Namespace) -> None:
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
    print(f"\n## Online Retail: {split!r}; left out: {split.info}")
    table, seconds = fit_and_evaluate(split, args)
    show(
        table.table,
        "Online Retail, default parameters (exclude_seen = each model's default)",
        seconds,
    )
    for mode, target in (("all", 0.86), ("new", 0.52)):
        name, value = best(table.table, mode)
        print(
            f"best recsys model, {mode} items: {name} HR@10 = {value:.3f} (target >= {target}): "
            f"{'met' if value >= target else 'NOT met'}"
        )
    peer = "implicit.ALS"
    for mode in ("all", "new"):
        name, _ = best(table.table, mode)
        diff = rs.evaluation.compare(table, name, peer).filter(mode=mode, metric="hit_rate")
        r = diff.row(0, named=True)
        print(
            f"paired difference {name} - {peer}, HR@10 {mode}: {r['difference']:+.3f} "
            f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        )
    if not args.skip_tuning:
        tuned(split, args)
    profiles = rs.build_profiles(split.train, as_of=split.cutoff)
    stage_models = recsys_models() | {"implicit.ALS": implicit_models()["implicit.ALS"]}
    fit_all(stage_models, split.train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        per_stage = evaluate_at_10(
            stage_models,
            split,
            metrics=["hit_rate"],
            bootstrap=args.bootstrap,
            by="lifecycle_stage",
            segments=profiles,
        ).table
    print("\n### Online Retail HR@10 per lifecycle stage (as of the cutoff), value [95% CI]")
    cells = per_stage.with_columns(
        cell=pl.format(
            "{} [{}, {}]", *(pl.col(c).round(3) for c in ("value", "ci_low", "ci_high"))
        ),
        column=pl.format("{} ({})", "segment", "n_users"),
    )
    for mode in ("all", "new"):
        print(f"\nmode = {mode}")
        wide = cells.filter(pl.col("mode") == mode).pivot(on="column", index="model", values="cell")
        print(markdown_table(wide))


def tuned(split: rs.evaluation.Split, args: argparse.Namespace) -> None:
    print(
        "\n### Online Retail, tuned on the validation split "
        f"(cutoff {split.validation().cutoff}, same 90-day window length)"
    )
    searches = {
        "rs.Repurchase": (
            rs.Repurchase(),
            {"half_life_days": [None, 60.0, 240.0], "count_power": [0.5, 1.0]},
            "all",
        ),
        "rs.RepeatExplore": (
            rs.RepeatExplore(),
            {"regularization": [1.0, 30.0], "depth": [50, 100]},
            "all",
        ),
        "rs.ALS": (
            rs.ALS(),
            {"factors": [64, 128], "regularization": [0.05, 0.5]},
            "new",
        ),
    }
    models = {}
    for name, (factory, space, mode) in searches.items():
        start = time.perf_counter()
        result = rs.evaluation.tune(
            factory,
            space,
            split,
            metric="hit_rate",
            k=10,
            mode=mode,
            bootstrap=0,
            show_progress=False,
            exclude_seen=None,
        )
        print(
            f"{name}: best on validation ({mode} items) {result.best_params} "
            f"HR@10 = {result.best_value:.3f} ({result.table.height} trials, "
            f"{time.perf_counter() - start:.0f} s)"
        )
        models[f"{name} tuned"] = factory.clone().set_params(**result.best_params)
    fit_all(models, split.train)
    table = evaluate_at_10(models, split, metrics=METRICS, bootstrap=args.bootstrap).table
    show(table, "Online Retail, tuned parameters, test window")


def ta_feng(args: argparse.Namespace) -> None:
    purchases = shared_purchases("ta_feng")
    if purchases is None:
        return
    split = rs.evaluation.temporal_split(purchases, "2001-02-01")
    print(f"\n## Ta-Feng: {split!r}; left out: {split.info}")
    table, seconds = fit_and_evaluate(split, args)
    show(table.table, "Ta-Feng, default parameters", seconds)


def movielens(args: argparse.Namespace) -> None:
    try:
        raw = rs.datasets.load_shared("movielens_100k")
    except InputDataError as err:
        print(f"\n(MovieLens 100K skipped: {err})")
        return
    ratings = raw.select(
        "user_id", "item_id", pl.from_epoch("timestamp", time_unit="s").alias("timestamp")
    )
    split = rs.evaluation.leave_last_out(ratings)
    print(f"\n## MovieLens 100K: {split!r}")
    models = {**recsys_models(), **implicit_models()}
    del models["rs.Repurchase"], models["rs.RepeatExplore"]  # nobody re-rates a movie
    seconds = fit_all(models, split.train)
    options = {"metrics": ["hit_rate", "ndcg"], "modes": ["all"], "bootstrap": args.bootstrap}
    full = evaluate_at_10(models, split, **options).table
    sampled = evaluate_at_10(
        models, split, **options, protocol=rs.evaluation.SampledNegatives(n=99, seed=0)
    ).table
    print("\n### MovieLens 100K leave-last-out: full ranking vs 99 sampled negatives")
    print("| model | HR@10 full | NDCG@10 full | HR@10 sampled-99 | NDCG@10 sampled-99 | fit s |")
    print("|---|---|---|---|---|---|")
    for model in models:
        cells = []
        for table in (full, sampled):
            for metric in ("hit_rate", "ndcg"):
                r = table.filter(model=model, metric=metric).row(0, named=True)
                cells.append(f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        print(f"| {model} | " + " | ".join(cells) + f" | {seconds[model]:.1f} |")


class _Fixed:
    def __init__(self, recs: pl.DataFrame) -> None:
        self.recs = recs

    def recommend(self, users: Any = None, k: int = 10, **_: Any) -> pl.DataFrame:
        return self.recs


def speed(args: argparse.Namespace) -> None:
    n_users, n_items, k = 100_000, 5_000, 10
    rng = np.random.default_rng(0)
    users = np.arange(n_users)
    # test: 1-8 items per user from a skewed catalogue; recommendations: 10 distinct items
    n_truth = rng.integers(1, 9, size=n_users)
    truth_items = np.minimum(rng.zipf(1.3, size=n_truth.sum()), n_items) - 1
    test = pl.DataFrame(
        {"user_id": np.repeat(users, n_truth), "item_id": truth_items}
    ).with_columns(pl.lit(datetime(2020, 2, 1)).alias("timestamp"))
    train = pl.DataFrame(
        {"user_id": users, "item_id": rng.integers(0, n_items, n_users)}
    ).with_columns(pl.lit(datetime(2020, 1, 1)).alias("timestamp"))
    rec_items = np.argsort(rng.random((n_users, 200)), axis=1)[:, :k]  # distinct per user
    recs = pl.DataFrame(
        {
            "user_id": np.repeat(users, k),
            "item_id": rec_items.ravel().astype(np.int64),
            "score": np.zeros(n_users * k, dtype=np.float32),
            "rank": np.tile(np.arange(1, k + 1), n_users),
        }
    )
    split = rs.evaluation.Split(train, test, datetime(2020, 2, 1), "temporal_split")
    model = {"fixed": _Fixed(recs)}

    def run(metrics: list[str], modes: list[str]) -> float:
        start = time.perf_counter()
        rs.evaluate(
            model, split, k=[k], metrics=metrics, modes=modes, bootstrap=1000, show_progress=False
        )
        return time.perf_counter() - start

    run(["hit_rate"], ["all"])  # JIT warm-up (cached on disk after the first run)
    t_hr = min(run(["hit_rate"], ["all"]) for _ in range(3))
    t_acc = min(run(list(rs.evaluation.ACCURACY_METRICS), ["all"]) for _ in range(2))
    t_full = min(run(list(rs.evaluation.METRICS), ["all", "new"]) for _ in range(2))

    values = rng.random(n_users) < 0.3
    start = time.perf_counter()
    rs.stats.bootstrap_ci(values.astype(np.float64), 1000, seed=0)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    gen = np.random.default_rng(0)
    means = np.empty(1000)
    for r in range(1000):  # the peer: plain numpy index resampling
        means[r] = values[gen.integers(0, n_users, n_users)].mean()
    np.quantile(means, [0.025, 0.975])
    t_peer = time.perf_counter() - start
    print(f"\n## Speed: rs.evaluate, {n_users:,} users, k={k}, 1,000 bootstrap resamples")
    print(f"  HR@10 (all items): {t_hr:.2f} s (target < 2 s: {'met' if t_hr < 2 else 'NOT met'})")
    print(f"  6 accuracy metrics (all items): {t_acc:.2f} s")
    print(f"  all 8 metrics x 2 modes: {t_full:.2f} s")
    print(
        f"  bootstrap CI of one metric: recsys {t_ours:.3f} s vs numpy index-resampling loop "
        f"{t_peer:.3f} s (ratio {t_peer / t_ours:.1f}x)"
    )


def buy_again_variants() -> dict[str, Any]:
    """The candidates of issue 22 item 4 (a blend above Repurchase on Online Retail, all items)."""
    return {
        "rs.Repurchase": rs.Repurchase(),
        "rs.BuyAgain": rs.BuyAgain(),
        "BuyAgain(label_days=30)": rs.BuyAgain(label_days=30.0),
        "BuyAgain(label_days=90)": rs.BuyAgain(label_days=90.0),
        "BuyAgain(trend_window_days=30)": rs.BuyAgain(trend_window_days=30.0),
        "BuyAgain(regularization=0.01)": rs.BuyAgain(regularization=0.01),
        "BuyAgain(regularization=100)": rs.BuyAgain(regularization=100.0),
        # The list re-ordered so that items bought together share one slot (second round).
        **{
            f"BuyAgain(trend_window_days=30, diversity={d})": rs.BuyAgain(
                trend_window_days=30.0, diversity=d
            )
            for d in (0.3, 0.6, 1.0)
        },
        "RepeatExplore()": rs.RepeatExplore(),
        "RepeatExplore(repeat=BuyAgain, explore=ItemKNN)": rs.RepeatExplore(
            repeat=rs.BuyAgain(), explore=rs.ItemKNN()
        ),
        "BuyAgain + Popular(30 d) tail": rs.RepeatExplore(
            repeat=rs.BuyAgain(),
            explore=rs.Popular(window_days=30),
            merge="weights",
            weight=0.99,
        ),
    }


def buy_again(args: argparse.Namespace) -> None:
    """Pick the best buy-again ranking on the validation split, then test it against Repurchase.

    Validation: ``split.validation()`` (train < 2011-06-11, the next 90 days); the
    test window is read only for the chosen model, Repurchase and the defaults.
    HR@10 over all items (``exclude_seen=False``); new items with ``exclude_seen=True``.
    """
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
    rows: list[dict[str, Any]] = []
    chosen = "rs.BuyAgain"
    for name, part in (("validation", split.validation()), ("test", split)):
        models = buy_again_variants()
        if name == "test":
            keep = dict.fromkeys(["rs.Repurchase", "rs.BuyAgain", "RepeatExplore()", chosen])
            models = {m: models[m] for m in keep}
        fit_all(models, part.train)
        for mode, exclude in (("all", False), ("new", True)):
            results = rs.evaluate(
                models,
                part,
                k=[10],
                metrics=["hit_rate"],
                exclude_seen=exclude,
                modes=[mode],
                bootstrap=args.bootstrap,
                seed=0,
                show_progress=False,
            )
            for model in models:
                value = results.table.filter(model=model)["value"][0]
                diff = rs.evaluation.compare(results, model, "rs.Repurchase").row(0, named=True)
                rows.append(
                    {
                        "window": name,
                        "model": model,
                        "mode": mode,
                        "hr@10": round(value, 3),
                        "vs Repurchase": round(diff["difference"], 3),
                        "ci_low": None if diff["ci_low"] is None else round(diff["ci_low"], 3),
                        "ci_high": None if diff["ci_high"] is None else round(diff["ci_high"], 3),
                    }
                )
        if name == "validation":
            scored = pl.DataFrame(rows).filter(mode="all", window="validation")
            chosen = scored.sort(["hr@10", "model"], descending=[True, False])["model"][0]
            print(f"chosen on validation: {chosen}")
    print("\n### Buy-again candidates: HR@10, paired difference to Repurchase (95% CI)")
    print(markdown_table(pl.DataFrame(rows)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 resamples, no tuning")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--skip-tuning", action="store_true")
    parser.add_argument(
        "--only",
        choices=["online_retail", "buy_again", "ta_feng", "movielens", "speed"],
        default=None,
    )
    args = parser.parse_args()
    if args.quick:
        args.bootstrap, args.skip_tuning = 200, True
    print_environment()
    warnings.simplefilter("ignore", DataWarning)  # lists shorter than k etc. are expected here
    sections = {
        "online_retail": online_retail,
        "buy_again": buy_again,
        "ta_feng": ta_feng,
        "movielens": movielens,
        "speed": speed,
    }
    for name, section in sections.items():
        if args.only in (None, name):
            start = time.perf_counter()
            section(args)
            print(f"({name}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
