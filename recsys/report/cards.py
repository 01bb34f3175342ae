"""The first section of the report page, "What to do now": one card per claim of
`recsys.job.claims` (headline, text, evidence, the warnings that concern it) and the
tables that follow the cards (the first customers to win back, the products most likely
to be bought again). Rendered by `recsys.report.page`; computes nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import polars as pl

from recsys.data import columns as C
from recsys.job.due_check import likely_due
from recsys.report.files import value_source
from recsys.report.format import Table, count, money, orders, percent

if TYPE_CHECKING:
    from recsys.job import Claim, JobResult

__all__ = [
    "CARD_ORDER",
    "CARD_TITLES",
    "card",
    "card_headline",
    "due_table",
    "item_names",
    "products",
    "winback_table",
]

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


def item_names(result: JobResult) -> dict[str, str]:
    """``item_id -> name`` of the products with a name (empty without names)."""
    if result.item_names is None:
        return {}
    return {str(k): str(v) for k, v in result.item_names.iter_rows() if v is not None}


def _product(code: Any, names: dict[str, str]) -> str:
    name = names.get(str(code))
    return f"{code} {name}" if name else str(code)


def products(items: Any, names: dict[str, str], limit: int = 3) -> str:
    """The first ``limit`` products of ``items`` with their names, and how many more."""
    items = list(items or [])
    shown = "; ".join(_product(i, names) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _evidence_text(value: Any) -> str:
    if value is None:
        return "none"
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


def card(claim: Claim, headline: str) -> dict[str, Any]:
    """The template's fields of one decision card."""
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


def card_headline(result: JobResult, key: str) -> str:
    """The one line under a card's title: what the claim ``key`` says, in its numbers."""
    claim = result.claims[key]
    ev = claim.evidence
    cur = result.config.currency
    if key == "campaign":
        stake = money(ev["stake"], cur) if ev["money"] else f"about {ev['stake']:,.0f} orders"
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
        due = f"{count(ev['customers'])} customers, {count(ev['items'])} products due"
        return due + (
            " by the naive rule (the model is not licensed)" if ev.get("follows") == "rule" else ""
        )
    if key == "model":
        return result.model
    if key == "targeting":
        plan = result.targeting.plan if result.targeting is not None else None
        treat = int(plan["treat"].sum()) if plan is not None else 0
        rule = "by the uplift model" if claim.licensed else "fallback: the average effect"
        return f"{count(treat)} customers to send it to ({rule})"
    if key == "evaluation" and result.evaluation is None:
        return "no evaluation"
    return f"{count(ev.get('evaluated', 0))} customers"


def winback_table(result: JobResult, names: dict[str, str]) -> Table | None:
    win = result.actions.filter(pl.col("action") == "win_back").head(10)
    if win.height == 0:
        return None
    cur = result.config.currency
    money_value = C.PRICE in result.purchases.columns
    extra = [
        c
        for c in ("lifecycle_stage", "rfm_segment", "recency_days", "monetary")
        if c in result.profiles.columns
    ]
    top = win.join(result.profiles.select(C.USER, *extra), on=C.USER, how="left").select(
        C.USER,
        *extra,
        "projected_value",
        pl.Series("items", [products(i, names) for i in win["items"].to_list()], pl.String),
    )

    def amount(v: float) -> str:
        return money(v, cur) if money_value else orders(v)

    order = (
        "projected value (the value model x churn risk)"
        if result.claims["churn"].licensed
        else result.claims["churn"].fallback
    )
    ev = result.claims["campaign"].evidence
    ratio = ev.get("ratio_at_window_rate", ev.get("ratio", float("nan")))
    by_ratio = (
        f", scaled by {ratio:.1%}, what materialised at the evaluation cutoff"
        if 0 < ratio < 1
        else ""
    )
    scaled = (
        " (over the value horizon, as projected: the campaign card states the stake over "
        f"the {ev['stake_days']} days it checked{by_ratio})"
        if "stake_days" in ev
        else ""
    )
    if "stake_days" in ev and not ev["stake"] > 0:
        scaled = (
            " (over the value horizon, as projected: by the evidence of the "
            f"{ev['stake_days']} days the campaign card checked, nothing is at stake)"
        )
    return Table.from_frame(
        top,
        title="The first ten customers to win back",
        caption=f"One row per customer, in the order of the list: {order}. Projected value is "
        f"the {result.claims['campaign'].evidence['basis']}{scaled}; value_source: "
        f"{value_source(result)}; "
        f"the products are {result.model}'s recommendations.",
        labels={"recency_days": "days since last order", "rfm_segment": "RFM segment"},
        formats={"monetary": amount, "projected_value": amount, "recency_days": count},
        text_columns=("items",),
    )


def due_caption(result: JobResult) -> str:
    """The caption of the items-due table: the model's chances, or the naive rule the
    reminders follow where the due card did not license the model
    (`recsys.job.due_check.deployed_due`)."""
    days = result.config.due_horizon_days
    ev = result.claims["due"].evidence
    if ev.get("follows") == "rule":
        return (
            "One row per customer and product, the most likely first, by the naive rule the "
            f"replenishment reminders follow (the items-due model is not licensed): "
            f"{ev['naive_rule']}."
        )
    return (
        "One row per customer and product, the most likely first; chance = probability "
        f"of a purchase in the next {days} days."
    )


def due_table(result: JobResult, names: dict[str, str]) -> Table | None:
    min_p = result.claims["due"].evidence["min_probability"]
    top = (
        likely_due(result.due, min_p)
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
        caption=due_caption(result),
        formats={
            "p_within_horizon": percent,
            "due_date": lambda v: "" if v is None else f"{v:%Y-%m-%d}",
        },
        labels={"p_within_horizon": "chance"},
        text_columns=("name",),
    )
