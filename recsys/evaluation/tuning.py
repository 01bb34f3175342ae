"""Hyperparameter search on the validation split (never the test window)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from recsys._progress import tqdm
from recsys._validation import check_in, check_positive_int
from recsys.data.interactions import Interactions
from recsys.evaluation.evaluate import evaluate
from recsys.evaluation.metrics import ACCURACY_METRICS, MODES
from recsys.evaluation.splits import Split
from recsys.exceptions import InputDataError

__all__ = ["TuneResult", "tune"]


@dataclass(frozen=True)
class TuneResult:
    """Outcome of `tune`.

    Attributes
    ----------
    table
        One row per trial: ``trial``, one column per parameter, ``value`` (the
        metric on the validation split), ``ci_low``, ``ci_high``, ``fit_seconds``;
        sorted best first.
    best_params
        Parameters of the best trial (ties: the earlier trial).
    best_value
        Its validation metric.
    metric, k, mode
        What was maximised.
    validation
        The validation split the trials were scored on.
    """

    table: pl.DataFrame
    best_params: dict[str, Any]
    best_value: float
    metric: str
    k: int
    mode: str
    validation: Split


def _is_distribution(value: Any) -> bool:
    return callable(getattr(value, "rvs", None))


def _trials(space: Mapping[str, Any], n_trials: int | None, seed: int) -> list[dict[str, Any]]:
    if not isinstance(space, Mapping) or not space:
        raise InputDataError("space must be a non-empty dict: parameter -> list of values")
    names = list(space)
    distributions = [n for n in names if _is_distribution(space[n])]
    for name in names:
        if name not in distributions:
            values = space[name]
            if (
                isinstance(values, (str, bytes))
                or not hasattr(values, "__len__")
                or not len(values)
            ):
                raise InputDataError(
                    f"space[{name!r}] must be a non-empty list of values or a scipy.stats "
                    f"distribution, got {values!r}"
                )
    rng = np.random.default_rng(seed)
    if distributions:
        if n_trials is None:
            raise InputDataError(
                f"space has distributions ({distributions}): random search needs n_trials"
            )
        trials = []
        for _ in range(n_trials):
            trial = {}
            for name in names:
                values = space[name]
                if name in distributions:
                    drawn = values.rvs(random_state=rng)
                    trial[name] = drawn.item() if hasattr(drawn, "item") else drawn
                else:
                    trial[name] = values[int(rng.integers(len(values)))]
            trials.append(trial)
        return trials
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]
    if n_trials is None or n_trials >= len(grid):
        return grid
    picks = np.sort(rng.choice(len(grid), size=n_trials, replace=False))
    return [grid[i] for i in picks]


def _candidate(model: Any, params: Mapping[str, Any]) -> Any:
    """A fresh, unfitted copy of ``model`` with ``params`` set (``clone`` / ``set_params``)."""
    clone = getattr(model, "clone", None)
    copy = clone() if callable(clone) else type(model)(**model.get_params(deep=False))
    copy.set_params(**params)
    return copy


def tune(
    model: Any,
    space: Mapping[str, Any],
    split: Split,
    metric: str = "hit_rate",
    k: int = 10,
    n_trials: int | None = None,
    seed: int = 0,
    *,
    mode: str = "all",
    weight: str = "count",
    exclude_seen: bool | None = None,
    bootstrap: int = 200,
    show_progress: bool = True,
) -> TuneResult:
    """Grid or random search of hyperparameters, scored on ``split.validation()``.

    Each trial is a clone of ``model`` with the trial's parameters set
    (``model.clone().set_params(**params)``), fitted on the validation split's
    training part and scored on ``metric@k`` on its test part; the test window of
    ``split`` is never looked at. Refit the best parameters
    (``model.clone().set_params(**result.best_params)``) on ``split.train`` and
    evaluate on ``split.test`` once, for the final figure.

    Parameters
    ----------
    model
        An unfitted model with scikit-learn's ``get_params`` / ``set_params``
        (every recsys model); it is cloned, never fitted itself.
    space
        Parameter -> list of values (grid), or -> scipy.stats distribution
        (random search; needs ``n_trials``). Keys are ``set_params`` names, so
        nested and named parts are reached too: ``{"als__factors": [64, 128]}``
        for ``rs.Blend([("als", rs.ALS()), ...])``.
    split
        The split to tune for; its `validation` is used.
    metric, k, mode
        What to maximise: one of ``hit_rate, precision, recall, ndcg, map, mrr``
        at ``k``, over ``"all"`` or ``"new"`` items.
    n_trials
        None = the full grid; otherwise that many distinct grid points (or
        random draws), chosen with ``seed``.
    seed
        Seed of the trial choice and of the bootstrap.
    weight
        Interaction weight of the training matrix.
    exclude_seen
        Passed to ``recommend``. ``None`` (the default) lets the model use its own
        default, as `evaluate` does (buy-again models such
        as ``Repurchase`` recommend bought items).
    bootstrap
        Resamples for the CI of each trial's value (0 = none).
    show_progress
        tqdm progress bar over trials.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> import recsys as rs
    >>> class TopN:  # recommends the n most bought items
    ...     def __init__(self, n=1): self.n = n
    ...     def get_params(self, deep=True): return {"n": self.n}
    ...     def set_params(self, **params): self.__dict__.update(params); return self
    ...     def fit(self, inter):
    ...         self.items = inter.items.to_ids(inter.matrix.sum(0).A1.argsort()[::-1][: self.n])
    ...         return self
    ...     def recommend(self, users=None, k=10, *, exclude_seen=True, on_unknown="raise"):
    ...         top = list(self.items)[:k]
    ...         return pl.DataFrame({"user_id": [u for u in users for _ in top],
    ...             "item_id": top * len(users), "score": [1.0] * (len(top) * len(users)),
    ...             "rank": list(range(1, len(top) + 1)) * len(users)})
    >>> days = [1, 1, 2, 4, 4, 5, 7, 7, 8]
    >>> p = pl.DataFrame({"user_id": [1, 2, 1, 1, 2, 2, 1, 2, 2],
    ...                   "item_id": [5, 5, 6, 5, 6, 6, 6, 5, 6],
    ...                   "timestamp": [datetime(2020, 1, d) for d in days]})
    >>> split = rs.evaluation.temporal_split(p, "2020-01-07", horizon_days=3)
    >>> result = rs.evaluation.tune(TopN(), {"n": [1, 2]}, split, k=2, bootstrap=0,
    ...                             show_progress=False)
    >>> result.best_params
    {'n': 2}
    """
    if not isinstance(split, Split):
        raise InputDataError(f"split must be a recsys Split, got {type(split).__name__}")
    if isinstance(model, type) or not callable(getattr(model, "set_params", None)):
        raise InputDataError(
            "tune takes an unfitted model with get_params / set_params (e.g. rs.ALS()), "
            f"got {model!r}"
        )
    check_in("metric", metric, ACCURACY_METRICS)
    check_in("mode", mode, MODES)
    k = check_positive_int("k", k)
    if n_trials is not None:
        n_trials = check_positive_int("n_trials", n_trials)
    trials = _trials(space, n_trials, seed)
    candidates = [_candidate(model, params) for params in trials]  # bad names fail here
    validation = split.validation()
    interactions = Interactions.from_purchases(
        validation.train,
        weight=weight,  # type: ignore[arg-type]
        as_of=validation.as_of,
    )
    rows = []
    for number, params in enumerate(tqdm(trials, desc="tune", disable=not show_progress)):
        start = time.perf_counter()
        fitted = candidates[number].fit(interactions)
        fit_seconds = time.perf_counter() - start
        results = evaluate(
            {"trial": fitted},
            validation,
            k=[k],
            metrics=[metric],
            exclude_seen=exclude_seen,
            bootstrap=bootstrap,
            seed=seed,
            show_progress=False,
            modes=[mode],
        )
        candidates[number] = None  # keep one fitted trial in memory at a time
        row = results.table.filter(pl.col("segment") == "all").row(0, named=True)
        rows.append(
            {
                "trial": number,
                **params,
                "value": row["value"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "fit_seconds": fit_seconds,
            }
        )
    result = pl.DataFrame(rows).sort(["value", "trial"], descending=[True, False], nulls_last=True)
    best = result.row(0, named=True)
    return TuneResult(
        table=result,
        best_params={name: best[name] for name in space},
        best_value=float(best["value"]) if best["value"] is not None else float("nan"),
        metric=metric,
        k=k,
        mode=mode,
        validation=validation,
    )
