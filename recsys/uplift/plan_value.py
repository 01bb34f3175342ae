"""The value of a treatment plan, measured on experiment customers the model never saw.

A plan (`allocate`) is a policy: treat or not, per customer. On a randomized experiment
held out from the model's fit, its value — the mean realised margin per customer,
``margin × value × outcome - cost × treated`` — is estimated off-policy, with the
experiment's arms as the logged actions and their shares as the propensities:

* IPS (`recsys.uplift.offpolicy.ips`): the customers whose arm agrees with the plan,
  reweighted by ``1 / share of their arm``.
* DR (`recsys.uplift.offpolicy.doubly_robust`): with the mean margin per (decile of the
  plan's uplift score, arm) as the reward model, cross-fitted.

Both come with a bootstrap percentile interval (customers resampled, the estimator rerun
on each resample; the same resamples for every policy, so the differences with treating
no one are paired). The plan is compared with treating everyone, no one, a random set of
the plan's size, and the plan's size ranked by each ``rank_by`` column (CLV, churn risk).
The Qini curve of the plan's uplift score (`qini_curve`, `qini_auc`) says whether the
model ranks responders at all: when its interval includes 0, the response barely varies
by customer and the rule of `PlanValue.claim` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from recsys._validation import check_positive_int, check_probability
from recsys.data.sources import FrameLike
from recsys.exceptions import InputDataError
from recsys.stats import Estimate, percentile_ci, resample_counts
from recsys.uplift import offpolicy
from recsys.uplift._checks import (
    as_frame,
    check_finite_column,
    require_columns,
    to_float_array,
)
from recsys.uplift.curves import qini_auc, qini_curve

__all__ = ["PlanValue", "plan_value"]


class PlanValue(NamedTuple):
    """What `plan_value` returns.

    Attributes
    ----------
    table
        One row per (policy, estimator): ``policy``, ``estimator`` (``"ips"``/``"dr"``),
        ``n_treated``, ``value`` (mean margin per customer) with ``ci_low``/``ci_high``,
        and ``gain`` (``value`` minus treating no one) with ``gain_ci_low``/``gain_ci_high``.
    qini
        `qini_curve` of the plan's uplift score, with its bootstrap band.
    qini_auc
        `qini_auc` (normalised) with its interval.
    varies
        Whether the Qini interval is above 0: the model ranks responders better than random.
    claim
        The sentence to show with the plan: what the evidence supports, or the fallback.
    """

    table: pl.DataFrame
    qini: pl.DataFrame
    qini_auc: Estimate
    varies: bool
    claim: str


def plan_value(
    experiment: FrameLike,
    plan: FrameLike,
    *,
    treatment: str,
    outcome: str,
    control: Any,
    arm: Any = None,
    value: float | str = 1.0,
    cost: float | str = 0.0,
    margin: float = 1.0,
    rank_by: Sequence[str] = (),
    user_col: str = "user_id",
    bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> PlanValue:
    """Value of a plan against simple rules, with IPS and DR estimates and intervals.

    Parameters
    ----------
    experiment
        Held-out experiment customers (not used to fit the model): ``user_col``,
        ``treatment``, ``outcome``, and the ``rank_by`` / ``value`` / ``cost`` columns.
    plan
        `allocate`'s frame for these customers (``user_col``, ``uplift``, ``planned``).
    treatment, outcome, control, arm
        As in `UpliftModel.fit`; customers of other arms are not used.
    value, cost, margin
        As in `allocate` (numbers or columns of ``experiment``).
    rank_by
        Columns of ``experiment`` to rank by, highest first (e.g. ``"clv"``,
        ``"churn_risk"``): policy ``by_<column>`` treats as many customers as the plan.
    bootstrap
        Resamples of the customers (>= 10).
    confidence, seed
        Interval level and the bootstrap's seed.

    Examples
    --------
    Only the customers with ``x = 1`` respond (+40 points); the plan treats them:

    >>> import numpy as np, polars as pl
    >>> import recsys as rs
    >>> rng = np.random.default_rng(1); n = 2000
    >>> x = rng.integers(0, 2, n); t = rng.integers(0, 2, n)
    >>> y = (rng.random(n) < 0.1 + 0.4 * t * x).astype(int)
    >>> exp = pl.DataFrame({"user_id": np.arange(n), "arm": t, "buy": y, "x": x})
    >>> scores = pl.DataFrame({"user_id": np.arange(n), "uplift": 0.4 * x})
    >>> plan = rs.uplift.allocate(scores, value=10.0, cost=1.0, holdout=0.0)
    >>> result = rs.uplift.plan_value(exp, plan, treatment="arm", outcome="buy", control=0,
    ...                               value=10.0, cost=1.0, bootstrap=50)
    >>> dr = result.table.filter(estimator="dr").sort("value", descending=True)
    >>> dr["policy"].to_list()[0], result.varies
    ('plan', True)
    """
    check_probability("confidence", confidence)
    bootstrap = check_positive_int("bootstrap", bootstrap)
    if bootstrap < 10:
        raise InputDataError(f"bootstrap must be >= 10 for an interval, got {bootstrap}")
    frame, t, reward, decisions, score = _prepare(
        experiment,
        plan,
        treatment,
        outcome,
        control,
        arm,
        value,
        cost,
        margin,
        rank_by,
        user_col,
        seed,
    )
    n = t.size
    share = float(t.mean())
    bins = np.minimum((np.argsort(np.argsort(score, kind="stable")) * 10) // n, 9)
    logs = pl.DataFrame(
        {
            "item_id": t.astype(np.int64),
            "position": bins.astype(np.int64),
            "click": reward,
            "propensity_score": np.where(t == 1, share, 1 - share),
        }
    )
    estimators = {
        "ips": lambda lg, p: offpolicy.ips(lg, p, position=None).value,
        "dr": lambda lg, p: offpolicy.doubly_robust(lg, p).value,
    }
    counts = resample_counts(n, bootstrap, seed)
    rows = []
    for name, estimate in estimators.items():
        points = {}
        draws = {}
        for policy, d in decisions.items():
            points[policy] = estimate(logs, _one_hot(d))
            draws[policy] = np.array(
                [
                    estimate(logs[idx], _one_hot(d[idx]))
                    for idx in (np.repeat(np.arange(n), c) for c in counts)
                ]
            )
        for policy, d in decisions.items():
            lo, hi = percentile_ci(draws[policy], confidence)
            glo, ghi = percentile_ci(draws[policy] - draws["treat_none"], confidence)
            rows.append(
                {
                    "policy": policy,
                    "estimator": name,
                    "n_treated": int(d.sum()),
                    "value": points[policy],
                    "ci_low": float(np.ravel(lo)[0]),
                    "ci_high": float(np.ravel(hi)[0]),
                    "gain": points[policy] - points["treat_none"],
                    "gain_ci_low": float(np.ravel(glo)[0]),
                    "gain_ci_high": float(np.ravel(ghi)[0]),
                }
            )
    y = frame[outcome].cast(pl.Float64).to_numpy()
    curve = qini_curve(y, t, score, bootstrap=bootstrap, confidence=confidence, seed=seed)
    area = qini_auc(y, t, score, bootstrap=bootstrap, confidence=confidence, seed=seed)
    varies = bool(area.ci_low > 0)
    return PlanValue(pl.DataFrame(rows), curve, area, varies, _claim(area, varies))


def _claim(area: Estimate, varies: bool) -> str:
    """The one rule that turns the Qini interval into the sentence shown with the plan."""
    qini = (
        f"Qini {area.value:.3f} ({area.confidence:.0%} CI {area.ci_low:.3f} to {area.ci_high:.3f})"
    )
    if varies:
        return f"The model ranks responders better than random: {qini}; target by the plan."
    if area.ci_high < 0:
        why = f"The model ranks responders worse than random on this experiment: {qini} is below 0."
    else:
        why = f"The response barely varies by customer on this experiment: {qini} includes 0."
    return (
        f"{why} "
        "Fall back to the average effect: give every customer the experiment's average "
        "uplift in allocate (treat all if it pays its cost; under a budget or a count, the "
        "most valuable customers first)."
    )


def _one_hot(d: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - d, d.astype(np.float64)])


def _prepare(
    experiment: Any,
    plan: Any,
    treatment: str,
    outcome: str,
    control: Any,
    arm: Any,
    value: float | str,
    cost: float | str,
    margin: float,
    rank_by: Sequence[str],
    user_col: str,
    seed: int,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    frame = as_frame(experiment, "experiment")
    require_columns(
        frame,
        "experiment",
        {
            "user_col": user_col,
            "treatment": treatment,
            "outcome": outcome,
            "value": value if isinstance(value, str) else None,
            "cost": cost if isinstance(cost, str) else None,
        },
    )
    for column in rank_by:
        require_columns(frame, "experiment", {"rank_by": column})
    arms = frame[treatment].drop_nulls().unique().sort().to_list()
    others = [a for a in arms if a != control]
    if control not in arms or not others:
        raise InputDataError(
            f"treatment column {treatment!r} needs the control {control!r} and a treated arm; "
            f"its arms are {arms}"
        )
    if arm is None:
        if len(others) > 1:
            raise InputDataError(
                f"name the treated arm with arm=; arms besides the control: {others}"
            )
        arm = others[0]
    frame = frame.filter(pl.col(treatment).is_in([arm, control]))
    check_finite_column(frame, outcome, "outcome")
    schedule = as_frame(plan, "plan")
    require_columns(
        schedule, "plan", {"user_col": user_col, "uplift": "uplift", "planned": "planned"}
    )
    frame = frame.join(
        schedule.select(user_col, "uplift", "planned"),
        on=user_col,
        how="left",
        maintain_order="left",
    )
    absent = frame["planned"].null_count()
    if absent:
        raise InputDataError(
            f"{absent} of {frame.height} experiment customers have no row in plan; "
            "plan the same customers (allocate on their predictions)"
        )
    t = (frame[treatment] == arm).to_numpy().astype(np.int8)
    y = frame[outcome].cast(pl.Float64).to_numpy()
    worth = frame[value].cast(pl.Float64).to_numpy() if isinstance(value, str) else float(value)
    price = frame[cost].cast(pl.Float64).to_numpy() if isinstance(cost, str) else float(cost)
    reward = to_float_array(margin * worth * y - price * t, "margin × value × outcome - cost")
    planned = frame["planned"].to_numpy().astype(bool)
    m = int(planned.sum())
    rng = np.random.default_rng(seed)
    decisions = {
        "plan": planned,
        "treat_all": np.ones(t.size, dtype=bool),
        "treat_none": np.zeros(t.size, dtype=bool),
        "random": np.isin(np.arange(t.size), rng.choice(t.size, size=m, replace=False)),
    }
    for column in rank_by:
        rank = to_float_array(frame[column], f"rank_by column {column!r}")
        top = np.zeros(t.size, dtype=bool)
        top[np.lexsort((np.arange(t.size), -rank))[:m]] = True
        decisions[f"by_{column}"] = top
    score = frame["uplift"].cast(pl.Float64).to_numpy()
    return frame, t, reward, decisions, score
