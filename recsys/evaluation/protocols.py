"""Evaluation protocols: full ranking (default) and sampled negatives.

Full ranking scores every catalogue item for every test user and is the honest
protocol. The sampled-negatives protocol (He et al. 2017, "Neural Collaborative
Filtering") ranks each held-out item among ``n`` items the user never
interacted with, drawn at random. It is offered only to compare with papers
that used it: Krichene & Rendle (2020, "On Sampled Metrics for Item
Recommendation", KDD) show that sampled metrics are biased estimates of the
full-ranking ones and can even reverse the order of two models, so never use
them to choose between models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl
from numba import njit

from recsys._validation import Interval, check_positive_int, validate_params
from recsys.data.columns import ITEM, RANK, SCORE, USER
from recsys.data.idmap import IdMap
from recsys.evaluation._frames import prepare_truth
from recsys.evaluation.metrics import train_pairs
from recsys.exceptions import InputDataError

__all__ = ["FullRanking", "SampledNegatives", "sample_negatives", "sampled_ranks"]

SAMPLED_METRICS = ("hit_rate", "ndcg", "mrr")


@dataclass(frozen=True)
class FullRanking:
    """Rank every catalogue item for every test user (the default protocol)."""


@dataclass(frozen=True)
class SampledNegatives:
    """Rank each held-out item among ``n`` sampled non-interacted items (biased; see module).

    Parameters
    ----------
    n
        Negatives per positive (99 in the NCF protocol).
    seed
        Seed of the negative sampling.
    """

    n: int = 99
    seed: int = 0

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __post_init__(self) -> None:
        validate_params("SampledNegatives", vars(self), self._parameter_constraints)


@njit(cache=True)
def _draw(
    case_user: np.ndarray,
    seen_indptr: np.ndarray,
    seen_indices: np.ndarray,
    n_items: int,
    n: int,
    seed: int,
) -> np.ndarray:  # pragma: no cover - jit
    np.random.seed(seed)  # noqa: NPY002 - numba supports only the legacy RNG
    out = np.empty((case_user.shape[0], n), dtype=np.int64)
    stamp = np.full(n_items, -1, dtype=np.int64)
    for c in range(case_user.shape[0]):
        u = case_user[c]
        lo, hi = seen_indptr[u], seen_indptr[u + 1]
        for j in range(lo, hi):
            stamp[seen_indices[j]] = c
        filled = 0
        while filled < n:
            item = np.random.randint(0, n_items)  # noqa: NPY002
            if stamp[item] != c:
                stamp[item] = c
                out[c, filled] = item
                filled += 1
    return out


def sample_negatives(
    truth: Any, train: Any, n: int = 99, seed: int = 0, catalogue: Any = None
) -> pl.DataFrame:
    """For each test (user, item) pair, ``n`` items the user never bought, drawn uniformly.

    Negatives are drawn without replacement from ``catalogue`` (default: the
    training items) minus everything the user bought in train or test. The draw
    depends only on the data and ``seed``.

    Returns
    -------
    polars.DataFrame
        ``case, user_id, item_id, positive``: one case per distinct test pair
        (cases numbered in user, item order), its positive row and ``n`` negatives.

    Raises
    ------
    InputDataError
        A user has fewer than ``n`` items left to sample from.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> train = pl.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [10, 11, 12, 13]})
    >>> test = pl.DataFrame({"user_id": [1], "item_id": [12]})
    >>> cand = rs.evaluation.sample_negatives(test, train, n=1, seed=0)
    >>> cand.sort("positive", descending=True)["item_id"][0], cand.height
    (12, 2)
    """
    n = check_positive_int("n", n)
    positives = prepare_truth(truth)
    known = train_pairs(train)
    items = IdMap.from_values(
        known.get_column(ITEM) if catalogue is None else pl.Series(ITEM, list(catalogue))
    )
    users = IdMap.from_values(positives.get_column(USER))
    seen = pl.concat([known.join(positives.select(USER).unique(), on=USER, how="semi"), positives])
    seen_u = users.to_index(seen.get_column(USER), on_unknown="minus_one")
    seen_i = items.to_index(seen.get_column(ITEM), on_unknown="minus_one")
    keep = (seen_u >= 0) & (seen_i >= 0)
    seen_u, seen_i = seen_u[keep], seen_i[keep]
    order = np.lexsort((seen_i, seen_u))
    seen_u, seen_i = seen_u[order], seen_i[order]
    distinct = np.ones(seen_u.size, dtype=bool)
    distinct[1:] = (seen_u[1:] != seen_u[:-1]) | (seen_i[1:] != seen_i[:-1])
    seen_u, seen_i = seen_u[distinct], seen_i[distinct]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(seen_u, minlength=len(users)))])
    available = len(items) - np.diff(indptr)
    case_user = users.to_index(positives.get_column(USER)).astype(np.int64)
    short = available[case_user] < n
    if short.any():
        who = users.ids[int(case_user[short][0])]
        raise InputDataError(
            f"n={n} negatives cannot be drawn for user {who!r}: only "
            f"{int(available[case_user[short][0]])} catalogue items are left after removing "
            "the items the user bought"
        )
    negatives = _draw(
        case_user, indptr.astype(np.int64), seen_i.astype(np.int64), len(items), n, seed
    )
    n_cases = positives.height
    case = np.arange(n_cases, dtype=np.int64)
    negative_frame = pl.DataFrame(
        {
            "case": np.repeat(case, n),
            USER: positives.get_column(USER).gather(np.repeat(case, n)),
            ITEM: pl.Series(items.to_ids(negatives.ravel())),
            "positive": np.zeros(n_cases * n, dtype=bool),
        }
    )
    positive_frame = positives.select(
        pl.Series("case", case), USER, ITEM, pl.lit(True).alias("positive")
    )
    return pl.concat([positive_frame, negative_frame.cast(positive_frame.schema)]).sort(
        "case", "positive", descending=[False, True]
    )


def score_candidates(model: Any, candidates: pl.DataFrame, block: int = 256) -> pl.DataFrame:
    """Score each case's candidate items with ``model.recommend(candidates=...)``.

    ``recommend`` takes one candidate list for all the users of a call, so users
    are scored in blocks of ``block``, each with the union of its users' candidate
    items (known to the model, per ``model.items_`` when it has one) as the
    candidate list and ``k`` = its length. A candidate the model does not score
    (an item it never saw, a user it does not know) gets ``-inf``, so it never
    beats anything; an unscored positive therefore ranks last.
    """
    pairs = candidates.select(USER, ITEM).unique()
    known_items = getattr(model, "items_", None)
    if isinstance(known_items, IdMap):
        pairs = pairs.filter(
            pl.Series(known_items.to_index(pairs.get_column(ITEM), on_unknown="minus_one") >= 0)
        )
    users = pairs.get_column(USER).unique().sort()
    scored: list[pl.DataFrame] = []
    for start in range(0, len(users), block):
        chunk = users.slice(start, block)
        items = (
            pairs.join(chunk.to_frame(USER), on=USER, how="semi").get_column(ITEM).unique().sort()
        )
        if len(items) == 0:
            continue
        recs = model.recommend(
            users=chunk, k=len(items), exclude_seen=False, candidates=items, on_unknown="skip"
        )
        recs = recs if isinstance(recs, pl.DataFrame) else pl.DataFrame(recs)
        scored.append(recs.select(USER, ITEM, pl.col(SCORE).cast(pl.Float64)))
    schema: dict[str, Any] = {
        USER: candidates.schema[USER],
        ITEM: candidates.schema[ITEM],
        SCORE: pl.Float64,
    }
    scores = pl.concat(scored) if scored else pl.DataFrame(schema=schema)
    for column in (USER, ITEM):
        if scores.schema[column].is_integer():
            scores = scores.with_columns(pl.col(column).cast(pl.Int64))
    return candidates.join(scores, on=[USER, ITEM], how="left").with_columns(
        pl.col(SCORE).fill_null(float("-inf")).fill_nan(float("-inf"))
    )


def sampled_ranks(scored: pl.DataFrame) -> pl.DataFrame:
    """Rank of each case's positive among its negatives, ties counted against the positive.

    ``scored`` has ``case, user_id, item_id, positive, score``. The rank is
    ``1 + #(negatives scoring >= the positive)``: a model that scores everything
    equally gets the worst rank, not the best.

    Examples
    --------
    >>> import polars as pl
    >>> scored = pl.DataFrame({"case": [0, 0, 0], "user_id": [1, 1, 1], "item_id": [5, 6, 7],
    ...                        "positive": [True, False, False], "score": [0.5, 0.9, 0.5]})
    >>> sampled_ranks(scored)["rank"].to_list()
    [3]
    """
    positive_score = scored.filter(pl.col("positive")).select(
        "case", USER, ITEM, pl.col(SCORE).alias("_p")
    )
    beaten = (
        scored.filter(~pl.col("positive"))
        .join(positive_score.select("case", "_p"), on="case")
        .group_by("case")
        .agg((pl.col(SCORE) >= pl.col("_p")).sum().alias("_above"))
    )
    return (
        positive_score.join(beaten, on="case", how="left")
        .with_columns((pl.col("_above").fill_null(0) + 1).cast(pl.Int64).alias(RANK))
        .select("case", USER, ITEM, RANK)
        .sort("case")
    )


def sampled_metric(rank: np.ndarray, k: int, name: str) -> np.ndarray:
    """Per-case metric from the positive's rank among ``n + 1`` items."""
    inside = rank <= k
    if name == "hit_rate":
        return inside.astype(np.float64)
    if name == "ndcg":
        return np.where(inside, 1.0 / np.log2(rank + 1.0), 0.0)
    if name == "mrr":
        return np.where(inside, 1.0 / rank, 0.0)
    raise InputDataError(
        f"the sampled-negatives protocol supports metrics {SAMPLED_METRICS}, got {name!r}"
    )
