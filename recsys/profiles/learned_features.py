"""The customer features of the learned CLV and churn models, as of one date.

Every feature of a customer at ``as_of`` is computed from their purchases strictly
before ``as_of`` (returns left out), so the same function gives the training rows at
earlier origins and the rows scored at the last one. The features are relative to the
customer's own rhythm where that matters for churn (recency over the mean gap between
their orders, the recent-vs-older order rate) and value-weighted for CLV (spend over
the last 90 / 180 / 365 days, the mean order value).

========================= ===============================================================
feature                   meaning (``log1p`` of counts, days and money)
========================= ===============================================================
``orders``                orders before ``as_of``
``recency``               days since the last order
``tenure``                days since the first order
``rhythm``                recency / mean gap between orders (0 for one order)
``one_order``             1 for a single order
``orders_30``             orders in the last 30 days (``_90``, ``_180`` likewise)
``trend``                 log((orders in the last 90 d + 1) / (orders 90-180 d ago + 1))
``items``                 distinct items bought (category breadth)
``months``                distinct 30-day periods with an order in the last 365 days
``overdue``               recency / the median gap between the customer's orders (0 for
                          one order): how late they are by their own rhythm
``p_alive``               logit of BG/NBD's P(alive) (fitted on these customers)
``expected``              BG/NBD's expected orders over ``horizon_days``
``no_order``              logit of P(no order over ``horizon_days``) = 1 - P(alive) (1 -
                          P(the gap since the last order outlasts the horizon | it has
                          lasted the recency so far)): BG/NBD's P(alive) and the gaps'
                          gamma renewal model (`recsys.profiles.churn_hazard`), on
                          purchase days
``spend``                 spend before ``as_of`` (``spend_90``, ``_180``, ``_365``:
                          the last 90 / 180 / 365 days) -- with prices only
``order_value``           mean spend per order -- with prices only
========================= ===============================================================
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import special

from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, order_keys, without_returns
from recsys.exceptions import InputDataError
from recsys.profiles.bgnbd import BGNBD
from recsys.profiles.churn_hazard import GapSurvival
from recsys.profiles.source import MICRO as _MICRO
from recsys.profiles.source import micro_units as _micro

__all__ = ["BASE_FEATURES", "SPEND_FEATURES", "customer_features", "feature_columns"]

BASE_FEATURES = (
    "orders", "recency", "tenure", "rhythm", "one_order", "orders_30", "orders_90",
    "orders_180", "trend", "items", "p_alive", "expected", "months", "overdue", "no_order",
)  # fmt: skip
SPEND_FEATURES = ("spend", "spend_90", "spend_180", "spend_365", "order_value")
#: A penalty that keeps the BG/NBD feature finite where the data barely identify it.
_BGNBD_PENALIZER = 1e-3


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / US_PER_DAY


def customer_features(
    purchases: pl.DataFrame, as_of: datetime, horizon_days: int, with_spend: bool
) -> tuple[pl.Series, NDArray[np.float64]]:
    """The customers with an order before ``as_of`` and their feature matrix.

    Columns: `BASE_FEATURES`, then `SPEND_FEATURES` when ``with_spend`` (needs
    ``price``). Rows in ``user_id`` order. Only purchases strictly before ``as_of``
    are read.
    """
    # lazily: the rows before as_of are filtered and grouped, never copied whole
    before = without_returns(purchases.lazy().filter(pl.col(C.TIMESTAMP) < as_of))
    # Money in integer micro-units: exact sums, the same at any thread count.
    line = _micro(pl.col(C.QUANTITY) * pl.col(C.PRICE)) if with_spend else pl.lit(0)
    keys = order_keys(purchases.columns)
    orders = (
        before.with_columns(*keys, _line=line)
        .group_by(C.USER, *[k.meta.output_name() for k in keys])
        .agg(pl.col(C.TIMESTAMP).min().alias("_t"), pl.col("_line").sum().alias("_spend"))
        .with_columns(_age=_days(pl.lit(as_of) - pl.col("_t")))
        .collect()
    )
    items = before.group_by(C.USER).agg(pl.col(C.ITEM).n_unique().cast(pl.Float64).alias("items"))

    def within(days: int, col: str | None = None) -> pl.Expr:
        mask = pl.col("_age") <= days
        if col is None:
            return mask.sum().cast(pl.Float64)
        return pl.col(col).filter(mask).sum() / _MICRO

    per_user = (
        orders.group_by(C.USER)
        .agg(
            pl.len().cast(pl.Float64).alias("orders"),
            pl.col("_age").min().alias("recency"),
            pl.col("_age").max().alias("tenure"),
            pl.col("_t").dt.date().n_unique().cast(pl.Float64).alias("days"),
            within(30).alias("orders_30"),
            within(90).alias("orders_90"),
            within(180).alias("orders_180"),
            (pl.col("_spend").sum() / _MICRO).alias("spend"),
            within(90, "_spend").alias("spend_90"),
            within(180, "_spend").alias("spend_180"),
            within(365, "_spend").alias("spend_365"),
            (pl.col("_age") // 30.0).filter(pl.col("_age") < 365).n_unique().alias("months"),
            pl.col("_age").sort().diff().median().fill_null(0.0).alias("median_gap"),
        )
        .join(items.collect(), on=C.USER, how="left")
        .join(_day_gaps(orders), on=C.USER, how="left")
        .sort(C.USER)
    )
    col = {name: per_user[name].to_numpy().astype(np.float64) for name in per_user.columns[1:]}
    n, recency, tenure = col["orders"], col["recency"], col["tenure"]
    mean_gap = np.where(n > 1, (tenure - recency) / np.maximum(n - 1.0, 1.0), 1.0)
    rhythm = np.where(n > 1, np.log1p(recency / np.maximum(mean_gap, 1.0)), 0.0)
    alive, expected = _bgnbd_features(col["days"], tenure, recency, horizon_days)
    p_alive = special.logit(alive) if alive is not None else np.zeros_like(n)
    silent = _silence(col["days"] - 1.0, col["gap_days"], col["log_gaps"], recency, horizon_days)
    no_order = 1.0 - (1.0 if alive is None else alive) * (1.0 - silent)
    features = [
        np.log1p(n),
        np.log1p(recency),
        np.log1p(tenure),
        rhythm,
        (n == 1).astype(np.float64),
        np.log1p(col["orders_30"]),
        np.log1p(col["orders_90"]),
        np.log1p(col["orders_180"]),
        np.log((col["orders_90"] + 1.0) / (col["orders_180"] - col["orders_90"] + 1.0)),
        np.log1p(col["items"]),
        p_alive,
        np.log1p(expected),
        np.log1p(col["months"]),
        np.where(n > 1, np.log1p(recency / np.maximum(col["median_gap"], 1.0)), 0.0),
        special.logit(np.clip(no_order, 1e-6, 1.0 - 1e-6)),
    ]
    if with_spend:
        spend = {k: np.log1p(np.maximum(col[k], 0.0)) for k in SPEND_FEATURES[:-1]}
        features += [*spend.values(), np.log1p(np.maximum(col["spend"], 0.0) / n)]
    return per_user[C.USER], np.column_stack(features)


def feature_columns(names: tuple[str, ...], with_spend: bool) -> list[int]:
    """Positions of ``names`` in the columns of `customer_features`."""
    every = BASE_FEATURES + (SPEND_FEATURES if with_spend else ())
    return [every.index(name) for name in names]


def _day_gaps(orders: pl.DataFrame) -> pl.DataFrame:
    """Per customer: days from the first to the last purchase day (``gap_days``, the sum
    of the gaps between their distinct purchase days) and the sum of the gaps' logs."""
    days = orders.select(C.USER, pl.col("_t").dt.date().alias("_d")).unique()
    gaps = days.sort(C.USER, "_d").with_columns(
        _g=pl.col("_d").diff().over(C.USER).dt.total_days().cast(pl.Float64)
    )
    return gaps.group_by(C.USER).agg(
        pl.col("_g").sum().alias("gap_days"), pl.col("_g").log().sum().alias("log_gaps")
    )


