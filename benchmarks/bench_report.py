"""``recsys report`` end to end: wall time, peak memory and headline counts checked.

1. ``recsys demo`` on the bundled UCI Online Retail data (the report's reference run).
2. ``recsys report`` on a synthetic Online-Retail-shaped export made by
   ``bench_data.generate_purchases`` (``--rows``, default 10,000,000; the issue's target
   is < 4 minutes and < 4 GB on 2 cores). Run a smaller ``--rows`` on a shared machine.
3. ``--datasets``: ``recsys report`` on every purchases dataset of the shared data
   folder (``RECSYS_DATA``, default ``../shared/data``) with its preset, and its headline
   counts (customers evaluated, returning / first-time, customers in each file) checked
   against counts computed independently from the cleaned input.

Every run is its own subprocess; its peak RSS is read from ``RUSAGE_CHILDREN``.

Run: ``python benchmarks/bench_report.py [--rows 10000000] [--skip-large] [--datasets]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_environment

WORK = Path(__file__).resolve().parent / "_work"
DATA = Path(os.environ.get("RECSYS_DATA", Path(__file__).resolve().parents[2] / "shared/data"))

#: Purchases datasets of the shared folder and their presets.
DATASETS = {
    "online_retail": ("online_retail/online_retail.csv.gz", "online_retail"),
    "online_retail_ii": (
        "online_retail_ii_2009_2010/online_retail_ii_2009_2010.csv.gz",
        "online_retail_ii",
    ),
    "ta_feng": ("ta_feng/ta_feng_all_months_merged.csv.gz", "ta_feng"),
    "complete_journey": ("completejourney_sample/transactions_sample.csv.gz", "complete_journey"),
}


def run_cli(*argv: str) -> dict[str, Any]:
    """``python -m recsys.cli ARGV`` in a subprocess: wall time, peak RSS, step lines."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "recsys.cli", *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    if proc.returncode != 0:
        raise RuntimeError(f"recsys {' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    steps = [line.strip() for line in proc.stdout.splitlines() if line.strip().endswith(" s")]
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),  # user + sys: less sensitive to a busy shared machine
        # ru_maxrss of children is the largest child so far: exact when it grew
        "peak_mb": round(peak / 1024) if peak > before else None,
        "steps": steps,
    }


def check_counts(out: Path, seed: int = 0) -> dict[str, Any]:
    """Headline counts of a report folder against counts computed from its purchases
    (on the evaluation's customer sample when the page states one, drawn again with
    ``seed`` by the rule of ``recsys.job.run``: the sorted distinct customers before
    ``as_of``, ``Series.sample(n, seed=seed)``)."""
    import polars as pl

    purchases = pl.read_parquet(out / "purchases.parquet")
    meta = pl.read_parquet_metadata(out / "profiles.parquet")
    from datetime import datetime

    as_of = datetime.fromisoformat(meta["as_of"])
    cutoff = datetime.fromisoformat(meta["evaluation_cutoff"])
    horizon = int(meta["evaluation_horizon_days"])
    bought = purchases.filter(pl.col("timestamp") < as_of)
    if "is_return" in bought.columns:  # return rows are kept, flagged: no customer's purchase
        bought = bought.filter(~pl.col("is_return"))
    customers = bought["user_id"].n_unique()
    html = (out / "report.html").read_text()
    # JobConfig.evaluation_customers: the sample drawn again by its stated rule; the largest
    # stated sample (a check drawn within it, such as the items-due check's, is smaller)
    stated = re.finditer(r"of a random sample of ([\d,]+) of the ([\d,]+) customers", html)
    sampled = max(stated, key=lambda m: int(m.group(1).replace(",", "")), default=None)
    if sampled:
        size, total = (int(g.replace(",", "")) for g in sampled.groups())
        assert total == customers, (total, customers)
        chosen = bought["user_id"].unique().sort().sample(size, seed=seed)
        evaluated_on = bought.filter(pl.col("user_id").is_in(chosen.implode()))
    else:
        evaluated_on = bought
    window = evaluated_on.filter(
        pl.col("timestamp") >= cutoff, pl.col("timestamp") < cutoff + timedelta(days=horizon)
    )["user_id"].unique()
    before = evaluated_on.filter(pl.col("timestamp") < cutoff)["user_id"].unique()
    returning = int(window.is_in(before.implode()).sum())
    counts = {
        "customers": customers,
        "sampled": sampled.group(0) if sampled else None,
        "test_customers": window.len(),
        "returning": returning,
        "first_time": window.len() - returning,
    }
    for name in ("profiles", "actions", "recommendations"):
        frame = pl.read_parquet(out / f"{name}.parquet")
        counts[f"{name}_customers"] = frame["user_id"].n_unique()
        assert pl.read_parquet_metadata(out / f"{name}.parquet")["as_of"] == meta["as_of"]
    assert counts["profiles_customers"] == counts["customers"], counts
    assert counts["actions_customers"] == counts["customers"], counts
    metrics = pl.read_csv(out / "metrics.csv")
    if metrics.height:
        overall = metrics.filter(
            (pl.col("segment") == "all")
            & (pl.col("metric") == "hit_rate")
            & (pl.col("mode") == "all")
        )
        assert set(overall["n_users"]) == {counts["test_customers"]}, (overall, counts)
        first = metrics.filter(
            (pl.col("segment") == "first-time")
            & (pl.col("metric") == "hit_rate")
            & (pl.col("mode") == "all")
        )
        if first.height:
            assert set(first["n_users"]) == {counts["first_time"]}, (first, counts)
    said = "all {:,} customers who bought" if sampled else "{:,} customers bought"
    assert said.format(counts["test_customers"]) in html
    assert f"{counts['returning']:,} returning" in html
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="synthetic export size")
    parser.add_argument("--skip-large", action="store_true", help="no synthetic export")
    parser.add_argument("--skip-demo", action="store_true", help="no bundled-data run")
    parser.add_argument("--datasets", action="store_true", help="every shared dataset")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--keep", type=Path, help="write the report folders here (default: a temporary folder)"
    )
    args = parser.parse_args()
    print_environment()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_folder:
        tmp = args.keep or tmp_folder
        if not args.skip_demo:
            out = Path(tmp) / "demo"
            print("\n== recsys demo (bundled Online Retail, 541,909 rows)")
            results["demo"] = run_cli("demo", "--out", str(out), "--bootstrap", str(args.bootstrap))
            results["demo"]["counts"] = check_counts(out)
            print(json.dumps(results["demo"], indent=1))
        if not args.skip_large:
            from bench_data import generate_purchases

            path = WORK / f"purchases_{args.rows}.parquet"
            if not path.exists():
                generate_purchases(path, args.rows)
            out = Path(tmp) / "large"
            print(f"\n== recsys report on a synthetic export, {args.rows:,} lines")
            results["large"] = run_cli(
                "report",
                str(path),
                "--preset",
                "online_retail",
                "--out",
                str(out),
                "--bootstrap",
                str(args.bootstrap),
                "--description",
                "",
            )
            results["large"]["counts"] = check_counts(out)
            print(json.dumps(results["large"], indent=1))
        if args.datasets:
            for name, (file, preset) in DATASETS.items():
                out = Path(tmp) / name
                print(f"\n== recsys report {file} --preset {preset}")
                results[name] = run_cli(
                    "report",
                    str(DATA / file),
                    "--preset",
                    preset,
                    "--out",
                    str(out),
                    "--bootstrap",
                    str(args.bootstrap),
                )
                results[name]["counts"] = check_counts(out)
                print(json.dumps(results[name], indent=1))


if __name__ == "__main__":
    main()
