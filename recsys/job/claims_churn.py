"""The churn card: `churn_claim` (churn risk vs days since the last order and the number
of orders, and as a probability) and the order of the win-back list it leads to
(`winback_order`). The value card is `recsys.job.claims_value`; the rules are listed in
`recsys.job.claims`.
"""

from __future__ import annotations

import math
from typing import Any

from recsys._text import first_upper, percent
from recsys.job.claims import NO_WINDOW, Claim
from recsys.job.decisions import CHURN_RULES, DEFAULT_CHURN_RULE
from recsys.job.evidence import (
    CALIBRATION_TOLERANCE,
    ChurnEvidence,
    FitEvidence,
    RuleComparison,
)
from recsys.job.learned import LEARNED_CHURN_RISK, MODEL_NAMES

__all__ = [
    "CHURN_SUBJECTS",
    "better_churn_rule",
    "churn_claim",
    "winback_order",
]


def winback_order(ranked_by: str) -> str:
    """The stated order of the win-back list when churn risk is not licensed: customer
    value, then the churn ordering (``ranked_by``: ``"churn_risk"``,
    ``"learned_churn_risk"`` or a rule of `recsys.job.decisions.CHURN_RULES`).

    Examples
    --------
    >>> winback_order("recency")
    'customer value (see the value card), then days since the last order (longest first)'
    """
    churn = (
        CHURN_RULES[ranked_by][1]
        if ranked_by in CHURN_RULES
        else "the learned churn risk"
        if ranked_by == LEARNED_CHURN_RISK
        else "churn risk"
    )
    return f"customer value (see the value card), then {churn}"


def better_churn_rule(rules: tuple[RuleComparison, ...]) -> RuleComparison | None:
    """The AUC row of the naive churn rule with the higher AUC (ties: the first)."""
    auc = [r for r in rules if r.metric == "auc" and r.rule in CHURN_RULES]
    return max(auc, key=lambda r: r.rule_value) if auc else None


#: How the cards name each churn model (the candidate of `recsys.job.learned`).
CHURN_SUBJECTS = {
    "churn_risk": "BG/NBD's churn risk",
    "LearnedChurn": "the learned churn model's churn risk",
}
#: The column each churn model ranks by where it is deployed.
_CHURN_COLUMNS = {"churn_risk": "churn_risk", "LearnedChurn": LEARNED_CHURN_RISK}


