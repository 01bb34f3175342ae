"""The shop's regime: the shape of its data, measured, and what it implies for the job.

Orders per customer, the share of one-order customers, the share of
customer-product pairs bought in more than one order, and who bought in the
evaluation's test window (returning and first-time customers). Customer ids that
look like order ids (nearly every customer has exactly one order, and there are
about as many customers as orders) are detected and named.

"First-time" means "no purchase before the cutoff in this file". Where the file starts
too shortly before the cutoff for that to mean a first purchase (`SHORT_HISTORY_GAP_SHARE`
of the file's own gaps between a customer's orders are longer than the file's history
before the cutoff), these customers are called "first seen in the file" and the regime
says why (`Regime.history_caveat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import order_key, without_returns
from recsys.profiles.source import as_days

__all__ = [
    "ORDER_ID_ONE_ORDER_SHARE",
    "RARE_REPEAT_SHARE",
    "SHORT_HISTORY_GAP_SHARE",
    "Regime",
    "detect_regime",
    "gaps_longer_than",
    "window_buyers",
]

#: Customer ids look like order ids when at least this share of customers has one order
#: (and customers are at least `ORDER_ID_CUSTOMERS_PER_ORDER` of the orders). A durable-goods
#: shop where 99% of customers ordered once still has a few repeat customers; an id per
#: order has none.
ORDER_ID_ONE_ORDER_SHARE = 0.998
ORDER_ID_CUSTOMERS_PER_ORDER = 0.98
#: Buying the same product again is rare below this share of customer-product pairs.
RARE_REPEAT_SHARE = 0.05
#: The history before the cutoff is short (the cards warn that customers first seen in
#: the file may well have bought before it) when at least this share of the file's gaps
#: between a customer's consecutive orders is longer than that history (`long_gap_share`):
#: a returning customer first seen after it has a nontrivial chance of having bought
#: before the file starts.
SHORT_HISTORY_GAP_SHARE = 0.05
#: Fewer gaps than this cannot give that share; the history is then short when it is
#: shorter than the test window (``horizon_days``).
MIN_GAPS = 30
#: What the customers with no purchase in the file before the cutoff are called (the
#: evaluation's segment too), never first-time: the file cannot show that a customer never
#: bought before it starts (of the bundled file's 970 such customers, 374 had bought in
#: Online Retail II's year before it). Where the history is short (`Regime.short_history`),
#: `Regime.history_caveat` says how short.
FIRST_SEEN = "first seen in the file"


@dataclass(frozen=True)
class Regime:
    """The measured shape of a shop's purchases before ``as_of``.

    ``repeat_pair_share`` is the share of customer-product pairs bought in more than
    one order; ``test_*`` count the customers who bought in the evaluation window
    ``[cutoff, cutoff + horizon_days)`` clipped at ``as_of`` (``first_time``: no
    purchase before the cutoff; all 0 where no evaluation ran on that window:
    `recsys.job.run`). ``kind`` is one of ``"order_ids"`` (customer ids look like order ids),
    ``"rare_repeat"`` (buying a product again is rare: durable goods) or
    ``"repeat"``; ``statement`` says it in words. ``history_days``: days of purchases
    before the cutoff (from the first one); ``long_gap_share``: the share of the
    ``long_gaps_counted`` gaps between a customer's orders longer than that (`gaps_longer_than`).
    """

    as_of: datetime
    customers: int
    orders: int
    orders_per_customer: float
    one_order_share: float
    repeat_pair_share: float
    pairs: int
    repeat_pairs: int
    has_prices: bool
    has_order_ids: bool
    cutoff: datetime | None
    horizon_days: int
    test_customers: int
    test_returning: int
    test_first_time: int
    customer_column: str
    history_days: float = float("nan")
    long_gap_share: float = float("nan")
    long_gaps_counted: int = 0

    @property
    def first_time_share(self) -> float:
        """Share of the test window's buyers who had never bought before the cutoff."""
        return self.test_first_time / self.test_customers if self.test_customers else float("nan")

    @property
    def short_history(self) -> bool:
        """Whether the file starts too shortly before the cutoff for a customer not seen
        before it to be told apart from customers who bought before the file starts:
        `SHORT_HISTORY_GAP_SHARE` of its gaps between a customer's orders are longer than
        ``history_days`` (with fewer than `MIN_GAPS` gaps: ``history_days`` is shorter
        than ``horizon_days``)."""
        if self.cutoff is None or self.history_days != self.history_days:
            return False
        if self.long_gaps_counted < MIN_GAPS:
            return self.history_days < self.horizon_days
        return self.long_gap_share >= SHORT_HISTORY_GAP_SHARE

    @property
    def history_caveat(self) -> str | None:
        """Why many customers first seen in the file may have bought before it starts (None
        where the history is not short).

        Examples
        --------
        >>> r = Regime(datetime(2024, 5, 1), 10, 30, 3.0, 0.2, 0.1, 20, 2, True, True,
        ...     datetime(2024, 3, 1), 60, 8, 3, 5, "user_id", 31.0, 0.25, 40)
        >>> r.history_caveat[:68]
        'The file starts only 31 days before the cutoff 2024-03-01, and 25% o'
        """
        if not self.short_history:
            return None
        days = f"{self.history_days:.0f} days before the cutoff {self.cutoff:%Y-%m-%d}"
        why = (
            f"The file starts only {days}, and {self.long_gap_share:.0%} of the gaps between "
            "a customer's consecutive orders in it are longer than that"
            if self.long_gaps_counted >= MIN_GAPS
            else f"The file starts only {days}, fewer than the {self.horizon_days} days of the "
            "test window, with too few repeat orders to tell how long this shop's customers go "
            "between orders"
        )
        return f"{why}: many customers first seen in the file may have bought before it starts."

    @property
    def window_days(self) -> float:
        """Days of the test window the data cover: ``horizon_days``, or fewer where
        ``cutoff + horizon_days`` runs past ``as_of`` (0 without a cutoff)."""
        if self.cutoff is None:
            return 0.0
        covered = (self.as_of - self.cutoff) / timedelta(days=1)
        return max(0.0, min(float(self.horizon_days), covered))

    @property
    def window(self) -> str:
        """The test window in words, with the days it really has: ``the 90 days after
        2024-01-01``, or, where the horizon runs past ``as_of``, ``the 20 days after
        2024-01-01 (not horizon_days = 90: the data end at as_of 2024-01-21)``, so that
        nothing reads as a 90-day window that is not one.

        Examples
        --------
        >>> r = detect_regime(pl.DataFrame({"user_id": [1], "item_id": ["a"],
        ...     "timestamp": [datetime(2024, 1, 1)]}), datetime(2024, 1, 21),
        ...     cutoff=datetime(2024, 1, 1), horizon_days=90)
        >>> r.window
        'the 20 days after 2024-01-01 (not horizon_days = 90: the data end at as_of 2024-01-21)'
        """
        if self.cutoff is None:
            return "no test window"
        days = self.window_days
        text = f"the {round(days, 1):g} days after {self.cutoff:%Y-%m-%d}"
        if days < self.horizon_days:
            text += (
                f" (not horizon_days = {self.horizon_days}: the data end at as_of "
                f"{self.as_of:%Y-%m-%d})"
            )
        return text

    @property
    def looks_like_order_ids(self) -> bool:
        """Nearly every customer has one order, and there are about as many customers as
        orders: the customer column probably holds one id per order."""
        return (
            self.customers >= 20
            and self.one_order_share >= ORDER_ID_ONE_ORDER_SHARE
            and self.customers >= ORDER_ID_CUSTOMERS_PER_ORDER * self.orders
        )

    @property
    def rare_repeat(self) -> bool:
        """Buying the same product again is rare (fewer than `RARE_REPEAT_SHARE` of pairs)."""
        return self.repeat_pair_share < RARE_REPEAT_SHARE

    @property
    def kind(self) -> str:
        if self.looks_like_order_ids:
            return "order_ids"
        return "rare_repeat" if self.rare_repeat else "repeat"

    @property
    def order_id_message(self) -> str | None:
        """The message for customer ids that look like order ids (None otherwise)."""
        if not self.looks_like_order_ids:
            return None
        return (
            f"the customer column {self.customer_column!r} looks like an order id: "
            f"{self.one_order_share:.1%} of its {self.customers:,} customers have exactly one "
            f"order ({self.orders:,} orders in all). Map a stable customer key (one id per "
            "person or account, the same across orders) to user_id; until then, nothing can "
            "be learnt about returning customers"
        )

    @property
    def statement(self) -> str:
        """The regime in one paragraph (the top of the report)."""
        orders = "orders" if self.has_order_ids else "orders (customer-days: no order ids)"
        text = (
            f"{self.customers:,} customers, {self.orders:,} {orders}, "
            f"{self.orders_per_customer:.2f} orders per customer; "
            f"{self.one_order_share:.1%} of customers ordered once; "
            f"{self.repeat_pair_share:.2%} of {self.pairs:,} customer-product pairs were "
            "bought in more than one order"
        )
        if self.test_customers:
            text += (
                f"; {self.test_customers:,} customers bought in {self.window}: "
                f"{self.test_returning:,} returning, "
                f"{self.test_first_time:,} {FIRST_SEEN} ({self.first_time_share:.1%})"
            )
            if self.history_caveat is not None:
                text += f". {self.history_caveat[:-1]}"
        text += (
            ". "
            + {
                "order_ids": "Customer ids look like order ids (see the warning).",
                "rare_repeat": "Buying the same product again is rare (durable goods): "
                "bought products are not recommended first unless the evaluation shows that "
                "repeats win.",
                "repeat": "Customers buy the same products again: buy-again models are candidates.",
            }[self.kind]
        )
        return text


