"""The HTML report of ``recsys report`` and ``recsys demo``: one self-contained page.

The first section says what to do, in plain words, computed from the data (who to
win back, who is due to buy again, which recommender to use) and how sure each
statement is; the detail sections follow. The page is rendered from the Jinja2
template ``recsys/report/templates/report.html.j2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from recsys.data import columns as C
from recsys.demo.decisions import action_summary, calibration_verdict, due_summary
from recsys.demo.pipeline import DemoConfig, DemoResult, value_column
from recsys.report.format import (
    Table,
    count,
    interval,
    money,
    percent,
    sort_natural,
)
from recsys.report.html import HtmlReport
from recsys.report.plotting import pyplot

__all__ = ["plots_available", "write_demo_report"]


def plots_available() -> bool:
    """Whether matplotlib can be imported (the report says loudly when it cannot)."""
    try:
        pyplot()
    except ImportError:
        return False
    return True


def _names(result: DemoResult) -> dict[str, str]:
    if result.item_names is None:
        return {}
    return {str(k): str(v) for k, v in result.item_names.iter_rows() if v is not None}


def _name(code: Any, names: dict[str, str]) -> str:
    name = names.get(str(code))
    return name.strip().lower().capitalize() if name else ""


def _product(code: Any, names: dict[str, str]) -> str:
    name = _name(code, names)
    return f"{code} {name}" if name else str(code)


def _day(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _products(items: Any, names: dict[str, str], limit: int = 3) -> str:
    items = list(items or [])
    shown = "; ".join(_product(i, names) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _model_comparison_figure(plt: Any, metrics: pl.DataFrame, k: int, chosen: str) -> Any:
    from matplotlib.ticker import PercentFormatter

    rows = metrics.filter(
        (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("segment") == "all")
    )
    order = (rows.filter(pl.col("mode") == "all").sort("value", "model", descending=[False, True]))[
        "model"
    ].to_list()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, mode, title in zip(axes, ("all", "new"), ("all items", "new items only"), strict=True):
        part = rows.filter(pl.col("mode") == mode)
        lookup = {r["model"]: r for r in part.iter_rows(named=True)}
        present = [m for m in order if m in lookup]
        value = [lookup[m]["value"] for m in present]
        err = [
            [lookup[m]["value"] - lookup[m]["ci_low"] for m in present],
            [lookup[m]["ci_high"] - lookup[m]["value"] for m in present],
        ]
        colours = ["#c62828" if m == chosen else "#5c6bc0" for m in present]
        ax.barh(range(len(present)), value, xerr=err, color=colours, capsize=3)
        ax.set_yticks(range(len(present)), present)
        ax.set_xlim(0, 1)
        ax.set_title(f"hit rate@{k}, {title}")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
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


def _model_text(result: DemoResult) -> str:
    choice = result.choice
    assert choice is not None
    metric = f"hit rate@{choice.k}"
    if choice.separated:
        return (
            f"It has the highest {metric} and the evidence separates it from every other "
            "model: use it for the recommendations and the products in the lists above."
        )
    others = [m for m in choice.tied if m != choice.best]
    row = choice.comparisons.filter(pl.col("model") == others[0]).row(0, named=True)
    lead = (
        f"{choice.best} has the highest {metric}, but it is tied with {', '.join(others)}: "
        f"the paired difference with {others[0]} is {row['difference']:+.3f}, 95% interval "
        f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}], which contains 0."
    )
    return lead + f" Among tied models use the simplest: {choice.chosen}."


def _decisions(result: DemoResult, config: DemoConfig) -> tuple[list[dict[str, str]], Any, Any]:
    cur = config.currency
    names = _names(result)
    verdict = calibration_verdict(result.calibration)
    cards: list[dict[str, str]] = []
    winback_table = due_table = None
    actions = result.actions
    if actions is not None and result.current_profiles is not None:
        summary = {r["action"]: r for r in action_summary(actions).iter_rows(named=True)}
        value = value_column(result.current_profiles)
        is_money = value != "frequency"
        worth = {
            "clv": f"their expected value over the next {config.clv_horizon_days} days",
            "monetary": "their spend to date (the file has no prices for a forecast)",
            "frequency": "their number of orders (the file has no prices)",
        }[value]

        def amount(v: float) -> str:
            return money(v, cur) if is_money else f"{v:,.1f} orders"

        wb = summary.get("win_back", {"customers": 0, "value_at_stake": 0.0})
        cards.append(
            {
                "id": "win-back",
                "title": "Win back these customers now",
                "headline": f"{count(wb['customers'])} customers, "
                f"{amount(wb['value_at_stake'])} at stake",
                "text": (
                    "Dormant or churned customers with a churn risk of 50% or more, ranked by "
                    f"value at stake: {worth} times their churn risk. Contact the top of the "
                    "list first (below), with the products shown."
                ),
                "sure": verdict["text"]
                + " Expected value comes from the BG/NBD and Gamma-Gamma models, which "
                "assume buying habits stay as they were.",
            }
        )
        top = (
            actions.filter(pl.col("action") == "win_back")
            .head(10)
            .join(
                result.current_profiles.select(C.USER, "lifecycle_stage", "churn_risk", value),
                on=C.USER,
                how="left",
            )
        )
        top = top.select(
            C.USER,
            "lifecycle_stage",
            "churn_risk",
            value,
            "value_at_stake",
            pl.Series("items", [_products(i, names) for i in top["items"].to_list()], pl.String),
        )
        winback_table = Table.from_frame(
            top,
            title="The first ten customers to win back",
            caption="One row per customer, most value at stake first; value at stake = "
            "value x churn risk; the products are the chosen model's "
            "recommendations.",
            labels={"churn_risk": "churn risk"},
            formats={
                "churn_risk": percent,
                value: amount,
                "value_at_stake": amount,
            },
            text_columns=("items",),
        )
    if result.due is not None:
        due = due_summary(result.due)
        replenish = 0
        if actions is not None:
            replenish = actions.filter(pl.col("action") == "replenish").height
        cards.append(
            {
                "id": "due",
                "title": "Remind customers who are due to buy again",
                "headline": f"{count(due['customers'])} customers, "
                f"{count(due['items'])} products due",
                "text": (
                    f"Products these customers buy regularly and are likely (chance "
                    f"{percent(due['min_probability'], 0)} or more) to need within the next "
                    f"{config.due_horizon_days} days: about {count(due['expected_purchases'])} "
                    f"purchases expected. {count(replenish)} of them are not already on the "
                    "win-back or onboarding list and get a replenishment reminder."
                ),
                "sure": "Each chance comes from the customer's own intervals between purchases "
                "of the product, shrunk toward the product's typical interval and calibrated "
                "on past purchases; customers with only two or three purchases of a product "
                "are the least certain.",
            }
        )
        top_due = (
            result.due.filter(pl.col("p_within_horizon") >= due["min_probability"])
            .sort("p_within_horizon", descending=True)
            .head(10)
        )
        columns: list[Any] = [C.USER, C.ITEM]
        if names:
            columns.append(
                pl.col(C.ITEM)
                .map_elements(lambda c: _name(c, names), return_dtype=pl.String)
                .alias("name")
            )
        columns += ["due_date", "p_within_horizon"]
        due_table = Table.from_frame(
            top_due.select(columns),
            title="Products most likely to be bought again soon",
            caption="One row per customer and product, the most likely first; chance = "
            f"probability of a purchase in the next {config.due_horizon_days} days.",
            formats={"p_within_horizon": percent, "due_date": _day},
            text_columns=("name",),
        )
    choice = result.choice
    if choice is not None:
        tied = not choice.separated
        cards.append(
            {
                "id": "model",
                "title": "Recommend with this model",
                "headline": choice.chosen,
                "text": _model_text(result),
                "sure": (
                    "Tied: the paired 95% interval of the difference contains 0, so the data "
                    "cannot tell these models apart on this test window; simpler means fewer "
                    "moving parts (popular < repurchase < itemknn < als < bpr < "
                    "repeat_explore < blend)."
                    if tied
                    else "Separated: the paired 95% bootstrap interval of the difference with "
                    "every other model excludes 0."
                )
                + f" Measured on {count(result.split.test[C.USER].n_unique())} customers who "
                f"bought in the {config.horizon_days} days after {config.cutoff}.",
            }
        )
    return cards, winback_table, due_table


def write_demo_report(result: DemoResult, config: DemoConfig, path: str | Path) -> Path:
    """Write the report page: decisions first, then the detail sections."""
    plots = plots_available()
    plt = pyplot() if plots else None
    cur = config.currency
    k = config.k
    as_of = result.as_of
    page = HtmlReport(
        f"Customer retention and recommendations: {config.dataset}",
        f"Decisions as of {as_of:%Y-%m-%d}" if as_of else None,
    )
    page.template = "report.html.j2"
    page.subtitle = (
        f"Decisions as of {as_of:%Y-%m-%d}; models evaluated on the {config.horizon_days} days "
        f"after {config.cutoff}; k = {k} recommendations per customer; "
        f"{config.bootstrap:,} bootstrap resamples, seed {config.seed}."
        if as_of
        else ""
    )

    page.heading("Data quality: what cleaning kept and removed")
    page.table(
        Table.from_frame(
            result.report.to_frame().with_columns(
                pl.col("step")
                .str.replace("rows_in", "rows read")
                .str.replace("rows_out", "rows kept")
                .str.replace_all("_", " ")
            ),
            caption="Every input row, accounted for: each row is kept or dropped for the "
            "reason shown; share = share of the rows read.",
            formats={"share": percent},
            labels={"share": "share of rows read"},
        )
    )
    page.text(
        f"{count(result.report.n_users)} customers, {count(result.report.n_items)} products, "
        f"{count(result.report.n_orders or 0)} orders; "
        f"{count(result.report.exact_duplicates)} exact duplicate rows kept; returns and "
        "cancellations are kept aside in the cleaning account."
    )

    profiles = result.current_profiles if result.current_profiles is not None else result.profiles
    when = f"{as_of:%Y-%m-%d}" if as_of else config.cutoff
    page.heading(f"Customers as of {when}")
    spend = [pl.col("monetary").sum()] if "monetary" in profiles.columns else []
    stages = profiles.group_by("lifecycle_stage").agg(
        pl.len().alias("customers"), *spend, pl.col("churn_risk").mean()
    )
    stages = sort_natural(
        stages.with_columns(share=pl.col("customers") / pl.col("customers").sum()),
        "lifecycle_stage",
    ).select(
        "lifecycle_stage",
        "customers",
        "share",
        *(["monetary"] if spend else []),
        "churn_risk",
    )
    money_fmt = {"monetary": lambda v: money(v, cur), "clv": lambda v: money(v, cur)}
    page.table(
        Table.from_frame(
            stages,
            caption="One row per lifecycle stage, from newest to lost: how many customers, "
            "what they spent so far, and their mean chance of not buying in the next "
            f"{config.horizon_days} days.",
            formats={**money_fmt, "share": percent, "churn_risk": percent},
        )
    )
    tiers = sort_natural(
        profiles.group_by("tier").agg(pl.len().alias("customers"), *spend),
        "tier",
    ).with_columns(share=pl.col("customers") / pl.col("customers").sum())
    page.table(
        Table.from_frame(
            tiers,
            caption="Tiers from bronze to platinum by spend and frequency: customers and "
            "spend to date in each.",
            formats={**money_fmt, "share": percent},
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

        ax = plot_rfm_segments(profiles)
        page.figure(
            ax.figure,
            caption="Customers by recency (rows) and frequency (columns) score, with the "
            "RFM segment of each cell: darker = more customers.",
        )
        ax = plot_lifecycle(profiles)
        page.figure(ax.figure, caption="Customers per lifecycle stage.")
        ax = plot_cohort_heatmap(result.cohorts, max_periods=12)
        page.figure(
            ax.figure,
            caption="Monthly cohort retention: each row is the customers whose first purchase "
            "fell in that month; each cell the share of them who bought again that many "
            "months later. Month 0 is 100% by definition; the colour scale covers months 1 "
            "and later.",
        )

    verdict = calibration_verdict(result.calibration)
    page.heading("Churn risk: can it be read as a probability?")
    page.text(verdict["text"], note=not verdict["calibrated"])
    page.table(
        Table.from_frame(
            result.calibration,
            caption=f"Customers as of {config.cutoff} in ten equal groups by churn risk "
            "(1 = lowest): predicted churn is the mean churn risk of the group, observed churn "
            f"the share that bought nothing in the next {config.horizon_days} days. Equal "
            "columns mean a calibrated risk.",
            formats={"predicted_churn": percent, "observed_churn": percent},
        )
    )
    if plt is not None:
        page.figure(
            _calibration_figure(plt, result.calibration),
            caption="Predicted vs observed churn per decile: points on the dashed line are "
            "calibrated; below it, the risk overstates churn.",
        )

    chosen = result.best_model
    page.heading(f"Recommenders: hit rate@{k} on the test window")
    page.text(
        f"Trained on purchases before {config.cutoff}; tested on the "
        f"{count(result.split.test[C.USER].n_unique())} customers who bought in the next "
        f"{config.horizon_days} days. Hit rate = share of those customers who bought at least "
        f"one of their {k} recommended products. Intervals: 95% percentile bootstrap over "
        "customers. 'New items' counts only products the customer had not bought before."
    )
    overall = (
        result.metrics.filter(pl.col("segment") == "all", pl.col("k") == k)
        .with_columns(
            cell=pl.struct("value", "ci_low", "ci_high").map_elements(
                lambda r: interval(r["value"], r["ci_low"], r["ci_high"]), return_dtype=pl.String
            ),
            column=pl.format("{} ({} items)", "metric", "mode"),
        )
        .pivot(on="column", index="model", values="cell", sort_columns=True)
    )
    hr = f"hit_rate ({'all'} items)"
    overall = overall.sort(pl.col(hr).str.slice(0, 5).cast(pl.Float64), descending=True)
    page.table(
        Table.from_frame(
            overall.rename({c: c.replace("_", " ") for c in overall.columns if c != "model"}),
            caption="One row per model, best hit rate first: each cell is the value with its "
            "95% interval; overlapping intervals alone do not mean a tie (see the paired "
            "differences below).",
        )
    )
    if result.choice is not None and result.choice.comparisons.height:
        comp = result.choice.comparisons.with_columns(
            interval=pl.struct("ci_low", "ci_high").map_elements(
                lambda r: f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]", return_dtype=pl.String
            ),
            verdict=pl.when((pl.col("ci_low") <= 0) & (pl.col("ci_high") >= 0))
            .then(pl.lit("tied"))
            .otherwise(pl.lit("separated")),
        ).select("model", "difference", "interval", "verdict")
        page.table(
            Table.from_frame(
                comp,
                caption=f"Paired difference in hit rate@{k}: {result.choice.best} minus each "
                "other model on the same customers, with its 95% interval; 'tied' when the "
                "interval contains 0.",
                formats={"difference": lambda v: f"{v:+.3f}"},
                labels={"model": "compared with", "interval": "95% interval"},
            )
        )
    if plt is not None:
        page.figure(
            _model_comparison_figure(plt, result.metrics, k, chosen),
            caption=f"Hit rate@{k} with 95% intervals (red: the model to use).",
        )
    segments = (
        result.metrics.filter(
            (pl.col("metric") == "hit_rate") & (pl.col("k") == k) & (pl.col("mode") == "all")
        )
        .with_columns(
            cell=pl.struct("value", "ci_low", "ci_high").map_elements(
                lambda r: interval(r["value"], r["ci_low"], r["ci_high"]), return_dtype=pl.String
            )
        )
        .pivot(on="model", index="segment", values="cell")
        .join(
            result.metrics.filter(
                pl.col("metric") == "hit_rate", pl.col("mode") == "all", pl.col("k") == k
            )
            .group_by("segment")
            .agg(pl.col("n_users").max()),
            on="segment",
        )
    )
    page.table(
        Table.from_frame(
            sort_natural(segments, "segment"),
            caption=f"Hit rate@{k} (all items) per lifecycle stage at the cutoff, with 95% "
            "intervals; small stages have wide intervals.",
            labels={"segment": "lifecycle stage", **{m: m for m in segments.columns[1:-1]}},
        )
    )

    page.heading("Do customers who buy the recommendations come back?")
    page.text(
        "This is an association, not a causal effect: customers who buy recommended items are "
        "more engaged to begin with, and nobody was randomized. Measure the effect of showing "
        "recommendations with a randomized holdout (recsys uplift).",
        note=True,
    )
    retention = sort_natural(result.hit_retention, "segment").select(
        "segment",
        "n_returned",
        "n_hit",
        "hit_retention",
        "n_no_hit",
        "no_hit_retention",
        "difference",
        pl.struct("difference_ci_low", "difference_ci_high")
        .map_elements(
            lambda r: f"[{r['difference_ci_low']:+.1%}, {r['difference_ci_high']:+.1%}]",
            return_dtype=pl.String,
        )
        .alias("interval"),
    )
    page.table(
        Table.from_frame(
            retention,
            caption=f"Customers who came back in the test window, split by whether they bought "
            f"one of {chosen}'s recommendations; retention = share who bought again afterwards; "
            "difference in percentage points with its 95% interval.",
            formats={
                "hit_retention": percent,
                "no_hit_retention": percent,
                "difference": lambda v: f"{v:+.1%}",
            },
            labels={"interval": "95% interval", "segment": "lifecycle stage"},
        )
    )

    page.heading("Recommendations")
    recs = result.recommendations
    names = _names(result)
    first = recs.head(20)
    if names:
        first = first.with_columns(
            name=pl.col(C.ITEM).map_elements(lambda c: _name(c, names), pl.String)
        ).select(C.USER, "rank", C.ITEM, "name", "score")
    else:
        first = first.select(C.USER, "rank", C.ITEM, "score")
    page.table(
        Table.from_frame(
            first,
            caption=f"The first rows of {count(recs.height)} recommendations for "
            f"{count(recs[C.USER].n_unique())} customers from {chosen}, refitted on all "
            "purchases: rank 1 is the product to show first; the score only orders one "
            "customer's list.",
            formats={"score": lambda v: f"{v:.3f}", "rank": str},
            text_columns=("name",),
        )
    )

    cards, winback, due = _decisions(result, config)
    report = result.report
    return page.write(
        path,
        plots=plots,
        as_of=f"{as_of:%Y-%m-%d}" if as_of else config.cutoff,
        n_customers=count(profiles.height),
        n_orders=count(report.n_orders or 0),
        decisions=cards,
        winback=winback,
        due=due,
    )
