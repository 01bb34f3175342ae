r"""Top-k ranking metrics, per user and averaged.

Notation, for one user: $L$ is the recommendation list in rank order
(truncated to its first ``k`` items), $T$ the set of the user's test items
(repeat purchases count once), $h_j = 1$ when the item at rank $j$
is in $T$, and $H = \sum_{j \le k} h_j$.

* ``hit_rate@k`` = $1[H > 0]$.
* ``precision@k`` = $H / k$ (a list shorter than ``k`` still divides by ``k``:
  empty slots are misses).
* ``recall@k`` = $H / |T|$. The usual definition (RecBole, Microsoft
  Recommenders, most papers), kept so figures are comparable with published
  ones. Retail customers often buy more than ``k`` items in the test window, so
  recall@k cannot reach 1 for them; ``ndcg`` and ``map`` use the capped
  denominator $\min(|T|, k)$ and are the scale-free companions.
* ``ndcg@k`` = $\mathrm{DCG}/\mathrm{IDCG}$ with binary gains,
  $\mathrm{DCG} = \sum_{j \le k} h_j / \log_2(j + 1)$ and the ideal DCG over
  $\min(|T|, k)$ hits at the top.
* ``map@k`` (average precision) = $\sum_{j \le k} h_j \,\mathrm{prec@}j / \min(|T|, k)$.
* ``mrr@k`` = $1 / j^*$ for the rank $j^*$ of the first hit, 0 without a hit.
* ``novelty@k`` = mean self-information $-\log_2 p_i$ of the recommended items,
  $p_i$ = share of training customers who bought item $i$ (Zhou et al.
  2010). Defined for users with at least one recommended item.
* ``coverage@k`` = share of the catalogue that appears in at least one user's
  top-k list. A property of the whole set of lists, so it has no per-user value.
* ``repeat_share@k`` = share of the ``k`` slots of the list that hold an item the
  user bought in the training data (empty slots count as not repeat): the
  Reality Check's "repetition ratio". It depends on the list only, so it is
  reported in mode ``"all"`` only.

Averages are over users (each user weighs the same). Every metric has three modes:
``"all"`` (every test item counts), ``"new"`` ("new items only": test items the
user had not bought in the training data; buy-again and discovery are different
jobs in retail) and ``"repeat"`` (test items the user had bought before). In
``"new"`` and ``"repeat"`` mode the recommendation lists are scored exactly as
shown (an item of the other kind in the list is a miss, not removed), and users
without a test item of that kind are left out of the average (their value is
undefined, reported as null per user).

This is the decomposition of Li et al., "A Next Basket Recommendation Reality
Check" (ACM TOIS 2023): their repeat recall is ``recall`` in mode ``"repeat"``,
their explore recall ``recall`` in mode ``"new"``, their PHR (share of users with
at least one hit) is ``hit_rate``, and their repetition ratio is ``repeat_share``.

Users of the truth frame without any recommendation count as misses (0).
Recommendations for users who are not in the truth frame are ignored with a
`DataWarning`. Asking for ``k`` larger than the longest
list warns (positions beyond a list are misses).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from recsys._validation import check_in, check_positive_int
from recsys.data.canonical import cast_ids, without_returns
from recsys.data.columns import ITEM, RANK, USER
from recsys.data.sources import to_frame
from recsys.evaluation._frames import (
    HitMatrix,
    hit_matrix,
    prepare_recommendations,
    prepare_truth,
)
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

__all__ = [
    "ACCURACY_METRICS",
    "METRICS",
    "accuracy_per_user",
    "coverage",
    "hit_rate",
    "map",
    "mean_average_precision",
    "mrr",
    "ndcg",
    "novelty",
    "novelty_per_user",
    "precision",
    "recall",
    "repeat_share",
]

ACCURACY_METRICS = ("hit_rate", "precision", "recall", "ndcg", "map", "mrr")
METRICS = (*ACCURACY_METRICS, "novelty", "coverage", "repeat_share")
MODES = ("all", "new", "repeat")
#: The modes `evaluate` reports unless told otherwise.
DEFAULT_MODES = ("all", "new")
Mode = Literal["all", "new", "repeat"]


def accuracy_from_hits(hits: np.ndarray, n_truth: np.ndarray, k: int, name: str) -> np.ndarray:
    """Per-user ``name@k`` from a boolean hit matrix; NaN where the user has no test item."""
    top = hits[:, :k]
    if top.shape[1] < k:  # lists shorter than k: the missing positions are misses
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])))
    n_hits = top.sum(axis=1)
    undefined = n_truth == 0
    safe_truth = np.maximum(n_truth, 1)
    capped = np.minimum(safe_truth, k)
    if name == "hit_rate":
        value = (n_hits > 0).astype(np.float64)
    elif name == "precision":
        value = n_hits / k
    elif name == "recall":
        value = n_hits / safe_truth
    elif name == "ndcg":
        discount = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = np.cumsum(discount)[capped - 1]
        value = (top @ discount) / ideal
    elif name == "map":
        precision_at = np.cumsum(top, axis=1) / np.arange(1, k + 1)
        value = (top * precision_at).sum(axis=1) / capped
    elif name == "mrr":
        first = np.argmax(top, axis=1)
        value = np.where(n_hits > 0, 1.0 / (first + 1), 0.0)
    else:
        raise InputDataError(f"metric must be one of {ACCURACY_METRICS}, got {name!r}")
    return np.where(undefined, np.nan, value.astype(np.float64))


def new_items_truth(truth: pl.DataFrame, train: Any) -> pl.DataFrame:
    """Test pairs whose item the user did not buy in ``train``."""
    return truth.join(train_pairs(train, truth), on=[USER, ITEM], how="anti")


def repeat_items_truth(truth: pl.DataFrame, train: Any) -> pl.DataFrame:
    """Test pairs whose item the user bought in ``train``."""
    return truth.join(train_pairs(train, truth), on=[USER, ITEM], how="semi")


def mode_truth(truth: pl.DataFrame, mode: str, train: Any) -> pl.DataFrame:
    """The test pairs that count in ``mode`` (``"all"``, ``"new"`` or ``"repeat"``)."""
    if mode == "all":
        return truth
    if train is None:
        raise InputDataError(f"mode={mode!r} needs train= (the training purchases)")
    return new_items_truth(truth, train) if mode == "new" else repeat_items_truth(truth, train)


def mode_list_items(
    list_items: pl.DataFrame, mode: str, train: Any, pairs: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The list items that count in ``mode``: not bought (``"new"``) or bought (``"repeat"``).

    ``pairs``: ``train_pairs(train, list_items)`` when the caller has it (one per set of
    lists with the same id types), else computed here.
    """
    if mode == "all":
        return list_items
    pairs = train_pairs(train, list_items) if pairs is None else pairs
    if mode == "new":
        return list_items.join(pairs, on=[USER, ITEM], how="anti")
    return list_items.join(pairs, on=[USER, ITEM], how="semi")


