"""The HTML report of ``recsys demo``: one self-contained page a manager can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from recsys.data import columns as C
from recsys.demo.pipeline import DemoConfig, DemoResult
from recsys.report.html import HtmlReport
from recsys.report.plotting import pyplot

__all__ = ["write_demo_report"]


def _pyplot_or_none() -> Any | None:
    try:
        return pyplot()
    except ImportError:
        return None


def _model_comparison_figure(plt: Any, metrics: pl.DataFrame, k: int) -> Any:
    rows = metrics.filter(
        (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("segment") == "all")
    ).sort("model")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for ax, mode, title in zip(axes, ("all", "new"), ("all items", "new items only"), strict=True):
        part = rows.filter(pl.col("mode") == mode)
        y = range(part.height)
        value = part["value"].to_numpy()
        err = [value - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - value]
        ax.barh(list(y), value, xerr=err, color="#5c6bc0", capsize=3)
        ax.set_yticks(list(y), part["model"].to_list())
        ax.set_xlim(0, 1)
        ax.set_title(f"hit rate@{k}, {title}")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _calibration_figure(plt: Any, calibration: pl.DataFrame) -> Any:
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.plot([0, 1], [0, 1], color="#9e9e9e", linestyle="--", label="perfect calibration")
    ax.plot(
        calibration["predicted_churn"],
        calibration["observed_churn"],
        "o-",
        color="#c62828",
        label="deciles of churn risk",
    )
    ax.set_xlabel("predicted churn risk (mean of decile)")
    ax.set_ylabel("observed share with no purchase")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _segment_hit_rates(metrics: pl.DataFrame, k: int) -> pl.DataFrame:
    return (
        metrics.filter(
            (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("mode") == "all")
        )
        .with_columns(
            cell=pl.format(
                "{} [{}, {}]",
                pl.col("value").round(3),
                pl.col("ci_low").round(3),
                pl.col("ci_high").round(3),
            )
        )
        .pivot(on="model", index="segment", values="cell")
        .join(
            metrics.filter(
                pl.col("metric") == "hit_rate", pl.col("mode") == "all", pl.col("k") == k
            )
            .group_by("segment")
            .agg(pl.col("n_users").max()),
            on="segment",
        )
        .sort("segment")
    )


def write_demo_report(result: DemoResult, config: DemoConfig, path: str | Path) -> Path:
    """Write the demo's HTML page (plots need the ``plot`` extra; tables are always there)."""
    plt = _pyplot_or_none()
    k = config.k
    page = HtmlReport(
        f"Customer retention and recommendations: {config.dataset}",
        f"cutoff {config.cutoff}, test window {config.horizon_days} days, k = {k}, "
        f"{config.bootstrap} bootstrap resamples, seed {config.seed}",
    )
    if plt is None:
        page.text(
            "matplotlib is not installed (pip install 'recsys[plot]'): tables only.", note=True
        )

    page.heading("1. Data quality: what cleaning kept and removed")
    page.table(
        result.report.to_frame(), caption="Every input row, accounted for", float_format=".2%"
    )
    page.text(
        f"{result.report.n_users:,} customers, {result.report.n_items:,} items, "
        f"{result.report.n_orders or 0:,} orders; {result.report.exact_duplicates:,} exact "
        "duplicate rows kept; returns and cancellations are kept aside in the cleaning report."
    )

    profiles = result.profiles
    page.heading(f"2. Customers as of {config.cutoff}")
    page.table(
        profiles.group_by("lifecycle_stage")
        .agg(
            customers=pl.len(),
            monetary=pl.col("monetary").sum(),
            churn_risk=pl.col("churn_risk").mean(),
        )
        .with_columns(share=pl.col("customers") / pl.col("customers").sum())
        .sort("customers", descending=True),
        caption="Lifecycle stages (churn_risk: mean probability of no purchase in the horizon)",
    )
    page.table(
        profiles.group_by("rfm_segment")
        .agg(customers=pl.len(), monetary=pl.col("monetary").sum())
        .sort("customers", descending=True),
        caption="RFM segments",
        float_format=",.0f",
    )
    page.table(
        profiles.group_by("tier")
        .agg(customers=pl.len(), monetary=pl.col("monetary").sum())
        .sort("tier"),
        caption="Tiers by spend and frequency",
        float_format=",.0f",
    )
    if plt is not None:
        from recsys.report.profiles import plot_cohort_heatmap, plot_lifecycle, plot_rfm_segments

        for plot, caption in (
            (plot_lifecycle, "Customers per lifecycle stage"),
            (plot_rfm_segments, "Customers per RFM segment"),
        ):
            ax = plot(profiles)
            page.figure(ax.figure, caption=caption)
        ax = plot_cohort_heatmap(result.cohorts, max_periods=12)
        page.figure(
            ax.figure,
            caption="Monthly cohort retention (share of each acquisition cohort buying again)",
        )

    page.heading("3. Churn risk: is it calibrated?")
    page.table(result.calibration, caption="Predicted vs observed churn by decile of churn risk")
    if plt is not None:
        page.figure(
            _calibration_figure(plt, result.calibration), caption="Calibration of churn_risk"
        )

    page.heading(f"4. Recommenders: hit rate@{k} on the test window")
    page.text(
        f"Trained on purchases before {config.cutoff}; tested on the "
        f"{result.split.test[C.USER].n_unique():,} customers who bought in the next "
        f"{config.horizon_days} days. Hit rate = share of those customers with at least one "
        "purchased item among their top-k. Intervals: percentile "
        "bootstrap over customers. 'new' counts only items the customer had not bought before."
    )
    overall = result.metrics.filter(pl.col("segment") == "all").select(
        "model", "mode", "metric", "k", "value", "ci_low", "ci_high", "n_users"
    )
    page.table(
        overall.sort("metric", "mode", "model"), caption="Overall metrics with 95% intervals"
    )
    if plt is not None:
        page.figure(
            _model_comparison_figure(plt, result.metrics, k), caption="Hit rate with 95% intervals"
        )
    page.table(
        _segment_hit_rates(result.metrics, k),
        caption=f"Hit rate@{k} (all items) per lifecycle stage",
    )

    page.heading("5. Do customers who buy the recommendations come back?")
    page.text(
        "This is an association, not a causal effect: customers who buy recommended items are "
        "more engaged to begin with, and nobody was randomized. Measure the effect of showing "
        "recommendations with a randomized holdout and rs.uplift.uplift_table.",
        note=True,
    )
    page.table(
        result.hit_retention.select(
            "segment",
            "n_returned",
            "n_hit",
            "hit_retention",
            "n_no_hit",
            "no_hit_retention",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "p_value",
        ),
        caption=f"Retention after a first order with / without a {result.best_model} item",
    )

    page.heading("6. Recommendations")
    page.text(
        f"{result.recommendations.height:,} recommendations for "
        f"{result.recommendations[C.USER].n_unique():,} customers from {result.best_model}, "
        "refitted on all purchases; the first rows:"
    )
    page.table(result.recommendations.head(20), float_format=".4f")
    return page.write(path)
