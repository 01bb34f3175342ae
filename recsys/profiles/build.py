"""Customer profiles from a purchase history: `build_profiles`.

One row per customer with at least one purchase strictly before ``as_of``;
only purchases strictly before ``as_of`` are used. Times are in days
(fractional, ``timestamp`` differences / 86,400 s). An *order* is a distinct
``order_id`` of the customer (a missing order id, or a table without the
column, counts each distinct calendar day of purchase as one order: the one
definition of `recsys.data.canonical.order_keys`); its time
is the earliest timestamp of its rows (``last_purchase`` is the latest row
timestamp, so an order spanning minutes counts to its end). Amounts are summed
exactly in integer micro-units (1e-6), so results do not depend on row order or
thread count. Return rows (``is_return``) count only
in ``return_rate``.

=============================== ========== ================================================
column                          dtype      definition
=============================== ========== ================================================
user_id                         as input   the customer
first_purchase, last_purchase   Datetime   earliest / latest purchase timestamp
tenure_days                     Float64    ``as_of - first_purchase`` in days
recency_days                    Float64    ``as_of - last_purchase`` in days
frequency                       Int64      number of orders (see above)
n_items                         Float64    units bought: sum of ``quantity``
monetary                        Float64    total spend ``sum(quantity * price)`` [price]
avg_order_value                 Float64    ``monetary / frequency`` [price]
mean_interpurchase_days         Float64    mean gap between consecutive orders (null if 1 order)
median_interpurchase_days       Float64    median of those gaps (null if 1 order)
last_gap_days                   Float64    gap between the last two orders (null if 1 order)
expected_next_purchase          Datetime   ``last_purchase + median_interpurchase_days``
                                           (the customer's own rhythm; null if 1 order)
return_rate                     Float64    returned units / bought units [is_return];
                                           0 without returns; can exceed 1 when returns
                                           refer to purchases older than the data
r_score, f_score, m_score       Int8       1-5 quintile scores, 5 = best (most recent,
                                           most orders, most spend); see
                                           `recsys.profiles.rfm` [m_score: price]
rfm_segment                     String     `RFM_SEGMENTS`
                                           of ``(r_score, f_score)``
lifecycle_stage                 String     new / active / dormant / churned / reactivated,
                                           rules below
tier                            String     ``ProfileConfig.tier_names``, rules below
top_categories                  List       up to ``top_categories`` categories by spend
                                           share (ties: category ascending) [items]
top_category_shares             List[f64]  their shares of the customer's spend [items]
category_entropy                Float64    Shannon entropy (bits) of the spend shares
                                           over all categories; 0 = one category [items]
n_categories                    Int64      distinct categories bought [items]
p_alive                         Float64    repeat buyers: BG/NBD P(alive); one-time
                                           buyers: P(ever return | not yet), from the
                                           one-time-buyer survival curve
churn_risk                      Float64    calibrated P(no purchase in
                                           ``[as_of, as_of + horizon_days)``)
expected_purchases_90d          Float64    expected orders in the horizon: BG/NBD
                                           conditional expectation; for one-time buyers
                                           scaled by survival-curve / BG/NBD P(return)
expected_order_value, clv       Float64    only with ``clv_horizon_days``: see
                                           `recsys.profiles.clv` [price]
=============================== ========== ================================================

[price]: only when the purchases have a ``price`` column; [is_return]: only when
they have ``is_return`` (``clean_purchases(keep_returns=True)``); [items]: only
with an item table or a purchases column named ``ProfileConfig.category_column``.
Shares weigh by spend when there are prices, by units otherwise.

Lifecycle stage (first rule that matches; ``d``, ``D``, ``C`` are
``new_days``, ``dormant_days``, ``churned_days`` of `ProfileConfig`,
``g`` the customer's median gap, ``m`` ``rhythm_multiple``, own thresholds
``D_i = max(D, m g)`` and ``C_i = max(C, 2 m g)`` (``D``, ``C`` for one-time
buyers)):

1. ``new``: ``tenure_days <= d``;
2. ``churned``: ``recency_days > C_i``;
3. ``dormant``: ``recency_days > D_i``;
4. ``reactivated``: ``last_gap_days > max(D, m p)`` with ``p`` the median of the
   gaps *before* the last one (0 for two-order customers): came back after a
   lapse, judged by the rhythm before it;
5. ``active``: otherwise.

By default ``d, D, C`` are the 50th/80th/95th percentiles
(``ProfileConfig.lifecycle_quantiles``) of all gaps between consecutive orders
before ``as_of`` (Online Retail as of 2011-09-09: about 21, 56 and 118 days;
``ProfileConfig.fallback_lifecycle_days``, 30/90/180, when no customer has two
orders). Example: a customer who bought on
days 0, 30 and 60 (g = 30) is ``active`` at day 100 when ``D = 50``
(``D_i = 60``), ``dormant`` at day 130, ``churned`` at day 200 when ``C = 120``;
a customer who bought on days 0 and 150 (``last_gap_days = 150 > D``) is
``reactivated`` at day 160.

Tier: the highest tier ``k`` with ``monetary`` and ``frequency`` both at or above
cut point ``k`` (explicit ``tier_spend``/``tier_frequency``), or strictly above
the ``tier_quantiles`` quantiles of the profiled customers (defaults; strict so
tied customers stay in the lower tier: if every customer is identical, all are
in the first tier). Without prices, frequency alone decides.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from recsys.data import columns as C
from recsys.data.canonical import (
    ORDER_KEY,
    US_PER_DAY,
    order_keys,
    require_purchases,
    without_returns,
)
from recsys.data.sources import FrameLike, to_frame, to_lazyframe
from recsys.data.timeutil import to_datetime
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.bgnbd import BGNBD, bgnbd_inputs
from recsys.profiles.churn import ChurnCalibrator, OneTimeBuyerSurvival, churn_features
from recsys.profiles.clv import clv_columns
from recsys.profiles.config import ProfileConfig
from recsys.profiles.rfm import quintile_score, rfm_segment_expr

__all__ = ["build_profiles"]

Engine = Literal["in-memory", "streaming"]
_ONE_US = timedelta(microseconds=1)


_MICRO = 1_000_000.0


def _micro(expr: pl.Expr) -> pl.Expr:
    """Amounts as whole micro-units (Int64): integer sums do not depend on row order or
    thread count, unlike float sums."""
    return (expr.cast(pl.Float64) * _MICRO).round().cast(pl.Int64)


def _days(expr: pl.Expr) -> pl.Expr:
    """A Duration expression as fractional days."""
    return expr.dt.total_microseconds().cast(pl.Float64) / US_PER_DAY


def _resolve_as_of(lf: pl.LazyFrame, as_of: Any, engine: Engine) -> datetime:
    bought = without_returns(lf)
    stats = bought.select(
        pl.len().alias("n"),
        pl.col(C.TIMESTAMP).min().alias("first"),
        pl.col(C.TIMESTAMP).max().alias("last"),
    ).collect(engine=engine)
    n, first, last = stats.row(0)
    if n == 0 or first is None:
        raise InputDataError("purchases are empty: no purchase rows to profile")
    if as_of is None:
        return last + _ONE_US
    when = to_datetime(as_of, "as_of")
    if when <= first:
        raise InputDataError(
            f"as_of={when} is not after the first purchase ({first}): no customer has a "
            "purchase strictly before as_of"
        )
    return when


def _activity(
    occ: pl.DataFrame, as_of: datetime, has_price: bool, config: ProfileConfig
) -> pl.DataFrame:
    """Per-customer activity from the orders table (user, t, spend, units, gap), t < as_of."""
    age = _days(pl.lit(as_of) - pl.col("t"))
    short, medium, long = config.churn_windows_days
    fast, slow = config.churn_decay_days
    aggs = [
        pl.col("t").first().alias("first_purchase"),
        pl.col("t_end").max().alias("last_purchase"),
        pl.col("t").get(1, null_on_oob=True).alias("_second"),
        pl.len().cast(pl.Int64).alias("frequency"),
        (pl.col("units").sum() / _MICRO).alias("n_items"),
        pl.col("gap").mean().alias("mean_interpurchase_days"),
        pl.col("gap").median().alias("median_interpurchase_days"),
        pl.col("gap").last().alias("last_gap_days"),
        pl.col("gap").slice(0, pl.len() - 1).median().alias("_prior_median_gap"),
        (-age / fast).exp().sum().alias("_decayed_60"),
        (-age / slow).exp().sum().alias("_decayed_180"),
        (age < medium).sum().cast(pl.Float64).alias("_orders_90"),
        (age < short).sum().cast(pl.Float64).alias("_orders_30"),
        (age < long).sum().cast(pl.Float64).alias("_orders_180"),
        ((age >= medium) & (age < long)).sum().cast(pl.Float64).alias("_orders_90_180"),
        # distinct calendar months with an order (year * 12 + month)
        (pl.col("t").dt.year().cast(pl.Int32) * 12 + pl.col("t").dt.month().cast(pl.Int32))
        .n_unique()
        .cast(pl.Float64)
        .alias("_active_months"),
    ]
    if has_price:
        aggs.append((pl.col("spend").sum() / _MICRO).alias("monetary"))
    act = occ.group_by(C.USER, maintain_order=True).agg(aggs)
    return act.with_columns(
        _days(pl.lit(as_of) - pl.col("first_purchase")).alias("tenure_days"),
        _days(pl.lit(as_of) - pl.col("last_purchase")).alias("recency_days"),
    )


def _orders(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    as_of: datetime,
    has_price: bool,
    has_return: bool,
    engine: Engine,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The orders before ``as_of`` (sorted by user, time) and returned units per user."""
    before = lf.filter(pl.col(C.TIMESTAMP) < as_of)
    bought = without_returns(before)
    aggs = [
        pl.col(C.TIMESTAMP).min().alias("t"),
        pl.col(C.TIMESTAMP).max().alias("t_end"),
        _micro(pl.col(C.QUANTITY)).sum().alias("units"),
    ]
    if has_price:
        aggs.append(_micro(pl.col(C.QUANTITY) * pl.col(C.PRICE)).sum().alias("spend"))
    queries = [bought.group_by(C.USER, *order_keys(schema)).agg(aggs)]
    if has_price:
        queries.append(
            bought.select(
                pl.col(C.PRICE).is_null().sum().alias("null"),
                (pl.col(C.PRICE) < 0).sum().alias("negative"),
                (pl.col(C.PRICE) == 0).sum().alias("zero"),
                (pl.col(C.QUANTITY) <= 0).sum().alias("non_positive_quantity"),
            )
        )
    if has_return:
        queries.append(
            before.filter(pl.col(C.IS_RETURN))
            .group_by(C.USER)
            .agg((_micro(pl.col(C.QUANTITY).abs()).sum() / _MICRO).alias("_returned_units"))
        )
    results = pl.collect_all(queries, engine=engine)
    occ = results[0]
    if has_price:
        nulls, negative, zero, bad_qty = results[1].row(0)
        if nulls or negative:
            raise InputDataError(
                f"column 'price' has {nulls} null and {negative} negative values among the "
                "purchases before as_of; monetary columns need prices >= 0 "
                "(rs.clean_purchases drops such rows)"
            )
        if zero:
            warnings.warn(
                f"{zero} purchase rows before as_of have price 0 (free items): they add "
                "nothing to monetary but count as items and orders",
                DataWarning,
                stacklevel=3,
            )
    else:
        bad_qty = None
    if bad_qty:
        raise InputDataError(
            f"{bad_qty} purchase rows have quantity <= 0 but are not flagged is_return; "
            "clean them with rs.clean_purchases(keep_returns=True)"
        )
    occ = occ.select(pl.exclude(ORDER_KEY, ORDER_KEY + "_day")).sort(
        [C.USER, "t", "t_end", "units"]
    )
    occ = occ.with_columns(_days(pl.col("t").diff().over(C.USER)).alias("gap"))
    returns = results[-1] if has_return else None
    return occ, returns


