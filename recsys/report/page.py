"""The HTML page of ``recsys report`` and ``recsys demo``: one self-contained page that
renders a `recsys.job.JobResult` and computes nothing.

The first section is the shop's regime and the decisions: each card is a claim of
`recsys.job.claims` with its evidence and the warnings that concern it; the detail
sections follow. The page is rendered from ``templates/report.html.j2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from recsys.data import columns as C
from recsys.job.regime import FIRST_SEEN
from recsys.report.cards import (
    CARD_ORDER,
    card,
    card_headline,
    due_table,
    item_names,
    winback_table,
)
from recsys.report.format import (
    Table,
    count,
    interval,
    money,
    number,
    percent,
    sort_natural,
)
from recsys.report.html import HtmlReport
from recsys.report.plotting import matplotlib_warnings_logged, pyplot
from recsys.report.quality import quality_section

if TYPE_CHECKING:
    from recsys.job import JobResult

__all__ = ["plots_available", "write_page"]


def plots_available() -> bool:
    """Whether matplotlib can be imported (the report says loudly when it cannot)."""
    try:
        pyplot()
    except ImportError:
        return False
    return True


def _customers_section(page: HtmlReport, result: JobResult, plt: Any) -> None:
    cur = result.config.currency
    profiles = result.profiles
    page.heading(f"Customers as of {result.as_of:%Y-%m-%d}")
    # each group's values sorted before the sum: a float sum in group_by's row order
    # depends on the threads (13,558,920.49 or .50 on the same 10M-line profiles)
    spend = [pl.col("monetary").sort().sum()] if "monetary" in profiles.columns else []
    score, about = _churn_score(result)
    risk = [pl.col(score).sort().mean().alias("churn_score")] if score is not None else []
    stages = sort_natural(
        profiles.group_by("lifecycle_stage")
        .agg(pl.len().alias("customers"), *spend, *risk)
        .with_columns(share=pl.col("customers") / pl.col("customers").sum()),
        "lifecycle_stage",
    ).select(
        "lifecycle_stage",
        "customers",
        "share",
        *(["monetary"] if spend else []),
        *(["churn_score"] if risk else []),
    )
    money_fmt = {"monetary": lambda v: money(v, cur)}
    chance = result.claims["churn"].licensed
    page.table(
        Table.from_frame(
            stages,
            caption="One row per lifecycle stage, from newest to lost: how many customers and "
            f"what they spent so far; {about}." + _new_caveat(result),
            formats={**money_fmt, "share": percent, "churn_score": percent if chance else number},
            labels={"churn_score": "mean churn risk" if chance else "mean churn score"},
        )
    )
    rfm = sort_natural(
        profiles.group_by("rfm_segment").agg(pl.len().alias("customers"), *spend),
        "rfm_segment",
    ).with_columns(pl.col("rfm_segment").str.replace_all("_", " "))
    page.table(
        Table.from_frame(
            rfm,
            caption="RFM segments from best (champions) to lost, by recency and frequency "
            "scores: customers and spend to date.",
            formats=money_fmt,
        )
    )
    if plt is not None:
        from recsys.report.profiles import plot_cohort_heatmap, plot_lifecycle, plot_rfm_segments

        page.figure(
            plot_rfm_segments(profiles).figure,
            caption="Customers by recency (rows) and frequency (columns) score, with the RFM "
            "segment of each cell: darker = more customers.",
        )
        page.figure(plot_lifecycle(profiles).figure, caption="Customers per lifecycle stage.")
        if result.cohorts.height:
            page.figure(
                plot_cohort_heatmap(result.cohorts, max_periods=12).figure,
                caption="Monthly cohort retention: each row is the customers whose first "
                "purchase fell in that month; each cell the share of them who bought again "
                "that many months later.",
            )


def _new_caveat(result: JobResult) -> str:
    """The lifecycle table's caveat where the file's history is short (`Regime.short_history`):
    'new' (and the onboard action) means first seen in the file's last days; "" otherwise."""
    regime = result.regime
    if not regime.short_history:
        return ""
    days = result.profiles.select(pl.col("tenure_days").max()).item()
    return (
        " 'new' = first seen in the file's last days (the onboard action list is these "
        f"customers), which in a file that starts only {days:.0f} days before "
        f"{result.as_of:%Y-%m-%d} does not make them new. {regime.history_caveat}"
    )


