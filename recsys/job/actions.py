"""``recsys actions`` as one library call: the action list as of one ``as_of``."""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.actions import retention_actions
from recsys.data import Interactions
from recsys.data import columns as C
from recsys.job.run import default_as_of
from recsys.profiles import ProfileConfig, build_profiles, due_items

__all__ = ["action_list"]


def action_list(
    purchases: pl.DataFrame,
    *,
    as_of: Any = None,
    recommender: Any = None,
    k: int = 5,
    due_horizon_days: int = 30,
    clv_horizon_days: int = 365,
    max_customers: int | None = None,
    contact_cost: float | None = None,
    min_expected_value: float | None = None,
    plan: Any = None,
) -> pl.DataFrame:
    """One retention action per customer, everything as of ``as_of``.

    Profiles (with CLV over ``clv_horizon_days`` where the purchases have prices;
    without prices customers are valued in orders), items due within
    ``due_horizon_days``, and ``recommender`` fitted on the purchases before ``as_of``,
    through `recsys.retention_actions` with the default rules. Unlike `recsys.job.run`,
    nothing here is checked against a naive rule: the CLV is used as computed.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`).
    as_of
        The decision date; default the day after the last purchase, as in
        `recsys.job.run`.
    recommender
        An unfitted model for the items of each action, or None for no items.
    k
        Items per customer.
    due_horizon_days, clv_horizon_days
        Horizons of the items due and of the CLV.
    max_customers, contact_cost, min_expected_value
        The budget (see `recsys.retention_actions`).
    plan
        A `recsys.uplift.allocate` frame deciding who gets the offer (see
        `recsys.actions.rules`).

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
    >>> action_list(p, recommender=rs.Popular(), k=1).height
    2
    """
    as_of = as_of if as_of is not None else default_as_of(purchases)
    has_prices = C.PRICE in purchases.columns
    config = ProfileConfig(clv_horizon_days=clv_horizon_days if has_prices else None)
    profiles = build_profiles(purchases, as_of=as_of, config=config)
    due = due_items(purchases, as_of=as_of, horizon_days=due_horizon_days)
    recs = None
    if recommender is not None:
        recommender.fit(Interactions.from_purchases(purchases, as_of=as_of))
        recs = recommender.recommend(users=None, k=k, on_unknown="skip")
    return retention_actions(
        profiles,
        due=due,
        recommendations=recs,
        max_customers=max_customers,
        contact_cost=contact_cost,
        min_expected_value=min_expected_value,
        k=k,
        value="clv" if has_prices else "frequency",
        plan=plan,
    )
