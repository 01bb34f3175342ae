"""The rules that turn evidence into the words of a headline: one place for every claim.

Each rule returns a `Claim`: the sentence, whether the evidence licenses it, the
evidence itself (counts, intervals, the check passed or failed), the warnings that
concern it and, when it is not licensed, the fallback used instead. The report
shows them as they are; it words nothing itself.

Rules:

* churn risk ranks who leaves only where it beats the better naive rule (days since
  the last order, or the number of orders, then days since the last order: each
  scored in the order it is deployed) at the evaluation cutoff, its paired AUC
  interval above 0; otherwise churn is ranked by that rule. It is a probability only
  where, besides, calibration holds on enough customers *and* it discriminates (the AUC
  interval is above 0.5) *and* its fit is credible *and* its Brier score is not above
  the base rate's; otherwise the win-back list is
  ordered by customer value, then the churn ordering
  (`recsys.job.claims_customer.churn_claim`);
* customer value comes from the CLV model only where its fit is credible *and* it beats
  past spend (the deployed CLV, computed at the cutoff: the paired interval of the
  difference of Spearman correlations with the next window's spend above 0) *and* its
  top customers are not worse (the paired interval of the difference of top-decile
  captures not entirely below 0); otherwise it is ranked by past spend
  (`recsys.job.claims_customer.value_claim`);
* a model is named best only when its paired interval against the runner-up
  excludes 0 on enough customers with a hit rate above 0; where the test window
  separates its best model above the one used (chosen on the validation split, never
  on the test window), the card says so, as a single window's verdict not acted on
  (`model_claim`);
* the evaluation names who was evaluated, returning and first-time customers
  apart, or why nobody was (`evaluation_claim`);
* a campaign is proposed only where the value at stake per contact, valued by the
  evidence (the projection x the share of it that materialised when the same rule and
  valuation were applied at the evaluation cutoff, at the low end of its interval),
  exceeds the contact cost; never on an unchecked projection (`campaign_claim`);
* the items due are licensed only where, computed at the evaluation cutoff, their
  chances beat the item's base rate on the window after it (the Brier score's paired
  interval below 0); the purchases they expect are scaled by what materialised there
  where it fell short (`recsys.job.claims_due.due_claim`, `recsys.job.due_check`);
* an offer is targeted by the uplift model only where its Qini interval on the
  experiment is above 0 (`targeting_claim`); otherwise by `TARGETING_FALLBACK`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from recsys._text import money as money_text  # `money` is campaign_claim's flag
from recsys._text import number, percent
from recsys.job.campaign import CampaignEvidence
from recsys.job.choice import ModelChoice
from recsys.job.regime import Regime

__all__ = [
    "NO_WINDOW",
    "PEAK_RATE",
    "TARGETING_FALLBACK",
    "Claim",
    "campaign_claim",
    "evaluation_claim",
    "model_claim",
    "peak_window",
    "season_ahead",
    "short_history",
    "targeting_claim",
]

#: Why a claim was not checked when the job has no evaluation window.
NO_WINDOW = "no evaluation window"
#: The stated plan when the uplift model does not rank responders better than random.
TARGETING_FALLBACK = (
    "the experiment's average effect for every customer: send the offer to everyone if it "
    "pays the contact cost (to nobody otherwise; under a budget or a count, the first "
    "customers by id)"
)


@dataclass(frozen=True)
class Claim:
    """One headline and what licenses it.

    ``text`` is the sentence shown; ``licensed`` says whether the evidence supports
    the strong form of the claim (when False, ``text`` says so and ``fallback``
    names what is used instead); ``evidence`` holds the numbers behind it;
    ``warnings`` the warnings of the run that concern it.
    """

    key: str
    text: str
    licensed: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    fallback: str | None = None


def _orders(x: float) -> str:
    """A number of orders that may be fractional (an expectation): whole from 10 up."""
    return f"about {x:,.0f}" if abs(x) >= 10 else f"about {x:,.1f}"


def evaluation_claim(
    regime: Regime,
    *,
    returning: int,
    first_time: int,
    on_unknown: str,
    reason: str | None = None,
    min_evaluated: int = 30,
    warnings: tuple[str, ...] = (),
    sampled: tuple[int, int] | None = None,
) -> Claim:
    """Who was evaluated: every customer who bought in the test window, returning and
    first-time apart (or why nobody was); with ``sampled`` = (sampled customers, all
    customers), every such customer of a random sample (`JobConfig.evaluation_customers`).

    Examples
    --------
    >>> from datetime import datetime
    >>> r = Regime(datetime(2024, 1, 1), 10, 12, 1.2, 0.8, 0.1, 20, 2, True, True,
    ...            datetime(2023, 12, 1), 30, 5, 3, 2, "user_id")
    >>> evaluation_claim(r, returning=3, first_time=2, on_unknown="fallback").licensed
    False
    """
    fallback = on_unknown == "fallback"
    total = returning + (first_time if fallback else 0)
    data = {
        "evaluated": total,
        "returning": returning,
        "first_time": first_time,
        "test_customers": regime.test_customers,
        "cutoff": regime.cutoff,
        "horizon_days": regime.horizon_days,
        "min_evaluated": min_evaluated,
        "sampled": sampled,
    }
    if reason is not None:
        return Claim("evaluation", f"No evaluation: {reason}.", False, data, warnings, None)
    window = f"in {regime.window}"
    if sampled is not None:
        window += (
            f", of a random sample of {sampled[0]:,} of the {sampled[1]:,} customers "
            "(the models were fitted and compared on the sample's purchases)"
        )
    if fallback:
        text = (
            f"Evaluated on all {total:,} customers who bought {window}: {returning:,} "
            f"returning and {first_time:,} first-time; first-time buyers got each model's "
            "cold-start fallback (the training popularity ranking)."
        )
    else:
        text = (
            f"Evaluated on the {returning:,} returning customers who bought {window}; the "
            f"{first_time:,} first-time buyers were left out (on_unknown='skip')."
        )
    licensed = returning >= min_evaluated
    if not licensed:
        text += (
            f" Only {returning:,} returning customers (at least {min_evaluated:,} needed): "
            "nothing reliable can be said about personalisation."
        )
    return Claim("evaluation", text, licensed, data, warnings, None)


def model_claim(
    choice: ModelChoice | None,
    *,
    used: str,
    used_because: str,
    evaluated: int,
    best_value: float = math.nan,
    min_evaluated: int = 30,
    warnings: tuple[str, ...] = (),
) -> Claim:
    """A best model named only when its paired interval against the runner-up excludes 0;
    a model the test window puts ahead of the one used, said so.

    ``choice`` is `choose_model` on the test evaluation; ``used`` is the model the
    job recommends with and ``used_because`` why (the validation split or the
    regime's default). The model is never chosen on the test window, but the card does
    not contradict it: where the test window separates its best model above ``used``
    (the paired interval of best minus ``used`` above 0), the text opens with that, as
    a single window's verdict, reported and not acted on (``evidence["test_favours"]``);
    "not enough evidence" is said only of naming one best model.

    Examples
    --------
    >>> model_claim(None, used="popular", used_because="no evaluation", evaluated=0).text
    'Not enough evidence to name a best model: no evaluation. The job uses popular: no evaluation.'
    """
    data: dict[str, Any] = {"used": used, "evaluated": evaluated, "best_value": best_value}
    reason = None
    if choice is None:
        reason = "no evaluation"
    elif evaluated < min_evaluated:
        reason = f"only {evaluated:,} customers evaluated (at least {min_evaluated:,} needed)"
    elif not best_value > 0:
        reason = "every model scored 0"
    elif choice.runner_up is None:
        reason = "only one model was evaluated"
    else:
        row = choice.comparisons.row(0, named=True)
        data.update(
            best=choice.best,
            runner_up=choice.runner_up,
            difference=row["difference"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
        )
        if not row["ci_low"] > 0:
            reason = (
                f"{choice.best} and the runner-up {choice.runner_up} differ by "
                f"{number(row['difference'], signed=True)} in "
                f"{choice.metric.replace('_', ' ')}@{choice.k}, "
                f"95% interval [{number(row['ci_low'], signed=True)}, "
                f"{number(row['ci_high'], signed=True)}], which contains 0"
            )
    uses = f"The job uses {used}: {used_because}."
    favours = _test_favours(choice, used, evaluated, best_value, data)
    if favours:
        uses = (
            f"The job uses {used}: {used_because}. The model is chosen on the validation "
            "split, never on the test window: the test window's verdict is a single "
            "window's, reported here and not acted on."
        )
    if reason is None:
        assert choice is not None
        text = (
            f"{choice.best} is the best model on the test window: ahead of the runner-up "
            f"{choice.runner_up} by {number(data['difference'], signed=True)} in "
            f"{choice.metric.replace('_', ' ')}@{choice.k}, 95% paired interval "
            f"[{number(data['ci_low'], signed=True)}, {number(data['ci_high'], signed=True)}], "
            f"on {evaluated:,} customers. "
        )
        if favours and used != choice.runner_up:  # else the gap is the one just stated
            text += f"{favours} "
        return Claim("model", text + uses, True, data, warnings, None)
    data["reason"] = reason
    if favours:
        text = f"{favours} {uses} No single best model can be named: {reason}."
    else:
        text = f"Not enough evidence to name a best model: {reason}. {uses}"
    return Claim("model", text, False, data, warnings, used)


def _test_favours(
    choice: ModelChoice | None,
    used: str,
    evaluated: int,
    best_value: float,
    data: dict[str, Any],
) -> str:
    """The sentence saying the test window separates ``choice.best`` above ``used`` (its
    figures added to ``data``), or "" where it does not."""
    if choice is None or not best_value > 0:
        return ""
    lead = choice.lead_over(used)
    if lead is None or not lead[1] > 0:
        return ""
    difference, low, high = lead
    data.update(
        test_favours=choice.best,
        favoured_difference=difference,
        favoured_ci_low=low,
        favoured_ci_high=high,
    )
    return (
        f"The test window favours {choice.best} over {used}, the model the job uses: "
        f"{choice.best} is ahead by {number(difference, signed=True)} in "
        f"{choice.metric.replace('_', ' ')}@{choice.k}, 95% paired interval "
        f"[{number(low, signed=True)}, {number(high, signed=True)}], on {evaluated:,} customers."
    )


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
    value_at_stake: float,
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
    window that was checked, valued by the evidence, exceeds the contact cost: a
    necessary condition for it to pay, not its effect (what contacting the customers
    changes needs an experiment, `recsys.job.targeting`).

    ``value_at_stake`` is the projection of the decisions (``basis``) over the value
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

    The claim's ``stake`` is the stake by the evidence over the ``stake_days`` checked;
    unchecked, the projection over the value horizon (``projected_stake`` either way; the
    actions' ``value_at_stake`` column is each customer's projection).

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
        "projected_stake": value_at_stake,
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

    amount = cash if money else _orders
    projection = f"{amount(value_at_stake)}{'' if money else ' expected orders'} ({basis})"
    checked = evidence is not None and math.isfinite(evidence.ci_low)
    if evidence is not None and not checked:
        unchecked = (
            "no bootstrap resamples for the interval of the ratio"
            if evidence.projected > 0
            else "nothing was projected for the customers selected at the cutoff"
        )
    if not checked:
        data.update(stake=value_at_stake, per_contact=value_at_stake / customers)
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
    window = value_at_stake * days / horizon  # the projection over the window checked
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
    realised = cash(evidence.realised) if money else f"{evidence.realised:,.0f} orders"
    units = "" if money else " orders"
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
            f"{customers:,} lapsed customers, {_orders(stake)} orders at stake {over} by the "
            "evidence: the file has no prices, so whether a campaign pays for its contact "
            f"cost ({cash(contact_cost)} each) cannot be checked. {scaled}"
        )
        return Claim("campaign", text, False, data, warnings, "no campaign proposed")
    low = cash(per_low)
    per_text = f"{cash(per)} per contact, " + (
        "the same at the low end of the interval,"
        if low == cash(per)
        else f"{low} at the low end of the interval,"
    )
    cost = cash(contact_cost)
    if per_low > contact_cost:
        text = (
            f"Win back {customers:,} customers: {cash(stake)} at stake {over} by "
            f"the evidence ({per_text} above a contact cost of {cost}), backed by what such "
            f"customers spent with no campaign in one {days}-day window: a necessary "
            "condition for the campaign to pay, not its effect, which is not measured here "
            f"(it needs an experiment: the job's --experiment). {scaled}"
        )
        return Claim("campaign", text, True, data, warnings, None)
    text = (
        f"A win-back campaign is not worth running: {customers:,} customers, "
        f"{cash(stake)} at stake {over} by the evidence ({per_text} not more "
        f"than the contact cost of {cost}). {scaled}"
    )
    return Claim("campaign", text, False, data, warnings, "no campaign proposed")


def targeting_claim(
    result: Any,
    *,
    customers: int,
    arm: str,
    control: str,
    method: str,
    average_uplift: float,
    features_as_of: Any,
    features_basis: str,
    warnings: tuple[str, ...] = (),
) -> Claim:
    """Target the offer by the uplift model only where its Qini interval is above 0.

    ``result`` is `recsys.uplift.plan_value` on the experiment's customers (out-of-fold
    uplift). Not licensed, the sentence says that this experiment's response barely
    varies by customer (or that the model ranks worse than random, an interval below 0)
    and names `TARGETING_FALLBACK`, with the figures.

    Examples
    --------
    >>> import polars as pl
    >>> from recsys.stats import Estimate
    >>> from recsys.uplift import PlanValue
    >>> table = pl.DataFrame({"policy": ["plan", "treat_all"], "estimator": ["dr", "dr"],
    ...     "n_treated": [40, 100], "value": [2.0, 1.5], "ci_low": [1.0, 0.5],
    ...     "ci_high": [3.0, 2.5], "gain": [0.8, 0.3], "gain_ci_low": [0.2, -0.1],
    ...     "gain_ci_high": [1.4, 0.7]})
    >>> flat = PlanValue(table, pl.DataFrame(), Estimate(0.01, -0.02, 0.04, 0.95), False, "")
    >>> claim = targeting_claim(flat, customers=100, arm="offer", control="none",
    ...     method="x", average_uplift=0.05, features_as_of="2024-03-01",
    ...     features_basis="the experiment's start")
    >>> claim.licensed, claim.text.split(":")[0]
    (False, "This experiment's response barely varies by customer")
    """
    area = result.qini_auc
    qini = (
        f"Qini {area.value:.3f} ({area.confidence:.0%} interval {area.ci_low:.3f} to "
        f"{area.ci_high:.3f}) on {customers:,} customers ({arm} against {control}, "
        f"out-of-fold {method}-learner)"
    )
    data: dict[str, Any] = {
        "customers": customers,
        "qini": area.value,
        "qini_ci_low": area.ci_low,
        "qini_ci_high": area.ci_high,
        "average_uplift": average_uplift,
        "features_as_of": features_as_of,
        "features_basis": features_basis,
    }
    plan = result.table.filter(policy="plan", estimator="dr")
    everyone = result.table.filter(policy="treat_all", estimator="dr")
    if plan.height and everyone.height:
        p, e = plan.row(0, named=True), everyone.row(0, named=True)
        data.update(
            plan_treated=p["n_treated"],
            plan_gain=p["gain"],
            plan_gain_ci_low=p["gain_ci_low"],
            plan_gain_ci_high=p["gain_ci_high"],
            treat_all_gain=e["gain"],
        )
        worth = (
            f"; on these customers the plan treats {p['n_treated']:,} and gains "
            f"{p['gain']:.3g} per customer over sending nothing (DR, interval "
            f"{p['gain_ci_low']:.3g} to {p['gain_ci_high']:.3g}; sending to all: "
            f"{e['gain']:.3g})"
        )
    else:
        worth = ""
    when = f"Features are the profiles as of {_evidence_date(features_as_of)} ({features_basis})."
    licensed = bool(area.ci_low > 0)
    if licensed:
        text = (
            f"Send the offer by the uplift model: it ranks responders better than random, "
            f"{qini}{worth}. {when}"
        )
        return Claim("targeting", text, True, data, warnings, None)
    why = (
        "This experiment's response barely varies by customer"
        if area.ci_high >= 0
        else "The uplift model ranks responders worse than random"
    )
    text = (
        f"{why}: {qini} includes 0{worth}. Fall back to {TARGETING_FALLBACK}: an average "
        f"uplift of {average_uplift:+.3g}. {when}"
    )
    if area.ci_high < 0:
        text = text.replace(" includes 0", " is below 0")
    return Claim("targeting", text, False, data, warnings, TARGETING_FALLBACK)


def _evidence_date(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if hasattr(value, "strftime") else str(value)