def detect_regime(
    purchases: pl.DataFrame,
    as_of: datetime,
    *,
    cutoff: datetime | None = None,
    horizon_days: int = 90,
    customer_column: str = C.USER,
) -> Regime:
    """Measure the regime of canonical ``purchases`` strictly before ``as_of``.

    Parameters
    ----------
    purchases
        Canonical purchases (``user_id, item_id, timestamp``, optional ``order_id``,
        ``price``, ``is_return``).
    as_of
        Only purchases strictly before it are measured.
    cutoff, horizon_days
        The evaluation's test window (``[cutoff, cutoff + horizon_days)``, clipped at
        ``as_of``), for the counts of returning and first-time buyers; None: no window.
    customer_column
        The input's name of the customer column, for the order-id message.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "a", "b", "a"],
    ...     "timestamp": [datetime(2024, 1, d) for d in (1, 5, 2, 6)]})
    >>> r = detect_regime(p, datetime(2024, 1, 7), cutoff=datetime(2024, 1, 4), horizon_days=3)
    >>> r.customers, r.orders, r.repeat_pairs, r.test_returning, r.test_first_time
    (3, 4, 1, 1, 1)
    """
    # lazily: only the columns each count needs are filtered, never a copy of the table
    bought = without_returns(purchases.lazy()).filter(pl.col(C.TIMESTAMP) < as_of)
    key = order_key(purchases)
    placed, pairs = pl.collect_all(
        [
            bought.group_by(C.USER, key).agg(pl.col(C.TIMESTAMP).min().alias("t")),
            bought.group_by(C.USER, C.ITEM).agg(key.n_unique().alias("orders")),
        ]
    )
    orders = placed.group_by(C.USER).agg(pl.len().alias("orders"))
    n_customers = orders.height
    n_orders = int(orders["orders"].sum()) if n_customers else 0
    repeat_pairs = int((pairs["orders"] > 1).sum())
    test_customers = returning = counted = 0
    history = share = float("nan")
    if cutoff is not None:
        ids = bought.select(C.USER, C.TIMESTAMP).collect()
        test_customers, returning = window_buyers(ids, as_of, cutoff, horizon_days)
        if ids.height:
            history = (cutoff - ids[C.TIMESTAMP].min()) / timedelta(days=1)  # type: ignore[operator]
            share, counted = gaps_longer_than(placed.select(C.USER, "t"), as_of, history)
    return Regime(
        as_of=as_of,
        customers=n_customers,
        orders=n_orders,
        orders_per_customer=n_orders / n_customers if n_customers else 0.0,
        one_order_share=float((orders["orders"] == 1).mean()) if n_customers else 0.0,  # type: ignore[arg-type]
        repeat_pair_share=repeat_pairs / pairs.height if pairs.height else 0.0,
        pairs=pairs.height,
        repeat_pairs=repeat_pairs,
        has_prices=C.PRICE in purchases.columns,
        has_order_ids=C.ORDER in purchases.columns,
        cutoff=cutoff,
        horizon_days=horizon_days,
        test_customers=test_customers,
        test_returning=returning,
        test_first_time=test_customers - returning,
        customer_column=customer_column,
        history_days=history,
        long_gap_share=share,
        long_gaps_counted=counted,
    )


