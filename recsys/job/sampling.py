"""The one customer sample of the main job: `sample_customers` and `customer_sample`
(the evaluation's, `recsys.job.run.evaluation_purchases`, and the learned models',
`recsys.job.learned.fit_purchases`). Customers are those with a purchase: a customer
with only return rows (``is_return``) is neither drawn nor counted.
"""

from __future__ import annotations

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import without_returns

__all__ = ["checked_sample", "customer_sample", "sample_customers"]


def sample_customers(purchases: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """The purchases of ``n`` customers drawn at random (``seed``) among those with a
    purchase (not only returns); their return rows are kept.

    Examples
    --------
    >>> import polars as pl
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 3]})
    >>> sample_customers(p, 1, 0)["user_id"].n_unique()
    1
    """
    return _draw(purchases, _customers(purchases), n, seed)


def _draw(purchases: pl.DataFrame, customers: pl.Series, n: int, seed: int) -> pl.DataFrame:
    """The purchases of ``n`` of ``customers`` drawn at random (``seed``)."""
    chosen = customers.sort().sample(min(n, len(customers)), seed=seed)
    return purchases.filter(pl.col(C.USER).is_in(chosen.implode()))


def _customers(purchases: pl.DataFrame) -> pl.Series:
    """The distinct customers with a purchase (return rows aside)."""
    return without_returns(purchases.lazy()).select(pl.col(C.USER).unique()).collect()[C.USER]


def customer_sample(
    purchases: pl.DataFrame, limit: int | None, seed: int
) -> tuple[pl.DataFrame, tuple[int, int] | None]:
    """The purchases of ``limit`` customers drawn at random (``seed``; `sample_customers`)
    and (``limit``, customers) where there are more customers than ``limit``; else all
    of them and None (also with ``limit`` None).

    Examples
    --------
    >>> import polars as pl
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 3]})
    >>> customer_sample(p, 2, 0)[1], customer_sample(p, 3, 0)[1]
    ((2, 3), None)
    """
    customers = _customers(purchases)  # once: the count and the draw
    if limit is None or customers.len() <= limit:
        return purchases, None
    return _draw(purchases, customers, limit, seed), (limit, customers.len())


def checked_sample(
    drawn: tuple[int, int] | None, evaluated: tuple[int, int] | None
) -> tuple[int, int] | None:
    """(customers a check ran on, all customers) where it ran on a sample: drawn from the
    evaluation's sample (``evaluated``) or from every customer.

    Examples
    --------
    >>> checked_sample((10_000, 50_000), (50_000, 189_448)), checked_sample(None, (50_000, 189_448))
    ((10000, 189448), (50000, 189448))
    """
    if drawn is None:
        return evaluated
    return drawn[0], evaluated[1] if evaluated is not None else drawn[1]
