"""The job's targeting step: an experiment file -> an uplift model -> the plan and its value.

Where `JobConfig` has an `Experiment`, `targeting` fits `recsys.uplift.UpliftModel` on the
experiment joined to customer profiles as of the experiment's ``start`` (purchases strictly
before it; when ``start`` is not given, the job's ``as_of`` is used and the claim says so:
purchases made during the experiment are then in the features). The plan's value against
treat-all, treat-none, random and the profile rules (CLV, churn risk, spend to date) is
measured on the experiment's customers with their out-of-fold uplift
(`recsys.uplift.plan_value`).

The plan for the next send covers every customer as of the job's ``as_of``:

* where the Qini interval is above 0 (`recsys.job.claims.targeting_claim`), by the model's
  uplift of each customer (`UpliftModel.predict` on the profiles as of ``as_of``);
* otherwise by the fallback `recsys.job.claims.TARGETING_FALLBACK`: every customer gets the
  experiment's average effect (difference of the arms' mean outcomes), so the plan treats
  everyone if that pays the contact cost, and nobody otherwise.

Both go through `recsys.uplift.allocate` with the job's ``contact_cost``, the experiment's
``value``/``margin``/``budget``/``count`` and a random ``holdout``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from recsys._validation import InstanceOf, Interval, Options, validate_params
from recsys.data import columns as C
from recsys.data.timeutil import DateLike, to_datetime
from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles import ProfileConfig, build_profiles
from recsys.uplift import PlanValue, UpliftModel, allocate, covariate_balance, plan_value
from recsys.uplift.balance import imbalance_message

__all__ = ["Experiment", "Targeting", "targeting"]

#: Profile columns the plan is compared with (the highest first), where the profiles have them.
RANK_COLUMNS = ("clv", "churn_risk", "monetary")


@dataclass(frozen=True)
class Experiment:
    """A randomized experiment to learn whom to send the offer to (``JobConfig(experiment=)``).

    Parameters
    ----------
    data
        The experiment: a path (CSV/Parquet) or a frame, one row per customer, with the
        customer column ``unit``, the arm column ``arm`` and the ``outcome``. Its other
        columns are customer features, added to the profiles (customers outside the
        experiment have them missing when the plan scores them).
    arm, control, outcome
        The arm column, the control's label and the outcome column (0/1 or a number).
    treated
        The treated arm compared with the control (needed only when there are several).
    start
        The experiment's start: the features are the profiles as of it. None: the job's
        ``as_of`` (stated in the claim).
    unit
        The experiment's customer column (its ids are those of the purchases).
    method
        The meta-learner of `recsys.uplift.UpliftModel`.
    value, margin, budget, count, holdout
        As in `recsys.uplift.allocate` (``value``: what one outcome is worth, a number).
    bootstrap
        Resamples of the plan's value and of the Qini interval.
    learner_params
        Hyperparameters of the model's tabular learner (``UpliftModel(learner_params=)``).

    Examples
    --------
    >>> Experiment("exp.csv", arm="arm", control="control", outcome="bought").method
    'x'
    >>> Experiment("exp.csv", arm="arm", control="c", outcome="y", holdout=1.0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: Experiment(holdout=...) must be a number in [0, 1), got 1.0
    """

    data: Any
    arm: str
    control: Any
    outcome: str
    treated: Any = None
    start: Any = None
    unit: str = C.USER
    method: Literal["t", "x", "dr"] = "x"
    value: float = 1.0
    margin: float = 1.0
    budget: float | None = None
    count: int | None = None
    holdout: float = 0.1
    bootstrap: int = 200
    learner_params: Mapping[str, Any] | None = None

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "arm": [InstanceOf(str, "a column name")],
        "outcome": [InstanceOf(str, "a column name")],
        "start": [DateLike(), None],
        "unit": [InstanceOf(str, "a column name")],
        "method": [Options("t", "x", "dr")],
        "value": [Interval(float, None, None)],
        "margin": [Interval(float, None, None)],
        "budget": [Interval(float, 0, None), None],
        "count": [Interval(int, 0, None), None],
        "holdout": [Interval(float, 0, 1, closed="left")],
        "bootstrap": [Interval(int, 10, None)],
        "learner_params": [InstanceOf(Mapping, "a dict of learner hyperparameters"), None],
    }

    def __post_init__(self) -> None:
        validate_params("Experiment", vars(self), self._parameter_constraints)


@dataclass
class Targeting:
    """What the targeting step computed (``JobResult.targeting``).

    ``plan`` is `recsys.uplift.allocate`'s frame for every customer as of the job's
    ``as_of`` (by the model, or by the fallback when the model is not licensed);
    ``value`` the plan's value on the experiment (out-of-fold); ``features_as_of`` the date
    of the profiles the model was fitted on and ``features_basis`` why that date;
    ``average_uplift`` the experiment's average effect (treated minus control mean).
    """

    experiment: Experiment
    plan: pl.DataFrame
    value: PlanValue
    features_as_of: datetime
    features_basis: str
    arm: Any
    customers: int
    treated_share: float
    average_uplift: float
    by_model: bool


def _read(experiment: Experiment, user_dtype: pl.DataType) -> pl.DataFrame:
    from recsys.data.sources import to_frame

    frame = to_frame(experiment.data)
    missing = [
        c for c in (experiment.unit, experiment.arm, experiment.outcome) if c not in frame.columns
    ]
    if missing:
        raise InputDataError(
            f"the experiment has no columns {missing}; its columns are {frame.columns}"
        )
    if isinstance(experiment.control, str) and frame.schema[experiment.arm] != pl.String:
        frame = frame.with_columns(pl.col(experiment.arm).cast(pl.String))  # labels as text
    ids = frame[experiment.unit]
    if ids.dtype != user_dtype:
        try:
            ids = ids.cast(user_dtype)
        except pl.exceptions.PolarsError as err:
            raise InputDataError(
                f"the experiment's customer column {experiment.unit!r} ({ids.dtype}) does not "
                f"hold the purchases' customer ids ({user_dtype})"
            ) from err
    frame = frame.with_columns(ids.alias(C.USER))
    if experiment.unit != C.USER:
        frame = frame.drop(experiment.unit)
    return frame


def _balanced(frame: pl.DataFrame, features: pl.DataFrame, experiment: Experiment) -> pl.DataFrame:
    """``features`` without the columns that differ between the arms
    (`recsys.uplift.covariate_balance`: measured after the assignment, like an outcome, or
    profiles that hold purchases made during the experiment), with a `DataWarning` naming
    them: the job chose these columns for the user, so it leaves the leaking ones out
    rather than refuse the whole report. The check is repeated on the columns kept until
    none is flagged, so `recsys.uplift.UpliftModel`'s own check of them (a smaller
    Bonferroni family) flags nothing the job kept."""
    arms = [v for v in frame[experiment.arm].unique().sort().to_list() if v != experiment.control]
    arm = experiment.treated if experiment.treated is not None or len(arms) != 1 else arms[0]
    left_out: list[pl.DataFrame] = []
    tested: pl.DataFrame | None = None
    while True:
        table = covariate_balance(
            frame.select(C.USER, experiment.arm),
            features,
            treatment=experiment.arm,
            control=experiment.control,
            arm=experiment.treated,
        )
        tested = table if tested is None else tested
        flagged = table.filter("imbalanced")
        if flagged.is_empty():
            break
        left_out.append(flagged)
        features = features.drop(flagged["feature"].to_list())
    if left_out:
        assert tested is not None
        dropped = pl.concat(left_out)
        warnings.warn(
            imbalance_message(
                tested.update(dropped, on="feature"),
                arm,
                experiment.control,
                "the experiment's and the profiles'",
                f"The uplift model is fitted without them ({dropped.height} of "
                f"{tested.height} columns left out); give the "
                "experiment's start and only columns measured before the assignment to keep "
                "every column.",
            ),
            DataWarning,
            stacklevel=3,
        )
    return features


def targeting(
    bought: pl.DataFrame,
    profiles: pl.DataFrame,
    experiment: Experiment,
    *,
    as_of: datetime,
    contact_cost: float,
    churn: bool,
    seed: int,
) -> tuple[Targeting, Any]:
    """Fit, value and plan (module documentation); returns the result and its claim.

    ``bought``: purchases before ``as_of``; ``profiles``: the job's profiles as of it.
    """
    from recsys.job.claims import targeting_claim

    frame = _read(experiment, bought.schema[C.USER])
    extras = frame.drop(experiment.arm, experiment.outcome)
    clash = sorted(set(extras.columns) & set(profiles.columns) - {C.USER})
    if clash:
        raise InputDataError(
            f"the experiment's columns {clash} are also profile columns; rename them"
        )
    if experiment.start is not None:
        start = to_datetime(experiment.start, "experiment start")
        if start > as_of:
            raise InputDataError(
                f"the experiment's start {start:%Y-%m-%d} is after as_of {as_of:%Y-%m-%d}"
            )
        basis = "the experiment's start"
        at_start = build_profiles(
            bought.filter(pl.col(C.TIMESTAMP) < start),
            as_of=start,
            config=ProfileConfig(churn=churn),
        )
    else:
        start = as_of
        basis = (
            "the job's as_of: the experiment's start was not given, so purchases made during "
            "the experiment are in the features"
        )
        at_start = profiles
    absent = extras.join(at_start, on=C.USER, how="anti").height
    if absent:
        warnings.warn(
            f"{absent:,} of {extras.height:,} experiment customers have no purchase before "
            f"{start:%Y-%m-%d}: their profile features are missing",
            DataWarning,
            stacklevel=3,
        )
    features = _balanced(frame, extras.join(at_start, on=C.USER, how="left"), experiment)
    model = UpliftModel(
        experiment.method, learner_params=experiment.learner_params, random_state=seed
    )
    oof = model.fit_predict(
        frame.select(C.USER, experiment.arm, experiment.outcome),
        features,
        treatment=experiment.arm,
        outcome=experiment.outcome,
        control=experiment.control,
        arm=experiment.treated,
    )
    compared = frame.filter(pl.col(experiment.arm).is_in([model.arm_, model.control_]))
    y = compared[experiment.outcome].cast(pl.Float64)
    is_treated = compared[experiment.arm] == model.arm_
    average = float(
        np.mean(y.filter(is_treated).to_numpy()) - np.mean(y.filter(~is_treated).to_numpy())
    )
    money = {
        "value": experiment.value,
        "cost": contact_cost,
        "margin": experiment.margin,
    }
    limits = {"budget": experiment.budget, "count": experiment.count}
    oof_plan = allocate(oof, **money, **limits, holdout=0.0, seed=seed)  # type: ignore[arg-type]
    rank_by = [c for c in RANK_COLUMNS if c in at_start.columns]
    ranks = at_start.select(C.USER, *(pl.col(c).cast(pl.Float64).fill_nan(None) for c in rank_by))
    valued = compared.join(ranks, on=C.USER, how="left", maintain_order="left").with_columns(
        # customers without a profile (or a value) at the start rank last
        pl.col(c).fill_null(pl.col(c).min() - 1.0).fill_null(0.0)
        for c in rank_by
    )
    result = plan_value(
        valued,
        oof_plan,
        treatment=experiment.arm,
        outcome=experiment.outcome,
        control=model.control_,
        arm=model.arm_,
        rank_by=rank_by,
        bootstrap=experiment.bootstrap,
        seed=seed,
        **money,  # type: ignore[arg-type]
    )
    claim = targeting_claim(
        result,
        customers=int(compared.height),
        arm=str(model.arm_),
        control=str(model.control_),
        method=experiment.method,
        average_uplift=average,
        features_as_of=start,
        features_basis=basis,
    )
    if claim.licensed:
        scores = model.predict(profiles.join(extras, on=C.USER, how="left"))
    else:
        scores = profiles.select(C.USER, pl.lit(average).alias("uplift"))
    plan = allocate(scores, **money, **limits, holdout=experiment.holdout, seed=seed)  # type: ignore[arg-type]
    found = Targeting(
        experiment=experiment,
        plan=plan,
        value=result,
        features_as_of=start,
        features_basis=basis,
        arm=model.arm_,
        customers=int(compared.height),
        treated_share=float(np.mean(is_treated.to_numpy())),
        average_uplift=average,
        by_model=claim.licensed,
    )
    return found, claim
