"""What the backtest scores at one origin: one row per customer (or customer-item pair).

Every builder receives ``before`` (the purchases strictly before the origin) for the
predictions and the naive rules, and ``window`` (the purchases in
``[origin, origin + horizon_days)``) for the labels only. No builder sees anything else,
which is what makes the backtest leak-free by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, order_keys, without_returns
from recsys.data.interactions import Interactions
from recsys.evaluation.metrics import accuracy_per_user
from recsys.evaluation.splits import temporal_split
from recsys.models.baselines import Repurchase
from recsys.profiles.build import build_profiles
from recsys.profiles.config import ProfileConfig
from recsys.profiles.due import due_items
from recsys.profiles.due_naive import naive_due
from recsys.uplift.retention import retention_labels

__all__ = [
    "LastBasket",
    "customer_units",
    "due_units",
    "holdout_table",
    "next_basket_units",
    "profile_units",
]

#: Calibration-period frequencies above this are pooled in the holdout table ("7+").
HOLDOUT_MAX_FREQUENCY = 7


def customer_units(
    before: pl.DataFrame,
    window: pl.DataFrame,
    origin: datetime,
    horizon_days: int,
    config: ProfileConfig | None,
    with_clv: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Churn and CLV rows of every customer with an order before ``origin``, and the
    holdout table (orders in the calibration period vs the window, by frequency)."""
    base = config if config is not None else ProfileConfig()
    config = dataclasses.replace(
        base,
        horizon_days=horizon_days,
        clv_horizon_days=horizon_days if with_clv else None,
        clv_discount_monthly=0.0 if with_clv else base.clv_discount_monthly,
    )
    profiles = build_profiles(before, as_of=origin, config=config)
    history = pl.concat([before, window], how="diagonal_relaxed")
    return profile_units(profiles, history, origin, horizon_days, with_clv)


