"""What to do, computed from the data: the decisions at the top of the report.

Three statements, each with how sure it is:

* which customers to win back now (``rs.retention_actions`` over profiles with CLV),
  how many and how much value is at stake;
* which customers are due to buy an item again (``rs.due_items``);
* which recommender to use, and whether the evidence separates it from the others:
  every model whose paired difference in hit rate with the best one has an interval
  containing 0 is *tied* with it, and among tied models the simplest is chosen, by
  `SIMPLICITY_ORDER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from recsys.data import columns as C
from recsys.evaluation import EvaluationResults, compare

__all__ = [
    "SIMPLICITY_ORDER",
    "ModelChoice",
    "action_summary",
    "calibration_verdict",
    "choose_model",
    "due_summary",
]

#: Models from simplest to most complex: no training, then one similarity or
#: factorisation, then blends of several models. Among tied models the first wins:
#: it is cheaper to run, easier to explain, and has fewer ways to break.
#: Models not listed come last, in name order.
SIMPLICITY_ORDER: tuple[str, ...] = (
    "popular",
    "repurchase",
    "itemknn",
    "als",
    "bpr",
    "repeat_explore",
    "blend",
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


def _simplicity(name: str) -> tuple[int, str]:
    try:
        return SIMPLICITY_ORDER.index(name), name
    except ValueError:
        return len(SIMPLICITY_ORDER), name


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


def calibration_verdict(calibration: pl.DataFrame, tolerance: float = 0.05) -> dict[str, Any]:
    """How far predicted churn is from observed churn, in plain words.

    Returns ``{"calibrated": bool, "worst_decile": int, "predicted": float,
    "observed": float, "text": str}``; calibrated when every decile is within
    ``tolerance`` (absolute).

    Examples
    --------
    >>> import polars as pl
    >>> cal = pl.DataFrame({"decile": [1, 2], "customers": [50, 50],
    ...     "predicted_churn": [0.2, 0.84], "observed_churn": [0.21, 0.67]})
    >>> calibration_verdict(cal)["calibrated"]
    False
    """
    if calibration.height == 0:
        return {
            "calibrated": False,
            "worst_decile": 0,
            "predicted": float("nan"),
            "observed": float("nan"),
            "text": "Too few customers to check churn risk against what happened: use it "
            "only to rank customers.",
        }
    gap = calibration.with_columns(gap=pl.col("predicted_churn") - pl.col("observed_churn")).sort(
        pl.col("gap").abs(), descending=True
    )
    worst = gap.row(0, named=True)
    calibrated = abs(worst["gap"]) <= tolerance
    top = calibration.sort("decile").row(-1, named=True)
    direction = "overstates" if top["predicted_churn"] > top["observed_churn"] else "understates"
    if calibrated:
        text = (
            f"Churn risk is well calibrated: in every decile predicted and observed churn are "
            f"within {tolerance * 100:.0f} percentage points, so it can be read as a probability."
        )
    else:
        text = (
            f"Churn risk ranks customers but is not a calibrated probability: in the "
            f"riskiest tenth it predicts {top['predicted_churn']:.0%} churn where "
            f"{top['observed_churn']:.0%} did not come back ({direction} it), and the largest "
            f"gap is {abs(worst['gap']) * 100:.0f} percentage points (decile {worst['decile']}). "
            "Use it to "
            "rank who to contact first, not as the share who will leave."
        )
    return {
        "calibrated": calibrated,
        "worst_decile": int(worst["decile"]),
        "predicted": float(top["predicted_churn"]),
        "observed": float(top["observed_churn"]),
        "text": text,
    }


def action_summary(actions: pl.DataFrame) -> pl.DataFrame:
    """Customers and value at stake per action (``none`` last)."""
    order = {"win_back": 0, "replenish": 1, "cross_sell": 2, "onboard": 3, "none": 4}
    return (
        actions.group_by("action")
        .agg(customers=pl.len(), value_at_stake=pl.col("value_at_stake").sum())
        .with_columns(_o=pl.col("action").replace_strict(order, default=9))
        .sort("_o")
        .drop("_o")
    )


def due_summary(due: pl.DataFrame, min_probability: float = 0.2) -> dict[str, Any]:
    """Customers with at least one item due (``p_within_horizon >= min_probability``)."""
    likely = due.filter(pl.col("p_within_horizon") >= min_probability)
    return {
        "customers": likely[C.USER].n_unique(),
        "items": likely.height,
        "expected_purchases": float(likely["p_within_horizon"].sum()),
        "min_probability": min_probability,
    }
