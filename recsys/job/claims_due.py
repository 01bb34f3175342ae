"""The items-due card: `due_claim`, worded from the check at the evaluation cutoff
(`recsys.job.due_check`), and `due_card`, the card of the items due the job deployed."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from recsys._text import about, percent
from recsys.data import columns as C
from recsys.evaluation.backtest import describe_difference
from recsys.job.claims import NO_WINDOW, Claim
from recsys.job.due_check import NAIVE_DUE_RULE, DueEvidence, follows_model, likely_due

__all__ = ["due_card", "due_claim"]


def due_claim(
    customers: int,
    items: int,
    expected: float,
    *,
    min_probability: float,
    horizon_days: int,
    replenish: int,
    dropped: int = 0,
    evidence: DueEvidence | None = None,
    unchecked: str = NO_WINDOW,
    sampled: tuple[int, int] | None = None,
    warnings: tuple[str, ...] = (),
) -> Claim:
    """Customers due to buy a product again (chance at least ``min_probability``), licensed
    only where the items-due model beats the item's base rate at the evaluation cutoff.

    ``expected`` is the sum of the due pairs' chances: the purchases the model expects.
    ``evidence`` is `recsys.job.due_check.due_check`: the same model computed at the
    cutoff and scored on the window after it. The card is licensed only where the paired
    interval of its Brier score minus the item base rate's lies below 0; it states the
    purchases the same rule expected at the cutoff and those made. Where they fell short
    (the realised/expected ratio below 1), the expected purchases are *scaled* by that
    ratio, as the campaign's stake is (`recsys.job.claims_campaign.campaign_claim`:
    the evidence lowers a projection, never raises it): a flag alone would leave a figure
    on the card the evidence contradicts, and the ratio is the one estimate of the
    shortfall there is; the card says the figure is scaled, and by how
    much. Without evidence (``unchecked`` says why), the card says the chances are
    unchecked and is not licensed. ``sampled`` = (sampled customers, all customers): the
    check ran on the purchases of a random sample (`JobConfig.evaluation_customers`).

    Not licensed (unchecked, or not shown to beat the base rate), the items due and the
    reminders follow the naive rule instead (`recsys.job.due_check.deployed_due`): then
    ``customers``, ``items`` and ``expected`` are that rule's (its due pairs with a
    chance, the product's base rate, of at least ``min_probability``; ``expected`` the
    sum of those base rates), the card says the reminders follow the rule and states it
    (`recsys.job.due_check.NAIVE_DUE_RULE`), and nothing is scaled by the model's check
    (``evidence["follows"]`` is ``"rule"``, ``expected_basis`` ``"rule"``).

    Examples
    --------
    >>> due_claim(0, 0, 0.0, min_probability=0.2, horizon_days=30, replenish=0).licensed
    False
    >>> claim = due_claim(3, 4, 2.5, min_probability=0.2, horizon_days=30, replenish=3)
    >>> claim.licensed, claim.evidence["expected_basis"], claim.evidence["follows"]
    (False, 'rule', 'rule')
    >>> claim.text.startswith("The items-due chances were not checked")
    True
    """
    follows = "model" if follows_model(evidence) else "rule"
    rule = NAIVE_DUE_RULE.format(horizon_days=horizon_days)
    data: dict[str, Any] = {
        "customers": customers,
        "items": items,
        "expected_purchases": expected,
        "min_probability": min_probability,
        "horizon_days": horizon_days,
        "replenish": replenish,
        "dropped": dropped,
        "follows": follows,
    }
    if follows == "rule":  # no expectation is claimed: the base rates' sum is unchecked
        data.update(naive_rule=rule, expected_basis="rule", base_rate_sum=expected)
        del data["expected_purchases"]
    chance = percent(min_probability, 0)
    why = (
        f"its chances were not checked against what customers bought ({unchecked})"
        if evidence is None
        else "its chances are not shown to beat the item's base rate at the evaluation cutoff"
    )
    if customers == 0:
        text = (
            f"No customer has a product due in the next {horizon_days} days with a chance of "
            f"{chance} or more."
        )
        if follows == "rule":
            text = (
                f"No customer has a product due in the next {horizon_days} days with a chance "
                f"of {chance} or more by the naive rule the replenishment reminders follow: "
                f"{rule}. The items-due model is not licensed: {why}."
            )
        return Claim("due", text, False, data, warnings, None)
    reminded = (
        f"{replenish:,} of them get a replenishment reminder (the others are on the "
        "win-back or onboarding list)"
    )
    left_out = f" {dropped:,} due rows without a chance were left out." if dropped else ""
    by_rule = (
        f"The replenishment reminders follow the naive rule instead, its dates as well as "
        f"its chances (only the chances decide the fallback): {rule}. By it, "
        f"{customers:,} customers have {items:,} products due in the next {horizon_days} "
        f"days (chance {chance} or more; their products' base rates add up to "
        f"{about(expected)} purchases, a sum no check covers: the base rate is the "
        f"product's average over all its pairs, not over those the rule finds due); "
        f"{reminded}."
    )
    if evidence is None:
        data.update(unchecked=unchecked)
        text = (
            f"The items-due chances were not checked against what customers bought "
            f"({unchecked}): the model is not licensed. {by_rule}{left_out}"
        )
        return Claim("due", text, False, data, warnings, None)
    e = evidence
    scaled = follows == "model" and math.isfinite(e.ratio) and e.ratio < 1
    stated = expected * e.ratio if scaled else expected
    if follows == "model":
        data["expected_purchases"] = stated
    data.update(
        checked_at=e.cutoff,
        checked_horizon_days=e.horizon_days,
        checked_pairs=e.pairs,
        brier=e.brier.value,
        base_rate_brier=e.brier.rule_value,
        brier_ci_low=e.brier.ci_low,
        brier_ci_high=e.brier.ci_high,
        checked_expected=e.expected,
        checked_realised=e.realised,
        ratio=e.ratio,
        ratio_ci_low=e.ci_low,
        ratio_ci_high=e.ci_high,
    )
    if e.date is not None:
        data.update(date_error_days=e.date.value, item_median_error_days=e.date.rule_value)
    brier = describe_difference(
        "brier", e.brier.value, e.brier.rule_value, e.brier.diff, e.brier.ci_low,
        e.brier.ci_high, e.confidence,
    )  # fmt: skip
    date = (
        ""
        if e.date is None
        else "; due dates against the item's median gap, on the pairs bought again: "
        + describe_difference(
            "date_mae", e.date.value, e.date.rule_value, e.date.diff, e.date.ci_low,
            e.date.ci_high, e.confidence,
        )
    )  # fmt: skip
    where = (
        f"at the evaluation cutoff ({e.cutoff:%Y-%m-%d}), on the {e.pairs:,} (customer, "
        f"product) pairs bought before it and the {e.horizon_days} days after it"
    )
    if sampled is not None:
        where += (
            f" (of a random sample of {sampled[0]:,} of the {sampled[1]:,} customers: "
            "JobConfig.evaluation_customers)"
        )
    interval = (
        f"{e.confidence:.0%} CI {percent(e.ci_low)} to {percent(e.ci_high)}"
        if math.isfinite(e.ci_low)
        else "no interval: run with bootstrap > 0"
    )
    checked = (
        f"At the cutoff the same rule ({e.likely_pairs:,} products due to "
        f"{e.likely_customers:,} customers) expected {about(e.expected)} purchases and "
        f"{e.realised:,} were made ({percent(e.ratio)} of the expected, {interval})"
    )
    count = f"{about(expected)} purchases expected"
    if scaled:
        count = (
            f"about {stated:,.0f} purchases expected: the model's {expected:,.0f}, scaled by "
            f"{percent(e.ratio)}, the share of its expectation bought at the cutoff"
        )
        checked += (
            ": fewer than expected"
            + (" (the interval excludes 100%)" if e.over_predicts else "")
            + ", so the expected purchases are scaled by that share."
        )
    elif not e.expected > 0:
        checked = (
            "At the cutoff the same rule found no product due, so the expected purchases "
            "could not be checked."
        )
    elif e.ratio >= 1:
        checked += (
            ": the expected purchases are kept (the evidence lowers an expectation, never "
            "raises it)."
        )
    elif math.isfinite(e.ci_high):
        checked += ": not clearly fewer than expected (the interval reaches 100%), so the "
        checked += "expected purchases are kept."
    else:
        checked += (
            ": fewer than expected, but without an interval the expected purchases are kept "
            "as the model states them."
        )
    due = (
        f"{customers:,} customers have {items:,} products due in the next {horizon_days} "
        f"days (chance {chance} or more; {count}); {reminded}."
    )
    if follows == "model":
        data.update(model_expected=expected, expected_basis="scaled" if scaled else "kept")
        text = (
            f"{due} The chances beat the item's base rate {where}: {brier}{date}. "
            f"{checked}{left_out}"
        )
        return Claim("due", text, True, data, warnings, None)
    text = (
        f"The items-due chances are not licensed: they are not shown to beat the item's base "
        f"rate {where}: {brier}{date}. {by_rule}{left_out}"
    )
    return Claim("due", text, False, data, warnings, None)


def due_card(
    due: pl.DataFrame,
    actions: pl.DataFrame,
    *,
    min_probability: float,
    horizon_days: int,
    evidence: DueEvidence | None,
    unchecked: str = NO_WINDOW,
    sampled: tuple[int, int] | None = None,
    warnings: tuple[str, ...] = (),
) -> Claim:
    """`due_claim` on the items due the job deployed (``due``: the model's or the naive
    rule's, `recsys.job.due_check.deployed_due`) and the ``actions`` made from them: the
    pairs with a chance of at least ``min_probability`` (`likely_due`), their customers
    and chances, the customers reminded and the rows without a chance.

    Examples
    --------
    >>> due = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "a"],
    ...     "p_within_horizon": [0.5, 0.1, float("nan")]})
    >>> actions = pl.DataFrame({"user_id": [1, 2], "action": ["replenish", "none"]})
    >>> card = due_card(due, actions, min_probability=0.2, horizon_days=30, evidence=None)
    >>> [card.evidence[k] for k in ("customers", "items", "replenish", "dropped")]
    [1, 1, 1, 1]
    """
    likely = likely_due(due, min_probability)
    chance = pl.col("p_within_horizon").cast(pl.Float64)
    return due_claim(
        likely[C.USER].n_unique(),
        likely.height,
        float(likely["p_within_horizon"].sum()),
        min_probability=min_probability,
        horizon_days=horizon_days,
        replenish=actions.filter(pl.col("action") == "replenish").height,
        dropped=due.filter(chance.is_null() | chance.is_nan()).height,
        evidence=evidence,
        unchecked=unchecked,
        sampled=sampled,
        warnings=warnings,
    )