def _silence(
    gaps: NDArray[np.float64],
    gap_days: NDArray[np.float64],
    log_gaps: NDArray[np.float64],
    recency: NDArray[np.float64],
    horizon_days: int,
) -> NDArray[np.float64]:
    """P(no order over the horizon | still buying) by the customer's own rhythm
    (`GapSurvival` fitted on these customers); 1 where it cannot be fitted (fewer
    than two customers with a gap), which leaves BG/NBD's P(alive) alone."""
    try:
        model = GapSurvival().fit(gaps, gap_days, log_gaps)
    except InputDataError:
        return np.ones_like(gaps)
    return model.probability_silent(float(horizon_days), gaps, gap_days, recency)


def _bgnbd_features(
    days: NDArray[np.float64],
    tenure: NDArray[np.float64],
    recency: NDArray[np.float64],
    horizon_days: int,
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64]]:
    """BG/NBD (on purchase days) P(alive) (clipped to [1e-6, 1 - 1e-6]) and expected
    orders over the horizon; ``None`` and zeros where the fit does not identify the model
    (the other features carry on)."""
    x = days - 1.0
    t_x = np.where(x > 0, np.clip(tenure - recency, 0.0, None), 0.0)
    zeros = np.zeros_like(x)
    if x.size < 2 or not np.any(x > 0):
        return None, zeros
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BGNBD(penalizer=_BGNBD_PENALIZER).fit(x, t_x, tenure)
        if model.status_ == "unidentified":
            return None, zeros
        alive = np.clip(model.p_alive(x, t_x, tenure), 1e-6, 1.0 - 1e-6)
        expected = model.conditional_expected_purchases(float(horizon_days), x, t_x, tenure)
    if not (np.all(np.isfinite(alive)) and np.all(np.isfinite(expected))):
        return None, zeros
    return alive, np.maximum(expected, 0.0)


def window_labels(
    purchases: pl.DataFrame, users: pl.Series, start: datetime, days: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per customer of ``users``: spend and orders in ``[start, start + days)``."""
    end = start + timedelta(days=days)
    window = without_returns(
        purchases.filter((pl.col(C.TIMESTAMP) >= start) & (pl.col(C.TIMESTAMP) < end))
    )
    line = _micro(pl.col(C.QUANTITY) * pl.col(C.PRICE)) if C.PRICE in window.columns else pl.lit(0)
    keys = order_keys(window)
    per_user = (
        window.with_columns(*keys, _line=line)
        .group_by(C.USER)
        .agg(
            (pl.col("_line").sum() / _MICRO).alias("_spend"),
            pl.struct(keys).n_unique().cast(pl.Float64).alias("_orders"),
        )
    )
    joined = pl.DataFrame({C.USER: users}).join(
        per_user, on=C.USER, how="left", maintain_order="left"
    )
    return (
        joined["_spend"].fill_null(0.0).to_numpy().astype(np.float64),
        joined["_orders"].fill_null(0.0).to_numpy().astype(np.float64),
    )