def _lifecycle_thresholds(occ: pl.DataFrame, config: ProfileConfig) -> tuple[float, float, float]:
    gaps = occ["gap"].drop_nulls().to_numpy()
    given = (config.new_days, config.dormant_days, config.churned_days)
    if gaps.size == 0 and None in given:
        warnings.warn(
            "no customer has two orders before as_of, so lifecycle thresholds cannot be "
            "derived from inter-purchase gaps; using fallback_lifecycle_days="
            f"{config.fallback_lifecycle_days} where not configured",
            DataWarning,
            stacklevel=3,
        )
        defaults: tuple[float, ...] = tuple(float(v) for v in config.fallback_lifecycle_days)
    else:
        defaults = (
            tuple(float(v) for v in np.quantile(gaps, list(config.lifecycle_quantiles)))
            if gaps.size
            else (0.0,) * 3
        )
    new, dormant, churned = (
        g if g is not None else d for g, d in zip(given, defaults, strict=True)
    )
    dormant = max(dormant, new) if config.dormant_days is None else dormant
    churned = max(churned, dormant) if config.churned_days is None else churned
    if churned < dormant:
        raise InputDataError(
            f"churned_days ({churned:.4g}) is below dormant_days ({dormant:.4g}); "
            "set both explicitly"
        )
    return float(new), float(dormant), float(churned)


