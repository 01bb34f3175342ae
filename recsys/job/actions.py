"""``recsys actions`` as one library call: the action list as of one ``as_of``, with
churn and value decided as the main job decides them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import polars as pl

from recsys.actions import retention_actions
from recsys.data import Interactions
from recsys.data import columns as C
from recsys.data.timeutil import to_datetime
from recsys.job.claims import NO_WINDOW
from recsys.job.claims_due import due_card
from recsys.job.config import JobConfig
from recsys.job.customers import (
    CutoffChecks,
    check_at_cutoff,
    customer_decisions,
    profile_config,
)
from recsys.job.due_check import deployed_due, due_at_cutoff
from recsys.job.evidence import StepWarnings, fit_evidence, record_warnings
from recsys.job.run import DUE_MIN_PROBABILITY, default_as_of, evaluation_purchases
from recsys.profiles import build_profiles, due_items

__all__ = ["action_list"]


def action_list(
    purchases: pl.DataFrame,
    *,
    as_of: Any = None,
    recommender: Any = None,
    k: int = 5,
    horizon_days: int = 90,
    due_horizon_days: int = 30,
    clv_horizon_days: int = 365,
    bootstrap: int = 500,
    seed: int = 0,
    max_customers: int | None = None,
    contact_cost: float | None = None,
    min_expected_value: float | None = None,
    plan: Any = None,
    echo: Callable[[str], Any] | None = None,
) -> pl.DataFrame:
    """One retention action per customer, everything as of ``as_of``.

    Profiles (churn risk over ``horizon_days``; CLV over ``clv_horizon_days`` where the
    purchases have prices), items due within ``due_horizon_days``, and ``recommender``
    fitted on the purchases before ``as_of``, through `recsys.retention_actions`.
    Churn and value are decided as `recsys.job.run` decides them (one code path,
    `recsys.job.customers`): at the cutoff ``as_of - horizon_days`` the same churn risk
    and CLV are checked on the ``horizon_days`` after it against the naive rules; churn
    risk ranks customers (with the default rules' risk threshold) only where it beats the
    better rule and is calibrated, else they are ranked by that rule; the CLV values them
    only where it beats past spend, else past spend does (without prices: orders). The
    items due are checked there too (`recsys.job.due_check.due_at_cutoff`): the
    replenishment reminders follow `recsys.due_items` only where its chances beat the
    item's base rate, else the naive rule it was checked against
    (`recsys.job.due_check.deployed_due`).

    Parameters
    ----------
    purchases
        Canonical purchases, read as the job reads them (`recsys.job.load_purchases`,
        as ``recsys actions`` does): return rows kept, flagged ``is_return``; they
        count in the profiles' ``return_rate`` only (no order, purchase count, spend,
        check, item due or recommendation uses them). Purchases without returns work
        the same, without ``return_rate``.
    as_of
        The decision date; default the day after the last purchase, as in
        `recsys.job.run`.
    recommender
        An unfitted model for the items of each action, or None for no items.
    k
        Items per customer.
    horizon_days, due_horizon_days, clv_horizon_days
        Horizons of churn (and of the check before ``as_of``), of the items due and of
        the CLV.
    bootstrap, seed
        Resamples of the intervals of the check against the naive rules, and their seed.
    max_customers, contact_cost, min_expected_value
        The budget (see `recsys.retention_actions`).
    plan
        A `recsys.uplift.allocate` frame deciding who gets the offer (see
        `recsys.actions.rules`).
    echo
        Called with the churn claim, the value claim and the items-due claim
        (``"churn: ..."``, ``"value: ..."``: what ranks the customers, and why;
        ``"due: ..."``: what the replenishment reminders follow, and why); None: silent.

    Returns
    -------
    pl.DataFrame
        The action list of `recsys.retention_actions`.

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "a"],
    ...     "timestamp": [datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 1, 5)],
    ...     "quantity": [1.0, 1.0, 1.0]})
    >>> action_list(p, recommender=rs.Popular(), k=1, echo=print).height  # doctest: +ELLIPSIS
    churn: Whether BG/NBD's churn risk ranks who leaves better than the naive rules ... checked ...
    value: Customer value does not come from BG/NBD's expected orders: ...
    due: No customer has a product due ... by the naive rule the replenishment reminders follow: ...
    2
    """
    as_of = to_datetime(as_of, "as_of") if as_of is not None else default_as_of(purchases)
    config = JobConfig(
        as_of=as_of,
        horizon_days=horizon_days,
        due_horizon_days=due_horizon_days,
        clv_horizon_days=clv_horizon_days,
        k=k,
        bootstrap=bootstrap,
        backtest_bootstrap=bootstrap,
        seed=seed,
    )
    ts = pl.col(C.TIMESTAMP)
    bought = purchases.filter(ts < as_of)
    has_prices = C.PRICE in purchases.columns
    definition = profile_config(config, has_prices)
    profile_step, check_step = StepWarnings(), StepWarnings()
    with record_warnings(profile_step):
        profiles = build_profiles(bought, as_of=as_of, config=definition)
    fits = fit_evidence(profile_step, profiles)
    cutoff = as_of - timedelta(days=horizon_days)
    due_evidence, due_unchecked = None, NO_WINDOW
    with record_warnings(check_step, cutoff=cutoff):
        evaluated_on, _ = evaluation_purchases(bought, config)
        before = evaluated_on.filter(ts < cutoff)
        checks = (
            check_at_cutoff(before, evaluated_on, cutoff, config, definition, observed_until=as_of)
            if before.height
            else CutoffChecks()
        )
        if before.height:
            due_evidence, due_unchecked, _ = due_at_cutoff(
                evaluated_on, cutoff, config, min_probability=DUE_MIN_PROBABILITY,
                observed_until=as_of,
            )  # fmt: skip
    decided = customer_decisions(
        profiles,
        bought,
        as_of,
        checks,
        fits,
        config,
        has_prices=has_prices,
        steps=(profile_step, check_step.at_cutoff(cutoff, besides=profile_step)),
    )
    if echo is not None:
        echo(f"churn: {decided.churn.text}")
        echo(f"value: {decided.value.text}")
    model_due = due_items(bought, as_of=as_of, horizon_days=due_horizon_days)
    due = deployed_due(model_due, bought, as_of, due_horizon_days, due_evidence)
    recs = None
    if recommender is not None:
        recommender.fit(Interactions.from_purchases(purchases, as_of=as_of))
        recs = recommender.recommend(users=None, k=k, on_unknown="skip")
    actions = retention_actions(
        decided.frame,
        due=due,
        recommendations=recs,
        rules=decided.rules,
        max_customers=max_customers,
        contact_cost=contact_cost,
        min_expected_value=min_expected_value,
        k=k,
        value=decided.value_column,
        due_min_probability=DUE_MIN_PROBABILITY,
        rank_by=decided.rank_by,
        plan=plan,
    )
    if echo is not None:
        card = due_card(
            due,
            actions,
            min_probability=DUE_MIN_PROBABILITY,
            horizon_days=due_horizon_days,
            evidence=due_evidence,
            unchecked=due_unchecked,
        )
        echo(f"due: {card.text}")
    return actions
