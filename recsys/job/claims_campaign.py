"""The win-back campaign's card: `campaign_claim` and the warnings that concern its stake
(`short_history`, `peak_window`, `season_ahead`); the rule is listed with the others in
`recsys.job.claims`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from recsys._text import about, percent
from recsys._text import money as money_text  # `money` is campaign_claim's flag
from recsys.job.campaign import CampaignEvidence
from recsys.job.claims import NO_WINDOW, Claim

__all__ = ["PEAK_RATE", "campaign_claim", "peak_window", "season_ahead", "short_history"]


def short_history(evidence: CampaignEvidence) -> str:
    """The campaign card's warning where the check at the cutoff rests on less purchase
    history than the window it projects: who looked lapsed then, and the spending rate
    that valued them, were judged on that short history.

    Examples
    --------
    >>> from datetime import datetime
    >>> from recsys.job.campaign import CampaignEvidence
    >>> seen = CampaignEvidence(datetime(2000, 12, 1), 90, 365, 7096, 2.8e7, 1.5e7, 5109,
    ...                         0.547, 0.527, 0.569, 0.95, True, 30.0, 30.0)
    >>> print(short_history(seen))  # doctest: +NORMALIZE_WHITESPACE
    the campaign check rests on only 30 days of purchase history before the evaluation
    cutoff (2000-12-01), fewer than the 90 days it projects: who looked lapsed then, and
    the spending rate that valued them (read from the last 30 days), come from that
    short history, so the realised/projected ratio the stake is scaled by may not carry
    over to as_of
    """
    rate = "spending" if evidence.money else "ordering"
    return (
        f"the campaign check rests on only {evidence.history_days:,.0f} days of purchase "
        f"history before the evaluation cutoff ({evidence.cutoff:%Y-%m-%d}), fewer than the "
        f"{evidence.horizon_days} days it projects: who looked lapsed then, and the {rate} "
        f"rate that valued them (read from the last {evidence.ratio_days:.3g} days), come "
        "from that short history, so the realised/projected ratio the stake is scaled by "
        "may not carry over to as_of"
    )


#: The check window's shop-wide spend rate, over the rate the valuation projects at,
#: from which the campaign card warns of a peak window (a quarter faster).
PEAK_RATE = 1.25


def peak_window(evidence: CampaignEvidence) -> str:
    """The campaign card's warning where the shop as a whole spent much faster in the
    check window than before the cutoff (``evidence.window_rate`` >= `PEAK_RATE`): a
    seasonal peak, which makes any selection look good.

    Examples
    --------
    >>> from datetime import datetime
    >>> from recsys.job.campaign import CampaignEvidence
    >>> seen = CampaignEvidence(datetime(2010, 9, 11), 90, 365, 1519, 306_294.0, 458_122.0,
    ...     660, 1.496, 1.258, 1.735, 0.95, True, 284.0, 91.25, 1.796)
    >>> print(peak_window(seen))  # doctest: +NORMALIZE_WHITESPACE
    the campaign check window (the 90 days after 2010-09-11) was a peak: the shop's
    spending in it ran at 1.80 times its rate in the 91 days before (the rate the
    valuation projects at); the realised/projected ratio is divided by that factor
    """
    rate = "spending" if evidence.money else "ordering"
    return (
        f"the campaign check window (the {evidence.horizon_days} days after "
        f"{evidence.cutoff:%Y-%m-%d}) was a peak: the shop's {rate} in it ran at "
        f"{evidence.window_rate:.2f} times its rate in the {evidence.ratio_days:,.0f} days "
        "before (the rate the valuation projects at); the realised/projected ratio is "
        "divided by that factor"
    )


def season_ahead(factor: float, horizon_days: int, ratio_days: float, *, money: bool) -> str:
    """The campaign card's warning where, a year before as_of, the ``horizon_days`` that
    followed ran at ``factor`` times the shop's rate in the ``ratio_days`` before them (the
    rate a valuation made then would have projected at), off by `PEAK_RATE` either way;
    "" otherwise.

    Examples
    --------
    >>> print(season_ahead(0.653, 90, 182.5, money=True))  # doctest: +NORMALIZE_WHITESPACE
    a year before as_of, the shop's spending in the 90 days that followed ran at 0.65 times
    its rate in the 182 days before them (the rate a valuation made then would have
    projected at): if the season repeats, the next 90 days hold less than the stake
    projects
    >>> season_ahead(1.1, 90, 182.5, money=True)
    ''
    """
    if not (factor > PEAK_RATE or factor < 1 / PEAK_RATE):
        return ""
    rate = "spending" if money else "ordering"
    return (
        f"a year before as_of, the shop's {rate} in the {horizon_days} days that followed ran "
        f"at {factor:.2f} times its rate in the {ratio_days:,.0f} days before them (the rate "
        "a valuation made then would have projected at): if the season repeats, the next "
        f"{horizon_days} days hold {'less' if factor < 1 else 'more'} than the stake projects"
    )


def campaign_claim(
    customers: int,
    projected_stake: float,
    contact_cost: float,
    *,
    money: bool,
    currency: str = "",
    basis: str = "value x churn risk",
    evidence: CampaignEvidence | None = None,
    unchecked: str = NO_WINDOW,
    warnings: tuple[str, ...] = (),
) -> Claim:
    """A win-back campaign proposed only where the value at stake per contact over the
    window that was checked, valued by the evidence, exceeds the contact cost even at the
    interval's low end: the campaign pays if it adds more than the contact cost per
    contact, which is then less than what the customers spend with no campaign (the card
    states that break-even share). Otherwise it is not proposed, and the card states the
    break-even share by the evidence and at the low end, and that whether it pays is not
    measured (what contacting the customers changes needs an experiment,
    `recsys.job.targeting`). Neither case is a claim about the campaign's effect.

    ``projected_stake`` is the projection of the decisions (``basis``) over the value
    horizon; ``evidence`` is `recsys.job.campaign.campaign_backtest`: at the evaluation
    cutoff the same rule and valuation projected an amount for the ``horizon_days``
    after it, and the customers it selected spent a share of it (the realised/projected
    ratio, with an interval). The check covers one window of ``horizon_days``, so the
    stake by the evidence is stated over that window only: the projection x
    ``horizon_days / value_horizon_days`` x the ratio, capped at 1 (the evidence may
    lower the projection, never raise it). The projection over the value horizon is
    stated as an extrapolation the check does not cover. Where the shop as a whole spent
    faster in the window than at the rate the valuation projects at
    (``evidence.window_rate`` > 1), the ratio and its interval are divided by that
    factor first: a busy window lifts every selection's spend, and that lift is not
    evidence about these customers; from `PEAK_RATE` the card warns of a peak
    (`peak_window`). The campaign is proposed only where the window's stake at the
    interval's *lower* bound, per contact, exceeds ``contact_cost``: the cost is
    certain, the return is not. Without evidence (``unchecked`` says why) or without
    prices, no campaign is proposed. Where the check rests on less purchase history
    before the cutoff than the window it projects (``evidence.history_days`` <
    ``evidence.horizon_days``), the card warns (`short_history`).

    Where the customers selected at the cutoff spent nothing in the window, or were
    refunded more than they bought in it (their spend net of returns below 0), the
    evidence puts no money at stake: the card says so in words, with no negative amount,
    its ``stake`` is 0 and no campaign is proposed (`_nothing_at_stake`); an interval
    whose low end falls below 0 is "nothing at the low end".

    The claim's ``stake`` is the stake by the evidence over the ``stake_days`` checked;
    unchecked, the projection over the value horizon (``projected_stake`` either way; the
    actions' ``projected_value`` column is each customer's projection; this, their sum over
    the win-back customers).

    Examples
    --------
    >>> from datetime import datetime
    >>> from recsys.job.campaign import CampaignEvidence
    >>> seen = CampaignEvidence(datetime(2024, 1, 1), 90, 360, 80, 4000.0, 200.0, 5, 0.05,
    ...                         0.03, 0.08, 0.95, True)
    >>> claim = campaign_claim(100, 50_000.0, 1.0, money=True, evidence=seen)
    >>> claim.licensed, claim.evidence["stake"], claim.evidence["per_contact_low"]
    (True, 625.0, 3.75)
    >>> claim.evidence["stake_days"], claim.evidence["projected_stake"]
    (90, 50000.0)
    >>> campaign_claim(100, 50_000.0, 5.0, money=True, evidence=seen).licensed
    False
    >>> campaign_claim(100, 50_000.0, 1.0, money=True).licensed  # not checked
    False
    """
    data: dict[str, Any] = {
        "customers": customers,
        "projected_stake": projected_stake,
        "contact_cost": contact_cost,
        "money": money,
        "basis": basis,
    }
    if evidence is not None:
        data["checked_history_days"] = evidence.history_days
        if evidence.history_days < evidence.horizon_days:
            warnings = (*warnings, short_history(evidence))
        if evidence.window_rate >= PEAK_RATE:
            warnings = (*warnings, peak_window(evidence))
    if customers == 0:
        data.update(stake=0.0, per_contact=0.0)
        return Claim("campaign", "No customer to win back.", False, data, warnings, None)

    def cash(x: float) -> str:
        return money_text(x, currency, None)

    amount = cash if money else about
    projection = f"{amount(projected_stake)}{'' if money else ' expected orders'} ({basis})"
    checked = evidence is not None and math.isfinite(evidence.ci_low)
    if evidence is not None and not checked:
        unchecked = (
            "no bootstrap resamples for the interval of the ratio"
            if evidence.projected > 0
            else "nothing was projected for the customers selected at the cutoff"
        )
    if not checked:
        data.update(stake=projected_stake, per_contact=projected_stake / customers)
        data["unchecked"] = unchecked
        head = (
            f"A win-back campaign is not proposed: {customers:,} lapsed customers, "
            if money
            else f"{customers:,} lapsed customers, "
        )
        text = (
            f"{head}{projection} at stake by a projection that could not be checked against "
            f"what customers spent ({unchecked})"
        )
        text += (
            ": a campaign is not proposed on an unchecked amount."
            if money
            else "; the file has no prices, so whether a campaign pays for its contact cost "
            f"({cash(contact_cost)} each) cannot be checked either."
        )
        return Claim("campaign", text, False, data, warnings, "no campaign proposed")
    assert evidence is not None
    days, horizon = evidence.horizon_days, evidence.value_horizon_days
    window = projected_stake * days / horizon  # the projection over the window checked
    lift = max(evidence.window_rate, 1.0) if math.isfinite(evidence.window_rate) else 1.0
    share, share_low = evidence.ratio / lift, evidence.ci_low / lift
    stake = window * min(share, 1.0)
    per, per_low = stake / customers, window * min(share_low, 1.0) / customers
    data.update(
        stake=stake,
        stake_days=days,
        value_horizon_days=horizon,
        per_contact=per,
        per_contact_low=per_low,
        ratio=evidence.ratio,
        ratio_ci_low=evidence.ci_low,
        ratio_ci_high=evidence.ci_high,
        window_rate=evidence.window_rate,
        ratio_at_window_rate=share,
        checked_at=evidence.cutoff,
        checked_customers=evidence.customers,
        checked_projected=evidence.projected,
        checked_realised=evidence.realised,
        checked_bought_again=evidence.bought_again,
        checked_horizon_days=days,
    )
    units = "" if money else " orders"
    if not stake > 0:  # nothing, or refunds beyond purchases: no money at stake
        data.update(stake=0.0, per_contact=0.0, per_contact_low=0.0)
        return Claim(
            "campaign",
            _nothing_at_stake(customers, evidence, projection, amount, money),
            False,
            data,
            warnings,
            "no campaign proposed",
        )
    realised = cash(evidence.realised) if money else f"{evidence.realised:,.0f} orders"
    read = (
        f" The shop as a whole {'spent' if money else 'ordered'} {lift:.2f} times as fast "
        f"in that window as in the {evidence.ratio_days:,.0f} days before the cutoff (the "
        "rate the valuation projects at), so the ratio is read at the window's own rate: "
        f"{percent(share)} ({percent(share_low)} to {percent(evidence.ci_high / lift)})."
        if lift > 1
        else ""
    )
    scaled = (
        f"The projection for the next {days} days, {amount(window)}{units} (the "
        f"{horizon}-day projection x {days}/{horizon}), "
        + (
            f"is scaled by {percent(share)}"
            if share < 1
            else "is kept (the evidence lowers a projection, never raises it)"
        )
        + ": at the "
        f"evaluation cutoff ({evidence.cutoff:%Y-%m-%d}) the same rule selected "
        f"{evidence.customers:,} customers and the same valuation projected "
        f"{amount(evidence.projected)}{units} for the next {days} days; uncontacted, they "
        f"{'spent' if money else 'placed'} {realised} "
        f"({percent(evidence.ratio)}, {evidence.confidence:.0%} CI {percent(evidence.ci_low)} to "
        f"{percent(evidence.ci_high)}; {percent(evidence.bought_again / evidence.customers)} "
        f"bought again).{read} Over the value horizon the valuation projects {projection} "
        f"for {horizon} days: an extrapolation of one {days}-day window, which the check "
        "does not cover."
    )
    over = f"over the next {days} days"
    if not money:
        text = (
            f"{customers:,} lapsed customers, {about(stake)} orders at stake {over} by the "
            "evidence: the file has no prices, so whether a campaign pays for its contact "
            f"cost ({cash(contact_cost)} each) cannot be checked. {scaled}"
        )
        return Claim("campaign", text, False, data, warnings, "no campaign proposed")
    low = cash(per_low)
    per_text = f"{cash(per)} per contact, " + (
        "nothing at the low end of the interval (its share of the projection is not above 0),"
        if not per_low > 0
        else "the same at the low end of the interval,"
        if low == cash(per)
        else f"{low} at the low end of the interval,"
    )
    cost = cash(contact_cost)
    if per_low > contact_cost:
        text = (
            f"Win back {customers:,} customers: {cash(stake)} at stake {over} by "
            f"the evidence ({per_text} above a contact cost of {cost}), backed by what such "
            f"customers spent with no campaign in one {days}-day window. The campaign pays "
            f"if it adds more than {cost} per contact, {percent(contact_cost / per_low)} of "
            "what they spend with no campaign at the low end; what it adds is not measured "
            f"here (it needs an experiment: the job's --experiment). {scaled}"
        )
        return Claim("campaign", text, True, data, warnings, None)
    needed = (
        f"{percent(contact_cost / per)} of what they spend with no campaign by the evidence"
        if per > 0
        else "more than they spend with no campaign"
    ) + (
        f", {percent(contact_cost / per_low)} at the low end of the interval"
        if per_low > 0
        else ", and more than nothing at the low end"
    )
    text = (
        f"A win-back campaign is not proposed: {customers:,} customers, "
        f"{cash(stake)} at stake {over} by the evidence ({per_text} not more "
        f"than the contact cost of {cost}). It would pay if it added more than {cost} per "
        f"contact: {needed}. A campaign is proposed only where the contact cost is below "
        "their own spend at the low end; whether this one pays is not measured here (it "
        f"needs an experiment: the job's --experiment). {scaled}"
    )
    return Claim("campaign", text, False, data, warnings, "no campaign proposed")


def _nothing_at_stake(
    customers: int,
    evidence: CampaignEvidence,
    projection: str,
    amount: Callable[[float], str],
    money: bool,
) -> str:
    """The campaign card where the evidence gives no positive money at stake: the
    customers selected at the cutoff spent nothing in the window (``realised`` 0), or were
    refunded more than they bought (``realised`` below 0, said as a refund, never as a
    negative amount); or where the valuation projects nothing for today's customers.

    Examples
    --------
    >>> from datetime import datetime
    >>> seen = CampaignEvidence(datetime(2024, 1, 1), 90, 360, 80, 400.0, -27.0, 3, -0.07,
    ...                         -0.2, 0.05, 0.95, True)
    >>> text = _nothing_at_stake(100, seen, "£5,000 (value)", lambda x: f"£{x:,.0f}", True)
    >>> print(text)  # doctest: +NORMALIZE_WHITESPACE
    A win-back campaign is not proposed: 100 lapsed customers, and the evidence puts no
    money at stake over the next 90 days. At the evaluation cutoff (2024-01-01) the same
    rule selected 80 customers and the same valuation projected £400 for the next 90 days;
    uncontacted, they were refunded £27 more than they spent in that window (their spend
    net of returns), so none of the projection is backed by what such customers spent.
    Over the value horizon the valuation projects £5,000 (value) for 360 days: an
    extrapolation the check does not back.
    """
    days, horizon = evidence.horizon_days, evidence.value_horizon_days
    units = "" if money else " orders"
    if evidence.realised > 0:  # the check backs spend; nothing is projected for these
        return (
            f"A win-back campaign is not proposed: {customers:,} lapsed customers, and "
            f"nothing at stake: the valuation projects {projection} for them."
        )
    if evidence.realised < 0:
        did = (
            f"were refunded {amount(-evidence.realised)}{units} more than they spent in that "
            "window (their spend net of returns)"
        )
    else:
        did = "spent nothing in that window" if money else "placed no order in that window"
    return (
        f"A win-back campaign is not proposed: {customers:,} lapsed customers, and the "
        f"evidence puts no {'money' if money else 'orders'} at stake over the next {days} "
        f"days. At the evaluation cutoff ({evidence.cutoff:%Y-%m-%d}) the same rule selected "
        f"{evidence.customers:,} customers and the same valuation projected "
        f"{amount(evidence.projected)}{units} for the next {days} days; uncontacted, they "
        f"{did}, so none of the projection is backed by what such customers spent. Over the "
        f"value horizon the valuation projects {projection} for {horizon} days: an "
        "extrapolation the check does not back."
    )