def gaps_longer_than(placed: pl.DataFrame, as_of: datetime, days: float) -> tuple[float, int]:
    """(share of gaps longer than ``days``, gaps counted) among the gaps between a
    customer's consecutive orders (``placed``: ``user_id`` and ``t``, the time of each
    order before ``as_of``) whose earlier order is at least ``days`` before ``as_of``.

    Only those orders leave room to see a gap longer than ``days`` before the data end;
    counting the others would bias the share towards 0. Gaps longer than the file cannot
    be seen at all, so the share is a floor. NaN where no gap counts.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> placed = pl.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "t": [
    ...     datetime(2024, 1, d) for d in (1, 3, 20, 2, 18, 19)]})
    >>> # gaps 2, 17 and 16 days; the one after 2024-01-18 starts too late to be seen long
    >>> gaps_longer_than(placed, datetime(2024, 1, 25), 10.0)
    (0.6666666666666666, 3)
    """
    gaps = (
        placed.lazy()
        .sort(C.USER, "t")
        .select(
            pl.col("t"),
            as_days(pl.col("t").shift(-1).over(C.USER) - pl.col("t")).alias("gap"),
        )
        .filter(pl.col("gap").is_not_null(), pl.col("t") <= as_of - timedelta(days=days))
        .select(pl.len().alias("n"), (pl.col("gap") > days).mean().alias("share"))
        .collect()
    )
    n = int(gaps["n"][0])
    return (float(gaps["share"][0]) if n else float("nan")), n


def window_buyers(
    bought: pl.DataFrame, as_of: datetime, cutoff: datetime, horizon_days: int
) -> tuple[int, int]:
    """(customers who bought in ``[cutoff, cutoff + horizon_days)`` clipped at ``as_of``,
    those of them who had bought before ``cutoff``) in purchases without returns.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3],
    ...     "timestamp": [datetime(2024, 1, d) for d in (1, 5, 2, 6)]})
    >>> window_buyers(p, datetime(2024, 1, 7), datetime(2024, 1, 4), 3)
    (2, 1)
    """
    end = min(cutoff + timedelta(days=horizon_days), as_of)
    window = bought.filter(pl.col(C.TIMESTAMP) >= cutoff, pl.col(C.TIMESTAMP) < end)
    buyers = window.select(C.USER).unique()
    known = bought.filter(pl.col(C.TIMESTAMP) < cutoff).select(C.USER).unique()
    return buyers.height, buyers.join(known, on=C.USER, how="semi").height
