"""The HTML page of ``recsys report`` and ``recsys demo``: one self-contained page that
renders a `recsys.job.JobResult` and computes nothing.

The first section is the shop's regime and the decisions: each card is a claim of
`recsys.job.claims` with its evidence and the warnings that concern it; the detail
sections follow. The page is rendered from ``templates/report.html.j2``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from recsys.data import columns as C
from recsys.report.format import Table, count, interval, money, orders, percent, sort_natural
from recsys.report.html import HtmlReport
from recsys.report.plotting import pyplot
from recsys.report.quality import quality_section

if TYPE_CHECKING:
    from recsys.job import Claim, JobResult

__all__ = ["plots_available", "write_page"]

CARD_TITLES = {
    "campaign": "Win back lapsed customers",
    "churn": "Churn risk",
    "value": "Customer value",
    "due": "Remind customers who are due to buy again",
    "model": "Recommend with this model",
    "evaluation": "Who the models were tested on",
    "targeting": "Whom to send the offer to",
}
CARD_ORDER = ("targeting", "campaign", "churn", "value", "due", "model", "evaluation")


def plots_available() -> bool:
    """Whether matplotlib can be imported (the report says loudly when it cannot)."""
    try:
        pyplot()
    except ImportError:
        return False
    return True


def _names(result: JobResult) -> dict[str, str]:
    if result.item_names is None:
        return {}
    return {str(k): str(v) for k, v in result.item_names.iter_rows() if v is not None}


def _product(code: Any, names: dict[str, str]) -> str:
    name = names.get(str(code))
    return f"{code} {name}" if name else str(code)


def _products(items: Any, names: dict[str, str], limit: int = 3) -> str:
    items = list(items or [])
    shown = "; ".join(_product(i, names) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _evidence_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _card(claim: Claim, headline: str) -> dict[str, Any]:
    return {
        "id": claim.key,
        "title": CARD_TITLES.get(claim.key, claim.key),
        "headline": headline,
        "text": claim.text,
        "licensed": claim.licensed,
        "fallback": claim.fallback,
        "evidence": [
            (key.replace("_", " "), _evidence_text(v))
            for key, v in claim.evidence.items()
            if key not in ("auc_text", "reason")
        ],
        "warnings": list(claim.warnings),
    }


def _headline(result: JobResult, key: str) -> str:
    claim = result.claims[key]
    ev = claim.evidence
    cur = result.config.currency
    if key == "campaign":
        stake = (
            money(ev["value_at_stake"], cur)
            if ev["money"]
            else f"about {ev['value_at_stake']:,.0f} orders"
        )
        verdict = "per contact, more than the contact cost" if claim.licensed else "not proposed"
        checked = (
            f"over the next {ev['stake_days']} days, by the evidence"
            if "ratio" in ev
            else "projected, unchecked"
        )
        return f"{count(ev['customers'])} customers, {stake} at stake ({checked}): {verdict}"
    if key == "churn":
        name = ev.get("model_name", "BG/NBD")
        if claim.licensed:
            return f"{name}: a probability, ahead of the naive rules"
        if ev["ranked_by"] in ("churn_risk", "learned_churn_risk"):
            return f"{name}: ahead of the naive rules, not a probability"
        return f"ranked by the naive rule: {ev['ranked_by']}"
    if key == "value":
        rule = "past spend" if ev.get("has_prices", True) else "past orders"
        if not claim.licensed:
            return f"ranked by {rule}"
        name = (
            ev.get("model_name", "the CLV model")
            if ev.get("has_prices", True)
            else "BG/NBD expected orders"
        )
        # licensed on Spearman; ahead outright only where top-decile capture is ahead too
        level = ev.get("capture_ci_low", 1.0) <= 0
        return f"{name}, ahead of {rule}" + (
            " on Spearman, level on the top tenth" if level else ""
        )
    if key == "due":
        return f"{count(ev['customers'])} customers, {count(ev['items'])} products due"
    if key == "model":
        return result.model
    if key == "targeting":
        plan = result.targeting.plan if result.targeting is not None else None
        treat = int(plan["treat"].sum()) if plan is not None else 0
        rule = "by the uplift model" if claim.licensed else "fallback: the average effect"
        return f"{count(treat)} customers to send it to ({rule})"
    return f"{count(ev.get('evaluated', 0))} customers"


_VALUE_NAMES = {"clv": "expected value", "expected_orders": "expected orders"}


def _winback_table(result: JobResult, names: dict[str, str]) -> Table | None:
    win = result.actions.filter(pl.col("action") == "win_back").head(10)
    if win.height == 0:
        return None
    cur = result.config.currency
    money_value = C.PRICE in result.purchases.columns
    value = result.value_column
    extra = [
        c
        for c in ("lifecycle_stage", "rfm_segment", "recency_days", "monetary")
        if c in result.profiles.columns
    ]
    top = win.join(result.profiles.select(C.USER, *extra), on=C.USER, how="left").select(
        C.USER,
        *extra,
        "value_at_stake",
        pl.Series("items", [_products(i, names) for i in win["items"].to_list()], pl.String),
    )

    def amount(v: float) -> str:
        return money(v, cur) if money_value else orders(v)

    order = (
        "value at stake (the value model x churn risk)"
        if result.claims["churn"].licensed
        else result.claims["churn"].fallback
    )
    past = "the past-spend value" if money_value else "the past-orders value"
    ev = result.claims["campaign"].evidence
    ratio = ev.get("ratio_at_window_rate", ev.get("ratio", float("nan")))
    scaled = (
        f" (over the value horizon, as projected: the campaign card states the stake over "
        f"the {ev['stake_days']} days it checked, scaled by {ratio:.1%}, what materialised "
        "at the evaluation cutoff)"
        if ratio < 1
        else ""
    )
    return Table.from_frame(
        top,
        title="The first ten customers to win back",
        caption=f"One row per customer, in the order of the list: {order}. Value at stake is "
        f"{_VALUE_NAMES.get(value, past)}{scaled}; the products are {result.model}'s "
        "recommendations.",
        labels={"recency_days": "days since last order", "rfm_segment": "RFM segment"},
        formats={"monetary": amount, "value_at_stake": amount, "recency_days": count},
        text_columns=("items",),
    )


def _due_table(result: JobResult, names: dict[str, str]) -> Table | None:
    min_p = result.claims["due"].evidence["min_probability"]
    top = (
        result.due.filter(pl.col("p_within_horizon") >= min_p)
        .sort("p_within_horizon", C.USER, C.ITEM, descending=[True, False, False])
        .head(10)
    )
    if top.height == 0:
        return None
    columns: list[Any] = [C.USER, C.ITEM]
    if names:
        columns.append(
            pl.Series("name", [names.get(str(i), "") for i in top[C.ITEM].to_list()], pl.String)
        )
    columns += ["due_date", "p_within_horizon"]
    return Table.from_frame(
        top.select(columns),
        title="Products most likely to be bought again soon",
        caption="One row per customer and product, the most likely first; chance = probability "
        f"of a purchase in the next {result.config.due_horizon_days} days.",
        formats={
            "p_within_horizon": percent,
            "due_date": lambda v: "" if v is None else f"{v:%Y-%m-%d}",
        },
        labels={"p_within_horizon": "chance"},
        text_columns=("name",),
    )


def _customers_section(page: HtmlReport, result: JobResult, plt: Any) -> None:
    cur = result.config.currency
    profiles = result.profiles
    page.heading(f"Customers as of {result.as_of:%Y-%m-%d}")
    spend = [pl.col("monetary").sum()] if "monetary" in profiles.columns else []
    risk = [pl.col("churn_risk").mean()] if "churn_risk" in profiles.columns else []
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
        *(["churn_risk"] if risk else []),
    )
    money_fmt = {"monetary": lambda v: money(v, cur)}
    page.table(
        Table.from_frame(
            stages,
            caption="One row per lifecycle stage, from newest to lost: how many customers and "
            "what they spent so far"
            + (
                "; churn risk is the model's mean chance of no purchase in the next "
                f"{result.config.horizon_days} days (see the churn card before reading it as "
                "a probability)."
                if risk
                else "."
            ),
            formats={**money_fmt, "share": percent, "churn_risk": percent},
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
            "diff",
            "ci_low",
            "ci_high",
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
                formats={"diff": _signed, "ci_low": _signed, "ci_high": _signed, "n": count},
                labels={"naive": "naive rule", "naive_value": "rule's value", "n": "customers"},
            )
        )
    churn = result.churn
    if churn is None or churn.calibration.height == 0:
        return
    page.table(
        Table.from_frame(
            churn.calibration,
            caption=f"Customers as of {result.cutoff:%Y-%m-%d} in ten equal groups by churn risk "
            "(1 = lowest): predicted churn is the mean churn risk of the group, observed churn "
            f"the share that bought nothing in the next {churn.horizon_days} days.",
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
        page.figure(fig, caption="Predicted vs observed churn per decile.")


def _signed(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:+.3f}"


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
            interval=pl.format("[{}, {}]", pl.col("ci_low").round(3), pl.col("ci_high").round(3)),
            verdict=pl.when((pl.col("ci_low") <= 0) & (pl.col("ci_high") >= 0))
            .then(pl.lit("tied"))
            .otherwise(pl.lit("separated")),
        ).select("model", "difference", "interval", "verdict")
        page.table(
            Table.from_frame(
                comp,
                caption=f"Paired difference in hit rate@{k} on the test window: {choice.best} "
                "minus each other model on the same customers, with its 95% interval.",
                formats={"difference": lambda v: f"{v:+.3f}"},
                labels={"model": "compared with", "interval": "95% interval"},
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
    page.table(
        Table.from_frame(
            sort_natural(segments, "segment"),
            caption=f"Hit rate@{k} (all items) per lifecycle stage at the cutoff; "
            "'first-time' = customers with no purchase before the cutoff (served the "
            "cold-start fallback).",
            labels={"segment": "customers"},
        )
    )
    if result.hit_retention is not None and result.hit_retention.height:
        page.heading("Do customers who buy the recommendations come back?")
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
                caption=f"Customers who came back in the test window, split by whether they "
                f"bought one of {result.model}'s recommendations; retention = share who bought "
                "again afterwards.",
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
    """Write the report page of ``result`` to ``path``: regime and decisions first."""
    plots = plots_available()
    plt = pyplot() if plots else None
    config = result.config
    names = _names(result)
    page = HtmlReport(f"Customer retention and recommendations: {config.dataset}")
    page.template = "report.html.j2"
    window = (
        f"models evaluated on the {config.horizon_days} days after {result.cutoff:%Y-%m-%d}; "
        if result.cutoff is not None
        else ""
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
        _card(result.claims[key], _headline(result, key))
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
        winback=_winback_table(result, names),
        due=_due_table(result, names),
    )
