"""Uplift evaluators: interval coverage, the Open Bandit off-policy check, and speed.

Usage::

    python benchmarks/bench_uplift.py                # full figures (several minutes)
    python benchmarks/bench_uplift.py --quick        # reduced sizes, to check it runs

Figures:

1. Coverage of the 95% interval of the absolute uplift, per method (newcombe, wald, welch,
   bootstrap), at n = 200, 2,000, 20,000 per arm and control rates 2%, 10%, 50% (true
   relative uplift +20%). Newcombe/Wald/Welch are simulated vectorised through the same
   formula functions uplift_table calls; the bootstrap goes through uplift_table itself.
2. Open Bandit: the click rate of the uniform-random policy estimated from the Bernoulli
   Thompson Sampling logs (IPS, SNIPS, DR), against the rate observed in the random logs.
3. Speed: uplift_table on 10M rows x 20 segments (peer: the bare pandas group-by of the
   same sufficient statistics), and a 1,000-resample bootstrap Qini AUC on 1M rows (peer:
   a plain numpy bootstrap, index resampling + a vectorised Qini area, timed on a few
   resamples and scaled to 1,000).
4. Recommendation hits and retention on Online Retail (cutoff 2011-09-09, 90 days) for the
   best recommender of the accuracy benchmark (the default Repurchase, buy-again), overall
   and by lifecycle stage: an association, not a causal effect.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._common import peak_rss_mb, print_environment
from recsys.stats import newcombe_interval, wald_interval, welch, z_value
from recsys.uplift import offpolicy


def coverage(sims: int, boot_sims: int, sizes: list[int], rates: list[float]) -> None:
    print(
        f"\n== 1. coverage of 95% intervals ({sims} experiments per cell; bootstrap "
        f"{boot_sims} experiments x 1,000 resamples through uplift_table)"
    )
    print(
        f"{'n/arm':>7} {'p0':>5} {'p1':>6} {'newcombe':>9} {'wald':>7} {'welch':>7} "
        f"{'bootstrap':>10}"
    )
    rng = np.random.default_rng(2026)
    z = z_value(0.95)
    for n in sizes:
        for p0 in rates:
            p1 = 1.2 * p0
            d = p1 - p0
            x1 = rng.binomial(n, p1, sims)
            x0 = rng.binomial(n, p0, sims)
            nn = np.full(sims, n)
            lo, hi = newcombe_interval(x1, nn, x0, nn, z)
            cov_n = np.mean((lo <= d) & (d <= hi))
            with warnings.catch_warnings():  # Wald's zero-width warning at 0% rates
                warnings.simplefilter("ignore")
                lo, hi = wald_interval(x1, nn, x0, nn, z)
                cov_w = np.mean((lo <= d) & (d <= hi))
                m1, m0 = x1 / n, x0 / n
                v1, v0 = m1 * (1 - m1) * n / (n - 1), m0 * (1 - m0) * n / (n - 1)
                lo, hi, _, _ = welch(m1, v1, nn, m0, v0, nn, 0.95)
                cov_t = np.mean((lo <= d) & (d <= hi))
            hits = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for s in range(boot_sims):
                    frame = pl.DataFrame(
                        {
                            "arm": np.repeat(np.array(["c", "t"]), n),
                            "y": np.concatenate([rng.random(n) < p0, rng.random(n) < p1]).astype(
                                np.int8
                            ),
                        }
                    )
                    r = rs.uplift.uplift_table(
                        frame, "arm", "y", "c", method="bootstrap", bootstrap=1000, seed=s
                    ).row(0, named=True)
                    hits += r["ci_low"] <= d <= r["ci_high"]
            print(
                f"{n:>7} {p0:>5.0%} {p1:>6.1%} {cov_n:>9.3f} {cov_w:>7.3f} {cov_t:>7.3f} "
                f"{hits / boot_sims:>10.3f}",
                flush=True,
            )


def open_bandit() -> None:
    print("\n== 2. Open Bandit: uniform-random policy estimated from the BTS logs")
    for campaign, n_items in (("all", 80), ("men", 34), ("women", 46)):
        try:
            bts = rs.datasets.load_shared(f"open_bandit_bts_{campaign}")
            random_logs = rs.datasets.load_shared(f"open_bandit_random_{campaign}")
        except rs.InputDataError as err:
            print(f"  skipped: {err}")
            return
        observed = float(random_logs["click"].mean())
        clicks = int(random_logs["click"].sum())
        lo, hi = rs.stats.wilson_interval(
            np.array([clicks]), np.array([random_logs.height]), z_value(0.95)
        )
        print(
            f"  [{campaign}, {n_items} items] observed in the random logs: {observed:.4%} "
            f"(Wilson 95% [{lo[0]:.4%}, {hi[0]:.4%}], {clicks} clicks / {random_logs.height}); "
            f"BTS logs' own rate {bts['click'].mean():.4%}"
        )
        uniform = offpolicy.uniform_policy(bts.height, n_items)
        for name, fn in (
            ("IPS", offpolicy.ips),
            ("SNIPS", offpolicy.snips),
            ("DR", offpolicy.doubly_robust),
        ):
            est = fn(bts, uniform)
            inside = "covers" if est.ci_low <= observed <= est.ci_high else "MISSES"
            # the observed rate is itself a sample: test estimate - observed with both errors
            se_est = (est.ci_high - est.ci_low) / (2 * z_value(0.95))
            se_obs = np.sqrt(observed * (1 - observed) / random_logs.height)
            z = (est.value - observed) / np.hypot(se_est, se_obs)
            print(
                f"    {name:5s} {est.value:.4%}  95% [{est.ci_low:.4%}, {est.ci_high:.4%}]  "
                f"{inside} the observed rate; estimate / observed = {est.value / observed:.2f}; "
                f"z(estimate - observed) = {z:+.2f}"
            )


def speed(rows: int, qini_rows: int, resamples: int) -> None:
    print("\n== 3. speed (wall time)")
    rng = np.random.default_rng(0)
    arm = rng.integers(0, 3, rows)
    seg = rng.integers(0, 20, rows)
    y = (rng.random(rows) < 0.1 + 0.01 * arm).astype(np.int8)
    frame = pl.DataFrame(
        {
            "arm": pl.Series(np.array(["control", "email", "push"])[arm]).cast(pl.Categorical),
            "segment": seg,
            "retained": y,
            "pre": rng.gamma(2.0, 5.0, rows),
        }
    )
    results = {}
    for label, kwargs in (
        ("uplift_table, no segments", {}),
        ("uplift_table, by 20 segments", {"by": "segment"}),
        ("uplift_table, by 20 segments + CUPED", {"by": "segment", "covariate": "pre"}),
    ):
        start = time.perf_counter()
        rs.uplift.uplift_table(frame, "arm", "retained", "control", **kwargs)
        results[label] = time.perf_counter() - start
        print(f"  {label} ({rows:,} rows): {results[label]:.2f} s")
    try:
        import pandas as pd  # noqa: F401

        pdf = frame.select("arm", "segment", "retained").to_pandas()
        start = time.perf_counter()
        pdf.groupby(["segment", "arm"], observed=True)["retained"].agg(["count", "sum"])
        peer = time.perf_counter() - start
        ratio = results["uplift_table, by 20 segments"] / peer
        print(
            f"  peer: pandas groupby count+sum by segment x arm: {peer:.2f} s "
            f"(uplift_table / pandas = {ratio:.2f})"
        )
    except ImportError:
        print("  peer: pandas not installed")

    n = qini_rows
    t = rng.integers(0, 2, n).astype(float)
    s = rng.random(n)
    yq = (rng.random(n) < 0.1 + 0.02 * t * s).astype(float)
    rs.uplift.qini_auc(yq[:1000], t[:1000], s[:1000], bootstrap=2)  # JIT warm-up (cached)
    start = time.perf_counter()
    est = rs.uplift.qini_auc(yq, t, s, bootstrap=resamples, seed=0)
    qini_time = time.perf_counter() - start
    print(
        f"  qini_auc with {resamples:,} bootstrap resamples on {n:,} rows: {qini_time:.2f} s "
        f"(value {est.value:.4f}, 95% [{est.ci_low:.4f}, {est.ci_high:.4f}])"
    )

    order = np.argsort(s, kind="mergesort")[::-1]

    def numpy_qini(idx: np.ndarray) -> float:
        # plain numpy: resampled rows keep the score order when indices are sorted by rank
        ranked = np.sort(np.argsort(order)[idx])
        rows_ = order[ranked]
        tt, yy = t[rows_], yq[rows_]
        nt, nc = np.cumsum(tt), np.cumsum(1 - tt)
        q = np.cumsum(yy * tt) - np.cumsum(yy * (1 - tt)) * np.divide(
            nt, nc, out=np.zeros_like(nt), where=nc > 0
        )
        x = np.arange(1, n + 1)
        return float(np.trapezoid(np.r_[0, q], np.r_[0, x]))

    few = 5
    start = time.perf_counter()
    for _ in range(few):
        numpy_qini(rng.integers(0, n, n))
    per = (time.perf_counter() - start) / few
    print(
        f"  peer: plain numpy bootstrap (raw Qini area only): {per:.3f} s per resample -> "
        f"{per * resamples:.1f} s for {resamples:,} (recsys is {per * resamples / qini_time:.1f}x"
        f" faster, and also computes the perfect curve per resample)"
    )
    print(f"  peak RSS: {peak_rss_mb():.0f} MB")


def hits_and_retention(cutoff: str = "2011-09-09", horizon_days: int = 90) -> None:
    print(f"== 4. hit_retention on Online Retail, cutoff {cutoff}, {horizon_days} days")
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    split = rs.evaluation.temporal_split(purchases, cutoff=cutoff, horizon_days=horizon_days)
    model = rs.Repurchase().fit(rs.Interactions.from_purchases(split.train))
    recs = model.recommend(users=split.test["user_id"].unique(), k=10, on_unknown="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        stages = rs.build_profiles(purchases, as_of=cutoff).select("user_id", "lifecycle_stage")
    table = pl.concat(
        [
            rs.uplift.hit_retention(recs, purchases, cutoff, horizon_days),
            rs.uplift.hit_retention(recs, purchases, cutoff, horizon_days, segments=stages).rename(
                {"lifecycle_stage": "segment"}
            ),
        ],
        how="diagonal_relaxed",
    )
    print("  retention after a first order with / without a recommended (Repurchase top-10) item")
    print("  | segment | returned | hit | hit retention | no hit | no-hit retention | difference |")
    print("  |---|---|---|---|---|---|---|")
    for r in table.iter_rows(named=True):
        print(
            f"  | {r['segment']} | {r['n_returned']} | {r['n_hit']} | {r['hit_retention']:.3f} "
            f"| {r['n_no_hit']} | {r['no_hit_retention']:.3f} | {r['difference']:+.3f} "
            f"[{r['difference_ci_low']:+.3f}, {r['difference_ci_high']:+.3f}] |"
        )
    print("  (association, not causal: see rs.uplift.hit_retention)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    import numba

    print_environment(numba.get_num_threads())
    if args.quick:
        coverage(2000, 100, [200, 2000], [0.02, 0.5])
        open_bandit()
        speed(1_000_000, 200_000, 200)
    else:
        coverage(20_000, 1000, [200, 2000, 20_000], [0.02, 0.10, 0.50])
        open_bandit()
        speed(10_000_000, 1_000_000, 1000)
    hits_and_retention()


if __name__ == "__main__":
    main()
