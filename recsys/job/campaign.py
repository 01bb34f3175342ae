"""The win-back campaign's money checked at the evaluation cutoff: `campaign_backtest`.

The campaign's value at stake is a projection (customer value over the value horizon,
`recsys.job.decisions`). At the cutoff, the same selection rule and the same valuation
are applied to the customers known then; what those customers actually spent (orders,
without prices) in the window after the cutoff, over what the valuation projected for
that window, is the realised/projected ratio the campaign claim values its stake by
(`recsys.job.claims_campaign.campaign_claim`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from recsys.actions import retention_actions
from recsys.data import columns as C
from recsys.job.decisions import (
    action_frame,
    churn_rank,
    history_days,
    past_value_ratio,
    spend_rate_ratio,
)
from recsys.job.learned import deployed_columns
from recsys.stats import ratio_ci
from recsys.uplift.retention import retention_labels

_STAKE = "projected_value"  # retention_actions' column: the one projection, deployed and checked

__all__ = ["CampaignEvidence", "campaign_backtest"]


@dataclass(frozen=True)
class CampaignEvidence:
    """The campaign's rule and valuation at the evaluation ``cutoff``, against the
    ``horizon_days`` after it.

    ``customers`` were selected for win-back at the cutoff; the valuation projected
    ``projected`` for them over the window (their stake over ``value_horizon_days`` x
    ``horizon_days / value_horizon_days``); they spent ``realised`` (orders without
    prices, ``money`` False) and ``bought_again`` of them bought at all. ``ratio`` =
    realised / projected with its percentile bootstrap interval over customers
    (``ci_low, ci_high`` at ``confidence``; NaN without resamples). ``history_days``:
    the days from the first purchase to the cutoff, the history the selection and the
    valuation were judged on; ``ratio_days``: the last days before the cutoff whose
    spend set the valuation's rate (`recsys.job.decisions.past_value_ratio`);
    ``window_rate``: the shop's spend per day (all customers) in the window over its
    spend per day in those ``ratio_days``, above 1 where the window ran faster than the
    rate the valuation projects at (a seasonal peak).
    """

    cutoff: datetime
    horizon_days: int
    value_horizon_days: int
    customers: int
    projected: float
    realised: float
    bought_again: int
    ratio: float
    ci_low: float
    ci_high: float
    confidence: float
    money: bool
    history_days: float = math.nan
    ratio_days: float = math.nan
    window_rate: float = math.nan


def campaign_backtest(
    profiles: pl.DataFrame,
    bought: pl.DataFrame,
    cutoff: datetime,
    *,
    ranked_by: str,
    churn_column: str | None,
    value_column: str | None,
    horizon_days: int,
    value_horizon_days: int,
    bootstrap: int,
    seed: int,
    observed_until: datetime,
    confidence: float = 0.95,
) -> CampaignEvidence | None:
    """The win-back rule and valuation of `recsys.job.decisions.action_frame` (churn
    ordering ``ranked_by``, the licensed churn-risk and value columns ``churn_column``
    and ``value_column``, the past-value ratio as of ``cutoff``) applied to ``profiles``
    (built as of ``cutoff``, with the learned models' predictions there:
    `recsys.job.learned.deployed_columns`, the definition deployed as of ``as_of``),
    against the spend of ``bought`` in ``[cutoff, cutoff + horizon_days)``.

    The projection for the window is the stake the decisions deploy,
    `recsys.retention_actions`' ``projected_value`` (the value column x churn risk when
    churn risk is licensed), x ``horizon_days / value_horizon_days``: linear in time, so
    for a CLV that front-loads its purchases it is a little low. None when the window runs
    past ``observed_until`` or no customer is selected. With return rows
    (``is_return``), a customer's spend in the window is net of the returns made in it
    (`recsys.uplift.retention_labels` with ``net_of_returns``): the money the shop kept
    from the customer in the window, negative where the refunds in it exceed the
    purchases (flooring each customer at 0 would count refunds of earlier purchases as
    kept and bias the ratio upward). The interval resamples customers (``bootstrap``
    resamples, ``seed``; `recsys.stats.ratio_ci`).

    Examples
    --------
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 1], "item_id": ["a"] * 4,
    ...     "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 6, 1),
    ...                   datetime(2020, 7, 10)], "quantity": [1.0] * 4,
    ...     "price": [100.0, 50.0, 10.0, 20.0]})
    >>> prof = pl.DataFrame({"user_id": [1, 2, 3], "recency_days": [182.0, 181.0, 30.0],
    ...     "frequency": [1, 1, 1], "monetary": [100.0, 50.0, 10.0],
    ...     "lifecycle_stage": ["churned", "churned", "active"]})
    >>> e = campaign_backtest(prof, p, datetime(2020, 7, 1), ranked_by="recency",
    ...     churn_column=None, value_column=None, horizon_days=30, value_horizon_days=120,
    ...     bootstrap=0, seed=0, observed_until=datetime(2020, 8, 1))
    >>> e.customers, e.projected, e.realised, e.bought_again  # ratio 10 x 120/120 / 160
    (2, 2.34375, 20.0, 1)
    >>> e.history_days, e.ratio_days, e.window_rate  # (20 / 30 days) / (10 / 120 days)
    (182.0, 120.0, 8.0)
    """
    end = cutoff + timedelta(days=horizon_days)
    if end > observed_until or profiles.height == 0:
        return None
    ratio, ratio_days = past_value_ratio(bought, cutoff, value_horizon_days)
    profiles = deployed_columns(profiles, ratio)
    ranked = profiles.with_columns(churn_rank(profiles, ranked_by))
    frame, value, rules, rank_by = action_frame(ranked, churn_column, value_column, ratio)
    actions = retention_actions(frame, rules=rules, value=value, rank_by=rank_by)
    # one row per customer, by id: the resamples do not depend on the list's order
    win = actions.filter(pl.col("action") == "win_back").select(C.USER, _STAKE).sort(C.USER)
    if win.height == 0:
        return None
    money = C.PRICE in bought.columns
    labels = retention_labels(
        bought, as_of=cutoff, horizon_days=horizon_days, users=win[C.USER], net_of_returns=True
    )
    spent = pl.col("spend_after" if money else "n_orders_after").cast(pl.Float64).fill_null(0.0)
    rows = win.join(labels, on=C.USER, how="left").select(
        projected=pl.col(_STAKE).cast(pl.Float64).fill_null(0.0)
        * (horizon_days / value_horizon_days),
        realised=spent,
        again=pl.col("retained").fill_null(False),
    )
    projected, realised = float(rows["projected"].sum()), float(rows["realised"].sum())
    low, high = ratio_ci(rows["realised"], rows["projected"], bootstrap, seed, confidence)
    return CampaignEvidence(
        cutoff=cutoff,
        horizon_days=horizon_days,
        value_horizon_days=value_horizon_days,
        customers=rows.height,
        projected=projected,
        realised=realised,
        bought_again=int(rows["again"].sum()),
        ratio=realised / projected if projected > 0 else float("nan"),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        money=money,
        history_days=history_days(bought, cutoff),
        ratio_days=ratio_days,
        window_rate=spend_rate_ratio(bought, cutoff, horizon_days, cutoff, ratio_days),
    )
