"""The claims of the customer models, against the naive rules a shop already uses:
`churn_claim` (churn risk vs days since the last order and the number of orders, and as a
probability) and `value_claim` (CLV vs past spend; without prices, BG/NBD's expected
orders vs past orders). The rules are listed in
`recsys.job.claims`.
"""

from __future__ import annotations

import math
from typing import Any

from recsys._text import percent
from recsys.evaluation.backtest import describe_difference
from recsys.job.claims import NO_WINDOW, Claim
from recsys.job.decisions import CHURN_RULES, DEFAULT_CHURN_RULE
from recsys.job.evidence import (
    CALIBRATION_TOLERANCE,
    ChurnEvidence,
    FitEvidence,
    RuleComparison,
)
from recsys.job.learned import LEARNED_CHURN_RISK, MODEL_NAMES
from recsys.profiles import ProfileConfig

__all__ = [
    "CHURN_SUBJECTS",
    "SHORT_VALUE_HISTORY",
    "VALUE_FALLBACK",
    "VALUE_FALLBACK_ORDERS",
    "WEAK_SPEARMAN",
    "better_churn_rule",
    "churn_claim",
    "short_value_history",
    "value_claim",
    "winback_order",
]

#: Below this Spearman correlation with the next window's spend, the card says that past
#: spend itself ranks poorly (below 0.2: "very weak" on the usual reading of a
#: correlation), so a fallback to it is not read as a safe choice.
WEAK_SPEARMAN = 0.2

#: The value horizon, over the purchase history it is read from, above which the value
#: card (and the campaign card, whose stake is that value) warns: a value over more than
#: twice the days observed extrapolates whatever those days held (a season) to the rest.
SHORT_VALUE_HISTORY = 2.0


def short_value_history(horizon_days: int, history_days: float, *, money: bool) -> str:
    """The warning where the value horizon is over `SHORT_VALUE_HISTORY` times the purchase
    history before as_of (``history_days``); "" otherwise.

    Examples
    --------
    >>> print(short_value_history(365, 44.66, money=True))  # doctest: +NORMALIZE_WHITESPACE
    the value horizon (365 days) is 8.2 times the purchase history before as_of (45 days):
    customer value extrapolates the shop's spending in those 45 days to 365 days, with
    whatever season those days held
    >>> short_value_history(365, 373.0, money=True)
    ''
    """
    if not horizon_days > SHORT_VALUE_HISTORY * history_days or history_days <= 0:
        return ""
    rate = "spending" if money else "ordering"
    days = f"{history_days:,.0f}"
    return (
        f"the value horizon ({horizon_days} days) is {horizon_days / history_days:.1f} times "
        f"the purchase history before as_of ({days} days): customer value extrapolates the "
        f"shop's {rate} in those {days} days to {horizon_days} days, with whatever season "
        "those days held"
    )


#: The stated customer value when the CLV model is not licensed.
VALUE_FALLBACK = (
    "past spend (spend to date), scaled so that all customers together are worth the "
    "shop's recent spend over the value horizon"
)
#: The stated customer value without prices when BG/NBD's expected orders are not licensed.
VALUE_FALLBACK_ORDERS = (
    "past orders (orders to date), scaled so that all customers together are worth the "
    "shop's recent orders over the value horizon"
)


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