def churn_claim(
    evidence: ChurnEvidence | None,
    fits: FitEvidence | None,
    *,
    rules: tuple[RuleComparison, ...] = (),
    enabled: bool = True,
    min_customers: int = 30,
    warnings: tuple[str, ...] = (),
    unchecked: str = NO_WINDOW,
    model: str = "churn_risk",
    unfitted: str = "",
    unrefitted: str = "",
) -> Claim:
    """The candidate churn model's risk against the naive rules and as a probability, or
    the rule and why.

    ``model`` is the candidate (`recsys.job.learned.churn_candidate`: ``"churn_risk"``,
    BG/NBD's, or ``"LearnedChurn"``); ``evidence`` and ``rules`` are its (the churn rows
    of the backtest at the evaluation cutoff: `recsys.job.evidence.churn_evidence`,
    `rule_comparisons`). ``evidence["ranked_by"]`` is what churn is ranked by: the
    model's column (``"churn_risk"`` or ``"learned_churn_risk"``) where its AUC interval
    is above both rules' on at least ``min_customers`` customers (BG/NBD's also with an
    unflagged fit), else the better rule (``"recency"`` without a comparison). Without
    ``evidence``, ``unchecked`` says why; ``unfitted``: why the learned model could not
    be fitted at the cutoff (BG/NBD is the candidate then), stated on the card;
    ``unrefitted``: why the learned model that beat the rules could not be refitted as
    of ``as_of`` (churn is ranked by the rule then).

    The risk is read as a probability (the claim licensed) only where, besides, it is
    calibrated (every decile within `CALIBRATION_TOLERANCE`), separates churners from
    returners, rests on ``min_customers`` and its Brier score at the cutoff is not
    above the base rate's (the ``brier`` row of ``rules``: every customer given the
    share of them who churned, the best constant in hindsight). The card states that
    Brier score next to the base rate's whenever it was computed; where it is worse the
    card says the score ranks customers but is not a probability, and nowhere reads it
    as one.

    Examples
    --------
    >>> claim = churn_claim(None, None)
    >>> claim.licensed, claim.evidence["ranked_by"], claim.fallback == winback_order("recency")
    (False, 'recency', True)
    """
    reasons = []
    subject = CHURN_SUBJECTS[model]
    bgnbd = model == "churn_risk"
    data: dict[str, Any] = {
        "tolerance": CALIBRATION_TOLERANCE,
        "min_customers": min_customers,
        "model": model,
        "model_name": MODEL_NAMES[model],
    }
    if unfitted:
        data["learned_unfitted"] = unfitted
    if not enabled:
        reasons.append("the churn model is turned off")
    elif evidence is None:
        reasons.append(f"it could not be checked ({unchecked})")
    else:
        data.update(
            customers=evidence.customers,
            churned=evidence.churned,
            auc=evidence.auc,
            auc_low=evidence.auc_low,
            auc_high=evidence.auc_high,
            max_gap=evidence.max_gap,
            horizon_days=evidence.horizon_days,
        )
        auc = (
            f"AUC {evidence.auc:.2f} [{evidence.auc_low:.2f}, {evidence.auc_high:.2f}]"
            if math.isfinite(evidence.auc)
            else "AUC undefined (one outcome only)"
        )
        data["auc_text"] = auc
        if evidence.customers < min_customers:
            reasons.append(
                f"only {evidence.customers:,} customers could be checked (at least "
                f"{min_customers:,} needed)"
            )
        if not evidence.discriminates:
            reasons.append(
                f"it does not separate churners from returners better than chance ({auc})"
            )
        if not evidence.calibrated:
            shown_gap, shown_tolerance = _told_apart(evidence.max_gap, CALIBRATION_TOLERANCE)
            gap = (
                f"predicted and observed churn differ by up to {shown_gap} "
                f"in a decile (tolerance {shown_tolerance})"
                if math.isfinite(evidence.max_gap)
                else "no decile could be checked"
            )
            reasons.append(f"it is not calibrated: {gap}")
    figures, base = _brier(evidence, rules, data) if enabled else ("", "")
    # a score worse than the base rate in Brier score ranks, and is never read as a
    # probability: the first reason, and the card words it so
    # (the licence on the point estimate, the cautious side; the words on the interval)
    worse = bool(data.get("brier_worse"))
    if worse:
        standing = "worse than" if data.get("brier_loses") else "no better than"
        reasons.insert(0, f"read as probabilities its scores do {standing} {base}: {figures}")
    standing = "better than" if data.get("brier_beats") else "no worse than"
    brier = f"it scores {standing} {base}: {figures}" if figures and not worse else ""
    # BG/NBD's fit flags concern BG/NBD's churn risk (the learned model is judged by its check)
    credible = fits is None or fits.churn_credible or not bgnbd
    if enabled and not credible:
        assert fits is not None
        reasons.append("its fit is flagged: " + "; ".join(fits.churn_flags))
    best = better_churn_rule(rules) if enabled else None
    against = [r for r in rules if r.metric == "auc" and r.rule in CHURN_RULES] if enabled else []
    # the one not beaten that the card names: the better rule, else the other
    unbeaten = next((r for r in sorted(against, key=lambda r: r is not best) if not r.beats), None)
    # Ranking by the model needs the same footing as reading it: enough customers and a
    # credible fit, not only intervals above both rules'.
    ahead = best is not None and unbeaten is None
    enough = best is not None and best.customers >= min_customers
    beats = ahead and enough and credible and not unrefitted
    ranked_by = (
        _CHURN_COLUMNS[model] if beats else (best.rule if best is not None else DEFAULT_CHURN_RULE)
    )
    data["ranked_by"] = ranked_by
    if best is not None:
        data.update(
            rule=best.rule,
            rule_auc=best.rule_value,
            auc_vs_rule=best.diff,
            auc_vs_rule_ci_low=best.ci_low,
            auc_vs_rule_ci_high=best.ci_high,
            customers_vs_rule=best.customers,
        )
    probability = not reasons
    licensed = probability and beats
    rule_name = CHURN_RULES[ranked_by][1] if ranked_by in CHURN_RULES else ""
    if best is None:
        why = (
            "the churn model is turned off"
            if not enabled
            else unchecked
            if evidence is None
            else "no customer to compare on"
        )
        ranking = (
            f"Whether {subject} ranks who leaves better than the naive rules could not be "
            f"checked ({why}): churn is ranked by {rule_name}"
        )
    elif beats:
        ranking = (
            f"{first_upper(subject)} ranks who leaves better than the better naive rule, "
            f"{CHURN_RULES[best.rule][1]}: {best.worded} on {best.customers:,} customers "
            "at the evaluation cutoff"
        )
    elif ahead and unrefitted:
        ranking = (
            f"{first_upper(subject)} ranked who leaves above the naive rules at the evaluation "
            f"cutoff: {best.worded}; but it could not be refitted as of as_of ({unrefitted}), "
            f"so churn is ranked by {rule_name}"
        )
    elif ahead:
        short = (
            f"only {best.customers:,} customers (at least {min_customers:,} needed)"
            if best.customers < min_customers
            else "a flagged fit"
        )
        ranking = (
            f"{first_upper(subject)} ranked who leaves above the naive rule {rule_name}: "
            f"{best.worded}; but on {short}, so churn is ranked by {rule_name}"
        )
    else:
        assert unbeaten is not None
        ranking = (
            f"{first_upper(subject)} is no better than the naive rule "
            f"{CHURN_RULES[unbeaten.rule][1]} at ranking who leaves: {unbeaten.worded} on "
            f"{unbeaten.customers:,} customers at the evaluation cutoff; churn is ranked by "
            f"{rule_name}"
        )
    why_not = (
        f" The learned churn model could not be fitted at the evaluation cutoff "
        f"({unfitted}): BG/NBD's churn risk was checked instead."
        if unfitted and enabled
        else ""
    )
    if licensed:
        assert evidence is not None
        text = (
            f"{first_upper(subject)} can be read as a probability: on {evidence.customers:,} "
            f"customers checked over {evidence.horizon_days} days, every decile is within "
            f"{percent(CALIBRATION_TOLERANCE, 0)} of what happened and it separates churners "
            f"from returners ({data['auc_text']})"
            + (f"; {brier}" if brier else "")
            + f". {ranking}.{why_not}"
        )
        return Claim("churn", text, True, data, warnings, None)
    if probability:
        use = (
            f"It passes the checks of a probability: every decile within "
            f"{percent(CALIBRATION_TOLERANCE, 0)} of what happened, {data['auc_text']}"
            + (f"; {brier}" if brier else "")
            + "; but the decisions do not use it where it does not beat the rules"
        )
    elif worse and ranked_by == _CHURN_COLUMNS[model]:
        use = "Its scores rank customers but are not probabilities: " + "; ".join(reasons)
    else:
        use = "It is not used as a probability: " + "; ".join(reasons)
        use += f"; {brier}" if brier else ""
    fallback = winback_order(ranked_by)
    text = (
        f"{ranking}. {use}. The win-back list is ordered by {fallback}, with no risk "
        f"threshold.{why_not}"
    )
    return Claim("churn", text, False, data, warnings, fallback)