def _lifecycle_expr(new: float, dormant: float, churned: float, multiple: float) -> pl.Expr:
    g = pl.col("median_interpurchase_days").fill_null(0.0)
    dormant_i = pl.max_horizontal(pl.lit(dormant), multiple * g)
    churned_i = pl.max_horizontal(pl.lit(churned), 2.0 * multiple * g)
    prior = pl.col("_prior_median_gap").fill_null(0.0)
    reactivated_i = pl.max_horizontal(pl.lit(dormant), multiple * prior)
    return (
        pl.when(pl.col("tenure_days") <= new)
        .then(pl.lit("new"))
        .when(pl.col("recency_days") > churned_i)
        .then(pl.lit("churned"))
        .when(pl.col("recency_days") > dormant_i)
        .then(pl.lit("dormant"))
        .when(pl.col("last_gap_days").fill_null(0.0) > reactivated_i)
        .then(pl.lit("reactivated"))
        .otherwise(pl.lit("active"))
        .alias("lifecycle_stage")
    )


def _tier(act: pl.DataFrame, config: ProfileConfig, has_price: bool) -> pl.Series:
    names = config.tier_names
    freq = act["frequency"].to_numpy().astype(np.float64)
    level = _tier_level(freq, config.tier_frequency, config.tier_quantiles)
    if has_price:
        money = act["monetary"].to_numpy()
        level = np.minimum(level, _tier_level(money, config.tier_spend, config.tier_quantiles))
    return pl.Series("tier", [names[i] for i in level], dtype=pl.String)


