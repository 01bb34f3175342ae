"""One composable blend of recommenders (the buy-again / discover blend builds on it)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys._validation import InstanceOf, Interval, Options, SequenceOf
from recsys.data.interactions import Interactions
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.base import Recommender
from recsys.models.params import NamedParts
from recsys.models.ranker import Query, pattern
from recsys.models.schema import Array, Part, Value
from recsys.models.scores import Sparse

__all__ = ["Blend"]

#: Which items a part may propose: the customer's bought items, never-bought items, or any.
MASKS = ("all", "new", "bought")
#: The default parts of `Blend` and their weights (chosen on validation splits).
_DEFAULT_WEIGHTS = (0.6, 0.2, 0.2)
_MODEL = InstanceOf(Recommender, "a recsys Recommender")
_NORMALIZE = [Options("rank", "minmax")]


def _default_blend_models(timed: bool) -> list[Recommender]:
    from recsys.models.baselines import Popular
    from recsys.models.knn import ItemKNN
    from recsys.models.mf import ALS

    if not timed:
        warnings.warn(
            "Blend: the interactions have no purchase times, so the default "
            "popularity part counts all history instead of the last 30 days",
            DataWarning,
            stacklevel=5,  # _parts <- _fit <- fit <- the caller
        )
    return [ALS(), ItemKNN(), Popular(window_days=30.0 if timed else None)]


def _group_starts(rows: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted array."""
    return np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows[:0]


def _normalized(rows: np.ndarray, scores: np.ndarray, normalize: str, offset: float) -> np.ndarray:
    """Per-customer normalisation of one part's list (rows sorted, best first in each row).

    ``"rank"``: ``1 / (rank + offset)`` (reciprocal-rank fusion: only the order in
    each part counts, so a count-based and a cosine-based score compete fairly);
    ``"minmax"``: the scores rescaled to ``[0, 1]`` over the customer's list (1
    where all are equal).
    """
    if rows.size == 0:
        return np.zeros(0)
    starts = _group_starts(rows)
    lengths = np.diff(np.r_[starts, rows.size])
    position = np.arange(rows.size) - np.repeat(starts, lengths)
    if normalize == "rank":
        return 1.0 / (position + 1.0 + offset)
    s = scores.astype(np.float64)
    lo = np.repeat(np.minimum.reduceat(s, starts), lengths)
    hi = np.repeat(np.maximum.reduceat(s, starts), lengths)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (s - lo) / span, 1.0)


def candidate_matrix(
    rows: np.ndarray, items: np.ndarray, values: np.ndarray, n_rows: int, n_items: int
) -> sp.csr_matrix:
    """``[n_rows, n_items]`` float32 CSR of candidate entries, grouped by row.

    Entries keep their given order within a row (a stable sort by row), so duplicates
    of an item stay in part order for the accumulator that sums them.

    Examples
    --------
    >>> m = candidate_matrix(np.array([1, 0, 1]), np.array([2, 0, 1]), np.array([0.5, 1, 2]), 2, 3)
    >>> m.toarray().tolist()
    [[1.0, 0.0, 0.0], [0.0, 2.0, 0.5]]
    """
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))]
    return sp.csr_matrix(
        (values[order].astype(np.float32), items[order].astype(np.int32), indptr),
        shape=(n_rows, n_items),
    )


