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
  (`recsys.job.claims_churn.churn_claim`);
* customer value comes from the CLV model only where its fit is credible *and* it beats
  past spend (the deployed CLV, computed at the cutoff: the paired interval of the
  difference of Spearman correlations with the next window's spend above 0) *and* its
  top customers are not worse (the paired interval of the difference of top-decile
  captures not entirely below 0); otherwise it is ranked by past spend
  (`recsys.job.claims_value.value_claim`);
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
  exceeds the contact cost; never on an unchecked projection
  (`recsys.job.claims_campaign.campaign_claim`);
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

from recsys._text import number
from recsys.job.choice import ModelChoice
from recsys.job.regime import FIRST_SEEN, Regime

__all__ = [
    "NO_WINDOW",
    "TARGETING_FALLBACK",
    "Claim",
    "evaluation_claim",
    "model_claim",
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
    first = FIRST_SEEN
    buyers = f"customers {first}"
    if fallback:
        text = (
            f"Evaluated on all {total:,} customers who bought {window}: {returning:,} "
            f"returning and {first_time:,} {first}; {buyers} got each model's "
            "cold-start fallback (the training popularity ranking)."
        )
    else:
        text = (
            f"Evaluated on the {returning:,} returning customers who bought {window}; the "
            f"{first_time:,} {buyers} were left out (on_unknown='skip')."
        )
    if regime.history_caveat is not None:
        text += f" {regime.history_caveat}"
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
