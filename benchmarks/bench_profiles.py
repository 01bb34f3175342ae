"""Benchmark of the customer profile builder (issue 4).

1. Churn prediction on Online Retail: profiles as of 2011-09-09, outcome = no
   purchase in [as_of, as_of + 90 days). ROC AUC of ``churn_risk`` next to
   recency alone, frequency alone and BG/NBD P(alive), all measured here, and
   calibration by decile of predicted risk.
2. Speed: build_profiles on the full Online Retail and Ta-Feng tables next to a
   pandas implementation of the same RFM columns (recency, frequency, monetary,
   r/f/m scores, segment), in the same run.
3. Scale: a synthetic purchases Parquet file (default 20M rows) through the
   streaming path, in a child process: wall time and peak RSS.

Usage::

    RECSYS_DATA=/path/to/shared/data python benchmarks/bench_profiles.py [--rows N] [--skip-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import rankdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._common import best_of, peak_rss_mb, print_environment, shared_purchases
from recsys.exceptions import DataWarning
from recsys.profiles.rfm import RFM_SEGMENTS

AS_OF = datetime(2011, 9, 9)
HORIZON = 90


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney ROC AUC with average ranks for ties."""
    ranks = rankdata(score)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def churn_section(purchases: pl.DataFrame) -> dict[str, float]:
    print(f"\n== churn on Online Retail, as_of {AS_OF:%Y-%m-%d}, horizon {HORIZON} days ==")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        profiles = rs.build_profiles(purchases, as_of=AS_OF)
    for w in caught:
        print(f"  warning: {w.message}")
    window = purchases.filter(
        (pl.col("timestamp") >= AS_OF) & (pl.col("timestamp") < AS_OF + timedelta(days=HORIZON))
    )
    churned = (~profiles["user_id"].is_in(window["user_id"].unique().implode())).to_numpy()
    uncal = rs.build_profiles(
        purchases, as_of=AS_OF, config=rs.ProfileConfig(calibrate_churn=False)
    )
    figures = {
        "customers": float(profiles.height),
        "churn_share": float(churned.mean()),
        "auc_churn_risk": roc_auc(profiles["churn_risk"].to_numpy(), churned),
        "auc_uncalibrated_model": roc_auc(uncal["churn_risk"].to_numpy(), churned),
        "auc_p_alive": roc_auc(-profiles["p_alive"].to_numpy(), churned),
        "auc_recency_only": roc_auc(profiles["recency_days"].to_numpy(), churned),
        "auc_frequency_only": roc_auc(-profiles["frequency"].to_numpy(), churned),
        "auc_monetary_only": roc_auc(-profiles["monetary"].to_numpy(), churned),
    }
    for key, value in figures.items():
        print(f"  {key}: {value:.4f}" if key != "customers" else f"  {key}: {int(value)}")
    risk = profiles["churn_risk"].to_numpy()
    order = np.argsort(risk, kind="stable")
    print("  calibration by decile of churn_risk (predicted mean vs observed churn share):")
    for d, idx in enumerate(np.array_split(order, 10), start=1):
        print(
            f"    decile {d:2d}: n={idx.size:4d} predicted={risk[idx].mean():.3f} "
            f"observed={churned[idx].mean():.3f}"
        )
    print(f"  mean predicted {risk.mean():.3f} vs observed {churned.mean():.3f}")
    return figures