class Blend(Recommender):
    """Weighted blend of recommenders, each proposing candidates and normalised per customer.

    Each part ``j`` proposes up to ``depth`` items per customer through its own
    fast `recommend_index` (or, with the ``"bought"`` mask, scores
    the customer's own purchases with `score_pairs`); its list
    is normalised per customer and the blend ranks items by

    ``score = sum_j weights[j] * norm_j(item)``

    (``norm_j = 0`` for items outside part ``j``'s list). ``normalize="rank"`` is
    reciprocal-rank fusion, ``1 / (rank + rank_offset)``; ``"minmax"`` rescales a
    part's list to ``[0, 1]``. Items a customer cannot get (already bought with
    ``exclude_seen``, excluded, or outside ``candidates``) are removed from every
    part *before* ranking, so ranks count eligible items only. No part builds a
    dense users x items block: memory stays within the block budget.

    The masks say which items a part may propose: ``"all"``, ``"new"`` (items the
    customer never bought: discovery) or ``"bought"`` (the customer's own items:
    buy-again). `RepeatExplore` is the buy-again / discover blend built on it.

    The default, ``ALS()`` + ``ItemKNN()`` + ``Popular(window_days=30)`` weighted
    0.6 / 0.2 / 0.2, was chosen on validation splits inside the training periods
    of Online Retail and Ta-Feng; figures are in ``benchmarks/RESULTS.md``.

    Parameters
    ----------
    models : list of (str, Recommender) or None
        The named parts, as the steps of a scikit-learn ``Pipeline``:
        ``[("als", rs.ALS()), ("repurchase", rs.Repurchase())]``; the names reach
        the parts' parameters (``get_params()["als__factors"]``,
        ``set_params(als__factors=128)``, ``tune`` grids). ``None`` = the default
        trio above. Interactions without purchase times make the default popularity
        part count all history (with a `DataWarning`).
    weights : sequence of float or None
        One weight ``>= 0`` per model, not all 0 (``None`` = the default weights
        for the default models, equal weights otherwise).
    masks : sequence of {"all", "new", "bought"} or None
        One mask per model (``None`` = ``"all"`` for every part).
    normalize : {"rank", "minmax"}
        Per-customer score normalisation.
    rank_offset : float
        ``rank_offset`` of the reciprocal-rank normalisation (larger = flatter).
    depth : int
        Items each part proposes per customer (its top ``max(depth, k)``); items a
        part ranks lower add nothing from that part. On Online Retail's validation
        split the default blend's HR@10 is the same for every depth from 50 to
        1,000 (``benchmarks/RESULTS.md``).

    Notes
    -----
    The parts are cloned and fitted on the same interactions by ``fit``
    (available afterwards as ``models_``, with ``weights_`` and ``masks_``).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> inter = rs.Interactions.from_purchases(purchases.head(20_000))
    >>> model = rs.Blend([("als", rs.ALS(factors=8, iterations=3)), ("knn", rs.ItemKNN())],
    ...                  [0.7, 0.3]).fit(inter)
    >>> model.recommend(k=10).height > 0
    True
    >>> model.set_params(als__factors=16).get_params()["als__factors"]
    16
    """

    registry_name = "blend"
    schema: ClassVar[tuple[Any, ...]] = (
        Part("models", many=True),
        Array("weights", "float32", ("parts",), finite=True, low=0.0),
        Value("masks", (SequenceOf(Options(*MASKS)),), length="parts"),
    )
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "models": [NamedParts(), None],
        "weights": [SequenceOf(Interval(float, 0, None)), None],
        "masks": [SequenceOf(Options(*MASKS)), None],
        "normalize": _NORMALIZE,
        "rank_offset": [Interval(float, 0, None)],
        "depth": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        models: Sequence[tuple[str, Recommender]] | None = None,
        weights: Sequence[float] | None = None,
        masks: Sequence[str] | None = None,
        normalize: str = "rank",
        rank_offset: float = 10.0,
        depth: int = 50,
    ) -> None:
        self.models = models
        self.weights = weights
        self.masks = masks
        self.normalize = normalize
        self.rank_offset = rank_offset
        self.depth = depth

    # ------------------------------------------------------------------ parts
    def _parts(self, timed: bool) -> tuple[list[Recommender], np.ndarray, tuple[str, ...]]:
        """Unfitted parts, their weights and masks (raises on inconsistent lengths)."""
        if self.models is None:
            models = _default_blend_models(timed)
            default: Sequence[float] = _DEFAULT_WEIGHTS
        else:
            models = [model.clone() for _, model in self.models]
            default = [1.0] * len(models)
        n = len(models)
        weights = np.asarray(default if self.weights is None else self.weights, np.float64)
        if weights.shape != (n,):
            raise InputDataError(
                f"Blend(weights=...) must hold one number per model ({n}), got {self.weights!r}"
            )
        if weights.sum() <= 0:
            raise InputDataError(f"Blend(weights=...) must not be all 0, got {self.weights!r}")
        masks = ("all",) * n if self.masks is None else tuple(self.masks)
        if len(masks) != n:
            raise InputDataError(
                f"Blend(masks=...) must hold one mask per model ({n}), got {self.masks!r}"
            )
        return models, weights.astype(np.float32), masks

    def _validate_params(self) -> None:
        super()._validate_params()
        self._parts(timed=True)

    def _fit(self, interactions: Interactions) -> None:
        models, weights, masks = self._parts(timed=interactions.last_purchase is not None)
        for model in models:
            model.fit(interactions)
        self.models_: list[Recommender] = models
        self.weights_: np.ndarray = weights
        self.masks_: tuple[str, ...] = masks

    # ---------------------------------------------------------------- scoring
    def _bytes_per_user(self) -> int | None:
        # Candidate lists, not dense blocks: about 24 bytes per proposed item.
        return 24 * min(int(self.depth), max(self.n_items, 1)) * max(len(self.models_), 1)

    def _part_list(
        self,
        model: Recommender,
        mask: str,
        users: np.ndarray,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
        depth: int,
        seen: sp.csr_matrix,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One part's proposals: (row, item, score), rows ascending, best first per row.

        ``seen`` is the pattern of the users' training rows (computed once per block).
        """
        if mask == "bought":
            rows, items = seen.nonzero()
            keep = np.ones(rows.size, dtype=bool)
            if exclude is not None and exclude.nnz:
                keep &= np.asarray(exclude[rows, items]).ravel() == 0
            if candidates is not None:
                keep &= np.isin(items, candidates)
            rows, items = rows[keep], items[keep]
            scores = model.score_pairs(users[rows], items)
            finite = np.isfinite(scores)
            rows, items, scores = rows[finite], items[finite], scores[finite]
            order = np.lexsort((items, -scores, rows))
            return rows[order], items[order], scores[order]
        if mask == "new":
            exclude = seen if exclude is None else pattern(exclude + seen)
        ids, scores = model.recommend_index(
            users,
            k=min(depth, model.n_items),
            exclude_seen=False,
            candidates=candidates,
            exclude=exclude,
            num_threads=num_threads,
        )
        rows, slots = np.nonzero(ids >= 0)
        return rows, ids[rows, slots], scores[rows, slots]

    def _contributions(
        self,
        users: np.ndarray,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
        num_threads: int,
        depth: int,
    ) -> sp.csr_matrix:
        """``[len(users), n_items]`` CSR of every part's weighted, normalised proposals.

        An item proposed by several parts has one entry per part (in part order):
        the blended score is the sum of a row's duplicates.
        """
        rows, items, values = [], [], []
        seen = pattern(self.user_items_[users])
        for model, weight, mask in zip(self.models_, self.weights_, self.masks_, strict=True):
            if weight == 0:
                continue
            r, i, scores = self._part_list(
                model, mask, users, exclude, candidates, num_threads, depth, seen
            )
            rows.append(r)
            items.append(i)
            norm = _normalized(r, scores, self.normalize, float(self.rank_offset))
            values.append(float(weight) * norm)
        if not rows:
            return sp.csr_matrix((len(users), self.n_items), dtype=np.float32)
        return candidate_matrix(
            np.concatenate(rows),
            np.concatenate(items),
            np.concatenate(values),
            len(users),
            self.n_items,
        )

    def _score(self, user_index: np.ndarray, query: Query | None) -> Sparse:
        """Every part's weighted, normalised proposals; the blended score of an item is
        the sum of its row's entries (``identity @ contributions``, duplicates added in
        part order by knn_topk's accumulator, ties to the lower item).

        The parts leave out ineligible items before they rank, and each proposes at
        least ``k`` items, so a long list (e.g. ranking a sampled candidate set) is
        never cut short by ``depth``.
        """
        if query is None:
            contributions = self._contributions(user_index, None, None, 1, int(self.depth))
        else:
            depth = max(int(self.depth), query.k)
            contributions = self._contributions(
                user_index, query.exclude, query.candidates, query.num_threads, depth
            )
        selector = sp.identity(len(user_index), dtype=np.float32, format="csr")
        return Sparse(selector, contributions)

    def _dims(self) -> dict[str, int]:
        return {"parts": len(self.models_)}
