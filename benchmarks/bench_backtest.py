"""Every prediction against its naive rule on Online Retail, at rolling origins (issue 22).

Usage::

    python benchmarks/bench_backtest.py                 # ~2-4 min on 2 busy cores
    python benchmarks/bench_backtest.py --quick         # 2 origins, 200 resamples
    python benchmarks/bench_backtest.py --recommender repeat_explore --plots /tmp/bt
    RECSYS_DATA=/work/shared/data python benchmarks/bench_backtest.py --dataset ta_feng

Runs `rs.evaluation.backtest` on the bundled Online Retail table (the same data as
``/work/shared/data/online_retail``) with origins 2011-06-01, 2011-07-01, 2011-08-01 and
2011-09-09:

1. churn (90 days), CLV (90 days), next basket (90 days, k = 10) at every origin, with
   `rs.profiles.LearnedChurn` and `rs.profiles.LearnedCLV` in rows of their own next to
   the profile's ``churn_risk`` (BG/NBD-based) and ``clv``;
2. CLV over the next 6 months (183 days) as of 2011-06-01 (the issue's first row);
3. items due over 30 days at every origin (the issue's row uses 30 days).

``--dataset`` runs the same on another shared dataset (Online Retail II, Ta-Feng, the
Complete Journey sample) with its own origins and window (`DATASETS`); the 6-month CLV
row is Online Retail's only. ``online_retail_2y`` is the same shop's two-year history:
Online Retail II's purchases before 2010-12-01 followed by Online Retail's (the two
files overlap on 2010-12-01..09 with identical rows), at Online Retail's origins.
``--only churn`` (or ``clv``, ...) runs one prediction of item 1 and skips the rest.
Whenever CLV is scored, a headroom table (`benchmarks._clv_headroom`) shows why a CLV rank
does or does not beat past spend on top-decile capture: two oracles at each origin, and
with ``--clv-ceiling`` the in-sample ceiling of the learned models' features;
``--clv-items`` also scores the research candidate ``ItemGrowthCLV`` (past spend times the
growth the customer's items foretold at earlier origins) with its own paired intervals.

Every row prints the model's value, the naive rule's, the paired difference and its 95%
interval (customer-level bootstrap clustered by customer, 1,000 resamples), then the
verdict sentence the main job words its claims from.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._clv_headroom import ItemGrowthCLV, clv_headroom, print_clv_headroom
from benchmarks._common import peak_rss_mb, print_environment
from recsys.models import registry

ORIGINS = ["2011-06-01", "2011-07-01", "2011-08-01", "2011-09-09"]
#: Other shared datasets (read in place): origins and the window each allows.
DATASETS = {
    "online_retail": (ORIGINS, 90),
    "online_retail_ii": (["2010-06-01", "2010-07-01", "2010-08-01", "2010-09-09"], 90),
    "ta_feng": (["2001-01-01", "2001-01-15", "2001-02-01"], 28),
    "complete_journey": (["2017-06-01", "2017-07-01", "2017-08-01", "2017-09-01"], 90),
    "online_retail_2y": (ORIGINS, 90),
}


def _purchases(dataset: str) -> pl.DataFrame:
    if dataset == "online_retail":
        return rs.clean_purchases(rs.datasets.online_retail(), preset=dataset)[0]
    if dataset == "online_retail_2y":
        later = _purchases("online_retail")
        earlier = _purchases("online_retail_ii")
        earlier = earlier.filter(pl.col("timestamp") < later["timestamp"].min())
        return pl.concat([earlier, later.cast(earlier.schema)])
    return rs.clean_purchases(rs.datasets.load_shared(dataset), preset=dataset)[0]


def _print_table(table: pl.DataFrame, title: str) -> None:
    print(f"\n### {title}")
    print("| prediction | metric | origin | model | naive | value | naive | diff | 95% CI | n |")
    print("|---|---|---|---|---|---:|---:|---:|---|---:|")
    for r in table.iter_rows(named=True):
        origin = f"**{r['origin']}**" if r["origin"] == "all" else r["origin"]
        print(
            f"| {r['prediction']} | {r['metric']} | {origin} | {r['model']} | {r['naive']} | "
            f"{r['value']:.4f} | {r['naive_value']:.4f} | {r['diff']:+.4f} | "
            f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] | {r['n']:,} |"
        )


def _print_calibration(result: rs.evaluation.Backtest) -> None:
    """Predicted - observed churn by decile of each model's risk, at every origin."""
    print("\n### Churn reliability: predicted - observed churn by decile of the risk")
    print("| origin | model | decile 1 .. 10 (lowest risk first) | mean | max abs |")
    print("|---|---|---|---:|---:|")
    gaps = result.calibration.with_columns(gap=pl.col("predicted_churn") - pl.col("observed_churn"))
    for (origin, model), part in gaps.group_by("origin", "model", maintain_order=True):
        g = part.sort("decile")["gap"]
        mean = float((part["gap"] * part["customers"]).sum() / part["customers"].sum())
        cells = " ".join(f"{v:+.2f}" for v in g)
        print(f"| {origin} | {model} | {cells} | {mean:+.3f} | {float(g.abs().max()):.3f} |")


