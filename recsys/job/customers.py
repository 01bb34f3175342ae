"""Churn risk and CLV checked against the naive rules at a cutoff, and the decisions that
follow from the check: one code path for `recsys.job.run` and `recsys.job.action_list`.

1. `profile_config`: the one definition of churn risk and CLV, deployed as of ``as_of``
   and checked as of the cutoff;
2. `check_at_cutoff`: the profiles at the cutoff, the churn evidence and the backtest
   against the naive rules on the window after it;
3. `customer_decisions`: the churn and value claims, ``churn_rank`` and the frame, value
   column, rules and order `recsys.retention_actions` takes, and the campaign's rule and
   valuation checked at the cutoff (`recsys.job.campaign.campaign_backtest`).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.evaluation import Backtest
from recsys.exceptions import InputDataError
from recsys.job.campaign import CampaignEvidence, campaign_backtest
from recsys.job.claims import NO_WINDOW, Claim
from recsys.job.claims_campaign import season_ahead
from recsys.job.claims_churn import churn_claim
from recsys.job.claims_value import short_value_history, value_claim
from recsys.job.config import JobConfig
from recsys.job.decisions import (
    action_frame,
    churn_rank,
    expected_orders,
    history_days,
    past_value_ratio,
    spend_rate_ratio,
)
from recsys.job.evidence import (
    ChurnEvidence,
    FitEvidence,
    StepWarnings,
    churn_evidence,
    rule_comparisons,
    rule_evidence,
)
from recsys.job.learned import (
    LEARNED_CHURN_RISK,
    LEARNED_VALUE,
    Learned,
    LearnedFits,
    churn_candidate,
    deployed_columns,
    fit_learned,
    learned_scores,
    refit,
    sample_note,
    value_candidate,
)
from recsys.profiles import ProfileConfig, build_profiles

__all__ = [
    "CHURN_CONCERNS",
    "VALUE_CONCERNS",
    "CustomerDecisions",
    "CutoffChecks",
    "campaign_basis",
    "check_at_cutoff",
    "customer_decisions",
    "profile_config",
]

#: The outputs whose warnings concern the churn claim and the value claim
#: (`recsys._warnings.concerning`).
CHURN_CONCERNS = ("churn_risk", "lifecycle_stage")
VALUE_CONCERNS = ("clv", "monetary", "expected_purchases")


def profile_config(config: JobConfig, has_prices: bool) -> ProfileConfig:
    """The profiles' churn risk (over ``config.horizon_days``) and CLV (over
    ``config.clv_horizon_days``, discounted as `recsys.profiles.ProfileConfig` does;
    only with prices, and with both the value and the churn model on).

    Examples
    --------
    >>> c = profile_config(JobConfig(), has_prices=True)
    >>> c.horizon_days, c.clv_horizon_days, c.clv_discount_monthly
    (90, 365, 0.01)
    >>> profile_config(JobConfig(), has_prices=False).clv_horizon_days is None
    True
    """
    with_clv = has_prices and config.value and config.churn
    return ProfileConfig(
        horizon_days=config.horizon_days,
        clv_horizon_days=config.clv_horizon_days if with_clv else None,
        churn=config.churn,
    )


@dataclass(frozen=True)
class CutoffChecks:
    """The ``cutoff`` and the profiles built as of it (None without purchases before it;
    with the learned models' predictions, `recsys.job.learned.CHECKED_COLUMNS`), the
    churn evidence of the candidate churn model and the backtest of every model against
    the naive rules (None when not run: ``unchecked`` says why), and the ``learned``
    models fitted at the cutoff (or why not)."""

    profiles: pl.DataFrame | None = None
    churn: ChurnEvidence | None = None
    backtest: Backtest | None = None
    unchecked: str = NO_WINDOW
    cutoff: datetime | None = None
    learned: LearnedFits = field(default_factory=LearnedFits)


def _runs_past(horizon_days: int) -> str:
    """Why nothing was checked when the window after the cutoff runs past ``as_of``."""
    return f"the {horizon_days} days after the evaluation cutoff run past as_of"


def check_at_cutoff(
    before: pl.DataFrame,
    purchases: pl.DataFrame,
    cutoff: datetime,
    config: JobConfig,
    profiles: ProfileConfig,
    *,
    observed_until: datetime,
) -> CutoffChecks:
    """Build ``profiles`` (the deployed definition) on ``before`` (the purchases strictly
    before ``cutoff``), fit the learned churn and value models as of ``cutoff`` on
    ``before`` too (`recsys.job.learned.fit_learned`), and score the profiles' churn risk
    and CLV and the learned models' on the ``config.horizon_days`` after it in
    ``purchases``, against the naive rules (``config.backtest_bootstrap`` resamples at
    most ``config.bootstrap``). The churn evidence is the candidate's
    (`recsys.job.learned.churn_candidate`).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timedelta
    >>> p = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"],
    ...     "timestamp": [datetime(2024, 1, 1), datetime(2024, 3, 1)]})
    >>> c = check_at_cutoff(p.head(0), p, datetime(2024, 1, 1), JobConfig(),
    ...                     ProfileConfig(), observed_until=datetime(2024, 4, 1))
    >>> c.profiles is None, c.backtest is None, c.unchecked
    (True, True, 'no evaluation window')
    """
    if before.height == 0:
        return CutoffChecks()
    at_cutoff = build_profiles(before, as_of=cutoff, config=profiles)
    if not config.churn:
        return CutoffChecks(at_cutoff, cutoff=cutoff)
    late = cutoff + timedelta(days=config.horizon_days) > observed_until
    learned = LearnedFits()  # nothing to check them on when the window runs past as_of
    if not late:
        with_clv = profiles.clv_horizon_days is not None
        learned = fit_learned(before, cutoff, config, with_clv=with_clv)
        at_cutoff = learned_scores(at_cutoff, before, learned.churn, learned.value)
    versus = rule_evidence(
        at_cutoff,
        purchases,
        cutoff,
        config.horizon_days,
        churn=True,
        clv=profiles.clv_horizon_days is not None,
        # without prices the value is in orders: BG/NBD's expected orders vs past orders
        orders=config.value and C.PRICE not in before.columns,
        bootstrap=min(config.bootstrap, config.backtest_bootstrap),
        seed=config.seed,
        observed_until=observed_until,
    )
    if versus is None:
        why = (
            _runs_past(config.horizon_days)
            if late
            else "no customer at the evaluation cutoff has a finite prediction"
        )
        return CutoffChecks(at_cutoff, unchecked=why, cutoff=cutoff, learned=learned)
    evidence = churn_evidence(versus, config.horizon_days, model=churn_candidate(learned))
    return CutoffChecks(at_cutoff, evidence, versus, cutoff=cutoff, learned=learned)


@dataclass(frozen=True)
class CustomerDecisions:
    """The churn and value claims and what `recsys.retention_actions` takes from them:
    ``profiles`` (with ``churn_rank``), ``frame``, the ``value`` column, ``rules`` (None:
    the default rules), ``rank_by`` (None: value at stake), and the past-value ``ratio``
    over its last ``ratio_days``; ``campaign``: the win-back rule and valuation checked at
    the cutoff (None: ``campaign_unchecked`` says why) and how its stake is built
    (``basis``, `campaign_basis`); ``campaign_warnings``: the value's warnings the
    campaign card carries too (its stake is that value: `short_value_history`) and the
    season ahead (`_campaign_warnings`)."""

    churn: Claim
    value: Claim
    profiles: pl.DataFrame
    frame: pl.DataFrame
    value_column: str
    rules: list[dict[str, Any]] | None
    rank_by: str | None
    ratio: float
    ratio_days: float
    campaign: CampaignEvidence | None = None
    campaign_unchecked: str = NO_WINDOW
    basis: str = ""
    campaign_warnings: tuple[str, ...] = ()


def customer_decisions(
    profiles: pl.DataFrame,
    bought: pl.DataFrame,
    as_of: datetime,
    checks: CutoffChecks,
    fits: FitEvidence,
    config: JobConfig,
    *,
    has_prices: bool,
    steps: tuple[StepWarnings, ...] = (),
) -> CustomerDecisions:
    """The claims on ``checks`` and the decisions as of ``as_of`` that follow them.

    The candidate models are declared before the check is read
    (`recsys.job.learned.churn_candidate`, `value_candidate`: the learned model wherever
    it could be fitted at the cutoff, else BG/NBD's; never the better of the two on
    the check window). Churn is ranked by the candidate's churn risk only where its AUC
    interval is above both naive rules', and value comes from the candidate only where
    its Spearman interval is above past spend's and its top-decile capture's interval
    is not below past spend's (`recsys.job.claims_value.value_claim`); else the
    rule. A learned model so licensed is deployed as the same class refitted as of
    ``as_of`` on ``bought`` (`recsys.job.learned.refit`), its predictions added to the
    profiles (`recsys.job.learned.deployed_columns`: ``learned_churn_risk``,
    ``learned_value``; BG/NBD's ``churn_risk`` and ``clv`` stay). Each claim carries the
    warnings of ``steps`` (the profiles', the check's) that concern it.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timedelta
    >>> p = pl.DataFrame({"user_id": [1, 2, 1], "item_id": ["a"] * 3,
    ...     "timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 5), datetime(2024, 2, 1)]})
    >>> prof = pl.DataFrame({"user_id": [1, 2], "recency_days": [9.0, 36.0],
    ...     "frequency": [2, 1], "lifecycle_stage": ["active", "active"]})
    >>> d = customer_decisions(prof, p, datetime(2024, 2, 10), CutoffChecks(),
    ...     FitEvidence((), (), 0), JobConfig(), has_prices=False)
    >>> d.churn.evidence["ranked_by"], d.value_column, d.profiles["churn_rank"].to_list()
    ('recency', 'past_value', [2, 1])
    """
    learned = checks.learned
    churn_model = churn_candidate(learned)
    churn_claimed = functools.partial(
        churn_claim,
        checks.churn,
        fits,
        rules=rule_comparisons(checks.backtest, "churn", config.horizon_days, model=churn_model),
        enabled=config.churn,
        min_customers=config.min_evaluated,
        warnings=_about(steps, CHURN_CONCERNS),
        unchecked=checks.unchecked,
        model=churn_model,
        unfitted=learned.churn_unfitted,
    )
    churn_c = churn_claimed()
    ratio, ratio_days = past_value_ratio(bought, as_of, config.clv_horizon_days)
    history = history_days(bought, as_of)
    value_model = value_candidate(learned) if has_prices else "expected_orders"
    value_claimed = functools.partial(
        value_claim,
        fits,
        has_prices=has_prices,
        rules=rule_comparisons(
            checks.backtest,
            "clv" if has_prices else "orders",
            config.horizon_days,
            model=value_model,
        ),
        enabled=config.value,
        churn_enabled=config.churn,
        horizon_days=config.clv_horizon_days,
        discount_monthly=profile_config(config, has_prices).clv_discount_monthly,
        ratio=ratio,
        ratio_days=ratio_days,
        history_days=history,
        warnings=_about(steps, VALUE_CONCERNS),
        min_customers=config.min_evaluated,
        expected_days=config.horizon_days,
        unchecked=checks.unchecked,
        model=value_model,
        unfitted=learned.value_unfitted if has_prices else "",
    )
    value_c = value_claimed()
    at_cutoff = checks.profiles
    expected = f"expected_purchases_{config.horizon_days}d"
    if not has_prices:  # the value in orders the claim may license
        scaled = expected_orders(config.horizon_days, config.clv_horizon_days)
        if expected in profiles.columns:
            profiles = profiles.with_columns(scaled)
        if at_cutoff is not None and expected in at_cutoff.columns:
            at_cutoff = at_cutoff.with_columns(scaled)
    # the learned models the check licensed, refitted as of as_of on the purchases before
    # it; one that cannot be refitted leaves the decision to the rule, said so
    deployed_churn = deployed_value = churn_drawn = value_drawn = None
    if churn_c.evidence["ranked_by"] == LEARNED_CHURN_RISK and learned.churn is not None:
        deployed_churn, why, churn_drawn = _refitted(learned.churn, bought, as_of, config)
        churn_c = churn_c if deployed_churn is not None else churn_claimed(unrefitted=why)
    if value_c.licensed and value_model == "LearnedCLV" and learned.value is not None:
        deployed_value, why, value_drawn = _refitted(learned.value, bought, as_of, config)
        value_c = value_c if deployed_value is not None else value_claimed(unrefitted=why)
    ranked_by = churn_c.evidence["ranked_by"]
    profiles = deployed_columns(
        learned_scores(profiles, bought, deployed_churn, deployed_value), ratio
    )
    # a learned model fitted on a customer sample (checked, deployed or both): say so
    if churn_model == "LearnedChurn":
        note = sample_note(learned.sampled, churn_drawn)
        churn_c = dataclasses.replace(churn_c, text=churn_c.text + note)
    if value_model == "LearnedCLV":
        note = sample_note(learned.sampled, value_drawn)
        value_c = dataclasses.replace(value_c, text=value_c.text + note)
    churn_column = ranked_by if churn_c.licensed else None
    value_column = _VALUE_COLUMNS[value_model] if value_c.licensed else None
    ranked = profiles.with_columns(churn_rank(profiles, ranked_by))
    frame, value, rules, rank_by = action_frame(ranked, churn_column, value_column, ratio)
    campaign, unchecked = None, NO_WINDOW
    if at_cutoff is not None and checks.cutoff is not None:
        cutoff = checks.cutoff
        campaign = campaign_backtest(
            at_cutoff,
            bought,
            cutoff,
            ranked_by=ranked_by,
            churn_column=churn_column,
            value_column=value_column,
            horizon_days=config.horizon_days,
            value_horizon_days=config.clv_horizon_days,
            bootstrap=min(config.bootstrap, config.backtest_bootstrap),
            seed=config.seed,
            observed_until=as_of,
        )
        unchecked = (
            _runs_past(config.horizon_days)
            if cutoff + timedelta(days=config.horizon_days) > as_of
            else "the same rule selected nobody at the evaluation cutoff"
        )
    return CustomerDecisions(
        churn_c,
        value_c,
        ranked,
        frame,
        value,
        rules,
        rank_by,
        ratio,
        ratio_days,
        campaign,
        unchecked,
        campaign_basis(churn_c.licensed, value_c.licensed, value_model, has_prices),
        _campaign_warnings(bought, as_of, config, ratio_days, history, has_prices),
    )


def _campaign_warnings(
    bought: pl.DataFrame,
    as_of: datetime,
    config: JobConfig,
    ratio_days: float,
    history: float,
    has_prices: bool,
) -> tuple[str, ...]:
    """The campaign card's warnings about the days after ``as_of`` its stake is for: a
    value horizon far beyond the ``history`` (`short_value_history`), and, where the
    history covers a year plus the ``ratio_days`` before it, the same projection made a
    year earlier running off its own rate (`recsys.job.claims_campaign.season_ahead`). Both windows
    of the comparison are a year old, so the shop's growth since does not enter it."""
    found = [short_value_history(config.clv_horizon_days, history, money=has_prices)]
    if history >= 365 + ratio_days:
        a_year = as_of - timedelta(days=365)
        factor = spend_rate_ratio(bought, a_year, config.horizon_days, a_year, ratio_days)
        found.append(season_ahead(factor, config.horizon_days, ratio_days, money=has_prices))
    return tuple(w for w in found if w)


def _refitted(
    model: Learned, bought: pl.DataFrame, as_of: datetime, config: JobConfig
) -> tuple[Learned | None, str, tuple[int, int] | None]:
    """`recsys.job.learned.refit` (the model, "", its sample), or None, why it could not
    be fitted as of ``as_of`` and None."""
    try:
        fitted, sampled = refit(model, bought, as_of, config)
    except (InputDataError, np.linalg.LinAlgError) as err:
        return None, str(err), None
    return fitted, "", sampled


#: The profile column each value model is deployed as (`recsys.job.learned`).
_VALUE_COLUMNS = {"clv": "clv", "LearnedCLV": LEARNED_VALUE, "expected_orders": "expected_orders"}


def campaign_basis(churn_ok: bool, value_ok: bool, value_model: str, has_prices: bool) -> str:
    """How the campaign's value at stake is built (`recsys.job.claims_campaign.campaign_claim`'s
    ``basis``): the value deployed (``value_model``'s where ``value_ok``, else the past
    value) x churn risk where churn risk is licensed (``churn_ok``).

    Examples
    --------
    >>> campaign_basis(False, True, "LearnedCLV", True).split(", ")[1]
    "which already weighs each customer by the learned CLV model's chance of an order"
    >>> campaign_basis(True, False, "clv", False)
    'past-orders value x churn risk'
    """
    if value_ok:  # the CLVs and the expected orders weigh P(alive) / P(an order) already
        value = "expected value" if has_prices else "expected orders"
        alive = (
            "which already weighs each customer by the learned CLV model's chance of an order"
            if value_model == "LearnedCLV"
            else "which already weighs each customer by BG/NBD's chance of still being a customer"
        )
        return f"{value} x churn risk" if churn_ok else f"{value}, {alive}"
    value = "past-spend value" if has_prices else "past-orders value"
    unweighted = "not weighted by an unlicensed churn risk"
    return f"{value} x churn risk" if churn_ok else f"{value}, {unweighted}"


def _about(steps: tuple[StepWarnings, ...], outputs: tuple[str, ...]) -> tuple[str, ...]:
    """The messages of ``steps`` concerning any of ``outputs``, each once."""
    return tuple(dict.fromkeys(m for step in steps for m in step.about(*outputs)))