def pandas_rfm(frame) -> object:  # pandas DataFrame in, pandas DataFrame out
    """The RFM columns of build_profiles, in plain pandas."""
    import pandas as pd

    as_of = frame["timestamp"].max() + pd.Timedelta(microseconds=1)
    frame = frame.assign(spend=frame["quantity"] * frame["price"])
    if "order_id" not in frame.columns:
        frame = frame.assign(order_id=frame["timestamp"].dt.strftime("%Y-%m-%d"))
    g = frame.groupby("user_id")
    out = pd.DataFrame(
        {
            "last_purchase": g["timestamp"].max(),
            "frequency": g["order_id"].nunique(),
            "monetary": g["spend"].sum(),
        }
    )
    out["recency_days"] = (as_of - out["last_purchase"]) / pd.Timedelta(days=1)
    n = len(out)

    def score(values, higher_is_better: bool):
        worse = (values if higher_is_better else -values).rank(method="min") - 1
        return (1 + (5 * worse // n)).astype("int8")

    out["r_score"] = score(out["recency_days"], False)
    out["f_score"] = score(out["frequency"], True)
    out["m_score"] = score(out["monetary"], True)
    keys = list(zip(out["r_score"], out["f_score"], strict=True))
    out["rfm_segment"] = [RFM_SEGMENTS[(int(r), int(f))] for r, f in keys]
    return out.sort_index()


def speed_section() -> dict[str, float]:
    print("\n== speed: build_profiles vs a pandas RFM implementation (best of 3) ==")
    online_retail, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    tables = {"online_retail": online_retail}
    ta_feng = shared_purchases("ta_feng")
    if ta_feng is not None:
        tables["ta_feng"] = ta_feng
    results: dict[str, float] = {}
    for name, purchases in tables.items():
        pdf = purchases.to_pandas()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            t_full, full = best_of(lambda p=purchases: rs.build_profiles(p))
            t_rfm, _ = best_of(
                lambda p=purchases: rs.build_profiles(p, config=rs.ProfileConfig(churn=False))
            )
            t_table, table = best_of(lambda p=purchases: rs.profiles.rfm_table(p))
        t_pd, ref = best_of(lambda f=pdf: pandas_rfm(f))
        same = np.array_equal(
            full["r_score"].to_numpy(), ref["r_score"].to_numpy()
        ) and np.array_equal(full["m_score"].to_numpy(), ref["m_score"].to_numpy())
        same_table = table.select(table.columns).equals(full.select(table.columns))
        print(
            f"  {name}: rs.profiles.rfm_table (same RFM columns as the pandas peer) "
            f"{t_table:.3f} s | pandas RFM {t_pd:.3f} s | pandas / rfm_table = "
            f"{t_pd / t_table:.1f}x | rfm_table == build_profiles columns: {same_table}"
        )
        print(
            f"  {name}: {purchases.height:,} rows, {full.height:,} customers | "
            f"build_profiles (all columns incl. churn model) {t_full:.3f} s | "
            f"build_profiles without churn {t_rfm:.3f} s | pandas RFM only {t_pd:.3f} s | "
            f"pandas / recsys(no churn) = {t_pd / t_rfm:.1f}x, pandas / recsys(all) = "
            f"{t_pd / t_full:.1f}x | RFM scores identical: {same}"
        )
        results[f"{name}_seconds_all"] = t_full
        results[f"{name}_seconds_no_churn"] = t_rfm
        results[f"{name}_seconds_pandas_rfm"] = t_pd
        results[f"{name}_seconds_rfm_table"] = t_table
    return results


def write_synthetic(path: Path, rows: int, seed: int = 0) -> None:
    """Synthetic canonical purchases: orders of 5 lines, skewed customers, 2 years."""
    rng = np.random.default_rng(seed)
    n_users = max(rows // 20, 10)
    n_items = 50_000
    chunk = 2_000_000
    start = np.datetime64("2022-01-01T00:00:00", "us")
    parts = []
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        for i, lo in enumerate(range(0, rows, chunk)):
            n = min(chunk, rows - lo)
            n_orders = -(-n // 5)
            order_no = lo // 5 + np.arange(n_orders)
            users = (rng.random(n_orders) ** 2 * n_users).astype(np.int64)
            days = rng.random(n_orders) * 730.0
            ts = start + (days * 86_400e6).astype("timedelta64[us]")
            line_order = np.repeat(np.arange(n_orders), 5)[:n]
            frame = pl.DataFrame(
                {
                    "user_id": users[line_order],
                    "item_id": rng.integers(0, n_items, n),
                    "order_id": pl.Series(order_no[line_order]).cast(pl.String),
                    "timestamp": ts[line_order],
                    "quantity": rng.integers(1, 6, n).astype(np.float64),
                    "price": np.round(rng.gamma(2.0, 3.0, n), 2),
                }
            )
            part = Path(tmp) / f"part{i:04d}.parquet"
            frame.write_parquet(part)
            parts.append(part)
            del frame
        pl.scan_parquet(parts).sink_parquet(path)


def scale_child(path: str) -> None:
    """Run in a child process: profile the Parquet file, print wall time and peak RSS."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(path)
    elapsed = time.perf_counter() - start
    print(
        json.dumps({"seconds": elapsed, "peak_rss_mb": peak_rss_mb(), "customers": profiles.height})
    )


def scale_section(rows: int) -> dict[str, float]:
    print(f"\n== scale: synthetic {rows:,}-row purchases Parquet through the streaming path ==")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "purchases.parquet"
        t0 = time.perf_counter()
        write_synthetic(path, rows)
        print(f"  wrote {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
        child = subprocess.run(
            [sys.executable, __file__, "--scale-child", str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  build_profiles: {result['seconds']:.1f} s, {result['customers']:,} customers, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (children max {child_rss:.0f} MB; target < 4096)"
    )
    return {"rows": float(rows), **{k: float(v) for k, v in result.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child:
        scale_child(args.scale_child)
        return
    print_environment()
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    churn_section(purchases)
    speed_section()
    if not args.skip_scale:
        scale_section(args.rows)
    print(f"\npeak RSS of the main process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
