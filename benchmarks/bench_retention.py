"""Retention campaign figures: Gamma-Gamma and CLV, items due, the sequential readout.

Usage::

    python benchmarks/bench_retention.py              # every section (a few minutes)
    python benchmarks/bench_retention.py --quick      # reduced sizes, to check it runs
    python benchmarks/bench_retention.py --section clv --section due

Sections:

1. ``recovery``: Gamma-Gamma parameters recovered from data simulated with three known
   parameter sets (relative errors).
2. ``lifetimes``: Gamma-Gamma on Online Retail (repeat buyers, all data) against
   ``lifetimes``' GammaGammaFitter on the same inputs (skipped with a message when
   ``lifetimes`` is not installed; it is not a dependency of recsys).
3. ``clv``: out of time on Online Retail: CLV as of 2011-06-01 (6-month horizon, no
   discount) against the spend actually observed in [2011-06-01, 2011-12-01): Spearman
   correlation and top-decile capture, against past spend (the naive ranking).
4. ``due``: items due again, out of time, on Online Retail (as of 2011-09-09) and Ta-Feng
   (as of 2001-02-01), 30- and 28-day horizons: Brier score and a reliability table of
   ``p_within_horizon`` against the item's base rate (share of the item's earlier pairs
   bought again in the previous window of the same length), and the median absolute
   error in days of ``due_date`` among pairs bought again, against "last purchase + the
   item's median interval".
5. ``sequential``: share of simulated null experiments (30 daily looks) in which the
   always-valid readout ever declares an effect, beside a daily fixed-sample z-test; and
   under a real effect, power and the mean day of detection.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._common import print_environment, shared_purchases
from recsys.profiles.gammagamma import clv
from tests.uplift._simulate import simulate_peeking

SECTIONS = ("recovery", "lifetimes", "clv", "due", "sequential")


def section_recovery(quick: bool) -> None:
    print("\n## 1. Gamma-Gamma parameter recovery (simulated)")
    n = 5000 if quick else 20000
    print(f"n = {n} customers, x ~ U{{1..7}} repeat orders, seeds 0-2")
    print("| p, q, gamma (true) | fitted p, q, gamma | relative errors | mean spend error |")
    print("|---|---|---|---|")
    for params in [(6.0, 4.0, 15.0), (2.0, 10.0, 50.0), (12.0, 3.0, 5.0)]:
        errs = []
        for seed in range(1 if quick else 3):
            rng = np.random.default_rng(seed)
            x = rng.integers(1, 8, size=n)
            nu = rng.gamma(params[1], 1.0 / params[2], size=n)
            z = rng.gamma(params[0] * x, 1.0 / (nu * x))
            gg = rs.profiles.GammaGamma().fit(x, z)
            fitted = np.array([gg.params_["p"], gg.params_["q"], gg.params_["gamma"]])
            rel = fitted / np.array(params) - 1.0
            true_mean = params[0] * params[2] / (params[1] - 1.0)
            errs.append((fitted, rel, gg.mean_spend() / true_mean - 1.0))
        fitted, rel, mean_err = errs[0]
        worst = np.max(np.abs([e[1] for e in errs]), axis=0)
        print(
            f"| {params} | {', '.join(f'{v:.3f}' for v in fitted)} (seed 0) | "
            f"{', '.join(f'{v:+.1%}' for v in rel)} (seed 0; max |err| over seeds "
            f"{', '.join(f'{v:.1%}' for v in worst)}) | {mean_err:+.2%} |"
        )


def _summary(purchases: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """frequency (repeat orders), recency, T (days) and mean repeat-order value per customer."""
    orders = (
        purchases.filter(pl.col("timestamp") < as_of)
        .group_by("user_id", "order_id")
        .agg(pl.col("timestamp").min().alias("t"), (pl.col("quantity") * pl.col("price")).sum())
        .rename({"quantity": "spend"})
        .sort("user_id", "t", "order_id")  # ties in time: a fixed first order
    )
    day = 86_400_000_000
    return (
        orders.group_by("user_id", maintain_order=True)
        .agg(
            (pl.len() - 1).alias("frequency"),
            ((pl.col("t").max() - pl.col("t").min()).dt.total_microseconds() / day).alias(
                "recency"
            ),
            ((pl.lit(as_of) - pl.col("t").min()).dt.total_microseconds() / day).alias("T"),
            pl.col("spend").slice(1).mean().fill_null(0.0).alias("mean_spend"),
            pl.col("spend").sum().alias("past_spend"),
        )
        .with_columns(pl.col("frequency").cast(pl.Float64))
    )


def section_lifetimes(purchases: pl.DataFrame) -> None:
    print("\n## 2. Gamma-Gamma against lifetimes on Online Retail")
    try:
        import lifetimes
    except ImportError:
        print("skipped: lifetimes is not installed (pip install lifetimes to compare)")
        return
    summary = _summary(purchases, datetime(2011, 12, 10))
    rep = summary.filter((pl.col("frequency") > 0) & (pl.col("mean_spend") > 0))
    x, z = rep["frequency"].to_numpy(), rep["mean_spend"].to_numpy()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gg = rs.profiles.GammaGamma().fit(x, z)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ggf = lifetimes.GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(rep["frequency"].to_pandas(), rep["mean_spend"].to_pandas())
    t_lt = time.perf_counter() - t0
    ours = gg.params_
    theirs = {"p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"]}
    print(
        f"{rep.height} repeat buyers (all data; orders = invoices; "
        f"lifetimes {lifetimes.__version__})"
    )
    print("| parameter | recsys | lifetimes | relative difference |")
    print("|---|---:|---:|---:|")
    for k in ("p", "q", "gamma"):
        print(f"| {k} | {ours[k]:.5g} | {theirs[k]:.5g} | {ours[k] / theirs[k] - 1:+.3%} |")
    ll_lt = float(
        np.sum(
            rs.profiles.gammagamma_log_likelihood((theirs["p"], theirs["q"], theirs["gamma"]), x, z)
        )
    )
    print(f"log-likelihood: recsys {gg.log_likelihood_:.3f}, lifetimes' parameters {ll_lt:.3f}")
    ours_spend = gg.conditional_expected_spend(x, z)
    theirs_spend = ggf.conditional_expected_average_profit(
        rep["frequency"].to_pandas(), rep["mean_spend"].to_pandas()
    ).to_numpy()
    print(
        f"conditional expected spend: max relative difference "
        f"{np.max(np.abs(ours_spend / theirs_spend - 1)):.3%}"
    )
    print(f"fit time: recsys {t_ours:.2f} s, lifetimes {t_lt:.2f} s")
    print(f"frequency-spend Pearson r among repeat buyers: {gg.frequency_spend_correlation_:.3f}")
    for w in caught:
        print(f"warning: {w.message}")


def section_clv(purchases: pl.DataFrame) -> None:
    print("\n## 3. Out-of-time CLV on Online Retail (as of 2011-06-01, next 6 months)")
    as_of = datetime(2011, 6, 1)
    end = datetime(2011, 12, 1)
    summary = _summary(purchases, as_of)
    x = summary["frequency"].to_numpy()
    t_x, T = summary["recency"].to_numpy(), summary["T"].to_numpy()
    z = summary["mean_spend"].to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bg = rs.profiles.BGNBD().fit(x, t_x, T)
        gg = rs.profiles.GammaGamma().fit(np.where(z > 0, x, 0.0), z)
    for w in caught:
        print(f"warning: {w.message}")
    value = clv(bg, gg, x, t_x, T, np.where(z > 0, z, 0.0), horizon_days=183, discount_monthly=0.0)
    orders = bg.conditional_expected_purchases(183, x, t_x, T)
    per_order = gg.conditional_expected_spend(np.where(z > 0, x, 0.0), z)
    aov = summary["past_spend"].to_numpy() / (x + 1.0)
    future = (
        purchases.filter((pl.col("timestamp") >= as_of) & (pl.col("timestamp") < end))
        .group_by("user_id")
        .agg((pl.col("quantity") * pl.col("price")).sum().alias("future"))
    )
    frame = (
        summary.with_columns(pl.Series("clv", value))
        .join(future, on="user_id", how="left", maintain_order="left")
        .with_columns(pl.col("future").fill_null(0.0))
    )
    # the same through build_profiles (its own order definition and CLV columns)
    config = rs.ProfileConfig(clv_horizon_days=183, clv_discount_monthly=0.0, churn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        profiles = rs.build_profiles(purchases, as_of=as_of, config=config)
    prof = (
        profiles.select("user_id", "clv", "monetary")
        .join(future, on="user_id", how="left", maintain_order="left")
        .with_columns(pl.col("future").fill_null(0.0))
    )

    def capture(score: np.ndarray, actual: np.ndarray) -> float:
        top = np.argsort(-score, kind="stable")[: max(1, len(score) // 10)]
        return float(actual[top].sum() / actual.sum())

    actual = frame["future"].to_numpy()
    print(
        f"{frame.height} customers with an order before 2011-06-01; "
        f"{(actual > 0).mean():.1%} bought in the next 6 months"
    )
    print("| ranking | Spearman with future spend | top-decile capture of future spend |")
    print("|---|---:|---:|")
    rows = [
        ("CLV (BG/NBD x Gamma-Gamma, 183 days)", frame["clv"].to_numpy(), actual),
        ("past spend (naive)", frame["past_spend"].to_numpy(), actual),
        ("build_profiles clv column", prof["clv"].to_numpy(), prof["future"].to_numpy()),
        ("build_profiles monetary (naive)", prof["monetary"].to_numpy(), prof["future"].to_numpy()),
        # diagnostics: which factor ranks
        ("BG/NBD expected orders alone", orders, actual),
        ("Gamma-Gamma expected order value alone", per_order, actual),
        (
            "expected orders x observed mean order value (first order included)",
            orders * aov,
            actual,
        ),
    ]
    for name, score, truth in rows:
        rho = stats.spearmanr(score, truth).statistic
        print(f"| {name} | {rho:.3f} | {capture(score, truth):.1%} |")
    predicted, observed = float(value.sum()), float(actual.sum())
    print(
        f"total predicted spend {predicted:,.0f} vs observed {observed:,.0f} "
        f"(ratio {predicted / observed:.2f})"
    )


def _due_eval(name: str, purchases: pl.DataFrame, as_of: datetime, horizon: int) -> None:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        due = rs.due_items(purchases, as_of=as_of, horizon_days=horizon)
    elapsed = time.perf_counter() - t0
    end = as_of + timedelta(days=horizon)
    nxt = (
        purchases.filter((pl.col("timestamp") >= as_of) & (pl.col("timestamp") < end))
        .group_by("user_id", "item_id")
        .agg(pl.col("timestamp").min().alias("next"))
    )
    # naive forecasts from data before as_of only
    cut = as_of - timedelta(days=horizon)
    before = purchases.filter(pl.col("timestamp") < as_of)
    pairs_c = before.filter(pl.col("timestamp") < cut).select("user_id", "item_id").unique()
    again_c = (
        before.filter(pl.col("timestamp") >= cut)
        .select("user_id", "item_id")
        .unique()
        .with_columns(pl.lit(1.0).alias("_y"))
    )
    base = (
        pairs_c.join(again_c, on=["user_id", "item_id"], how="left")
        .group_by("item_id")
        .agg(pl.col("_y").fill_null(0.0).mean().alias("base_rate"), pl.len().alias("_nb"))
    )
    overall = float(
        base.select((pl.col("base_rate") * pl.col("_nb")).sum() / pl.col("_nb").sum()).item()
    )
    days = (
        before.select("user_id", "item_id", pl.col("timestamp").dt.date().alias("d"))
        .unique()
        .sort("user_id", "item_id", "d")
        .with_columns(pl.col("d").diff().over("user_id", "item_id").dt.total_days().alias("gap"))
    )
    med = days.group_by("item_id").agg(pl.col("gap").median().alias("item_median"))
    global_med = float(days["gap"].median() or 30.0)
    frame = (
        due.join(nxt, on=["user_id", "item_id"], how="left", maintain_order="left")
        .join(base, on="item_id", how="left", maintain_order="left")
        .join(med, on="item_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("next").is_not_null().cast(pl.Float64).alias("y"),
            pl.col("base_rate").fill_null(overall),
            pl.col("item_median").fill_null(global_med),
        )
    )
    y = frame["y"].to_numpy()
    p = frame["p_within_horizon"].to_numpy()
    b = frame["base_rate"].to_numpy()
    brier, brier_b = np.mean((p - y) ** 2), np.mean((b - y) ** 2)
    brier_c = np.mean((y.mean() - y) ** 2)
    print(f"\n### {name}: as of {as_of:%Y-%m-%d}, horizon {horizon} days")
    print(
        f"{frame.height:,} (customer, item) pairs, {y.mean():.2%} bought again in the horizon; "
        f"due_items took {elapsed:.1f} s"
    )
    for w in caught:
        print(f"warning: {w.message}")
    print("| forecast | Brier | Brier skill vs constant |")
    print("|---|---:|---:|")
    print(f"| p_within_horizon | {brier:.5f} | {1 - brier / brier_c:+.3f} |")
    print(f"| item base rate (naive) | {brier_b:.5f} | {1 - brier_b / brier_c:+.3f} |")
    print(f"| constant (observed share, in hindsight) | {brier_c:.5f} | 0 |")
    deciles = np.minimum((stats.rankdata(p, method="ordinal") - 1) * 10 // len(p), 9)
    print("\nreliability by decile of p_within_horizon (and of the naive base rate):")
    print("| decile | mean p | observed | n | mean base rate (its decile) | observed |")
    print("|---:|---:|---:|---:|---:|---:|")
    deciles_b = np.minimum((stats.rankdata(b, method="ordinal") - 1) * 10 // len(b), 9)
    for d in range(10):
        m, mb = deciles == d, deciles_b == d
        print(
            f"| {d + 1} | {p[m].mean():.4f} | {y[m].mean():.4f} | {m.sum():,} | "
            f"{b[mb].mean():.4f} | {y[mb].mean():.4f} |"
        )
    bought = frame.filter(pl.col("y") == 1.0)
    us = 86_400_000_000
    err = (bought["next"] - bought["due_date"]).dt.total_microseconds().abs().to_numpy() / us
    naive_due = bought["last_purchase"] + pl.duration(
        microseconds=(bought["item_median"] * us).cast(pl.Int64)
    )
    err_naive = (
        bought["next"] - bought.select(naive_due).to_series()
    ).dt.total_microseconds().abs().to_numpy() / us
    print(
        f"\ntiming among the {bought.height:,} pairs bought again: median |next purchase - "
        f"due_date| = {np.median(err):.1f} days (mean {err.mean():.1f}); naive last + item "
        f"median interval: {np.median(err_naive):.1f} days (mean {err_naive.mean():.1f})"
    )
    signed = (bought["next"] - bought["due_date"]).dt.total_microseconds().to_numpy() / us
    overdue = float((bought["due_date"] < as_of).mean())
    print(
        f"of the pairs bought again, {overdue:.0%} were overdue at as_of (due_date before it); "
        f"median signed error next - due_date = {np.median(signed):+.1f} days"
    )


def section_due(purchases: pl.DataFrame, quick: bool) -> None:
    print("\n## 4. Items due again, out of time")
    _due_eval("Online Retail", purchases, datetime(2011, 9, 9), 30)
    if quick:
        return
    ta_feng = shared_purchases("ta_feng")
    if ta_feng is None:
        return
    _due_eval("Ta-Feng", ta_feng, datetime(2001, 2, 1), 28)


def section_sequential(quick: bool) -> None:
    print("\n## 5. Sequential readout: 30 daily looks, alpha = 0.05, tau = 0.05")
    runs = 500 if quick else 5000
    per_day = 200
    print(
        f"{runs} simulated experiments per row; {per_day} units per arm per day; "
        "control retention 20%"
    )
    print(
        "| true effect | always-valid CS: ever rejects | daily z-test: ever rejects | "
        "mean detection day (CS, among detected) |"
    )
    print("|---:|---:|---:|---:|")
    for effect in (0.0, 0.01, 0.02, 0.05):
        ever_cs, ever_z, first = simulate_peeking(runs, 30, per_day, 0.2, 0.2 + effect, seed=100)
        se = np.sqrt(ever_cs.mean() * (1 - ever_cs.mean()) / runs)
        day = f"{np.nanmean(first):.1f}" if np.any(ever_cs) else "-"
        print(
            f"| {effect:+.2f} | {ever_cs.mean():.2%} (se {se:.2%}) | {ever_z.mean():.2%} | {day} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--section", action="append", choices=SECTIONS)
    args = parser.parse_args()
    sections = args.section or list(SECTIONS)
    print_environment(threads=None)
    start = time.perf_counter()
    purchases = None
    if {"lifetimes", "clv", "due"} & set(sections):
        purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    if "recovery" in sections:
        section_recovery(args.quick)
    if "lifetimes" in sections:
        section_lifetimes(purchases)
    if "clv" in sections:
        section_clv(purchases)
    if "due" in sections:
        section_due(purchases, args.quick)
    if "sequential" in sections:
        section_sequential(args.quick)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