def repeat_share_values(
    list_items: pl.DataFrame, seen: pl.DataFrame, n_users: int, k: int
) -> np.ndarray:
    """Per user: share of the ``k`` slots holding an item bought in train.

    ``list_items`` has ``_u, user_id, rank, item_id``; ``seen`` the distinct
    training ``user_id, item_id`` pairs. Users without any list item get 0.
    """
    top = list_items.filter(pl.col(RANK) <= k).join(seen, on=[USER, ITEM], how="semi")
    repeats = np.bincount(top.get_column("_u").to_numpy(), minlength=n_users)
    return repeats / float(k)


def train_pairs(train: Any, like: pl.DataFrame | None = None) -> pl.DataFrame:
    """Distinct (user_id, item_id) of training purchases (return rows, ``is_return``,
    aside: an item only returned was not bought), ids cast like prepare_truth.

    With ``like`` (the frame they are joined with), each id column of ``like``
    is matched by `recsys.data.canonical.cast_ids`: ``"7"`` or ``7.0`` meet
    ``7``; ``7.5`` or ``"A7"`` against integer ids raise `InputDataError`.
    """
    frame = to_frame(train)
    for column in (USER, ITEM):
        if column not in frame.columns:
            raise InputDataError(f"train is missing column {column!r}; got {frame.columns}")
    frame = without_returns(frame).select(USER, ITEM)
    for column in (USER, ITEM):
        if like is not None and column in like.columns:
            where = f"train (to match the {column} of the recommendations or test data)"
            frame = frame.with_columns(cast_ids(frame[column], like.schema[column], where))
        elif frame.schema[column].is_integer():
            frame = frame.with_columns(pl.col(column).cast(pl.Int64))
    return frame.unique()


def self_information(train: Any, like: pl.DataFrame | None = None) -> pl.DataFrame:
    """``item_id, self_information`` = -log2(share of training users who bought the item)."""
    pairs = train_pairs(train, None if like is None else like.select(ITEM))
    n_users = pairs.get_column(USER).n_unique()
    if n_users == 0:
        raise InputDataError("train is empty: novelty needs item popularity from training data")
    return pairs.group_by(ITEM).agg(
        (-(pl.len().cast(pl.Float64) / n_users).log(2)).alias("self_information")
    )