def _tier_level(
    values: np.ndarray, cuts: tuple[float, ...] | None, quantiles: tuple[float, ...]
) -> np.ndarray:
    if cuts is not None:  # "at least" cut points
        return np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="right")
    quantile_cuts = np.quantile(values, quantiles)
    return (values[:, None] > quantile_cuts[None, :]).sum(axis=1)


def _affinity(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    as_of: datetime,
    items: FrameLike | None,
    config: ProfileConfig,
    has_price: bool,
    engine: Engine,
) -> pl.DataFrame | None:
    column = config.category_column
    bought = without_returns(lf.filter(pl.col(C.TIMESTAMP) < as_of))
    weight = (pl.col(C.QUANTITY) * pl.col(C.PRICE)) if has_price else pl.col(C.QUANTITY)
    if items is not None:
        table = to_frame(items)
        missing = [c for c in (C.ITEM, column) if c not in table.columns]
        if missing:
            raise InputDataError(
                f"item table lacks the column(s) {missing} (category_column={column!r}); "
                f"found {table.columns}"
            )
        table = table.select(C.ITEM, pl.col(column).cast(pl.String).alias("_category")).unique()
        try:
            table = table.with_columns(pl.col(C.ITEM).cast(schema[C.ITEM], strict=True))
        except pl.exceptions.PolarsError as err:
            raise InputDataError(
                f"item table column {C.ITEM!r} ({table.schema[C.ITEM]}) does not match the "
                f"purchases' {schema[C.ITEM]}: {err}"
            ) from err
        dup = table.filter(pl.col(C.ITEM).is_duplicated())
        if dup.height:
            raise InputDataError(
                f"item table maps {dup[C.ITEM].n_unique()} item_id(s) to several {column!r} "
                f"values, e.g. {dup[C.ITEM][0]!r}"
            )
        rows = bought.select(C.USER, C.ITEM, weight.alias("_w")).join(
            table.lazy(), on=C.ITEM, how="left"
        )
    elif column in schema:
        rows = bought.select(
            C.USER, pl.col(column).cast(pl.String).alias("_category"), weight.alias("_w")
        )
    else:
        return None
    by_cat, unknown = pl.collect_all(
        [
            rows.filter(pl.col("_category").is_not_null())
            .group_by(C.USER, "_category")
            .agg((_micro(pl.col("_w")).sum() / _MICRO).alias("_w")),
            rows.select(pl.col("_category").is_null().sum().alias("n")),
        ],
        engine=engine,
    )
    n_unknown = int(unknown["n"][0])
    if n_unknown:
        warnings.warn(
            f"{n_unknown} purchase rows before as_of have no {column!r} (item not in the item "
            "table or null category); they are left out of the category shares",
            DataWarning,
            stacklevel=3,
        )
    share = pl.col("_w") / pl.col("_w").sum().over(C.USER)
    by_cat = by_cat.with_columns(
        pl.when(pl.col("_w").sum().over(C.USER) > 0)
        .then(share)
        .otherwise(1.0 / pl.len().over(C.USER))
        .alias("_share")
    ).sort([C.USER, "_share", "_category"], descending=[False, True, False])
    k = config.top_categories
    entropy = -(pl.col("_share") * pl.col("_share").log(2)).filter(pl.col("_share") > 0).sum()
    return by_cat.group_by(C.USER, maintain_order=True).agg(
        pl.col("_category").head(k).alias("top_categories"),
        pl.col("_share").head(k).alias("top_category_shares"),
        (entropy + 0.0).alias("category_entropy"),
        pl.len().cast(pl.Int64).alias("n_categories"),
    )


