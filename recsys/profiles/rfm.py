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

import warnings
from typing import Final

import polars as pl

from recsys.exceptions import DataWarning

__all__ = ["RFM_SEGMENTS", "SEGMENT_NAMES", "quintile_score", "rfm_segment_expr"]

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

    Examples
    --------
    >>> import polars as pl
    >>> quintile_score(pl.Series([1, 2, 3, 4, 5]), higher_is_better=True, name="f").to_list()
    [1, 2, 3, 4, 5]
    >>> quintile_score(pl.Series([1, 1, 1, 4, 9]), higher_is_better=True, name="f").to_list()
    [1, 1, 1, 4, 5]
    """
    n = values.len()
    if n == 0:
        return pl.Series(name, [], dtype=pl.Int8)
    if values.n_unique() == 1 and n > 1:
        warnings.warn(
            f"all {n} customers have the same value for {name!r}; every {name} is 1",
            DataWarning,
            stacklevel=3,
        )
    worse = (values if higher_is_better else -values).rank(method="min") - 1
    score = (worse.cast(pl.Float64) * 5 / n).floor().cast(pl.Int64) + 1
    return score.clip(1, 5).cast(pl.Int8).alias(name)


def rfm_segment_expr(r_score: str = "r_score", f_score: str = "f_score") -> pl.Expr:
    """Polars expression mapping ``(r_score, f_score)`` to its `RFM_SEGMENTS` name."""
    key = pl.col(r_score).cast(pl.Int64) * 10 + pl.col(f_score).cast(pl.Int64)
    mapping = {r * 10 + f: name for (r, f), name in RFM_SEGMENTS.items()}
    return key.replace_strict(mapping, return_dtype=pl.String)