def _churn_score(result: JobResult) -> tuple[str | None, str]:
    """(the profiles' column of the deployed churn score, or None; what its mean per
    stage is): the churn card's ``ranked_by``, a chance only where the card licenses it
    as a probability; a naive rule's order has no mean to show."""
    from recsys.job.decisions import CHURN_RULES

    claim = result.claims["churn"]
    by = claim.evidence.get("ranked_by", "")
    name = claim.evidence.get("model_name", "BG/NBD")
    horizon = result.config.horizon_days
    if by in CHURN_RULES:
        return None, (
            f"no churn chance is shown: churn is ranked by the naive rule, {CHURN_RULES[by][1]} "
            "(see the churn card)"
        )
    if not by or by not in result.profiles.columns:
        return None, "no churn score is deployed"
    if claim.licensed:
        return by, (
            f"mean churn risk is {name}'s mean chance of no purchase in the next {horizon} "
            f"days ({by}, licensed as a probability by the churn card)"
        )
    return by, (
        f"mean churn score is the mean of {name}'s churn risk ({by}), which ranks who leaves "
        "but is not a probability (see the churn card): a score, not a chance"
    )


def _churn_section(page: HtmlReport, result: JobResult, plt: Any) -> None:
    claim = result.claims["churn"]
    page.heading("Churn risk and customer value against the naive rules")
    page.text(claim.text, note=not claim.licensed)
    value = result.claims["value"]
    page.text(value.text, note=not value.licensed)
    if result.backtest is not None:
        from recsys.job.learned import MODEL_NAMES

        rows = result.backtest.table.filter(pl.col("origin") == "all").select(
            "prediction",
            pl.col("model").replace(MODEL_NAMES),
            "metric",
            "naive",
            "value",
            "naive_value",
            pl.struct("diff", "ci_low", "ci_high")
            .map_elements(_difference, return_dtype=pl.String)
            .alias("difference"),
            "n",
        )
        page.table(
            Table.from_frame(
                rows.with_columns(pl.col("metric", "naive").str.replace_all("_", " ")),
                caption=f"Customers as of {result.cutoff:%Y-%m-%d}, scored on the next "
                f"{result.config.horizon_days} days: each prediction (as the decisions use "
                "it; model: BG/NBD's and the learned model's, the latter the candidate where "
                "it could be fitted) next to the naive rule it replaces on the same customers "
                "(frequency: fewest orders first, then longest since the last order, the order the "
                "decisions rank by it; AUC and Spearman: higher is better; Brier: lower), the "
                "difference and its paired 95% interval (customers resampled).",
                formats={"n": count},
                labels={"naive": "naive rule", "naive_value": "rule's value", "n": "customers"},
            )
        )
    churn = result.churn
    if churn is None or churn.calibration.height == 0:
        return
    page.table(
        Table.from_frame(
            churn.calibration,
            caption=f"Customers as of {result.cutoff:%Y-%m-%d} in ten equal groups by "
            f"{claim.evidence.get('model_name', 'BG/NBD')}'s churn risk (1 = lowest): "
            "predicted churn is the mean churn risk of the group, observed churn the share "
            f"that bought nothing in the next {churn.horizon_days} days.",
            formats={"predicted_churn": percent, "observed_churn": percent},
        )
    )
    if plt is not None:
        fig, ax = plt.subplots(figsize=(4.6, 4))
        ax.plot([0, 1], [0, 1], color="#9e9e9e", linestyle="--", label="perfect calibration")
        ax.plot(
            churn.calibration["predicted_churn"],
            churn.calibration["observed_churn"],
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
        page.figure(
            fig,
            caption=f"Predicted vs observed churn per decile of "
            f"{claim.evidence.get('model_name', 'BG/NBD')}'s churn risk.",
        )


def _difference(r: dict[str, Any]) -> str:
    return interval(r["diff"], r["ci_low"], r["ci_high"], signed=True)


def _cell(r: dict[str, Any]) -> str:
    return interval(r["value"], r["ci_low"], r["ci_high"]) if r["value"] is not None else "n/a"


def _models_section(page: HtmlReport, result: JobResult, plt: Any) -> None:
    k = result.config.k
    page.heading(f"Recommenders: hit rate@{k} on the test window")
    page.text(result.claims["evaluation"].text, note=not result.claims["evaluation"].licensed)
    page.text(result.claims["model"].text, note=not result.claims["model"].licensed)
    page.text(
        f"The recommendations go to every customer from {result.model}, refitted on all "
        f"purchases before {result.as_of:%Y-%m-%d}; {percent(result.repeat_at_rank1)} of "
        "customers get a product they bought before at rank 1 (the shop's regime: "
        f"{result.regime.kind.replace('_', ' ')})."
    )
    metrics = result.metrics
    if metrics.height == 0:
        return
    overall = (
        metrics.filter(pl.col("segment") == "all", pl.col("k") == k)
        .with_columns(
            cell=pl.struct("value", "ci_low", "ci_high").map_elements(
                _cell, return_dtype=pl.String
            ),
            column=pl.format("{} ({} items)", pl.col("metric").str.replace_all("_", " "), "mode"),
        )
        .pivot(on="column", index="model", values="cell", sort_columns=True)
    )
    denominators = (
        metrics.filter(pl.col("segment") == "all", pl.col("k") == k, pl.col("metric") == "hit_rate")
        .group_by("mode")
        .agg(pl.col("n_users").max())
    )
    counts = {r["mode"]: r["n_users"] for r in denominators.iter_rows(named=True)}
    page.table(
        Table.from_frame(
            overall,
            caption="One row per model: each cell is the value with its 95% interval. 'All "
            f"items' is over the {count(counts.get('all'))} customers evaluated; 'new items' "
            "counts only products the customer had not bought before, over the "
            f"{count(counts.get('new'))} customers who bought one (its own denominator).",
        )
    )
    if plt is not None:
        from recsys.report.evaluation import plot_model_comparison

        page.figure(
            plot_model_comparison(metrics, k, chosen=result.model),
            caption=f"Hit rate@{k} with 95% intervals (red: the model the job uses).",
        )
    choice = result.test_choice
    if choice is not None and choice.comparisons.height:
        comp = choice.comparisons.with_columns(
            pl.struct(pl.col("difference").alias("diff"), "ci_low", "ci_high")
            .map_elements(_difference, return_dtype=pl.String)
            .alias("difference"),
            verdict=pl.when((pl.col("ci_low") <= 0) & (pl.col("ci_high") >= 0))
            .then(pl.lit("tied"))
            .otherwise(pl.lit("separated")),
        ).select("model", "difference", "verdict")
        page.table(
            Table.from_frame(
                comp,
                caption=f"Paired difference in hit rate@{k} on the test window: {choice.best} "
                "minus each other model on the same customers, with its 95% interval.",
                labels={"model": "compared with", "difference": "difference [95% interval]"},
            )
        )
    segments = (
        metrics.filter(
            (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("mode") == "all")
        )
        .with_columns(
            cell=pl.struct("value", "ci_low", "ci_high").map_elements(_cell, return_dtype=pl.String)
        )
        .pivot(on="model", index="segment", values="cell")
        .join(
            metrics.filter(
                pl.col("metric") == "hit_rate", pl.col("mode") == "all", pl.col("k") == k
            )
            .group_by("segment")
            .agg(pl.col("n_users").max().alias("customers")),
            on="segment",
        )
    )
    regime = result.regime
    page.table(
        Table.from_frame(
            sort_natural(segments, "segment"),
            caption=f"Hit rate@{k} (all items) per lifecycle stage at the cutoff; "
            f"'{FIRST_SEEN}' = customers with no purchase in the file before the cutoff "
            "(served the cold-start fallback)."
            + (f" {regime.history_caveat}" if regime.short_history else ""),
            labels={
                "segment": "lifecycle stage at the cutoff",
                **{m: m for m in segments.columns if m != "segment"},
            },
        )
    )
    if result.hit_retention is not None and result.hit_retention.height:
        page.heading("Do returning customers who buy the recommendations order again?")
        page.text(
            "This is an association, not a causal effect: customers who buy recommended items "
            "are more engaged to begin with, and nobody was randomized. Measure the effect of "
            "showing recommendations with a randomized holdout (recsys uplift).",
            note=True,
        )
        page.table(
            Table.from_frame(
                result.hit_retention.select(
                    "n_returned",
                    "n_hit",
                    "hit_retention",
                    "n_no_hit",
                    "no_hit_retention",
                    "difference",
                ),
                caption=f"The customers who had bought before {result.cutoff:%Y-%m-%d} and "
                f"bought again in {result.regime.window} (customers {FIRST_SEEN} are left out: "
                "they had nothing to come back after), split by whether their first order in "
                f"it contained one of {result.model}'s recommendations made at the cutoff; "
                "'ordered again' = the share of them who placed another order later in the "
                "same window.",
                labels={
                    "n_returned": "came back",
                    "hit_retention": "ordered again (bought one)",
                    "no_hit_retention": "ordered again (bought none)",
                },
                formats={
                    "hit_retention": percent,
                    "no_hit_retention": percent,
                    "difference": lambda v: "n/a" if v is None or v != v else f"{v:+.1%}",
                },
            )
        )


def _targeting_section(page: HtmlReport, result: JobResult, plt: Any) -> None:
    found = result.targeting
    if found is None:
        return
    claim = result.claims["targeting"]
    page.heading("Targeting: whom to send the offer to")
    page.text(claim.text, note=not claim.licensed)
    plan = found.plan
    page.text(
        f"plan.parquet lists every customer as of {result.as_of:%Y-%m-%d}: "
        f"{count(int(plan['treat'].sum()))} to send the offer to, "
        f"{count(int(plan['in_holdout'].sum()))} in a random holdout kept without it (so the "
        "next readout is unbiased), with the reason for each; the action list follows it."
    )
    page.table(
        Table.from_frame(
            found.value.table.select(
                "policy", "estimator", "n_treated", "value", "ci_low", "ci_high", "gain"
            ),
            caption=f"The plan against simple rules on the {count(found.customers)} experiment "
            "customers, each scored by a model that never saw them: value = mean margin per "
            "customer (outcome x value x margin - contact cost), with its 95% interval, by "
            "IPS and DR; gain = value minus sending nothing.",
            formats={
                "value": lambda v: f"{v:.4g}",
                "ci_low": lambda v: f"{v:.4g}",
                "ci_high": lambda v: f"{v:.4g}",
                "gain": lambda v: f"{v:+.4g}",
            },
        )
    )
    if plt is not None:
        from recsys.report.uplift import plot_curve

        ax = plot_curve(found.value.qini, label=f"{found.experiment.method}-learner")
        page.figure(
            ax.figure,
            caption="Qini curve of the uplift model on the experiment (out-of-fold), with its "
            "bootstrap band: above the random line = it finds the customers who respond.",
        )


def write_page(result: JobResult, path: str | Path) -> Path:
    """Write the report page of ``result`` to ``path``: regime and decisions first
    (matplotlib's own warnings go to the log: `matplotlib_warnings_logged`)."""
    with matplotlib_warnings_logged():
        return _write_page(result, path)


def _write_page(result: JobResult, path: str | Path) -> Path:
    plots = plots_available()
    plt = pyplot() if plots else None
    config = result.config
    names = item_names(result)
    page = HtmlReport(f"Customer retention and recommendations: {config.dataset}")
    page.template = "report.html.j2"
    window = (
        f"models evaluated on {result.regime.window}; "
        if result.evaluation is not None
        else "no model evaluated (see the evaluation card); "
    )
    page.subtitle = (
        f"Everything as of {result.as_of:%Y-%m-%d} (profiles, items due, actions and "
        f"recommendations); {window}k = {config.k} recommendations per customer; "
        f"{config.bootstrap:,} bootstrap resamples, seed {config.seed}; contact cost "
        f"{money(config.contact_cost, config.currency, 2)} (--contact-cost)."
    )
    if result.report is not None:
        quality_section(page, result.report)
    _targeting_section(page, result, plt)
    _customers_section(page, result, plt)
    _churn_section(page, result, plt)
    _models_section(page, result, plt)
    page.heading("Recommendations")
    recs = result.recommendations.head(20)
    columns: list[Any] = [C.USER, "rank", C.ITEM]
    if names:
        columns.append(
            pl.Series("name", [names.get(str(i), "") for i in recs[C.ITEM].to_list()], pl.String)
        )
    page.table(
        Table.from_frame(
            recs.select(*columns, "score"),
            caption=f"The first rows of {count(result.recommendations.height)} recommendations "
            f"for {count(result.recommendations[C.USER].n_unique())} customers from "
            f"{result.model}: rank 1 is the product to show first.",
            formats={"score": lambda v: f"{v:.3f}", "rank": str},
            text_columns=("name",),
        )
    )
    cards = [
        card(result.claims[key], card_headline(result, key))
        for key in CARD_ORDER
        if key in result.claims
    ]
    regime = result.regime
    return page.write(
        path,
        plots=plots,
        as_of=f"{result.as_of:%Y-%m-%d}",
        regime=regime.statement,
        regime_alert=regime.order_id_message,
        n_customers=count(regime.customers),
        n_orders=count(regime.orders),
        decisions=cards,
        winback=winback_table(result, names),
        due=due_table(result, names),
    )
