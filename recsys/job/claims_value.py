"""The value card: `value_claim` (CLV vs past spend; without prices, BG/NBD's expected
orders vs past orders) and the warning on a value horizon beyond the history
(`short_value_history`). The rules are listed in `recsys.job.claims`.
"""

from __future__ import annotations

import math
from typing import Any

from recsys._text import first_upper
from recsys.job.claims import NO_WINDOW, Claim
from recsys.job.evidence import FitEvidence, RuleComparison
from recsys.job.learned import MODEL_NAMES
from recsys.profiles import ProfileConfig

__all__ = [
    "SHORT_VALUE_HISTORY",
    "VALUE_FALLBACK",
    "VALUE_FALLBACK_ORDERS",
    "WEAK_SPEARMAN",
    "short_value_history",
    "value_claim",
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
        extra = f"; {capture.worded}" if capture is not None else ""
        compared = (
            f"{headline.worded}{extra} on {headline.customers:,} customers at the evaluation cutoff"
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
            f"{first_upper(described)} ranks {window} no better than {rule}: "
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