def _vs(row: RuleComparison) -> str:
    return describe_difference(
        row.metric, row.value, row.rule_value, row.diff, row.ci_low, row.ci_high, row.confidence
    )


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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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
            f"{_cap(subject)} ranks who leaves better than the better naive rule, "
            f"{CHURN_RULES[best.rule][1]}: {_vs(best)} on {best.customers:,} customers "
            "at the evaluation cutoff"
        )
    elif ahead and unrefitted:
        ranking = (
            f"{_cap(subject)} ranked who leaves above the naive rules at the evaluation "
            f"cutoff: {_vs(best)}; but it could not be refitted as of as_of ({unrefitted}), "
            f"so churn is ranked by {rule_name}"
        )
    elif ahead:
        short = (
            f"only {best.customers:,} customers (at least {min_customers:,} needed)"
            if best.customers < min_customers
            else "a flagged fit"
        )
        ranking = (
            f"{_cap(subject)} ranked who leaves above the naive rule {rule_name}: "
            f"{_vs(best)}; but on {short}, so churn is ranked by {rule_name}"
        )
    else:
        assert unbeaten is not None
        ranking = (
            f"{_cap(subject)} is no better than the naive rule "
            f"{CHURN_RULES[unbeaten.rule][1]} at ranking who leaves: {_vs(unbeaten)} on "
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
            f"{_cap(subject)} can be read as a probability: on {evidence.customers:,} "
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


def value_claim(
    fits: FitEvidence | None,
    *,
    has_prices: bool,
    rules: tuple[RuleComparison, ...] = (),
    enabled: bool = True,
    churn_enabled: bool = True,
    horizon_days: int = 365,
    discount_monthly: float = ProfileConfig().clv_discount_monthly,
    ratio: float = math.nan,
    ratio_days: float = math.nan,
    history_days: float = math.nan,
    warnings: tuple[str, ...] = (),
    min_customers: int = 30,
    expected_days: int = 90,
    unchecked: str = NO_WINDOW,
    model: str | None = None,
    unfitted: str = "",
    unrefitted: str = "",
) -> Claim:
    """Customer value from the candidate model where it beats the naive rule on at least
    ``min_customers`` customers, or ranked by the rule (`VALUE_FALLBACK`) and why.

    With prices the candidate (``model``, `recsys.job.learned.value_candidate`) is the
    BG/NBD x Gamma-Gamma CLV (``"clv"``, the default) or the learned CLV
    (``"LearnedCLV"``: past spend x its chance of an order over ``horizon_days``,
    deployed as ``learned_value``, `recsys.job.learned.deployed_columns`) and the rule
    past spend; without, the model is
    BG/NBD's expected orders (its ``expected_days`` expectation, scaled to the value
    horizon: `recsys.job.decisions.expected_orders`) and the rule past orders
    (`VALUE_FALLBACK_ORDERS`). ``rules`` are the rows of the backtest at the evaluation
    cutoff (`recsys.job.evidence.rule_comparisons`, ``"clv"`` or ``"orders"``): the
    model deployed (the CLV over ``horizon_days``, discounted ``discount_monthly`` a
    month), computed at the cutoff, ranks the spend (orders) of the window after it; it
    is used only where the interval of its Spearman correlation with that window, minus
    the rule's, is above 0, and the interval of its top-decile capture (the share of the
    window's spend made by the tenth of customers it ranks highest, those a retention
    team picks first) minus the rule's is not entirely below 0: a model that ranks better
    overall but picks worse top customers is not deployed, and the card says so with
    both figures. A capture level with the rule's is stated as such. The comparison is
    stated whenever one was made, and so is a rule that itself ranks poorly
    (`WEAK_SPEARMAN`). ``ratio`` (over the last
    ``ratio_days``) is `recsys.job.decisions.past_value_ratio`; where ``horizon_days`` is
    over `SHORT_VALUE_HISTORY` times ``history_days`` (the purchase history before as_of)
    the card warns (`short_value_history`). Without a comparison,
    ``unchecked`` says why; ``unfitted``: why the learned CLV could not be fitted at the
    cutoff (the BG/NBD CLV is the candidate then), stated on the card; ``unrefitted``:
    why the learned CLV could not be refitted as of ``as_of`` (past spend then). The fit
    flags of
    BG/NBD and Gamma-Gamma (``fits``) concern their models, not the learned one.

    Examples
    --------
    >>> value_claim(None, has_prices=False).licensed
    False
    """
    short = short_value_history(horizon_days, history_days, money=has_prices)
    if short:
        warnings = (*warnings, short)
    reasons = []
    model = model or ("clv" if has_prices else "expected_orders")
    learned = model == "LearnedCLV"
    if not enabled:
        reasons.append("the value model is turned off")
    elif not churn_enabled:
        reasons.append("the churn model it is built on (BG/NBD) is turned off")
    if enabled and churn_enabled and fits is not None and not learned:
        flags = list(fits.value_flags if has_prices else fits.churn_flags)
        if has_prices and fits.nonfinite_value:
            flags.append(f"{fits.nonfinite_value:,} customers have no finite value")
        if flags:
            reasons.append("its fit is flagged: " + "; ".join(flags))
    if unrefitted:
        reasons.append(f"it could not be refitted as of as_of ({unrefitted})")
    headline = next((r for r in rules if r.metric == "spearman"), None)
    data: dict[str, Any] = {
        "horizon_days": horizon_days,
        "ratio": ratio,
        "ratio_days": ratio_days,
        "history_days": history_days,
        "has_prices": has_prices,
        "model": model,
        "model_name": MODEL_NAMES[model],
    }
    if unfitted:
        data["learned_unfitted"] = unfitted
    if has_prices and not learned:
        data["discount_monthly"] = discount_monthly
    if learned:
        described = (
            f"the learned CLV model's value over the next {horizon_days} days (past spend x "
            "its chance of an order in them, scaled so that all customers together are worth "
            "the shop's recent spend over the value horizon)"
        )
        rule, fallback, noun, unit = "past spend", VALUE_FALLBACK, "spend", "spend"
        source = "the learned CLV model"
    elif has_prices:
        described = f"the CLV model's expected value over the next {horizon_days} days" + (
            f" (discounted {discount_monthly * 100:g}% a month)" if discount_monthly else ""
        )
        rule, fallback, noun, unit = "past spend", VALUE_FALLBACK, "spend", "spend"
        source = "the CLV model"
    else:
        described = (
            f"BG/NBD's expected orders over the next {horizon_days} days (its "
            f"{expected_days}-day expectation x {horizon_days}/{expected_days})"
        )
        rule, fallback, noun, unit = "past orders", VALUE_FALLBACK_ORDERS, "orders", "orders"
        source = "BG/NBD's expected orders"
    compared = window = poor = ""
    capture = next((r for r in rules if r.metric == "top_decile_capture"), None)
    better = f"better than {rule}"
    if headline is not None:
        data.update(
            spearman=headline.value,
            rule_spearman=headline.rule_value,
            spearman_vs_rule=headline.diff,
            ci_low=headline.ci_low,
            ci_high=headline.ci_high,
            customers=headline.customers,
        )
        if capture is not None:
            data.update(
                capture=capture.value,
                rule_capture=capture.rule_value,
                capture_vs_rule=capture.diff,
                capture_ci_low=capture.ci_low,
                capture_ci_high=capture.ci_high,
            )
            better = _better_on(rule, capture)
        window = f"the next {headline.horizon_days} days' {noun}"
        extra = f"; {_vs(capture)}" if capture is not None else ""
        compared = (
            f"{_vs(headline)}{extra} on {headline.customers:,} customers at the evaluation cutoff"
        )
        if headline.rule_value < WEAK_SPEARMAN:
            itself = "Past spend itself ranks" if has_prices else "Past orders themselves rank"
            poor = (
                f" {itself} {window} poorly here (Spearman correlation {headline.rule_value:.3f})."
            )
    # the value ranking picks the customers a retention team treats first: a candidate
    # whose top tenth holds significantly less of the window's spend is not deployed
    worse_top = capture is not None and capture.loses
    data["capture_loses"] = worse_top
    enough = headline is not None and headline.customers >= min_customers
    beats = headline is not None and headline.beats and enough and not worse_top
    scale = (
        f" (x {ratio:.3g}: the shop's {unit} in the last {ratio_days:.4g} days x "
        f"{horizon_days}/{ratio_days:.4g}, over all {unit} to date)"
        if math.isfinite(ratio)
        else ""
    )
    fallback_text = f"Its value is {fallback}{scale}."
    why_not = (
        f" The learned CLV model could not be fitted at the evaluation cutoff ({unfitted}): "
        "the BG/NBD x Gamma-Gamma CLV was checked instead."
        if unfitted and enabled and churn_enabled
        else ""
    )
    if not reasons and beats:
        fits_text = (
            "learned on windows before the evaluation cutoff and refitted on the purchases "
            "to date; it assumes the link between past and future buying stays as it was"
            if learned
            else "BG/NBD and Gamma-Gamma fits, none flagged; these models assume buying "
            "habits stay as they were"
            if has_prices
            else "BG/NBD fit, not flagged; these models assume buying habits stay as they were"
        )
        text = (
            f"Customer value is {described}: it ranks {window} {better}: "
            f"{compared} ({fits_text}).{poor}{why_not}"
        )
        return Claim("value", text, True, data, warnings, None)
    if not reasons and headline is not None and headline.beats and enough:
        assert capture is not None  # worse_top
        text = (
            f"Customer value is ranked by {rule}: {described} ranks {window} {better}, the "
            f"share of that {noun} made by the tenth of customers ranked highest (those a "
            f"retention team picks first): {compared}.{poor} {fallback_text}"
        )
    elif not reasons and headline is not None and headline.beats:
        text = (
            f"Customer value is ranked by {rule}: {described} ranked {window} {better}, but "
            f"on only {headline.customers:,} customers (at least {min_customers:,} needed): "
            f"{compared}.{poor} {fallback_text}"
        )
    elif not reasons and headline is not None:
        text = (
            f"Customer value is no better than {rule}: ranked by {rule}. "
            f"{_cap(described)} ranks {window} no better than {rule}: "
            f"{compared}.{poor} {fallback_text}"
        )
    else:
        if headline is None and enabled and churn_enabled:
            reasons.append(f"it could not be compared with {rule} ({unchecked})")
        ranked = f"It is ranked by {rule}"
        if headline is not None:
            ranked += (
                f", although {described} ranked {window} {better}: {compared}"
                if headline.beats
                else f"; {described} ranked {window} no better than {rule}: {compared}"
            )
        text = (
            f"Customer value does not come from {source}: "
            + "; ".join(reasons)
            + f". {ranked}.{poor} {fallback_text}"
        )
    return Claim("value", text + why_not, False, data, warnings, fallback)


def _better_on(rule: str, capture: RuleComparison) -> str:
    """How a value model whose Spearman interval beats ``rule`` did on top-decile capture
    (``capture``, its paired interval read as `RuleComparison.beats` / ``loses``).

    Examples
    --------
    >>> row = RuleComparison("clv", "top_decile_capture", "past_spend", 0.558, 0.558,
    ...                      0.0, -0.01, 0.01, 3360, 90)
    >>> _better_on("past spend", row)
    "better than past spend on Spearman, with top-decile capture level with past spend's"
    """
    if capture.beats:
        return f"better than {rule} on Spearman and on top-decile capture"
    if capture.loses:
        return f"better than {rule} on Spearman but worse on top-decile capture"
    return f"better than {rule} on Spearman, with top-decile capture level with {rule}'s"


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
    return _vs(row), base


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
