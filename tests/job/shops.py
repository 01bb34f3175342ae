"""Synthetic shops in five regimes (and a mix the naive rules misread), canonical
purchases with known shape.

Each generator is seeded and small (a job on it runs in a few seconds).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

START = datetime(2023, 1, 1)
DAYS = 365


def _frame(rows: dict[str, list], *, prices: bool = True, orders: bool = True) -> pl.DataFrame:
    frame = pl.DataFrame(rows)
    if not prices:
        frame = frame.drop("price", strict=False)
    if not orders:
        frame = frame.drop("order_id", strict=False)
    return frame.with_columns(pl.col("quantity").cast(pl.Float64)).sort("timestamp", "user_id")


def grocery(seed: int = 0, customers: int = 250, products: int = 60) -> pl.DataFrame:
    """Members who come back every week or two for their usual products; no price, no
    order id (an order is a customer-day), quantity 1."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("user_id", "item_id", "timestamp", "quantity")}
    for user in range(customers):
        usual = rng.choice(products, size=6, replace=False)
        gap = rng.uniform(5, 20)
        t = rng.uniform(0, 60) if rng.random() < 0.8 else rng.uniform(60, DAYS - 5)
        stop = rng.uniform(120, DAYS + 200)  # some members lapse
        while t < min(stop, DAYS):
            for item in rng.choice(usual, size=rng.integers(1, 4), replace=False):
                rows["user_id"].append(user)
                rows["item_id"].append(f"g{item}")
                rows["timestamp"].append(START + timedelta(days=float(t), hours=10))
                rows["quantity"].append(1)
            t += rng.exponential(gap)
    return _frame(rows, prices=False, orders=False)


def _orders(
    rng: np.random.Generator,
    user: int,
    times: list[float],
    basket: np.ndarray,
    lines: int,
    prices: np.ndarray,
    rows: dict[str, list],
    order_ids: list[int],
) -> None:
    for t in times:
        order_ids[0] += 1
        for item in rng.choice(basket, size=min(lines, basket.size), replace=False):
            rows["user_id"].append(user)
            rows["item_id"].append(f"p{item}")
            rows["order_id"].append(f"o{order_ids[0]}")
            rows["timestamp"].append(START + timedelta(days=float(t), hours=9))
            rows["quantity"].append(int(rng.integers(1, 24)))
            rows["price"].append(float(prices[item]))


def wholesale(seed: int = 0, customers: int = 90, products: int = 120) -> pl.DataFrame:
    """B2B: businesses reordering a stable assortment every few weeks, large baskets."""
    rng = np.random.default_rng(seed)
    prices = np.round(rng.lognormal(1.0, 0.6, products), 2)
    rows: dict[str, list] = {
        k: [] for k in ("user_id", "item_id", "order_id", "timestamp", "quantity", "price")
    }
    counter = [0]
    for user in range(customers):
        basket = rng.choice(products, size=25, replace=False)
        gap = rng.uniform(14, 40)
        stop = rng.uniform(150, DAYS + 300)
        times = list(np.cumsum(rng.exponential(gap, 40)))
        times = [t for t in times if t < min(stop, DAYS)]
        _orders(rng, user, times, basket, 10, prices, rows, counter)
    return _frame(rows)


def durables(seed: int = 0, customers: int = 1500, products: int = 300) -> pl.DataFrame:
    """Durable goods: 99% of customers order once; about 1% of pairs are ever bought again."""
    rng = np.random.default_rng(seed)
    prices = np.round(rng.lognormal(4.0, 0.8, products), 2)
    popularity = rng.dirichlet(np.full(products, 0.3))
    rows: dict[str, list] = {
        k: [] for k in ("user_id", "item_id", "order_id", "timestamp", "quantity", "price")
    }
    counter = 0
    for user in range(customers):
        n_orders = 1 if rng.random() < 0.975 else 2
        first: list[int] = []
        for _ in range(n_orders):
            counter += 1
            t = rng.uniform(0, DAYS)
            items = list(rng.choice(products, size=int(rng.integers(1, 3)), p=popularity))
            if first and rng.random() < 0.35:  # a few buy the same product again
                items[0] = first[0]
            first = first or items
            for item in items:
                rows["user_id"].append(user)
                rows["item_id"].append(f"d{item}")
                rows["order_id"].append(f"o{counter}")
                rows["timestamp"].append(START + timedelta(days=float(t), hours=15))
                rows["quantity"].append(1)
                rows["price"].append(float(prices[item]))
    return (
        _frame(rows)
        .unique(["user_id", "item_id", "order_id"], keep="first")
        .sort("timestamp", "user_id")
    )


