"""What the decisions rank customers by: the models where their claims hold, the naive
rules a shop already uses where they do not.

* Churn: ``churn_rank`` (1 = most likely gone) by the candidate model's churn risk
  (``churn_risk``, BG/NBD's, or ``learned_churn_risk``: `recsys.job.learned`) where it
  beats both naive rules at the evaluation cutoff, else by the better rule
  (`CHURN_RULES`).
* Value: the candidate CLV (``clv`` or ``learned_value``) where it beats past spend;
  without prices, `expected_orders` where BG/NBD's expected orders beat past orders;
  else `past_value`:
  past spend (orders without prices) scaled by the shop's observed `past_value_ratio`,
  so it is in the units of the value horizon and ranks customers exactly as past spend
  does.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from recsys.actions import DEFAULT_RULES
from recsys.data import columns as C
from recsys.data.canonical import order_keys, without_returns
from recsys.exceptions import InputDataError

__all__ = [
    "CHURN_RULES",
    "DEFAULT_CHURN_RULE",
    "MIN_RATIO_DAYS",
    "action_frame",
    "churn_rank",
    "expected_orders",
    "history_days",
    "past_value",
    "past_value_ratio",
    "spend_rate_ratio",
]

#: The shortest window `past_value_ratio` reads the shop's recent rate from (a quarter:
#: a shorter one annualises a few days, e.g. a seasonal peak); a history shorter than it
#: is read whole.
MIN_RATIO_DAYS = 90.0

#: The naive churn rules, by the backtest's name: (profile column, how the claims name
#: the ordering).
CHURN_RULES: dict[str, tuple[str, str]] = {
    "recency": ("recency_days", "days since the last order (longest first)"),
    "frequency": (
        "frequency",
        "the number of orders (fewest first, then longest since the last order)",
    ),
}
#: The churn ordering where there is no evidence to choose a rule by.
DEFAULT_CHURN_RULE = "recency"


def churn_rank(profiles: pl.DataFrame, ranked_by: str) -> pl.Expr:
    """``churn_rank``: 1 = the customer most likely gone by ``ranked_by`` (a churn-risk
    column, ``"churn_risk"`` or ``"learned_churn_risk"``, or a rule of `CHURN_RULES`; the
    number of orders ties by days since the last order), then by ``user_id``.

    Examples
    --------
    >>> import polars as pl
    >>> p = pl.DataFrame({"user_id": [1, 2, 3], "recency_days": [5.0, 50.0, 5.0],
    ...                   "frequency": [1, 9, 3], "churn_risk": [0.2, 0.1, 0.9]})
    >>> [p.select(churn_rank(p, by))["churn_rank"].to_list()
    ...  for by in ("churn_risk", "recency", "frequency")]
    [[2, 3, 1], [2, 1, 3], [1, 3, 2]]
    >>> p = p.with_columns(frequency=pl.lit(1))  # ties: the longest since the last order first
    >>> p.select(churn_rank(p, "frequency"))["churn_rank"].to_list()
    [2, 1, 3]
    """
    if ranked_by == "recency":
        keys = [pl.col("recency_days").cast(pl.Float64).neg()]
    elif ranked_by == "frequency":
        keys = [pl.col("frequency").cast(pl.Float64), pl.col("recency_days").cast(pl.Float64).neg()]
    else:
        keys = [pl.col(ranked_by).cast(pl.Float64).fill_nan(None).fill_null(-1.0).neg()]
    return pl.struct(*keys, pl.col(C.USER)).rank("ordinal").cast(pl.Int64).alias("churn_rank")


def history_days(bought: pl.DataFrame, as_of: datetime) -> float:
    """Days from the first purchase (not a return) of ``bought`` to ``as_of`` (0 without
    one).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1], "item_id": ["a"], "timestamp": [datetime(2020, 1, 1)]})
    >>> history_days(p, datetime(2020, 1, 11, 12))
    10.5
    """
    first = without_returns(bought).filter(pl.col(C.TIMESTAMP) < as_of)[C.TIMESTAMP].min()
    return (as_of - first).total_seconds() / 86_400 if isinstance(first, datetime) else 0.0


def past_value_ratio(
    bought: pl.DataFrame, as_of: datetime, horizon_days: int
) -> tuple[float, float]:
    """(ratio, days): the shop's spend over ``horizon_days`` at its recent rate, per unit
    of past spend.

    The spend (orders without prices) of every customer in ``[as_of - D, as_of)``, times
    ``horizon_days / D``, over all spend before ``as_of``: D = ``horizon_days``, halved
    while it exceeds half the history before ``as_of`` but never below `MIN_RATIO_DAYS`,
    then at most that history (a history shorter than `MIN_RATIO_DAYS` is read whole,
    and then the ratio is ``horizon_days`` / its days). Past spend x the ratio shares the next
    ``horizon_days``' spend, at the recent rate, out in proportion to past spend: the
    naive rule "spent most = worth most", in the units of the value horizon.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 1, 3], "item_id": ["a"] * 4,
    ...     "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 6, 1),
    ...                   datetime(2020, 6, 2)],
    ...     "quantity": [1.0, 1.0, 2.0, 5.0], "price": [10.0, 30.0, 10.0, 10.0]})
    >>> past_value_ratio(p, datetime(2020, 7, 1), 120)  # (20 + 50) * 120/120 / 110
    (0.6363636363636364, 120.0)
    >>> past_value_ratio(p, datetime(2020, 1, 11), 365)  # 10 days, read whole: 365/10
    (36.5, 10.0)
    """
    ts = pl.col(C.TIMESTAMP)
    rows = without_returns(bought).filter(ts < as_of)
    if rows.height == 0:
        raise InputDataError(f"past_value_ratio: no purchases before as_of {as_of:%Y-%m-%d}")
    span = history_days(rows, as_of)
    days = float(horizon_days)
    while days > span / 2 and days / 2 >= MIN_RATIO_DAYS:
        days /= 2
    days = min(days, span)
    total, recent = _spend(rows, pl.lit(True), ts >= as_of - timedelta(days=days))
    ratio = recent * horizon_days / days / total if total > 0 else 0.0
    return float(ratio), days


def spend_rate_ratio(
    bought: pl.DataFrame, start: datetime, days: float, base_end: datetime, base_days: float
) -> float:
    """The shop's spend (orders without prices; purchases, not returns) per day in
    ``[start, start + days)`` over its spend per day in ``[base_end - base_days,
    base_end)``: above 1 where the first window ran faster (a seasonal peak). NaN
    without spend in the base window.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 3], "item_id": ["a"] * 3,
    ...     "timestamp": [datetime(2020, 1, 5), datetime(2020, 2, 5), datetime(2020, 2, 6)],
    ...     "quantity": [1.0] * 3, "price": [10.0, 20.0, 20.0]})
    >>> spend_rate_ratio(p, datetime(2020, 2, 1), 10, datetime(2020, 2, 1), 30)  # 40/10 / 10/30
    12.0
    """
    rows = without_returns(bought)
    ts = pl.col(C.TIMESTAMP)
    base = (ts >= base_end - timedelta(days=base_days)) & (ts < base_end)
    window = (ts >= start) & (ts < start + timedelta(days=days))
    pre, post = _spend(rows, base, window)
    if pre <= 0 or days <= 0 or base_days <= 0:
        return math.nan
    return float(post / days / (pre / base_days))


def _spend(rows: pl.DataFrame, *masks: pl.Expr) -> tuple[float, ...]:
    """The spend (quantity x price; orders without prices) of the ``rows`` in each mask:
    an order counts once, if any of its rows is in the mask."""
    if C.PRICE in rows.columns:
        spend = (pl.col(C.QUANTITY) * pl.col(C.PRICE)).cast(pl.Float64)
        sums = rows.select([spend.filter(m).sum().alias(f"s{i}") for i, m in enumerate(masks)])
        values = sums.row(0)
    else:
        orders = rows.group_by(C.USER, *order_keys(rows)).agg(
            [m.any().alias(f"s{i}") for i, m in enumerate(masks)]
        )
        values = tuple(orders[f"s{i}"].sum() for i in range(len(masks)))
    return tuple(float(v or 0.0) for v in values)


def expected_orders(horizon_days: int, value_horizon_days: int) -> pl.Expr:
    """``expected_orders``: BG/NBD's ``expected_purchases_<horizon_days>d`` x
    ``value_horizon_days / horizon_days``, the value in orders over the value horizon
    (linear in time: the ranking is the one checked at ``horizon_days``).

    Examples
    --------
    >>> p = pl.DataFrame({"expected_purchases_90d": [0.5, 2.0]})
    >>> p.select(expected_orders(90, 360))["expected_orders"].to_list()
    [2.0, 8.0]
    """
    column = f"expected_purchases_{horizon_days}d"
    return (pl.col(column).cast(pl.Float64) * (value_horizon_days / horizon_days)).alias(
        "expected_orders"
    )


def past_value(profiles: pl.DataFrame, ratio: float) -> pl.Expr:
    """``past_value``: ``monetary`` (``frequency`` without prices) x ``ratio``."""
    past = "monetary" if "monetary" in profiles.columns else "frequency"
    return (pl.col(past).cast(pl.Float64).fill_null(0.0) * ratio).alias("past_value")


def action_frame(
    profiles: pl.DataFrame, churn: str | None, value: str | None, ratio: float
) -> tuple[pl.DataFrame, str, list[dict[str, Any]] | None, str | None]:
    """(profiles for `recsys.retention_actions`, value column, rules, rank column).

    ``value``: the licensed value column (``clv``, ``learned_value`` or
    ``expected_orders``), else None: `past_value`. ``churn``: the churn-risk column
    licensed as a probability that beats the rules (``churn_risk`` or
    ``learned_churn_risk``, which then becomes the frame's ``churn_risk``, the column
    `recsys.retention_actions` reads): the default rules (risk threshold, value x risk);
    None: no threshold, the value alone, and the win-back list ordered by the value,
    then ``churn_rank`` (a ``profiles`` column).

    Examples
    --------
    >>> p = pl.DataFrame({"user_id": [1, 2], "monetary": [10.0, 30.0], "churn_rank": [1, 2],
    ...     "churn_risk": [0.2, 0.3], "learned_churn_risk": [0.9, 0.1]})
    >>> frame, value, rules, rank_by = action_frame(p, "learned_churn_risk", None, 2.0)
    >>> frame["churn_risk"].to_list(), frame["past_value"].to_list(), value, rank_by
    ([0.9, 0.1], [20.0, 60.0], 'past_value', None)
    """
    frame = profiles
    if value is not None and value in profiles.columns:
        order = value
    else:
        frame = frame.with_columns(past_value(profiles, ratio))
        value = "past_value"
        # past spend itself: the same order as past_value, and still one when the ratio is 0
        order = "monetary" if "monetary" in profiles.columns else "frequency"
    if churn is not None and churn in profiles.columns:
        return frame.with_columns(pl.col(churn).alias("churn_risk")), value, None, None
    rules = [dict(r) for r in DEFAULT_RULES]
    for rule in rules:
        rule.pop("min_churn_risk", None)
    frame = frame.drop("churn_risk", strict=False).with_columns(
        winback_order=pl.struct(
            pl.col(order).cast(pl.Float64).fill_null(0.0), pl.col("churn_rank").neg()
        ).rank("ordinal")
    )
    return frame, value, rules, "winback_order"