def novelty_values(
    list_items: pl.DataFrame, n_users: int, k: int, info: pl.DataFrame
) -> np.ndarray:
    """Mean self-information of each user's top-k items (``list_items``: _u, rank, item_id)."""
    top = list_items.filter(pl.col(RANK) <= k)
    joined = top.join(info, on=ITEM, how="left")
    unknown = joined.get_column("self_information").null_count()
    if unknown:
        item = joined.filter(pl.col("self_information").is_null()).get_column(ITEM)[0]
        raise UnknownIdError(
            f"{unknown} recommended item(s) never appear in the training data (e.g. {item!r}); "
            "novelty needs every recommended item's training popularity"
        )
    u = joined.get_column("_u").to_numpy()
    total = np.bincount(
        u, weights=joined.get_column("self_information").to_numpy(), minlength=n_users
    )
    count = np.bincount(u, minlength=n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def check_catalogue(list_items: pl.DataFrame, catalogue: pl.Series) -> None:
    """Raise UnknownIdError if a recommended item of ``list_items`` is not in ``catalogue``."""
    items = list_items.select(ITEM).unique()
    outside = items.join(catalogue.to_frame(ITEM), on=ITEM, how="anti").get_column(ITEM)
    if len(outside):
        raise UnknownIdError(
            f"{len(outside)} recommended item(s) are not in the catalogue (e.g. {outside[0]!r})"
        )


def coverage_share(list_items: pl.DataFrame, k: int, n_catalogue: int) -> float:
    """Distinct items in the top-k of ``list_items`` over the catalogue size (NaN if empty)."""
    n_items = list_items.filter(pl.col(RANK) <= k).get_column(ITEM).n_unique()
    return n_items / n_catalogue if n_catalogue else float("nan")


def warn_short_lists(recs: pl.DataFrame, k: int, whose: str = "", stacklevel: int = 2) -> None:
    """A `DataWarning` if ``k`` exceeds the longest list in ``recs`` (``whose``: a prefix
    naming the lists); ``stacklevel`` as `warnings.warn`'s, from the caller."""
    longest = int(recs.get_column(RANK).max() or 0) if recs.height else 0  # type: ignore[arg-type]
    if k > longest:
        warnings.warn(
            f"{whose}k={k} is larger than the longest recommendation list ({longest} items); "
            "positions beyond a list count as misses",
            DataWarning,
            stacklevel=stacklevel + 1,
        )


def _check_k(k: Any, recs: pl.DataFrame) -> int:
    k = check_positive_int("k", k)
    warn_short_lists(recs, k, stacklevel=4)
    return k


def _accuracy_values(
    name: str, recommendations: Any, truth: Any, k: int, mode: str, train: Any
) -> tuple[pl.Series, np.ndarray]:
    """The evaluated users (sorted) and their ``name@k`` values (NaN = undefined)."""
    check_in("mode", mode, MODES)
    truth_frame = prepare_truth(truth)
    recs = prepare_recommendations(recommendations, truth_frame)
    k = _check_k(k, recs)
    users = truth_frame.get_column(USER).unique().sort()
    truth_frame = mode_truth(truth_frame, mode, train)
    matrix: HitMatrix = hit_matrix(recs, truth_frame, k, users)
    return users, accuracy_from_hits(matrix.hits, matrix.n_truth, k, name)


def _mean(values: np.ndarray) -> float:
    """Mean over the users with a defined value (NaN if none)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _per_user_frame(users: pl.Series, values: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({USER: users, "value": values}).with_columns(pl.col("value").fill_nan(None))


_PARAMS_DOC = """
    Parameters
    ----------
    recommendations
        Frame with ``user_id, item_id, rank`` (ranks 1..n per user, as returned by
        ``model.recommend``); polars, pandas or a file path.
    truth
        Frame with ``user_id, item_id``: the test purchases (e.g. ``split.test``).
        Its users are the evaluated population.
    k
        Cut-off: only the first ``k`` recommendations of each list count.
    mode
        ``"all"`` items, ``"new"`` items only (test items not bought in ``train``:
        the Reality Check's "explore" items) or ``"repeat"`` items only (test items
        bought in ``train``).
    train
        Training purchases (``user_id, item_id``); required for modes ``"new"``
        and ``"repeat"``.

    Returns
    -------
    float
        The mean over users with a defined value (NaN if none). The per-user
        values are `accuracy_per_user`.
"""


def _make(name: str, formula: str, example: str) -> Any:
    def metric(
        recommendations: Any,
        truth: Any,
        k: int = 10,
        *,
        mode: Mode = "all",
        train: Any = None,
    ) -> float:
        return _mean(_accuracy_values(name, recommendations, truth, k, mode, train)[1])

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = f"""{formula}
{_PARAMS_DOC}
    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> recs = pl.DataFrame({{"user_id": [1, 1, 1], "item_id": [7, 8, 9], "rank": [1, 2, 3]}})
    >>> truth = pl.DataFrame({{"user_id": [1, 1], "item_id": [8, 5]}})
    >>> {example}
"""
    return metric


hit_rate = _make(
    "hit_rate",
    "Share of users with at least one test item in their top-k list (``1[H > 0]``).",
    "rs.evaluation.hit_rate(recs, truth, k=3)\n    1.0",
)
precision = _make(
    "precision",
    "Hits in the top-k divided by ``k`` (``H / k``), averaged over users.",
    "round(rs.evaluation.precision(recs, truth, k=3), 4)\n    0.3333",
)
recall = _make(
    "recall",
    "Hits in the top-k divided by the number of test items (``H / |T|``), averaged over users.",
    "rs.evaluation.recall(recs, truth, k=3)\n    0.5",
)
ndcg = _make(
    "ndcg",
    "Normalised DCG with binary gains; ideal DCG over ``min(|T|, k)`` hits, averaged over users.",
    "round(rs.evaluation.ndcg(recs, truth, k=3), 4)  # (1/log2 3) / (1 + 1/log2 3)\n    0.3869",
)
mean_average_precision = _make(
    "map",
    "Average precision at k: ``sum_j h_j prec@j / min(|T|, k)``, averaged over users (MAP@k).",
    "rs.evaluation.map(recs, truth, k=3)  # (1/2) / 2\n    0.25",
)
map = mean_average_precision
mrr = _make(
    "mrr",
    "Reciprocal rank of the first hit in the top-k (0 without a hit), averaged over users.",
    "rs.evaluation.mrr(recs, truth, k=3)\n    0.5",
)


def accuracy_per_user(
    metric: str,
    recommendations: Any,
    truth: Any,
    k: int = 10,
    *,
    mode: Mode = "all",
    train: Any = None,
) -> pl.DataFrame:
    """Per-user value of an accuracy metric: the values that `hit_rate` & co. average.

    Parameters
    ----------
    metric
        One of ``hit_rate, precision, recall, ndcg, map, mrr``.
    recommendations, truth, k, mode, train
        As for `hit_rate`.

    Returns
    -------
    polars.DataFrame
        ``user_id, value``: one row per user of ``truth`` (sorted), null where the
        value is undefined (``"new"`` mode: no new test item).

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> recs = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [7, 8, 5], "rank": [1, 2, 1]})
    >>> truth = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [8, 5, 6]})
    >>> rs.evaluation.accuracy_per_user("recall", recs, truth, k=2)["value"].to_list()
    [0.5, 0.0]
    """
    check_in("metric", metric, ACCURACY_METRICS)
    return _per_user_frame(*_accuracy_values(metric, recommendations, truth, k, mode, train))


def novelty(
    recommendations: Any,
    train: Any,
    k: int = 10,
    *,
    mode: Mode = "all",
) -> float:
    """Mean self-information ``-log2 p_i`` of the top-k recommended items.

    ``p_i`` is the share of training customers who bought item ``i``, so an item
    every customer bought scores 0 bits and rarer items score more. The value of
    a user is the mean over their top-k items; the result is the mean over users
    of ``recommendations`` with at least one item. In ``"new"`` mode only the
    recommended items the user had not bought in ``train`` count.

    Parameters
    ----------
    recommendations
        Frame with ``user_id, item_id, rank``.
    train
        Training purchases (``user_id, item_id``) giving item popularity.
    k
        Cut-off.
    mode
        ``"all"`` or ``"new"``.

    Returns
    -------
    float
        The mean over users (NaN if none); the per-user values are `novelty_per_user`.

    Raises
    ------
    UnknownIdError
        A recommended item never appears in ``train``.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> train = pl.DataFrame({"user_id": [1, 2, 3, 4], "item_id": [5, 5, 6, 5]})
    >>> recs = pl.DataFrame({"user_id": [9, 9], "item_id": [5, 6], "rank": [1, 2]})
    >>> round(rs.evaluation.novelty(recs, train, k=2), 6)  # (log2(4/3) + log2(4)) / 2
    1.207519
    """
    return _mean(_novelty_user_values(recommendations, train, k, mode)[1])


def novelty_per_user(
    recommendations: Any,
    train: Any,
    k: int = 10,
    *,
    mode: Mode = "all",
) -> pl.DataFrame:
    """Per-user novelty: the values that `novelty` averages.

    Parameters
    ----------
    recommendations, train, k, mode
        As for `novelty`.

    Returns
    -------
    polars.DataFrame
        ``user_id, value``: one row per user of ``recommendations`` (sorted), null
        where the user has no counted item (``"new"`` mode).

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> train = pl.DataFrame({"user_id": [1, 2, 3, 4], "item_id": [5, 5, 6, 5]})
    >>> recs = pl.DataFrame({"user_id": [8, 9], "item_id": [5, 6], "rank": [1, 1]})
    >>> rs.evaluation.novelty_per_user(recs, train, k=1)["value"].round(3).to_list()
    [0.415, 2.0]
    """
    return _per_user_frame(*_novelty_user_values(recommendations, train, k, mode))


def _novelty_user_values(
    recommendations: Any, train: Any, k: int, mode: str
) -> tuple[pl.Series, np.ndarray]:
    check_in("mode", mode, MODES)
    recs = prepare_recommendations(recommendations)
    k = _check_k(k, recs)
    users = recs.get_column(USER).unique().sort()
    list_items = recs.join(
        pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)}), on=USER
    )
    list_items = mode_list_items(list_items, mode, train)
    return users, novelty_values(list_items, len(users), k, self_information(train, recs))


def coverage(
    recommendations: Any,
    catalogue: Sequence[Any] | pl.Series,
    k: int = 10,
    *,
    mode: Mode = "all",
    train: Any = None,
) -> float:
    """Share of the catalogue that appears in at least one user's top-k list.

    Parameters
    ----------
    recommendations
        Frame with ``user_id, item_id, rank``.
    catalogue
        The item ids that could be recommended (e.g. the training items); repeats are ignored.
    k
        Cut-off.
    mode
        ``"all"``, or ``"new"`` to count only items recommended to a user who had
        not bought them in ``train``.
    train
        Training purchases; required for ``mode="new"``.

    Raises
    ------
    UnknownIdError
        A recommended item is not in the catalogue.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> recs = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "rank": [1, 2, 1]})
    >>> rs.evaluation.coverage(recs, catalogue=[5, 6, 7, 8], k=2)
    0.5
    """
    check_in("mode", mode, MODES)
    recs = prepare_recommendations(recommendations)
    k = _check_k(k, recs)
    try:
        series = pl.Series(
            ITEM, catalogue if isinstance(catalogue, pl.Series) else list(catalogue), strict=True
        )
    except (TypeError, pl.exceptions.PolarsError) as err:
        raise InputDataError(
            f"catalogue must be item ids of one type, got {catalogue!r}"[:200]
        ) from err
    series = cast_ids(series, recs.schema[ITEM], "catalogue").unique()
    if len(series) == 0:
        raise InputDataError("catalogue is empty")
    list_items = recs.with_columns(pl.lit(0, dtype=pl.Int64).alias("_u"))
    if mode != "all" and train is None:
        raise InputDataError(f"mode={mode!r} needs train= (the training purchases)")
    list_items = mode_list_items(list_items, mode, train)
    check_catalogue(list_items.filter(pl.col(RANK) <= k), series)
    return coverage_share(list_items, k, len(series))


def repeat_share(recommendations: Any, train: Any, k: int = 10) -> float:
    """Share of the top-k slots that hold an item the user bought in ``train``.

    The Reality Check's repetition ratio: how much of each list is "buy again".
    A user's value is the number of their top-k items bought in ``train``
    divided by ``k`` (empty slots count as not repeat); the result is the mean
    over the users of ``recommendations``.

    Parameters
    ----------
    recommendations
        Frame with ``user_id, item_id, rank``.
    train
        Training purchases (``user_id, item_id``).
    k
        Cut-off.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> train = pl.DataFrame({"user_id": [1, 2], "item_id": [5, 6]})
    >>> recs = pl.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [5, 7, 7, 8],
    ...                      "rank": [1, 2, 1, 2]})
    >>> rs.evaluation.repeat_share(recs, train, k=2)  # (1/2 + 0/2) / 2
    0.25
    """
    recs = prepare_recommendations(recommendations)
    k = _check_k(k, recs)
    users = recs.get_column(USER).unique().sort()
    list_items = recs.join(
        pl.DataFrame({USER: users, "_u": np.arange(len(users), dtype=np.int64)}), on=USER
    )
    return _mean(repeat_share_values(list_items, train_pairs(train, recs), len(users), k))