def profile_units(
    profiles: pl.DataFrame,
    purchases: pl.DataFrame,
    origin: datetime,
    horizon_days: int,
    with_clv: bool,
    with_churn: bool = True,
    extra: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`customer_units` of profiles already built as of ``origin``: their churn (with
    ``with_churn``), CLV (with ``with_clv``) and ``extra`` model columns
    (``churn_risk__<Model>``, ``clv__<Model>``) next to what happened in
    ``[origin, origin + horizon_days)`` of ``purchases`` (``churned``,
    ``n_orders_after``, ``spend_after``), and the holdout table (empty without the
    ``expected_purchases_<horizon_days>d`` column)."""
    expected = f"expected_purchases_{horizon_days}d"
    labels = retention_labels(
        purchases, as_of=origin, horizon_days=horizon_days, users=profiles[C.USER]
    )
    columns = [C.USER, "recency_days", "frequency"]
    if with_churn:
        columns.append("churn_risk")
    if expected in profiles.columns:
        columns.append(expected)
    if with_clv:
        columns += ["monetary", "clv"]
    columns += list(extra)
    units = (
        profiles.select(columns)
        .join(labels, on=C.USER, how="left", maintain_order="left")
        .rename({expected: "expected_orders"}, strict=False)
        .with_columns(churned=(~pl.col("retained")).cast(pl.Float64))
    )
    return units, holdout_table(units)


def holdout_table(units: pl.DataFrame) -> pl.DataFrame:
    """Orders in the window (``n_orders_after``) against ``expected_orders``, by
    calibration-period ``frequency`` (capped at `HOLDOUT_MAX_FREQUENCY`): ``frequency,
    customers, actual, predicted``; empty without ``expected_orders``."""
    if "expected_orders" not in units.columns:
        return pl.DataFrame()
    return (
        units.with_columns(
            frequency=pl.col("frequency").clip(upper_bound=HOLDOUT_MAX_FREQUENCY),
        )
        .group_by("frequency")
        .agg(
            customers=pl.len(),
            actual=pl.col("n_orders_after").cast(pl.Float64).mean(),
            predicted=pl.col("expected_orders").mean(),
        )
        .sort("frequency")
    )


def due_units(
    before: pl.DataFrame, window: pl.DataFrame, origin: datetime, horizon_days: int
) -> pl.DataFrame:
    """One row per (customer, item) bought before ``origin``: `due_items`' date and
    probability, the naive ones (`naive_due`: last purchase + the item's median interval;
    the item's base rate), and what happened in the window."""
    due = due_items(before, as_of=origin, horizon_days=horizon_days)
    nxt = window.group_by(C.USER, C.ITEM).agg(pl.col(C.TIMESTAMP).min().alias("_next"))
    frame = naive_due(
        due.join(nxt, on=[C.USER, C.ITEM], how="left", maintain_order="left"),
        before,
        origin,
        horizon_days,
    ).with_columns(bought=pl.col("_next").is_not_null().cast(pl.Float64))
    days = US_PER_DAY
    return frame.select(
        C.USER,
        C.ITEM,
        "due_date",
        "naive_due_date",
        "p_within_horizon",
        "base_rate",
        "bought",
        error_days=(pl.col("_next") - pl.col("due_date")).dt.total_microseconds().abs() / days,
        naive_error_days=(pl.col("_next") - pl.col("naive_due_date")).dt.total_microseconds().abs()
        / days,
    )


class LastBasket:
    """The naive next basket: the items of the customer's last order before the origin.

    Ranked by units in that order (then item id); duck-typed like a recommender.
    """

    def fit(self, train: pl.DataFrame) -> LastBasket:
        """Remember each customer's last order (latest ``timestamp``; ties: largest key)."""
        train = without_returns(train)
        keys = order_keys(train)
        names = [k.meta.output_name() for k in keys]
        orders = train.with_columns(keys)
        last = (
            orders.group_by(C.USER, *names)
            .agg(pl.col(C.TIMESTAMP).max().alias("_t"))
            .sort(C.USER, "_t", *names, nulls_last=False)
            .group_by(C.USER, maintain_order=True)
            .last()
            .drop("_t")
        )
        self.baskets_ = (
            orders.join(last, on=[C.USER, *names], how="inner", nulls_equal=True)
            .group_by(C.USER, C.ITEM)
            .agg(pl.col(C.QUANTITY).sum().cast(pl.Float64).alias(C.SCORE))
            .sort([C.USER, C.SCORE, C.ITEM], descending=[False, True, False])
        )
        return self

    def recommend(self, users: Any, k: int) -> pl.DataFrame:
        """The first ``k`` items of each customer's last basket."""
        wanted = pl.DataFrame({C.USER: users}).cast({C.USER: self.baskets_[C.USER].dtype})
        return (
            self.baskets_.join(wanted, on=C.USER, how="semi")
            .with_columns(pl.int_range(1, pl.len() + 1).over(C.USER).alias(C.RANK))
            .filter(pl.col(C.RANK) <= k)
        )


def next_basket_units(
    purchases: pl.DataFrame,
    origin: datetime,
    horizon_days: int,
    recommender: Any,
    k: int,
    metrics: tuple[str, ...],
) -> pl.DataFrame:
    """Per test customer (bought before and in the window): each metric of the model,
    of Repurchase and of the last basket (columns ``<metric>__<list>``)."""
    # only the window's buyers who bought before are units, by design: selected here, as
    # temporal_split would warn about the others as if they were lost
    split = temporal_split(
        purchases, cutoff=origin, horizon_days=horizon_days, include_cold_users=True
    )
    known = without_returns(split.train).select(C.USER).unique()
    test = split.test.join(known, on=C.USER, how="semi")
    inter = Interactions.from_purchases(split.train)
    users = test[C.USER].unique().sort()
    model = recommender.clone().fit(inter)
    lists = {
        "model": model.recommend(users, k=k, on_unknown="skip"),
        "repurchase": Repurchase().fit(inter).recommend(users, k=k, on_unknown="skip"),
        "last_basket": LastBasket().fit(split.train).recommend(users, k=k),
    }
    out = pl.DataFrame({C.USER: users})
    for metric in metrics:
        for name, recs in lists.items():
            values = accuracy_per_user(metric, recs, test, k=k)
            out = out.join(
                values.select(C.USER, pl.col("value").fill_null(0.0).alias(f"{metric}__{name}")),
                on=C.USER,
                how="left",
                maintain_order="left",
            )
    return out.fill_null(0.0)


def split_window(
    purchases: pl.DataFrame, origin: datetime, horizon_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``before`` (strictly before ``origin``) and the label ``window`` (no returns)."""
    t = pl.col(C.TIMESTAMP)
    before = purchases.filter(t < origin)
    window = without_returns(
        purchases.filter((t >= origin) & (t < origin + timedelta(days=horizon_days)))
    )
    return before, window


def as_array(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 (nulls NaN)."""
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
