"""``evaluate``: recommend for the test users of a split, score, bootstrap, tabulate.

Two steps: `per_user_metrics` asks each model for its lists and scores
every test user (a `PerUserMetrics`); `summarize` turns per-user
values into a tidy table with one row per model, mode, metric, k and segment
(``"all"`` for the overall row). `evaluate` is both. Confidence intervals
are percentile bootstrap intervals over users; all models, metrics and modes
share the same resamples of the same users, so `compare` can give
*paired* differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from recsys._validation import check_positive_int, check_probability
from recsys.engine import Engine, Local
from recsys.evaluation.metrics import DEFAULT_MODES
from recsys.evaluation.per_user import per_user_metrics
from recsys.evaluation.protocols import FullRanking, SampledNegatives
from recsys.evaluation.results import EvaluationResults
from recsys.evaluation.splits import Split
from recsys.evaluation.summary import summarize

__all__ = ["evaluate"]


def evaluate(
    models: Any,
    split: Split,
    k: int | Sequence[int] = (5, 10, 20),
    metrics: Iterable[str] | None = None,
    exclude_seen: bool | Mapping[str, bool | None] | None = None,
    by: Any = None,
    bootstrap: int = 1000,
    seed: int = 0,
    show_progress: bool = True,
    *,
    segments: Any = None,
    modes: Sequence[str] = DEFAULT_MODES,
    protocol: FullRanking | SampledNegatives | None = None,
    confidence: float = 0.95,
    on_unknown: str = "skip",
    engine: Engine = Local(),  # noqa: B008 - a frozen dataclass
) -> EvaluationResults:
    """Evaluate fitted recommenders on the test users of a split, with bootstrap CIs.

    ``evaluate(...)`` is ``summarize(per_user_metrics(...), ...)``: the first step
    asks each model for its lists and scores every test user, the second averages
    them, with intervals, overall and per segment. Fit the models first (for a
    temporal split, on ``Interactions.from_purchases(split.train)``).

    Parameters
    ----------
    models
        A fitted model, a list of them (named by class) or a dict name -> model.
        A model needs ``recommend(users, k, *, exclude_seen, on_unknown)``
        returning ``user_id, item_id, score, rank`` (and ``candidates=`` for the
        sampled protocol).
    split
        A `Split`; its test users are the population.
    k
        Cut-off(s).
    metrics
        Subset of ``hit_rate, precision, recall, ndcg, map, mrr, novelty, coverage,
        repeat_share`` (default: all; the sampled protocol supports ``hit_rate, ndcg,
        mrr``). ``repeat_share`` (the share of list slots holding an item the user
        bought before) depends on the list only and is reported in mode ``"all"``.
    exclude_seen
        Passed to ``recommend``: leave out items the user bought in train.
        ``None`` (the default) lets each model use its own default (recsys buy-again models,
        ``Repurchase`` and ``RepeatExplore``, recommend bought items; the others
        do not); a dict gives a value per model name.
    by
        The segment column, in ``segments``: one row per segment (also segments
        with no test user: ``n_users`` 0 and null values) plus the overall row
        ``"all"``. Test users without a segment form the segment ``"(missing)"``
        (warned).
    bootstrap
        Bootstrap resamples of the users for the percentile CI (0 = no CI).
    seed
        Seed of the bootstrap (and nothing else).
    show_progress
        Show a tqdm progress bar over models.
    segments
        Frame with ``user_id`` and the ``by`` column (e.g. the profiles from
        ``rs.build_profiles`` as of the cutoff); with one segment column, ``by``
        may be left out.
    modes
        ``"all"`` items, ``"new"`` items only (test items the user had not bought:
        the Reality Check's "explore" part) and/or ``"repeat"`` items only (test
        items bought before); default ``("all", "new")``. With ``"repeat"`` and
        ``"new"`` the table holds the repeat/explore decomposition of Li et al.
        (2023), and ``hit_rate`` is their PHR (see `recsys.evaluation.metrics`).
    protocol
        ``FullRanking()`` (default) or ``SampledNegatives(n, seed)`` (biased; for
        comparison with papers only).
    confidence
        Coverage of the bootstrap interval.
    on_unknown
        Passed to ``recommend`` for test users the model does not know. With
        ``"skip"`` they get no list and count as misses (a DataWarning counts them).
    engine
        Where the per-user step runs: `recsys.engine.Local` (default) or
        `recsys.engine.Ray` (the test users cut into pieces, each scored on a
        worker; the table is identical). With Ray the models must be recsys
        models (they travel as their saved arrays) and ``protocol`` the full ranking.

    Returns
    -------
    EvaluationResults
        ``.table``: ``model, mode, metric, k, segment, value, ci_low, ci_high, n_users``.
        ``value`` is the mean over the users with a defined value (``n_users``);
        ``coverage`` is a property of the whole set of lists and has no CI.
        The per-user values behind it are kept for paired `compare`.

    Examples
    --------
    >>> import polars as pl
    >>> import recsys as rs
    >>> class Fixed:  # any object with recommend() works
    ...     def recommend(self, users=None, k=10, *, exclude_seen=True, on_unknown="raise"):
    ...         return pl.DataFrame({"user_id": [1, 2], "item_id": [5, 5], "score": [1.0, 1.0],
    ...                              "rank": [1, 1]})
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 1, 2], "item_id": [5, 6, 5, 7],
    ...                   "timestamp": [datetime(2020, 1, d) for d in (1, 1, 5, 5)]})
    >>> split = rs.evaluation.temporal_split(p, "2020-01-03")
    >>> results = rs.evaluate({"fixed": Fixed()}, split, k=1, metrics=["hit_rate"],
    ...                       bootstrap=0, show_progress=False)
    >>> results.table.filter(mode="all")["value"].item()
    0.5
    """
    check_positive_int("bootstrap", bootstrap, allow_zero=True)
    check_probability("confidence", confidence)
    per_user = per_user_metrics(
        models,
        split,
        k,
        metrics,
        exclude_seen,
        modes=modes,
        protocol=protocol,
        on_unknown=on_unknown,
        show_progress=show_progress,
        engine=engine,
    )
    return summarize(
        per_user, by, segments=segments, bootstrap=bootstrap, seed=seed, confidence=confidence
    )