def _model(act: pl.DataFrame, horizon: int) -> dict[str, np.ndarray] | None:
    """BG/NBD (repeat buyers) + one-time-buyer survival predictions for ``act``'s customers.

    Returns None (with a DataWarning) when BG/NBD cannot be fitted on these customers.
    """
    x, t_x, T = bgnbd_inputs(act)
    recency = act["recency_days"].to_numpy()
    second = act["_second"]
    returned = second.is_not_null().to_numpy()
    to_second = _days(pl.col("_second") - pl.col("first_purchase"))
    durations = np.where(returned, act.select(to_second.fill_null(0.0)).to_series().to_numpy(), T)
    km = OneTimeBuyerSurvival().fit(durations, returned)
    one = x == 0
    pn_km = km.probability_no_return(T, horizon)
    if np.all(one):
        warnings.warn(
            "no customer has a repeat purchase before as_of: BG/NBD is not fitted and churn "
            "columns come from the one-time-buyer survival curve alone",
            DataWarning,
            stacklevel=3,
        )
        return {
            "no_purchase": pn_km,
            "p_alive": km.p_alive(T),
            "expected": 1.0 - pn_km,
            "x": x,
            "T": T,
            "recency": recency,
        }
    try:
        bg = BGNBD().fit(x, t_x, T)
    except InputDataError as err:
        warnings.warn(
            f"BG/NBD could not be fitted ({err}); churn columns are null", DataWarning, stacklevel=3
        )
        return None
    pn_bg = bg.probability_no_purchase(horizon, x, t_x, T)
    expected_bg = bg.conditional_expected_purchases(horizon, x, t_x, T)
    p_alive = np.where(one, km.p_alive(T), bg.p_alive(x, t_x, T))
    no_purchase = np.where(one, pn_km, pn_bg)
    scale = np.divide(1.0 - pn_km, 1.0 - pn_bg, out=np.zeros_like(pn_bg), where=pn_bg < 1.0)
    expected = np.where(one, expected_bg * scale, expected_bg)
    out = {
        "no_purchase": no_purchase,
        "p_alive": p_alive,
        "expected": expected,
        "x": x,
        "T": T,
        "recency": recency,
    }
    for name, arr in out.items():
        if not np.all(np.isfinite(arr)):
            raise InputDataError(
                f"churn model produced non-finite {name} for "
                f"{int(np.sum(~np.isfinite(arr)))} customers"
            )
    return out


def _features(act: pl.DataFrame, pred: dict[str, np.ndarray], has_price: bool) -> np.ndarray:
    return churn_features(
        repeat_purchases=pred["x"],
        recency_days=pred["recency"],
        tenure_days=pred["T"],
        model_no_purchase=pred["no_purchase"],
        expected_purchases=pred["expected"],
        decayed_60=act["_decayed_60"].to_numpy(),
        decayed_180=act["_decayed_180"].to_numpy(),
        orders_last_90=act["_orders_90"].to_numpy(),
        orders_last_30=act["_orders_30"].to_numpy(),
        orders_last_180=act["_orders_180"].to_numpy(),
        orders_90_to_180=act["_orders_90_180"].to_numpy(),
        active_months=act["_active_months"].to_numpy(),
        median_gap=act["median_interpurchase_days"].fill_null(0.0).to_numpy(),
        monetary=act["monetary"].to_numpy() if has_price else None,
    )