def _brier(
    evidence: ChurnEvidence | None, rules: tuple[RuleComparison, ...], data: dict[str, Any]
) -> tuple[str, str]:
    """The Brier score of the checked churn score against the base rate's (the ``brier``
    row of ``rules``, `recsys.evaluation.backtest_profiles`: every customer given the
    share of them who churned in the window, ``ȳ (1 - ȳ)``): the figures and the base
    rate, worded; the figures are added to ``data`` (``brier_worse``: its score is above
    the base rate's; ``brier_beats`` / ``brier_loses``: the interval says so).
    ``("", "")`` without ``evidence``, the row or a finite score.

    The base rate is the one constant that would have scored best on the window: known
    only after it, so it is a stricter reference than any rate known at the cutoff.

    Examples
    --------
    >>> row = RuleComparison("churn", "brier", "base_rate", 0.2295, 0.2285, 0.001,
    ...                      -0.0004, 0.0024, 400, 90)
    >>> import polars as pl
    >>> data = {}
    >>> evidence = ChurnEvidence(400, 145, 0.51, 0.45, 0.57, 0.1, pl.DataFrame(), 90)
    >>> figures, base = _brier(evidence, (row,), data)
    >>> figures
    'Brier score 0.2295 vs 0.2285 (difference +0.0010, 95% CI -0.0004 to +0.0024)'
    >>> base
    'the base rate in Brier score (every customer given the share who churned, 36.2%)'
    >>> data["brier_worse"], data["brier_loses"]
    (True, False)
    """
    row = next((r for r in rules if r.metric == "brier"), None)
    if evidence is None or row is None or not (evidence.customers and math.isfinite(row.value)):
        return "", ""
    rate = evidence.churned / evidence.customers
    data.update(
        brier=row.value,
        base_rate=rate,
        base_rate_brier=row.rule_value,
        brier_vs_base_rate=row.diff,
        brier_ci_low=row.ci_low,
        brier_ci_high=row.ci_high,
        brier_worse=bool(row.diff > 0),
        brier_beats=row.beats,
        brier_loses=row.loses,
    )
    share = percent(rate, 1)
    base = f"the base rate in Brier score (every customer given the share who churned, {share})"
    return row.worded, base


def _told_apart(x: float, y: float) -> tuple[str, str]:
    """``x`` and ``y`` as percentages with the fewest decimals (0 to 3) that tell them apart.

    Examples
    --------
    >>> _told_apart(0.0512, 0.05), _told_apart(0.64, 0.05)
    (('5.1%', '5.0%'), ('64%', '5%'))
    """
    for decimals in range(4):
        shown = percent(x, decimals), percent(y, decimals)
        if shown[0] != shown[1]:
            return shown
    return shown
