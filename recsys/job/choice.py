"""Which recommender to use, and whether the evidence separates it from the others.

Every model whose paired difference in hit rate with the best one has an interval
containing 0 is *tied* with it, and among tied models the simplest is chosen, by
`SIMPLICITY_ORDER`. The job runs this on a validation split carved from the
training data (never the test split), and `regime_default` names the model used
when that split gives no evidence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import cast

import polars as pl

from recsys.evaluation import EvaluationResults, compare
from recsys.models import Recommender, registry

__all__ = [
    "BUY_AGAIN_MODELS",
    "SIMPLICITY_ORDER",
    "ModelChoice",
    "choose_model",
    "is_buy_again",
    "regime_default",
]

#: Models from simplest to most complex (registry names): no training, then one
#: similarity, factorisation or learned buy-again ranking, then blends of several
#: models. Among tied models the first wins: it is cheaper to run, easier to explain,
#: and has fewer ways to break. A spec ranks by its registry name (`registry.base_name`),
#: then the plain name before its settings; models not listed come last, in name order.
SIMPLICITY_ORDER: tuple[str, ...] = (
    "popular",
    "repurchase",
    "itemknn",
    "als",
    "bpr",
    "ease",
    "buyagain",
    "repeat_explore",
    "blend",
)

#: Models that put products the customer bought before first: the registered
#: recommenders that recommend bought items by default (``default_exclude_seen``).
#: A spec is one of them when its registry name is (`is_buy_again`).
BUY_AGAIN_MODELS: tuple[str, ...] = tuple(
    name
    for name in registry.names()
    if not cast("type[Recommender]", registry.get(name)).default_exclude_seen
)


@dataclass(frozen=True)
class ModelChoice:
    """The recommender to use and the evidence behind it.

    ``best`` has the highest hit rate; ``tied`` lists the models (``best`` first)
    whose paired difference with ``best`` has an interval containing 0;
    ``chosen`` is the simplest of ``tied``. ``comparisons`` holds one row per
    other model: ``model, difference, ci_low, ci_high`` (``best`` minus model).
    """

    best: str
    chosen: str
    tied: tuple[str, ...]
    runner_up: str | None
    comparisons: pl.DataFrame
    metric: str
    k: int

    @property
    def separated(self) -> bool:
        """True when no other model is tied with the best."""
        return len(self.tied) == 1

    def lead_over(self, model: str) -> tuple[float, float, float] | None:
        """``best`` minus ``model`` on the split this choice was made on: ``(difference,
        ci_low, ci_high)`` of their paired comparison; None when ``model`` is ``best`` or
        was not compared.

        Examples
        --------
        >>> import polars as pl
        >>> table = pl.DataFrame({"model": ["als", "popular"], "mode": ["all"] * 2,
        ...     "metric": ["hit_rate"] * 2, "k": [10, 10], "segment": ["all"] * 2,
        ...     "value": [0.51, 0.50], "ci_low": [0.46, 0.45], "ci_high": [0.56, 0.55],
        ...     "n_users": [400, 400]})
        >>> choice = choose_model(table, k=10)
        >>> choice.lead_over("als") is None, round(choice.lead_over("popular")[0], 3)
        (True, 0.01)
        """
        rows = self.comparisons.filter(pl.col("model") == model)
        if model == self.best or rows.height == 0:
            return None
        row = rows.row(0, named=True)
        return float(row["difference"]), float(row["ci_low"]), float(row["ci_high"])


def is_buy_again(spec: str) -> bool:
    """Whether the model a spec names is one of `BUY_AGAIN_MODELS`.

    Examples
    --------
    >>> is_buy_again("buyagain(diversity=0.3)"), is_buy_again("als")
    (True, False)
    """
    return registry.base_name(spec) in BUY_AGAIN_MODELS


def _simplicity(spec: str) -> tuple[int, str]:
    base = registry.base_name(spec)
    rank = SIMPLICITY_ORDER.index(base) if base in SIMPLICITY_ORDER else len(SIMPLICITY_ORDER)
    return rank, spec


def choose_model(
    results: EvaluationResults | pl.DataFrame, k: int, metric: str = "hit_rate"
) -> ModelChoice:
    """Pick the recommender: the best by ``metric@k``, or the simplest of those tied with it.

    Examples
    --------
    >>> import polars as pl
    >>> table = pl.DataFrame({"model": ["als", "popular"], "mode": ["all"] * 2,
    ...     "metric": ["hit_rate"] * 2, "k": [10, 10], "segment": ["all"] * 2,
    ...     "value": [0.51, 0.50], "ci_low": [0.46, 0.45], "ci_high": [0.56, 0.55],
    ...     "n_users": [400, 400]})
    >>> choice = choose_model(table, k=10)
    >>> choice.best, choice.chosen, choice.tied
    ('als', 'popular', ('als', 'popular'))
    """
    if isinstance(results, EvaluationResults):
        results = _overall_column(results, metric, k)
    table = results.table if isinstance(results, EvaluationResults) else results
    overall = table.filter(
        (pl.col("metric") == metric)
        & (pl.col("k") == k)
        & (pl.col("segment") == "all")
        & (pl.col("mode") == "all")
    ).sort("value", "model", descending=[True, False])
    ranked = overall["model"].to_list()
    best = str(ranked[0])
    rows = []
    for other in ranked[1:]:
        diff = compare(results, best, other).filter(
            (pl.col("metric") == metric)
            & (pl.col("k") == k)
            & (pl.col("segment") == "all")
            & (pl.col("mode") == "all")
        )
        rows.append(
            {
                "model": other,
                "difference": float(diff["difference"][0]),
                "ci_low": float(diff["ci_low"][0]),
                "ci_high": float(diff["ci_high"][0]),
            }
        )
    comparisons = pl.DataFrame(
        rows,
        schema={
            "model": pl.String,
            "difference": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )
    tied = (best, *(r["model"] for r in rows if r["ci_low"] <= 0.0 <= r["ci_high"]))
    chosen = min(tied, key=_simplicity)
    return ModelChoice(
        best=best,
        chosen=chosen,
        tied=tied,
        runner_up=str(ranked[1]) if len(ranked) > 1 else None,
        comparisons=comparisons,
        metric=metric,
        k=k,
    )


def _overall_column(results: EvaluationResults, metric: str, k: int) -> EvaluationResults:
    """``results`` cut to ``metric@k`` over all items and all customers: the only
    column the choice compares (`compare` then bootstraps nothing else)."""
    keep = (
        results.columns.with_row_index("_col")
        .filter((pl.col("metric") == metric) & (pl.col("k") == k) & (pl.col("mode") == "all"))
        .get_column("_col")
        .to_numpy()
    )
    return dataclasses.replace(
        results,
        table=results.table.filter(
            (pl.col("metric") == metric)
            & (pl.col("k") == k)
            & (pl.col("mode") == "all")
            & (pl.col("segment") == "all")
        ),
        values=results.values[:, keep],
        columns=results.columns[keep],
        segments=None,
    )


def regime_default(rare_repeat: bool, models: tuple[str, ...]) -> str:
    """The model used when the data give no evidence: the simplest discovery model where
    buying the same product again is rare, else the simplest buy-again model (or the
    simplest model of ``models`` when it has none of that kind).

    Examples
    --------
    >>> regime_default(True, ("repurchase", "als", "popular"))
    'popular'
    >>> regime_default(False, ("repurchase", "als", "popular"))
    'repurchase'
    """
    ordered = sorted(models, key=_simplicity)
    kind = [m for m in ordered if is_buy_again(m) != rare_repeat]
    return (kind or ordered)[0]
