"""RFM quantile scores and the RFM segment map.

Scores
------
Each score is a quintile of the customer's position among all profiled
customers, 5 = best:

- ``r_score``: 5 = most recent (smallest ``recency_days``);
- ``f_score``: 5 = most orders (largest ``frequency``);
- ``m_score``: 5 = largest spend (``monetary``).

``score = 1 + floor(5 * w / n)``, where ``w`` is the number of the ``n``
customers with a strictly *worse* value. Tied values therefore always get the
same score, whatever the row order, and a tied block is scored by where it
starts (all one-order customers share the lowest ``f_score`` band they reach);
if every customer has the same value, everyone scores 1 (a
`DataWarning` says so).

Segment map
-----------
``rfm_segment`` is read from `RFM_SEGMENTS`, the widely used
recency x frequency grid (the "RFM segment map" popularised by Putler and the
``rfm`` tutorials), with ``lost`` for the very bottom cell:

======= ============ ================== ================== =========== ===========
r \\ f  1            2                  3                  4           5
======= ============ ================== ================== =========== ===========
5       new          potential_loyalist potential_loyalist champions   champions
4       promising    potential_loyalist potential_loyalist loyal       loyal
3       about_to_sleep about_to_sleep   needs_attention    loyal       loyal
2       hibernating  hibernating        at_risk            at_risk     cannot_lose
1       lost         hibernating        at_risk            at_risk     cannot_lose
======= ============ ================== ================== =========== ===========
"""

from __future__ import annotations

import math
import warnings
from typing import Final

import numpy as np
import polars as pl

from recsys.exceptions import DataWarning

__all__ = [
    "LAPSED_SEGMENTS",
    "RFM_SEGMENTS",
    "SEGMENT_NAMES",
    "apply_quintile_cuts",
    "quintile_cuts",
    "quintile_score",
    "rfm_segment_expr",
]

_GRID: Final[dict[int, tuple[str, str, str, str, str]]] = {
    # r_score: segment for f_score = 1, 2, 3, 4, 5
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "needs_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cannot_lose"),
}

#: (r_score, f_score) -> segment name; the one table the segment map lives in.
RFM_SEGMENTS: Final[dict[tuple[int, int], str]] = {
    (r, f): name for r, row in _GRID.items() for f, name in enumerate(row, start=1)
}

#: The names that say a customer has lapsed (the ``r_score`` 1-2 rows).
LAPSED_SEGMENTS: Final[frozenset[str]] = frozenset(_GRID[1] + _GRID[2])

#: The eleven segment names, best first.
SEGMENT_NAMES: Final[tuple[str, ...]] = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "needs_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)


def quintile_score(values: pl.Series, *, higher_is_better: bool, name: str) -> pl.Series:
    """1-5 quintile score: ``1 + floor(5 * (customers strictly worse) / n)``.

    `quintile_cuts` of ``values`` applied to ``values`` (`apply_quintile_cuts`).

    Examples
    --------
    >>> import polars as pl
    >>> quintile_score(pl.Series([1, 2, 3, 4, 5]), higher_is_better=True, name="f").to_list()
    [1, 2, 3, 4, 5]
    >>> quintile_score(pl.Series([1, 1, 1, 4, 9]), higher_is_better=True, name="f").to_list()
    [1, 1, 1, 4, 5]
    """
    cuts = quintile_cuts(values.to_numpy(), higher_is_better=higher_is_better, name=name)
    return apply_quintile_cuts(values, cuts, name=name)


