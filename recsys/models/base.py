"""The recommender contract: a model scores a block of users; its fitted state is a schema.

Every model in `recsys.models` derives from `Recommender` and declares two things:

1. how it scores a block of users, ``_score(user_index, query)``: one of the shapes
   of `recsys.models.scores` (a dense block, ``queries @ item_factors.T`` ranked by
   the fused kernel, a sparse product, or stored scores on bought items);
2. its fitted state, ``schema``: arrays (dtype, shape in users / items / factors,
   per-user or item-side, value checks), fitted values and sub-models
   (`recsys.models.schema`).

Everything else is shared and generated: the ranker (`recsys.models.ranker`: blocks
sized from a memory budget, exclusions, candidates, top-K, padding, popularity fill),
``save`` / `recsys.load_model` and the checks of model files, and `select_users`
(the copy a worker needs for its customers). A model keeps the id maps and the
training matrix it was fitted on, so recommendations take external ids in and give
external ids out, and seen items never have to be passed again.

Edge cases (the same for every model)
-------------------------------------
- ``k <= 0`` or a non-integer ``k`` raises `InputDataError`.
- Short lists: `Recommender.recommend_index` ranks only what the model scores and
  pads with ``-1`` / ``-inf`` (an ItemKNN customer whose items have no neighbours
  gets nothing). `Recommender.recommend` (``fill="popular"``, the default) fills a
  known customer's empty slots from the training popularity ranking, with the same
  exclusions; filled rows have a ``-inf`` ``score`` (the model cannot recommend them,
  so they never pass for the model's own), and a `DataWarning` says how many customers got
  how many filled slots. ``fill=None`` keeps the model's lists, which may then be
  shorter than ``k`` (or empty). A list is shorter than ``k`` only when fewer than
  ``k`` items are eligible at all.
- An empty user list gives an empty frame (with the usual columns and dtypes).
- Unknown users: ``on_unknown="raise"`` (default) raises
  `UnknownIdError` naming them, ``"skip"`` leaves them out, and
  ``"fallback"`` serves them the training popularity ranking.
- An unknown item in ``candidates`` raises `UnknownIdError`; unknown
  items in ``exclude`` are ignored (they can never be recommended anyway).
- Calling a fitted-only method before ``fit`` raises `NotFittedError`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar, Literal, overload

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys._arrays import sorted_unique
from recsys._validation import (
    check_in,
    check_positive_int,
    resolve_num_threads,
    validate_params,
)
from recsys.data import columns as C
from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions
from recsys.engine import Engine, Local, Ray, ray_job
from recsys.exceptions import InputDataError, NotFittedError
from recsys.models import params as _params
from recsys.models import persistence, ranker, registry
from recsys.models import schema as _schema
from recsys.models.params import named_parts
from recsys.models.scores import Scores, drop_unscored
from recsys.models.sharing import _SHARED_FITS

__all__ = ["Recommender", "UnknownUsers"]

UnknownUsers = Literal["raise", "skip", "fallback"]
_ON_UNKNOWN = ("raise", "skip", "fallback")
_FILL = ("popular", None)


class Recommender(ABC):
    """Base class of every recommender (scikit-learn manners, not inheritance).

    ``__init__`` only stores hyperparameters; `fit` validates the input,
    keeps the id maps (``users_``, ``items_``) and the training matrix
    (``user_items_``) and returns ``self``; a second ``fit`` starts over. Fitted
    attributes end in ``_``.

    A subclass implements ``_fit(interactions)`` and ``_score(user_index, query)``,
    declares its fitted state in ``schema``, its parameters in
    ``_parameter_constraints`` and sets ``registry_name`` to register itself (see
    the module docstring). Other code uses only the public methods
    (``recommend_index``, ``score_pairs``, ``select_users``, ...), never these hooks.
    """

    #: Whether ``recommend(exclude_seen=None)`` drops items the user already bought.
    default_exclude_seen: ClassVar[bool] = True

    #: Name in the model registry (``--model`` on the command line); set by every
    #: concrete model, which registers it (abstract bases leave it unset).
    registry_name: ClassVar[str]
    #: What each ``__init__`` parameter accepts (see `recsys._validation.validate_params`).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    #: The fitted state: arrays, values and sub-models (`recsys.models.schema`).
    schema: ClassVar[tuple[_schema.Spec, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "registry_name" in cls.__dict__:
            registry.register(cls, cls.registry_name)

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [name for name in sig.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``.

        With ``deep=True`` the parameters of nested models are included as
        ``<parameter>__<name>``, and named parts (a list of ``(name, model)`` pairs,
        as in `Blend`) as ``<name>`` and ``<name>__<parameter>``: scikit-learn's
        convention, so ``sklearn.base.clone``, parameter searches and `recsys.evaluation.tune`
        reach every part.

        Examples
        --------
        >>> import recsys as rs
        >>> rs.RepeatExplore(explore=rs.ALS(factors=8)).get_params()["explore__factors"]
        8
        >>> rs.Blend([("als", rs.ALS(factors=4))]).get_params()["als__factors"]
        4
        """
        params = {name: getattr(self, name) for name in self._param_names()}
        return _params.with_nested(params) if deep else params

    def set_params(self, **params: Any) -> Recommender:
        """Set hyperparameters; ``<parameter>__<name>`` reaches into a nested model and
        ``<part>`` / ``<part>__<name>`` into a named part (replacing it, or setting its
        parameter).

        The model must be fitted again to use them.

        Examples
        --------
        >>> import recsys as rs
        >>> blend = rs.Blend([("als", rs.ALS()), ("popular", rs.Popular())])
        >>> blend.set_params(als__factors=128).models[0][1].factors
        128
        """
        _params.set_params(self, self._param_names(), params)
        return self

    def clone(self) -> Recommender:
        """A new, unfitted model with the same hyperparameters (nested models cloned too)."""
        params = self.get_params(deep=False)
        return type(self)(**{name: _params.cloned(v) for name, v in params.items()})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    # --------------------------------------------------------------------- fit
    def fit(self, interactions: Interactions) -> Recommender:
        """Fit the model on a users x items `Interactions`.

        Returns ``self``. A second call discards everything learned before.
        """
        if not isinstance(interactions, Interactions):
            raise InputDataError(
                "fit expects an rs.Interactions (build one with "
                f"rs.Interactions.from_purchases), got {type(interactions).__name__}"
            )
        self._validate_params()
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        shared = _SHARED_FITS.get()
        key = (id(interactions), type(self), repr(self))
        if shared is not None and key in shared and shared[key][0] is interactions:
            vars(self).update(shared[key][1])
            return self
        matrix = ranker.ensure_csr(interactions.matrix)
        if matrix.nnz == 0:
            raise InputDataError(
                f"interactions are empty ({matrix.shape[0]} users x {matrix.shape[1]} items, "
                "no purchases): nothing to fit"
            )
        if matrix.nnz and (not np.isfinite(matrix.data).all() or matrix.data.min() < 0):
            raise InputDataError(
                "interactions.matrix must hold finite weights >= 0 (returns or NaN in the data?)"
            )
        self.users_: IdMap = interactions.users
        self.items_: IdMap = interactions.items
        self.user_items_: sp.csr_matrix = matrix
        # Distinct buyers per item: the fallback ranking for unknown users.
        self.item_popularity_: np.ndarray = np.bincount(
            matrix.indices, minlength=matrix.shape[1]
        ).astype(np.float32)
        self.reference_time_: datetime | None = interactions.reference_time
        self._fit(interactions)
        if shared is not None:
            params = self.get_params(deep=False)
            state = {n: v for n, v in vars(self).items() if n not in params}
            shared[key] = (interactions, state)
        return self

    def check_params(self) -> Recommender:
        """Check the hyperparameters now, as ``fit`` does first; return the model.

        For callers that take parameters from a user (a command line, a config file)
        and want the error before any data is read.

        Raises
        ------
        InputDataError
            A hyperparameter outside its documented range, naming it.

        Examples
        --------
        >>> import recsys as rs
        >>> rs.ALS(factors=0).check_params()
        Traceback (most recent call last):
        ...
        recsys.exceptions.InputDataError: ALS(factors=...) must be an integer >= 1, got 0
        """
        self._validate_params()
        return self

    def _validate_params(self) -> None:
        """Check hyperparameters against ``_parameter_constraints`` (at the start of ``fit``).

        Models with rules across parameters extend this and call ``super()``.
        """
        params = self.get_params(deep=False)
        validate_params(type(self).__name__, params, self._parameter_constraints)
        for param, value in params.items():
            taken = set(params) & {name for name, _ in named_parts(value)}
            if taken:
                raise InputDataError(
                    f"{type(self).__name__}({param}=...): part names {sorted(taken)} are "
                    f"parameter names of {type(self).__name__}"
                )

    @abstractmethod
    def _fit(self, interactions: Interactions) -> None:
        """Learn the model's own state from ``interactions`` (ids and matrix are already kept)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_items_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(interactions) first"
            )

    @property
    def n_users(self) -> int:
        """Number of users seen in training."""
        self._check_fitted()
        return int(self.user_items_.shape[0])

    @property
    def n_items(self) -> int:
        """Number of items in the catalogue seen in training."""
        self._check_fitted()
        return int(self.user_items_.shape[1])

    def _dims(self) -> dict[str, int]:
        """Sizes of the model's own shape symbols in ``schema`` (e.g. ``"factors"``)."""
        return {}

    def _check_state(self) -> None:  # noqa: B027 (a hook: most models need no check)
        """Consistency of a loaded state beyond the schema (raise `ModelFormatError`)."""

    # ----------------------------------------------------------------- scoring
    @abstractmethod
    def _score(self, user_index: np.ndarray, query: ranker.Query | None) -> Scores:
        """Scores of a block of users (int32 indices) against every item.

        ``query`` holds the ranking's ``k``, exclusions and candidates (``None`` when
        pairs are scored); a model that proposes candidates may leave ineligible items
        out of its scores, every other model ignores it.
        """

    def _bytes_per_user(self) -> int | None:
        """Scoring memory per user in a block; ``None`` when a kernel bounds its own."""
        empty = self._score(np.zeros(0, dtype=np.int32), None)  # what shape the model returns
        return None if empty.kernel_bounded else 4 * max(self.n_items, 1)

    def recommend_index(
        self,
        user_index: Any,
        k: int = 10,
        exclude_seen: bool | None = None,
        candidates: Any = None,
        *,
        exclude: sp.spmatrix | None = None,
        num_threads: int = 0,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for users given by index.

        Parameters
        ----------
        user_index
            1-D integer array of user indices (``0 .. n_users - 1``).
        k
            Number of items per user (``>= 1``).
        exclude_seen
            Leave out items the user bought in training; ``None`` uses the
            model's default (``default_exclude_seen``: ``True`` except for the
            buy-again models `Repurchase` and `RepeatExplore`).
        candidates
            1-D array of item indices to choose from (``None`` = all items).
        exclude
            Extra CSR ``[len(user_index), n_items]`` of items to leave out, one
            row per entry of ``user_index``.
        num_threads
            Threads for scoring (0 = all cores). Results do not depend on it.
        show_progress
            Show a tqdm progress bar over user blocks.

        Returns
        -------
        ids, scores
            int32 and float32 arrays ``[len(user_index), k]``, best first, ties
            toward the lower item index, padded with ``-1`` / ``-inf``.

        Examples
        --------
        >>> import numpy as np, polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> ids, scores = model.recommend_index(np.array([1]), k=2)
        >>> ids.tolist()  # user 2 bought "a"; "b" and "c" are tied, "b" has the lower index
        [[1, 2]]
        """
        self._check_fitted()
        k = check_positive_int("k", k)
        threads = resolve_num_threads(num_threads)
        idx = ranker.check_index("user_index", user_index, self.n_users).astype(np.int32)
        cand = ranker.check_candidates(self, candidates)
        extra = ranker.check_exclude(self, exclude, len(idx))
        if exclude_seen is None:
            exclude_seen = self.default_exclude_seen
        return ranker.rank(self, idx, k, exclude_seen, cand, extra, threads, show_progress)

    def score_pairs(self, user_index: Any, item_index: Any) -> np.ndarray:
        """Scores of given (user, item) pairs, by index: the model's own score of each.

        Parameters
        ----------
        user_index, item_index
            1-D integer arrays of the same length; pair ``j`` is
            ``(user_index[j], item_index[j])``.

        Returns
        -------
        numpy.ndarray
            float32 scores, ``-inf`` where the model cannot recommend the item to
            the user (the same values `recommend_index` ranks by).

        Examples
        --------
        >>> import numpy as np, polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> model.score_pairs(np.array([0, 2]), np.array([0, 2])).tolist()
        [2.0, 1.0]
        """
        self._check_fitted()
        users = ranker.check_index("user_index", user_index, self.n_users)
        items = ranker.check_index("item_index", item_index, self.n_items)
        if users.shape != items.shape:
            raise InputDataError(
                f"user_index and item_index must have the same length, got {users.size} "
                f"and {items.size}"
            )
        if users.size == 0:
            return np.zeros(0, dtype=np.float32)
        return ranker.score_pairs(self, users, items)

    # --------------------------------------------------------- external ids
    @overload
    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = None,
        candidates: Any = None,
        exclude: Any = None,
        on_unknown: UnknownUsers = "raise",
        fill: Literal["popular"] | None = "popular",
        num_threads: int = 0,
        show_progress: bool = False,
        engine: Local = ...,
    ) -> pl.DataFrame: ...
    @overload
    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = None,
        candidates: Any = None,
        exclude: Any = None,
        on_unknown: UnknownUsers = "raise",
        fill: Literal["popular"] | None = "popular",
        num_threads: int = 0,
        show_progress: bool = False,
        engine: Ray,
    ) -> pl.DataFrame | pl.LazyFrame: ...
    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = None,
        candidates: Any = None,
        exclude: Any = None,
        on_unknown: UnknownUsers = "raise",
        fill: Literal["popular"] | None = "popular",
        num_threads: int = 0,
        show_progress: bool = False,
        engine: Engine = Local(),  # noqa: B008 - a frozen dataclass
    ) -> pl.DataFrame | pl.LazyFrame:
        """Top-``k`` recommendations as a tidy frame ``user_id, item_id, score, rank``.

        Parameters
        ----------
        users
            External user ids (list, array, polars/pandas Series); ``None`` = every
            user seen in training.
        k
            Number of items per user (``>= 1``). Users with fewer eligible items
            (after exclusions and candidates) get fewer rows, or none: a
            `DataWarning` counts them.
        exclude_seen
            Leave out items the user bought in training (``None`` = the model's
            default, see `default_exclude_seen`).
        candidates
            External item ids to choose from; an unknown id raises
            `UnknownIdError`.
        exclude
            Items never to recommend: a sequence of item ids (for everyone) or a
            frame with ``user_id`` and ``item_id`` columns (per user). Unknown ids
            are ignored.
        on_unknown
            Users not seen in training: ``"raise"``, ``"skip"`` (no rows) or
            ``"fallback"`` (the popularity ranking of the training data).
        fill
            ``"popular"`` (default): where the model scores fewer than ``k``
            eligible items for a known customer (an ItemKNN customer whose items
            have no neighbours), the remaining slots are filled from the training
            popularity ranking with the same exclusions, after the model's items.
            A filled row's ``score`` is ``-inf`` (the model's own score of that
            item: it cannot recommend it), so ``recs["score"].is_infinite()``
            marks and counts them; a `DataWarning` says how many customers got
            how many. ``None``: the model's lists only, possibly short or empty.
        num_threads
            Threads for scoring (0 = all cores); results do not depend on it.
        show_progress
            Show a tqdm progress bar over user blocks.
        engine
            Where to run: `recsys.engine.Local` (default) or `recsys.engine.Ray`
            (the same rows, on a cluster; with ``Ray(out=folder)`` the workers write
            Parquet files and the call returns a ``polars.LazyFrame`` over them).

        Returns
        -------
        polars.DataFrame or polars.LazyFrame
            ``user_id``, ``item_id`` (dtypes of the training ids), ``score``
            (Float32) and ``rank`` (Int32, 1 = best), in query order then rank; a
            LazyFrame over the written Parquet files only with ``engine=Ray(out=...)``.

        Examples
        --------
        >>> import polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> model.recommend([2, 99], k=1, on_unknown="fallback")["item_id"].to_list()
        ['b', 'a']
        """
        self._check_fitted()
        k = check_positive_int("k", k)
        check_in("on_unknown", on_unknown, _ON_UNKNOWN)
        check_in("fill", fill, _FILL)
        if (run := ray_job(engine, "recommend")) is not None:
            return run(self, users, k, exclude_seen=exclude_seen, candidates=candidates, exclude=exclude, on_unknown=on_unknown, fill=fill, show_progress=show_progress, engine=engine)  # fmt: skip  # noqa: E501
        return ranker.recommend_ids(
            self,
            users,
            k,
            exclude_seen,
            candidates,
            exclude,
            on_unknown,
            fill,
            num_threads,
            show_progress,
        )

    @staticmethod
    def _as_id_series(values: Any, name: str) -> pl.Series:
        return ranker.id_series(values, name)

    # ---------------------------------------------------------- similar items
    def _item_similarity_rows(self, item_index: np.ndarray) -> np.ndarray:
        """Dense ``[len(item_index), n_items]`` similarities (default: co-purchase cosine)."""
        x = ranker.pattern(self.user_items_).tocsc()
        norms = np.sqrt(np.asarray(x.power(2).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        co = (x[:, item_index].T @ x).toarray()
        sims = (co / norms[item_index, None] / norms[None, :]).astype(np.float32)
        sims[co == 0] = -np.inf  # no common buyer: not similar at all, never listed
        return sims

    def similar_items(self, items: Any, k: int = 10) -> pl.DataFrame:
        """The ``k`` items most similar to each of ``items`` (the item itself left out).

        Returns a frame ``item_id, similar_item_id, score, rank``. The similarity
        is the model's own (factor cosine for ALS/BPR, the neighbour weights for
        ItemKNN) or, for the baselines, the cosine of the items' buyer sets.

        Examples
        --------
        >>> import polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "b", "c"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> model.similar_items(["a"], k=1)["similar_item_id"].to_list()
        ['b']
        """
        from recsys.scoring import select_topk

        self._check_fitted()
        k = check_positive_int("k", k)
        query = self._as_id_series(items, "items")
        idx = self.items_.to_index(query)
        ids = np.full((len(idx), k), -1, dtype=np.int32)
        scores = np.full((len(idx), k), -np.inf, dtype=np.float32)
        if len(idx):
            sims = np.ascontiguousarray(self._item_similarity_rows(idx), dtype=np.float32)
            sims[np.arange(len(idx)), idx] = -np.inf
            ids, scores = drop_unscored(*select_topk(sims, k))
        frame = ranker.lists_frame(self, query, ids, scores, query_dtype=self.items_.dtype)
        return frame.rename({C.USER: C.ITEM, C.ITEM: "similar_item_id"}).select(
            C.ITEM, "similar_item_id", C.SCORE, C.RANK
        )

    # ------------------------------------------------------------ persistence
    def save(self, path: Any) -> None:
        """Save the fitted model to one ``.npz`` file (numpy arrays + JSON metadata, no pickle).

        The file is written atomically; load it with `recsys.load_model`.

        Examples
        --------
        >>> import tempfile, pathlib, polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "popular.npz"
        >>> model.save(path)
        >>> rs.load_model(path).recommend([1], k=1)["item_id"].to_list()
        ['b']
        """
        self._check_fitted()
        persistence.save_model(self, path)

    def select_users(self, user_index: Any) -> Recommender:
        """A copy holding only the given users (by index), for scoring them alone.

        Per-user arrays of the schema (user factors, a customer's stored scores,
        habits...) and the training rows are sliced, in the order given; item-side
        arrays are shared, not copied. The copy's user ``i`` is ``user_index[i]``
        here, and its lists equal this model's lists for that user.

        Examples
        --------
        >>> import numpy as np, polars as pl, recsys as rs
        >>> p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
        >>> model = rs.Popular().fit(rs.Interactions.from_frame(p))
        >>> part = model.select_users(np.array([2]))
        >>> part.users_.ids.to_list(), part.recommend(k=1)["item_id"].to_list()
        ([3], ['a'])
        """
        self._check_fitted()
        idx = ranker.check_index("user_index", user_index, self.n_users)
        if sorted_unique(idx).size != idx.size:
            raise InputDataError("select_users: user_index must not repeat a user")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.users_ = IdMap(self.users_.ids.gather(idx))
        copy.user_items_ = self.user_items_[idx]
        _schema.select_rows(self, copy, idx)
        return copy
