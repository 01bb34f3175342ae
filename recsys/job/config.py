"""`JobConfig`: every setting of the main job (`recsys.job.run`), in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from recsys._validation import InstanceOf, Interval, Options, SequenceOf, validate_params
from recsys.data.timeutil import DateLike
from recsys.job.targeting import Experiment

__all__ = ["DEFAULT_CONTACT_COST", "DEFAULT_MODELS", "JobConfig"]

#: The recommenders the job compares by default (model specs, `recsys.models.registry`).
#: The diversified buy-again settings were chosen on two validation windows carved from
#: the training data of Online Retail (issue 22, ``benchmarks/bench_buyagain.py``).
DEFAULT_MODELS: tuple[str, ...] = (
    "popular",
    "repurchase",
    "buyagain(diversity=0.3, trend_window_days=30.0)",
    "als",
    "itemknn",
    "repeat_explore",
    "blend",
)

#: Cost of one retention contact (in the currency of the prices) when none is given.
DEFAULT_CONTACT_COST = 1.0


@dataclass(frozen=True)
class JobConfig:
    """Settings of the main job: one ``as_of`` for every decision, one evaluation window.

    Parameters
    ----------
    as_of
        "Now" of every artefact (profiles, items due, actions, recommendations):
        only purchases strictly before it are used. Default: the day after the
        last purchase, at midnight.
    cutoff
        Start of the evaluation's test window (train before it, test the next
        ``horizon_days``). Default: ``horizon_days`` before ``as_of``.
    horizon_days
        Length of the evaluation's test window (and of the churn label), days.
    due_horizon_days
        Window of the items due again, days after ``as_of``.
    clv_horizon_days
        Horizon of the customer value behind the win-back list, days.
    k
        Recommendations per customer (list length).
    models
        The recommenders compared: model specs (``"als"``, ``"buyagain(diversity=0.3)"``,
        `recsys.models.registry.build`), kept in their canonical form (`spec_of`), which
        labels each model everywhere; the one used is chosen on a validation split
        carved from the training data.
    on_unknown
        What a model does with a test customer it never saw (a first-time buyer):
        ``"fallback"`` (the default) serves the training popularity ranking, so every
        customer who bought in the test window is evaluated; ``"skip"`` leaves
        them without a list (they count as misses).
    contact_cost
        Cost of one retention contact, in the currency of the prices: a campaign is
        proposed only where the value at stake per contact exceeds it.
    churn, value
        Use the churn model (``churn_risk``) and the value model (CLV) where their
        evidence holds; ``False`` turns them off (the stated fallback rules are used).
    bootstrap, seed
        Bootstrap resamples of every interval and their seed.
    backtest_bootstrap
        Resamples of the paired intervals of churn risk and CLV against the naive rules
        at the cutoff (`recsys.evaluation.backtest_profiles`), at most ``bootstrap``.
        At 500 each tail of a 95% interval rests on 12 resamples, enough to tell whether
        it lies above 0; their cost grows with resamples x customers evaluated.
    min_evaluated
        Fewest customers an evaluation (or a calibration check) needs before a
        claim is drawn from it.
    sample_users
        Run on this many randomly chosen customers (``seed``); None: everyone.
    evaluation_customers
        Above this many customers, the evaluation (the test and validation splits, the
        models fitted on them, the churn evidence at the cutoff) runs on the purchases
        of this many customers drawn at random (``seed``), and the evaluation card says
        so; the decisions still use every customer. At the default the intervals are
        already narrow (with 10,000 customers evaluated, the 95% interval of a hit rate
        near 30% is about +-1 point) and the evaluation costs what it costs on a shop
        of that size. None: every customer.
    learned_customers
        Above this many customers, the learned churn and value models
        (`recsys.job.learned`) are fitted, at the cutoff and as of ``as_of``, on the
        purchases of this many customers drawn at random (``seed``), and score every
        customer; the cards say so. Their fit reads up to 26 earlier windows of each
        customer: on a 10-million-line export (189,448 customers) the churn model's fit
        took 157 s on every customer, 76 s on 50,000 (load 4.5). None: every customer.
    due_check_customers
        Above this many customers (of those evaluated), the items-due check at the
        evaluation cutoff (`recsys.job.due_check`) runs on the purchases of this many
        customers drawn at random (``seed``); the due card says so. Its paired bootstrap
        resamples every (customer, product) pair: on the 10-million-line export, 50,000
        customers hold 1.6 million pairs and the check took 42 s. None: every customer.
    dataset, currency
        The data's name in the report's title; the prefix of money (``"£"``).
    customer_column
        The input's name of the customer column, for messages about it.
    experiment
        A randomized experiment of an offer (`recsys.job.targeting.Experiment`): the job
        fits an uplift model on it, measures the plan's value and writes the plan of whom
        to send the offer to (``plan.parquet``); the action list follows the plan.

    Examples
    --------
    >>> from recsys.job import JobConfig
    >>> JobConfig(contact_cost=0.5, k=5).k
    5
    >>> JobConfig(k=0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: JobConfig(k=...) must be an integer >= 1, got 0
    """

    as_of: Any = None
    cutoff: Any = None
    horizon_days: int = 90
    due_horizon_days: int = 30
    clv_horizon_days: int = 365
    k: int = 10
    models: tuple[str, ...] = DEFAULT_MODELS
    on_unknown: Literal["fallback", "skip"] = "fallback"
    contact_cost: float = DEFAULT_CONTACT_COST
    churn: bool = True
    value: bool = True
    bootstrap: int = 1000
    backtest_bootstrap: int = 500
    seed: int = 0
    min_evaluated: int = 30
    sample_users: int | None = None
    evaluation_customers: int | None = 50_000
    learned_customers: int | None = 10_000
    due_check_customers: int | None = 10_000
    dataset: str = "your purchases"
    currency: str = ""
    customer_column: str = "user_id"
    experiment: Experiment | None = None

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "as_of": [DateLike(), None],
        "cutoff": [DateLike(), None],
        "horizon_days": [Interval(int, 1, 36_500)],
        "due_horizon_days": [Interval(int, 1, 36_500)],
        "clv_horizon_days": [Interval(int, 1, 36_500)],
        "k": [Interval(int, 1, None)],
        "models": [SequenceOf(InstanceOf(str, "a model name"))],
        "on_unknown": [Options("fallback", "skip")],
        "contact_cost": [Interval(float, 0, None)],
        "churn": [InstanceOf(bool, "True or False")],
        "value": [InstanceOf(bool, "True or False")],
        "bootstrap": [Interval(int, 0, None)],
        "backtest_bootstrap": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
        "min_evaluated": [Interval(int, 1, None)],
        "sample_users": [Interval(int, 1, None), None],
        "evaluation_customers": [Interval(int, 1, None), None],
        "learned_customers": [Interval(int, 1, None), None],
        "due_check_customers": [Interval(int, 1, None), None],
        "dataset": [InstanceOf(str, "a name")],
        "currency": [InstanceOf(str, "a currency symbol or code")],
        "customer_column": [InstanceOf(str, "a column name")],
        "experiment": [InstanceOf(Experiment, "an Experiment"), None],
    }

    def __post_init__(self) -> None:
        validate_params("JobConfig", vars(self), self._parameter_constraints)
        from recsys.models import registry

        object.__setattr__(self, "models", tuple(registry.canonical(m) for m in self.models))