def _churn_columns(
    occ: pl.DataFrame, act: pl.DataFrame, as_of: datetime, config: ProfileConfig, has_price: bool
) -> dict[str, pl.Series]:
    # One BLAS thread: the model's matrices are small, and idle BLAS threads spinning
    # for work slowed the fits ~5x on a busy machine (also keeps sums thread-independent).
    with threadpool_limits(limits=1, user_api="blas"):
        return _churn_columns_single_thread(occ, act, as_of, config, has_price)


def _churn_columns_single_thread(
    occ: pl.DataFrame, act: pl.DataFrame, as_of: datetime, config: ProfileConfig, has_price: bool
) -> dict[str, pl.Series]:
    horizon = config.horizon_days
    expected_name = f"expected_purchases_{horizon}d"
    pred = _model(act, horizon)
    if pred is None:
        n = act.height
        return {
            "p_alive": pl.Series("p_alive", [None] * n, dtype=pl.Float64),
            "churn_risk": pl.Series("churn_risk", [None] * n, dtype=pl.Float64),
            expected_name: pl.Series(expected_name, [None] * n, dtype=pl.Float64),
        }
    risk = pred["no_purchase"]
    if config.calibrate_churn:
        calibrated = _calibrated_risk(occ, act, pred, as_of, config, has_price)
        if calibrated is not None:
            risk = calibrated
    return {
        "p_alive": pl.Series("p_alive", pred["p_alive"]),
        "churn_risk": pl.Series("churn_risk", risk),
        expected_name: pl.Series(expected_name, pred["expected"]),
    }