def few_heavy(seed: int = 0, customers: int = 30, products: int = 80) -> pl.DataFrame:
    """Few customers with many orders; the export gives line totals (``amount``), from
    which the unit price is derived (``price = amount / quantity``)."""
    rng = np.random.default_rng(seed)
    unit = np.round(rng.lognormal(2.0, 0.5, products), 2)
    rows: dict[str, list] = {
        k: [] for k in ("user_id", "item_id", "order_id", "timestamp", "quantity", "amount")
    }
    counter = 0
    for user in range(customers):
        basket = rng.choice(products, size=30, replace=False)
        for t in np.sort(rng.uniform(0, DAYS, int(rng.integers(30, 60)))):
            counter += 1
            for item in rng.choice(basket, size=4, replace=False):
                q = int(rng.integers(1, 6))
                rows["user_id"].append(user)
                rows["item_id"].append(f"h{item}")
                rows["order_id"].append(f"o{counter}")
                rows["timestamp"].append(START + timedelta(days=float(t), hours=11))
                rows["quantity"].append(q)
                rows["amount"].append(round(q * float(unit[item]), 2))
    frame = _frame(rows)
    return frame.with_columns(price=pl.col("amount") / pl.col("quantity")).drop("amount")


def per_order_ids(seed: int = 0, orders: int = 800, products: int = 150) -> pl.DataFrame:
    """An export whose customer column is a per-order id: one 'customer' per order."""
    frame = durables(seed, customers=orders, products=products)
    return frame.with_columns(user_id=pl.col("order_id").str.slice(1).cast(pl.Int64))


def mixed(seed: int = 1, customers: int = 600, products: int = 60) -> pl.DataFrame:
    """Customers the naive rules misread, drawn as the BG/NBD model describes them (a
    purchase rate, and after each order a chance of leaving for good): frequent small
    buyers (about an order a week, $10), slow steady buyers (about every two months,
    $30), and one big order ($500) early on, never again. Past spend ranks the big
    one-off orders first; days since the last order calls slow buyers gone."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {
        k: [] for k in ("user_id", "item_id", "order_id", "timestamp", "quantity", "price")
    }
    counter = 0
    for user in range(customers):
        kind = rng.choice(3, p=[0.45, 0.35, 0.2])
        gap, leave, spend = ((7.0, 0.06, 10.0), (90.0, 0.05, 30.0), (90.0, 0.6, 500.0))[kind]
        t = rng.uniform(0, 120)
        while t < DAYS:
            counter += 1
            rows["user_id"].append(user)
            rows["item_id"].append(f"m{int(rng.integers(products))}")
            rows["order_id"].append(f"o{counter}")
            rows["timestamp"].append(START + timedelta(days=float(t), hours=12))
            rows["quantity"].append(1)
            rows["price"].append(round(spend * float(rng.uniform(0.8, 1.2)), 2))
            if rng.random() < leave:
                break
            t += rng.exponential(gap * rng.uniform(0.7, 1.3))
    return _frame(rows)


SHOPS = {
    "grocery": grocery,
    "wholesale": wholesale,
    "durables": durables,
    "few_heavy": few_heavy,
    "per_order_ids": per_order_ids,
    "mixed": mixed,
}


def four_order_shop(customers: int, products: int, seed: int) -> pl.DataFrame:
    """``customers`` customers, 4 orders each over a year, each of a different product
    drawn from ``products`` (nobody buys a product twice); products 0-9 are free."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(customers):
        items = rng.choice(products, size=4, replace=False)
        days = np.sort(rng.choice(360, size=4, replace=False))
        for item, day in zip(items, days, strict=True):
            when = datetime(2023, 1, 1) + timedelta(days=int(day))
            rows.append((user, f"i{item}", when, 1, 0.0 if item < 10 else 10.0))
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "quantity", "price"], orient="row"
    )