def _verdicts(result: rs.evaluation.Backtest, predictions: list[str]) -> None:
    for name in predictions:
        print(f"- {name}: {result.verdict(name)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 origins, 200 resamples")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--recommender", default="buyagain", choices=registry.names())
    parser.add_argument("--plots", type=Path, help="folder for calibration and holdout PNGs")
    parser.add_argument("--dataset", default="online_retail", choices=list(DATASETS))
    parser.add_argument("--only", choices=["churn", "clv", "next_basket"], help="one prediction")
    parser.add_argument(
        "--clv-ceiling",
        action="store_true",
        help="add the in-sample ceiling of the learned features to the CLV headroom table",
    )
    parser.add_argument(
        "--clv-items",
        action="store_true",
        help="also score the research candidate ItemGrowthCLV (benchmarks/_clv_headroom.py)",
    )
    args = parser.parse_args()
    all_origins, horizon = DATASETS[args.dataset]
    origins = all_origins[-2:] if args.quick else all_origins
    bootstrap = 200 if args.quick else args.bootstrap
    print_environment(threads=None)
    print(
        f"{args.dataset}: origins {origins}, {horizon}-day windows; bootstrap {bootstrap}; "
        f"recommender {args.recommender}"
    )
    start = time.perf_counter()
    purchases = _purchases(args.dataset)
    predictions = [args.only] if args.only else ["churn", "clv", "next_basket"]
    recommender = registry.get(args.recommender)()
    times: dict[str, float] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", rs.DataWarning)
        t0 = time.perf_counter()
        main_run = rs.evaluation.backtest(
            purchases,
            origins,
            predictions=predictions,
            horizon_days=horizon,
            recommender=recommender,
            churn_model=rs.profiles.LearnedChurn(),
            clv_model=rs.profiles.LearnedCLV(),
            bootstrap=bootstrap,
            seed=0,
        )
        times[f"{' + '.join(predictions)}, {horizon} days"] = time.perf_counter() - t0
        clv6 = due = None
        if args.dataset == "online_retail" and args.only is None:
            t0 = time.perf_counter()
            clv6 = rs.evaluation.backtest(
                purchases, ["2011-06-01"], predictions=["clv"], horizon_days=183,
                clv_model=rs.profiles.LearnedCLV(), bootstrap=bootstrap, seed=0,
            )  # fmt: skip
            times["clv, 183 days"] = time.perf_counter() - t0
        if args.only is None:
            t0 = time.perf_counter()
            due = rs.evaluation.backtest(
                purchases,
                origins,
                predictions=["due"],
                horizon_days=min(30, horizon),
                bootstrap=bootstrap,
                seed=0,
            )
            times[f"due, {min(30, horizon)} days"] = time.perf_counter() - t0
    _print_table(main_run.table, f"{', '.join(predictions)}, {horizon}-day windows")
    if clv6 is not None:
        _print_table(clv6.table, "CLV over the next 6 months (183 days) as of 2011-06-01")
    if due is not None:
        _print_table(due.table, f"Items due, {min(30, horizon)}-day windows")
    print("\n### Verdicts (the pooled 'all' rows, headline metric)")
    _verdicts(main_run, predictions)
    if "churn" in predictions:
        print(f"- churn (LearnedChurn): {main_run.verdict('churn', model='LearnedChurn')}")
        brier = main_run.verdict("churn", "brier", "LearnedChurn")
        print(f"- churn Brier (LearnedChurn): {brier}")
    if "clv" in predictions:
        print(f"- clv (LearnedCLV): {main_run.verdict('clv', model='LearnedCLV')}")
        capture = main_run.verdict("clv", "top_decile_capture", "LearnedCLV")
        print(f"- clv capture (LearnedCLV): {capture}")
    if clv6 is not None:
        for model in ("clv", "LearnedCLV"):
            print(f"- clv (183 days, {model}): {clv6.verdict('clv', model=model)}")
            capture = clv6.verdict("clv", "top_decile_capture", model)
            print(f"- clv (183 days, {model}), top-decile capture: {capture}")
    if "clv" in predictions:
        t0 = time.perf_counter()
        ceiling = purchases if args.clv_ceiling else None
        print_clv_headroom(clv_headroom(main_run.units["clv"], ceiling, horizon))
        times["clv headroom"] = time.perf_counter() - t0
    if "clv" in predictions and args.clv_items:
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # the main run's data warnings, listed below
            warnings.simplefilter("ignore", rs.DataWarning)
            items = rs.evaluation.backtest(
                purchases, origins, predictions=["clv"], horizon_days=horizon,
                clv_model=ItemGrowthCLV(), bootstrap=bootstrap, seed=0,
            )  # fmt: skip
        times["clv, ItemGrowthCLV"] = time.perf_counter() - t0
        _print_table(
            items.table.filter(pl.col("model") == "ItemGrowthCLV"),
            f"CLV research candidate ItemGrowthCLV, {horizon}-day windows",
        )
        for metric in ("spearman", "top_decile_capture"):
            print(
                f"- clv {metric} (ItemGrowthCLV): {items.verdict('clv', metric, 'ItemGrowthCLV')}"
            )
    if due is not None:
        print(f"- due: {due.verdict('due')}")
        print(f"- due, Brier: {due.verdict('due', 'brier')}")
    if "churn" in predictions:
        _print_calibration(main_run)
    print(f"\n### Holdout: mean orders in the {horizon}-day window by orders before the origin")
    print("| origin | orders before | customers | actual | predicted (BG/NBD) |")
    print("|---|---:|---:|---:|---:|")
    for r in main_run.holdout.iter_rows(named=True):
        print(
            f"| {r['origin']} | {r['frequency']} | {r['customers']} | {r['actual']:.3f} | "
            f"{r['predicted']:.3f} |"
        )
    if args.plots is not None:
        import matplotlib

        matplotlib.use("Agg")
        from recsys.evaluation.backtest_plots import plot_calibration, plot_holdout

        args.plots.mkdir(parents=True, exist_ok=True)
        plot_calibration(main_run).figure.savefig(args.plots / "calibration.png", dpi=100)
        learned = plot_calibration(main_run, model="LearnedChurn")
        learned.figure.savefig(args.plots / "calibration_learned.png", dpi=100)
        plot_holdout(main_run).figure.savefig(args.plots / "holdout.png", dpi=100)
        print(f"\nplots written to {args.plots}")
    print("\n### Warnings")
    for message in sorted({str(w.message)[:160] for w in caught}):
        print(f"- {message}")
    print("\n### Time")
    for label, seconds in times.items():
        print(f"- {label}: {seconds:.1f} s")
    print(f"- total {time.perf_counter() - start:.1f} s; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