def _calibrated_risk(
    occ: pl.DataFrame,
    act: pl.DataFrame,
    pred: dict[str, np.ndarray],
    as_of: datetime,
    config: ProfileConfig,
    has_price: bool,
) -> np.ndarray | None:
    """Fit the churn calibrator at ``as_of - horizon`` and apply it at ``as_of``."""
    horizon = config.horizon_days
    cutoff = as_of - timedelta(days=horizon)
    earlier = occ.filter(pl.col("t") < cutoff)
    n_users = earlier[C.USER].n_unique() if earlier.height else 0
    reason = None
    if n_users < config.min_calibration_customers:
        reason = (
            f"only {n_users} customers bought before the internal cutoff {cutoff} "
            f"(as_of - horizon_days); at least min_calibration_customers="
            f"{config.min_calibration_customers} are needed"
        )
    else:
        earlier = earlier.with_columns(_days(pl.col("t").diff().over(C.USER)).alias("gap"))
        act_c = _activity(earlier, cutoff, has_price, config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            pred_c = _model(act_c, horizon)
        came_back = occ.filter(pl.col("t") >= cutoff)[C.USER].unique()
        y = (~act_c[C.USER].is_in(came_back.implode())).to_numpy().astype(np.float64)
        if pred_c is None:
            reason = "the BG/NBD model could not be fitted at the internal cutoff"
        elif min(y.sum(), y.size - y.sum()) < config.min_calibration_class:
            reason = (
                f"fewer than min_calibration_class={config.min_calibration_class} customers "
                f"of one outcome at the internal cutoff {cutoff}"
            )
    if reason is not None:
        warnings.warn(
            f"churn_risk is not calibrated: {reason}; it is the model probability of no "
            "purchase (BG/NBD, one-time-buyer survival curve)",
            DataWarning,
            stacklevel=4,
        )
        return None
    assert pred_c is not None
    calibrator = ChurnCalibrator().fit(_features(act_c, pred_c, has_price), y)
    return calibrator.predict_proba(_features(act, pred, has_price))


def build_profiles(
    purchases: FrameLike,
    as_of: Any = None,
    items: FrameLike | None = None,
    config: ProfileConfig | None = None,
) -> pl.DataFrame:
    """One profile row per customer from the purchases strictly before ``as_of``.

    The column definitions are in the table of `recsys.profiles.build`.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`) as a polars
        DataFrame or LazyFrame, a pandas DataFrame or a Parquet/CSV path.
        Lazy frames and Parquet files are aggregated with polars' streaming
        engine, so tens of millions of rows fit in memory.
    as_of
        Point in time (datetime, date or ISO string); only purchases strictly
        before it are used. Default: just after the last purchase.
    items
        Optional item table with ``item_id`` and ``config.category_column`` for
        the category-affinity columns.
    config
        `ProfileConfig` (thresholds, tiers, churn horizon).

    Returns
    -------
    pl.DataFrame
        One row per customer, sorted by ``user_id``.

    Raises
    ------
    InputDataError
        Missing canonical columns, empty purchases, ``as_of`` not after the
        first purchase, null or negative prices, an item table without the
        needed columns or with conflicting categories.

    Warns
    -----
    DataWarning
        Zero prices, identical customers (all scores 3), no repeat customers,
        items without a category, churn calibration impossible, BG/NBD
        convergence problems.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> profiles = rs.build_profiles(purchases, as_of="2011-09-09")
    >>> profiles.height
    3362
    >>> profiles.select("frequency", "r_score", "rfm_segment").columns
    ['frequency', 'r_score', 'rfm_segment']
    """
    config = config if config is not None else ProfileConfig()
    if not isinstance(config, ProfileConfig):
        raise InputDataError(f"config must be a ProfileConfig, got {type(config).__name__}")
    lf = require_purchases(to_lazyframe(purchases), C.REQUIRED, "build_profiles")
    schema = lf.collect_schema()
    has_price = C.PRICE in schema
    has_return = C.IS_RETURN in schema
    # Frames already in memory are aggregated by the in-memory engine (faster on them);
    # lazy frames and files by the streaming engine (bounded memory).
    engine: Engine = "in-memory" if isinstance(purchases, pl.DataFrame) else "streaming"
    when = _resolve_as_of(lf, as_of, engine)
    occ, returns = _orders(lf, schema, when, has_price, has_return, engine)
    if occ.height == 0:
        raise InputDataError(f"no purchase strictly before as_of={when}")
    act = _activity(occ, when, has_price, config)

    money: list[str | pl.Expr] = (
        ["monetary", (pl.col("monetary") / pl.col("frequency")).alias("avg_order_value")]
        if has_price
        else []
    )
    profile = act.select(
        C.USER,
        "first_purchase",
        "last_purchase",
        "tenure_days",
        "recency_days",
        "frequency",
        "n_items",
        *money,
        "mean_interpurchase_days",
        "median_interpurchase_days",
        "last_gap_days",
        (
            pl.col("last_purchase")
            + pl.duration(
                microseconds=(pl.col("median_interpurchase_days") * US_PER_DAY)
                .round()
                .cast(pl.Int64)
            )
        ).alias("expected_next_purchase"),
        "_prior_median_gap",
    )
    if returns is not None:
        profile = (
            profile.join(returns, on=C.USER, how="left")
            .with_columns(
                (pl.col("_returned_units").fill_null(0.0) / pl.col("n_items")).alias("return_rate")
            )
            .drop("_returned_units")
        )
    scores = [
        quintile_score(act["recency_days"], higher_is_better=False, name="r_score"),
        quintile_score(act["frequency"], higher_is_better=True, name="f_score"),
    ]
    if has_price:
        scores.append(quintile_score(act["monetary"], higher_is_better=True, name="m_score"))
    profile = profile.with_columns(scores).with_columns(rfm_segment_expr().alias("rfm_segment"))
    new, dormant, churned = _lifecycle_thresholds(occ, config)
    profile = profile.with_columns(
        _lifecycle_expr(new, dormant, churned, config.rhythm_multiple),
        _tier(act, config, has_price),
    ).drop("_prior_median_gap")
    affinity = _affinity(lf, schema, when, items, config, has_price, engine)
    if affinity is not None:
        profile = profile.join(affinity, on=C.USER, how="left", maintain_order="left").with_columns(
            pl.col("top_categories").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("top_category_shares").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            pl.col("n_categories").fill_null(0),
        )
    if config.churn:
        profile = profile.with_columns(**_churn_columns(occ, act, when, config, has_price))
    if config.clv_horizon_days is not None:
        profile = profile.with_columns(**clv_columns(occ, act, config, has_price))
    return profile