def quintile_cuts(
    values: np.ndarray, *, higher_is_better: bool, name: str
) -> tuple[bool, tuple[float, ...]]:
    """The four cut points of the quintile scores of a population's ``values``.

    A customer with ``w`` of the ``n`` customers strictly worse scores
    ``1 + floor(5 w / n)``; with ``a`` the sorted "goodness" (``values``, or
    ``-values`` when lower is better) and ``W_s`` the least ``w`` with
    ``floor(5 w / n) >= s``, the score exceeds ``s`` exactly when the customer's
    goodness is above ``a[W_s - 1]`` (``-inf`` when ``W_s = 0``, ``inf`` when no
    customer can reach it). So the scores of any subset of the population (a shard)
    need only these four numbers: `apply_quintile_cuts`.

    Returns
    -------
    tuple
        ``(higher_is_better, (c_1, c_2, c_3, c_4))``, goodness cut points.

    Examples
    --------
    >>> import numpy as np
    >>> quintile_cuts(np.array([1, 1, 1, 4, 9]), higher_is_better=True, name="f")
    (True, (1.0, 1.0, 1.0, 4.0))
    """
    n = int(values.size)
    if n > 1 and np.unique(values).size == 1:
        warnings.warn(
            f"all {n} customers have the same value for {name!r}; every {name} is 1",
            DataWarning,
            stacklevel=3,
        )
    goodness = np.sort(np.asarray(values, dtype=np.float64) * (1.0 if higher_is_better else -1.0))
    cuts = []
    for s in range(1, 5):
        w = _least_w(n, s)
        cuts.append(-math.inf if w == 0 else math.inf if w > n - 1 else float(goodness[w - 1]))
    return higher_is_better, tuple(cuts)


def _least_w(n: int, s: int) -> int:
    """The least ``w`` in ``0..n`` with ``floor(w * 5.0 / n) >= s`` (float64, as scored)."""
    w = min(n, (s * n + 4) // 5)
    while w > 0 and math.floor(float(w - 1) * 5 / n) >= s:
        w -= 1
    while w < n and math.floor(float(w) * 5 / n) < s:
        w += 1
    return w


def apply_quintile_cuts(
    values: pl.Series, cuts: tuple[bool, tuple[float, ...]], *, name: str
) -> pl.Series:
    """The 1-5 scores of ``values`` (members of the population ``cuts`` came from).

    Examples
    --------
    >>> import polars as pl
    >>> cuts = (True, (1.0, 1.0, 1.0, 4.0))
    >>> apply_quintile_cuts(pl.Series([9, 1, 4]), cuts, name="f").to_list()
    [5, 1, 4]
    """
    higher_is_better, points = cuts
    goodness = values.cast(pl.Float64).to_numpy() * (1.0 if higher_is_better else -1.0)
    above = (goodness[:, None] > np.asarray(points)[None, :]).sum(axis=1)
    return pl.Series(name, 1 + above, dtype=pl.Int8)


def rfm_segment_expr(
    r_score: str = "r_score", f_score: str = "f_score", *, lifecycle: pl.Expr | None = None
) -> pl.Expr:
    """Polars expression mapping ``(r_score, f_score)`` to its `RFM_SEGMENTS` name.

    The recency score is relative (the bottom fifth of the shop's customers), so
    in a shop whose customers all bought lately it can call "lost" a customer who
    is not late by their own rhythm. Given the ``lifecycle`` stage (`build_profiles`
    passes it), the names of the two lowest recency rows (`LAPSED_SEGMENTS`) go
    only to ``dormant`` or ``churned`` customers; any other customer in those
    cells gets the name of the ``r_score = 3`` row, so a profile never says
    "active" and "lost" at once. The other way round, a ``dormant`` or ``churned``
    customer in a higher row gets the name of the ``r_score = 2`` row: a shop
    whose customers mostly lapsed long ago puts a customer unseen for months in
    the middle recency fifth, and the profile must not say "dormant" and "loyal"
    at once (a frequent customer who lapsed is ``at_risk`` or ``cannot_lose``).

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame(
    ...     {
    ...         "r_score": [1, 1, 5, 3],
    ...         "f_score": [1, 4, 5, 5],
    ...         "stage": ["churned", "active", "active", "dormant"],
    ...     }
    ... )
    >>> frame.select(rfm_segment_expr(lifecycle=pl.col("stage"))).to_series().to_list()
    ['lost', 'loyal', 'champions', 'cannot_lose']
    """
    r = pl.col(r_score).cast(pl.Int64)
    if lifecycle is not None:
        lapsed = lifecycle.is_in(["dormant", "churned"])
        r = (
            pl.when((r <= 2) & ~lapsed)
            .then(pl.lit(3, dtype=pl.Int64))
            .when((r >= 3) & lapsed)
            .then(pl.lit(2, dtype=pl.Int64))
            .otherwise(r)
        )
    key = r * 10 + pl.col(f_score).cast(pl.Int64)
    mapping = {r * 10 + f: name for (r, f), name in RFM_SEGMENTS.items()}
    return key.replace_strict(mapping, return_dtype=pl.String)
