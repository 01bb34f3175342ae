"""`run`: the main job on canonical purchases, every artefact as of one ``as_of``.

Steps (each one's warnings are recorded and attached to the claims they concern):

1. the shop's regime (`recsys.job.regime`);
2. profiles, cohorts and the items-due model as of ``as_of``;
3. the evaluation: at the cutoff, the churn evidence and the backtest of churn risk
   and CLV against the naive rules (`recsys.evaluation.backtest_profiles` on the
   profiles built there) and the items due computed there, scored on the window after
   it (`recsys.job.due_check`); a temporal split with every
   customer who bought in the test window (first-time buyers get the models'
   cold-start fallback), the models fitted on the training side and compared;
4. the model to use, chosen on a validation split carved from the training side
   (never the test split), or the regime's default when it gives no evidence;
5. with an experiment (``JobConfig(experiment=)``), the targeting plan
   (`recsys.job.targeting`);
6. the decisions as of ``as_of``: recommendations, the items due (the table of the
   model of step 2, built once the chosen model's fit is freed: the two largest tables
   of the job are never held at once), the action list (following the plan when there
   is one);
7. the claims (`recsys.job.claims`).

Only purchases strictly before ``as_of`` are used anywhere. Return rows (``is_return``,
`recsys.clean_purchases` with ``keep_returns=True``, as `recsys.job.load_purchases` loads)
are no order, purchase or interaction anywhere (`recsys.data.canonical.without_returns`);
they count in the profiles' ``return_rate`` and, net, in the spend the campaign check
measures after the cutoff.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from recsys._warnings import concerning
from recsys.actions import retention_actions
from recsys.data import CleaningReport, Interactions
from recsys.data import columns as C
from recsys.data.canonical import without_returns
from recsys.data.timeutil import to_datetime
from recsys.evaluation import Backtest, EvaluationResults, temporal_split
from recsys.exceptions import InputDataError
from recsys.job.choice import ModelChoice, choose_model
from recsys.job.claims import NO_WINDOW, Claim, evaluation_claim, model_claim
from recsys.job.claims_campaign import campaign_claim
from recsys.job.claims_due import due_card
from recsys.job.config import JobConfig
from recsys.job.customers import (
    CutoffChecks,
    check_at_cutoff,
    customer_decisions,
    profile_config,
)
from recsys.job.due_check import deployed_due, due_at_cutoff
from recsys.job.evaluation import (
    evaluate_models,
    fit_models,
    overall_hit_rate,
    pick_model,
    segment_test_customers,
    unfitted_model,
)
from recsys.job.evidence import (
    ChurnEvidence,
    FitEvidence,
    StepWarnings,
    fit_evidence,
    record_warnings,
)
from recsys.job.regime import Regime, detect_regime, window_buyers
from recsys.job.sampling import checked_sample, customer_sample, sample_customers
from recsys.job.targeting import Targeting, targeting
from recsys.models import Recommender
from recsys.profiles import DueItems, build_profiles, cohort_retention
from recsys.uplift import hit_retention

__all__ = ["DUE_MIN_PROBABILITY", "JobResult", "default_as_of", "run"]

#: A due row counts as a product due when its chance is at least this.
DUE_MIN_PROBABILITY = 0.2
EVALUATION_METRICS = ("hit_rate", "ndcg", "recall")


@dataclass
class JobResult:
    """Everything the main job computed, as of ``as_of``, and the evidence behind it.

    ``profiles``, ``due``, ``actions`` and ``recommendations`` are as of ``as_of``;
    ``evaluation`` (None when it could not run: ``claims["evaluation"]`` says why)
    is on the window of ``horizon_days`` after ``cutoff``; ``model`` is the
    recommender used, ``validation_choice`` the evidence it was chosen on and
    ``test_choice`` the comparison on the test window. ``claims`` maps each
    headline (``churn``, ``value``, ``evaluation``, ``model``, ``campaign``,
    ``due``, and ``targeting`` with an experiment) to its `Claim`; ``targeting`` is the
    plan and its value (None without an experiment); ``backtest`` is churn risk and CLV
    against the naive rules at the cutoff (`recsys.evaluation.backtest_profiles`; None
    without an evaluation); ``warnings`` lists the distinct warnings of each step.
    ``profiles`` carry ``churn_rank`` (1 = most likely gone, by ``claims["churn"]
    .evidence["ranked_by"]``: the churn risk or the naive rule).
    """

    config: JobConfig
    as_of: datetime
    cutoff: datetime | None
    purchases: pl.DataFrame
    regime: Regime
    profiles: pl.DataFrame
    cohorts: pl.DataFrame
    due: pl.DataFrame
    actions: pl.DataFrame
    recommendations: pl.DataFrame
    model: str
    claims: dict[str, Claim]
    value_column: str
    repeat_at_rank1: float
    report: CleaningReport | None = None
    item_names: pl.DataFrame | None = None
    evaluation: EvaluationResults | None = None
    test_choice: ModelChoice | None = None
    validation_choice: ModelChoice | None = None
    hit_retention: pl.DataFrame | None = None
    churn: ChurnEvidence | None = None
    fits: FitEvidence | None = None
    backtest: Backtest | None = None
    targeting: Targeting | None = None
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> pl.DataFrame:
        """The evaluation table (empty without an evaluation)."""
        if self.evaluation is None:
            return pl.DataFrame(
                schema={
                    "model": pl.String,
                    "mode": pl.String,
                    "metric": pl.String,
                    "k": pl.Int64,
                    "segment": pl.String,
                    "value": pl.Float64,
                    "ci_low": pl.Float64,
                    "ci_high": pl.Float64,
                    "n_users": pl.Int64,
                }
            )
        return self.evaluation.table


def default_as_of(purchases: pl.DataFrame) -> datetime:
    """Just after the last purchase (return rows aside): the day after it, at midnight.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> default_as_of(pl.DataFrame({"timestamp": [datetime(2024, 3, 1, 17)]}))
    datetime.datetime(2024, 3, 2, 0, 0)
    """
    last = _time_range(purchases)[1]
    if not isinstance(last, datetime):
        raise InputDataError("purchases is empty: there is no purchase to take decisions on")
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def _time_range(purchases: pl.DataFrame) -> tuple[Any, Any]:
    """The first and last purchase (return rows aside), without copying the frame."""
    ts = pl.col(C.TIMESTAMP)
    return (
        without_returns(purchases.lazy()).select(ts.min(), ts.max().alias("last")).collect().row(0)
    )


def _resolve_dates(config: JobConfig, purchases: pl.DataFrame) -> tuple[datetime, datetime]:
    first = _time_range(purchases)[0]
    if not isinstance(first, datetime):
        raise InputDataError("purchases is empty: there is no purchase to take decisions on")
    as_of = to_datetime(config.as_of, "as_of") if config.as_of is not None else None
    as_of = as_of or default_as_of(purchases)
    if as_of <= first:
        raise InputDataError(
            f"as_of {as_of:%Y-%m-%d} is not after the first purchase ({first:%Y-%m-%d}): "
            "there is nothing before it to decide on; choose a later as_of"
        )
    if config.cutoff is not None:
        cutoff = to_datetime(config.cutoff, "cutoff")
        if cutoff >= as_of:
            raise InputDataError(
                f"cutoff {cutoff:%Y-%m-%d} must be before as_of {as_of:%Y-%m-%d}: the models "
                "are evaluated on the days after the cutoff, the decisions are taken at as_of"
            )
    else:
        cutoff = as_of - timedelta(days=config.horizon_days)
    return as_of, cutoff


def evaluation_purchases(
    bought: pl.DataFrame, config: JobConfig
) -> tuple[pl.DataFrame, tuple[int, int] | None]:
    """The purchases the evaluation runs on and, when they are a sample, (sampled
    customers, all customers): `recsys.job.sampling.customer_sample` above
    ``config.evaluation_customers``."""
    return customer_sample(bought, config.evaluation_customers, config.seed)


class _Steps:
    """Progress lines, timings and the warnings of each step."""

    def __init__(self, echo: Callable[[str], Any] | None, total: int) -> None:
        self.echo = echo or (lambda _: None)
        self.total = total
        self.number = 0
        self.warnings: dict[str, StepWarnings] = {}
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, key: str, label: str, *concerns: str) -> Iterator[StepWarnings]:
        self.number += 1
        self.echo(f"[{self.number}/{self.total}] {label} ...")
        start = time.perf_counter()
        found = self.warnings.setdefault(key, StepWarnings())
        with record_warnings(found, *concerns):
            yield found
        _release_freed_memory()
        self.timings[key] = time.perf_counter() - start
        self.echo(f"      {key}: {self.timings[key]:.1f} s")


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc (TypeError: Windows)
        return None


def _release_freed_memory() -> None:
    """Give the memory the allocators hold free back to the system: glibc's (``malloc_trim``;
    nothing elsewhere) and pyarrow's pool (when pyarrow was used, e.g. to check a Parquet
    file). A step's numpy temporaries are freed when it ends, but glibc keeps the pages of
    those below its mmap threshold (up to 32 MiB each), and pyarrow's pool keeps what it
    decoded: the next step's peak would stack on them. The job calls it after every step."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def run(
    purchases: pl.DataFrame,
    config: JobConfig | None = None,
    *,
    report: CleaningReport | None = None,
    item_names: pl.DataFrame | None = None,
    echo: Callable[[str], Any] | None = None,
) -> JobResult:
    """Run the main job on canonical purchases: every artefact as of one ``as_of``.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`), with or without return rows
        (``is_return``).
    config
        `JobConfig` (default: its defaults).
    report, item_names
        The cleaning report and ``item_id, name`` (carried to the result for the report).
    echo
        Called with one progress line per step (e.g. ``print``); None: silent.

    Returns
    -------
    JobResult

    Raises
    ------
    InputDataError
        Empty purchases, ``as_of`` not after the first purchase, or ``cutoff`` not
        before ``as_of``.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, report = rs.clean_purchases(rs.datasets.online_retail(),
    ...                                        preset="online_retail")
    >>> config = rs.job.JobConfig(sample_users=150, bootstrap=20, models=("popular",))
    >>> result = rs.job.run(purchases, config)
    >>> str(result.as_of), result.regime.customers, result.model
    ('2011-12-10 00:00:00', 150, 'popular')
    >>> result.claims["model"].licensed  # one model: nothing to compare it with
    False
    """
    config = config or JobConfig()
    if config.sample_users is not None:
        purchases = sample_customers(purchases, config.sample_users, config.seed)
    derived_cutoff = config.cutoff is None
    as_of, cutoff = _resolve_dates(config, purchases)
    config = dataclasses.replace(config, as_of=as_of, cutoff=cutoff)
    # No copy of a large frame when every purchase is before as_of (the default as_of).
    last = purchases[C.TIMESTAMP].max()
    bought = purchases if last < as_of else purchases.filter(pl.col(C.TIMESTAMP) < as_of)  # type: ignore[operator]
    steps = _Steps(echo, 6 if config.experiment is not None else 5)
    k = config.k

    with steps("regime", "the shop's regime"):
        regime = detect_regime(
            bought,
            as_of,
            cutoff=cutoff,
            horizon_days=config.horizon_days,
            customer_column=config.customer_column,
        )
        if regime.order_id_message:
            import warnings

            from recsys.exceptions import DataWarning

            warnings.warn(regime.order_id_message, DataWarning, stacklevel=2)
    has_prices = C.PRICE in bought.columns
    with steps("profiles", f"profiles, cohorts and items due as of {as_of:%Y-%m-%d}") as pw:
        # one definition of churn risk and CLV: the one deployed is the one checked
        definition = profile_config(config, has_prices)
        profiles = build_profiles(bought, as_of=as_of, config=definition)
        cohorts = cohort_retention(bought, period="month", as_of=as_of)
        with concerning("p_within_horizon"):  # the table: in the decisions
            due_model = DueItems(config.due_horizon_days).fit(bought, as_of, table=False)
    fits = fit_evidence(pw, profiles)

    evaluation = test_choice = validation = None
    checks = CutoffChecks()
    retention = None
    segments_counts = (0, 0)
    reason = regime.order_id_message
    models: dict[str, Recommender] = {}
    evaluated_on, sampled = evaluation_purchases(bought, config)
    cutoff_warnings = StepWarnings()  # the profiles' warnings at the cutoff
    due_evidence, due_unchecked = None, NO_WINDOW
    due_sampled: tuple[int, int] | None = None
    with steps(
        "evaluation",
        f"evaluate {', '.join(config.models)} on {regime.window}",
    ):
        split = None
        if reason is None and regime.test_customers == 0:
            reason = (
                f"nobody bought in the {config.horizon_days} days after {cutoff:%Y-%m-%d}: "
                "the test window is empty (choose an earlier cutoff or a longer horizon)"
            )
        if reason is None:
            try:
                with concerning("evaluation"):
                    split = temporal_split(
                        evaluated_on,
                        cutoff,
                        horizon_days=config.horizon_days,
                        include_cold_users=config.on_unknown == "fallback",
                    )
            except InputDataError as err:
                which = (
                    f"the default cutoff ({config.horizon_days} days before as_of {as_of:%Y-%m-%d})"
                    if derived_cutoff
                    else "the cutoff"
                )
                reason = f"no test window at {which}: {err}"
        if split is not None:
            with record_warnings(cutoff_warnings, cutoff=cutoff):
                checks = check_at_cutoff(
                    split.train, evaluated_on, cutoff, config, definition, observed_until=as_of
                )
                with concerning("p_within_horizon"):
                    due_evidence, due_unchecked, due_sampled = due_at_cutoff(
                        evaluated_on, cutoff, config, min_probability=DUE_MIN_PROBABILITY,
                        observed_until=as_of,
                    )  # fmt: skip
            seg, returning, _ = segment_test_customers(checks.profiles, split)
            first_time = regime.test_first_time
            if sampled is not None:  # the sample's (skipped first-time buyers counted too)
                ids = without_returns(evaluated_on.lazy()).select(C.USER, C.TIMESTAMP)
                buyers, known_buyers = window_buyers(
                    ids.collect(), as_of, cutoff, config.horizon_days
                )
                first_time = buyers - known_buyers
            segments_counts = (returning, first_time)
            with concerning("recommendations"):
                models = fit_models(config.models, split.train, config.seed)
                evaluation = evaluate_models(models, split, config, seg, EVALUATION_METRICS)
            test_choice = choose_model(evaluation, k)
    if evaluation is None:  # no test window: the regime counts no buyers in it
        regime = dataclasses.replace(regime, test_customers=0, test_returning=0, test_first_time=0)
    with steps(
        "choice", "choose the model on a validation split of the training data", "recommendations"
    ):
        val_results = None
        if split is not None:
            try:
                val = split.validation()
                val_models = fit_models(config.models, val.train, config.seed)
                val_results = evaluate_models(
                    val_models, val, config, None, ("hit_rate",), modes=("all",)
                )
                del val_models, val  # fitted state no longer needed: free it before the decisions
            except InputDataError:
                val_results = None
        used, used_because, validation = pick_model(val_results, regime, config)
        if split is not None and used in models:
            # returning customers only: a first-time buyer's first order in the window is
            # their first order, nothing to come back after
            known = without_returns(split.train).select(C.USER).unique()
            test_users = split.test.select(C.USER).unique().join(known, on=C.USER, how="semi")
            test_recs = models[used].recommend(
                users=test_users[C.USER], k=k, on_unknown=config.on_unknown
            )
            retention = hit_retention(
                test_recs, without_returns(evaluated_on), cutoff, config.horizon_days
            )
        models.clear()  # the evaluation keeps the per-customer values, not the fitted models
    # the splits' frames are no longer needed: free them before the full-size decisions
    del split, evaluated_on
    _release_freed_memory()
    plan = target_claim = None
    if config.experiment is not None:
        with steps("targeting", "the uplift model, the plan and its value") as tw:
            plan, target_claim = targeting(
                bought,
                profiles,
                config.experiment,
                as_of=as_of,
                contact_cost=config.contact_cost,
                churn=config.churn,
                seed=config.seed,
            )
        target_claim = dataclasses.replace(target_claim, warnings=tw.messages_tuple())
    with steps(
        "decisions", f"decisions as of {as_of:%Y-%m-%d}: {k} items per customer ({used})"
    ) as dw:
        final = unfitted_model(used, config.seed)
        final.fit(Interactions.from_purchases(bought, weight="count"))
        recommendations = final.recommend(users=None, k=k)
        del final
        _release_freed_memory()
        # `due_items`' table as of as_of, or the naive rule's where the check did not license it
        due = deployed_due(
            due_model.predict(bought), bought, as_of, config.due_horizon_days, due_evidence
        )
        repeat_at_rank1 = _repeat_at_rank1(recommendations, bought)
        decided = customer_decisions(
            profiles,
            bought,
            as_of,
            checks,
            fits,
            config,
            has_prices=has_prices,
            steps=(pw, cutoff_warnings.at_cutoff(cutoff, besides=pw)),
        )
        churn_c, value_c, profiles = decided.churn, decided.value, decided.profiles
        actions = retention_actions(
            decided.frame,
            due=due,
            recommendations=recommendations,
            rules=decided.rules,
            value=decided.value_column,
            k=k,
            due_min_probability=DUE_MIN_PROBABILITY,
            rank_by=decided.rank_by,
            plan=plan.plan if plan is not None else None,
        )
    claims = {
        "churn": churn_c,
        "value": value_c,
        "evaluation": evaluation_claim(
            regime,
            returning=segments_counts[0],
            first_time=segments_counts[1],
            on_unknown=config.on_unknown,
            reason=reason,
            min_evaluated=config.min_evaluated,
            sampled=sampled,
            warnings=steps.warnings["evaluation"].about("evaluation"),
        ),
    }
    best_value = float("nan")
    evaluated = 0
    if evaluation is not None:
        overall = overall_hit_rate(evaluation, k)
        best_value = float(overall["value"].max() or 0.0)  # type: ignore[arg-type]
        evaluated = int(overall["n_users"].max() or 0)  # type: ignore[arg-type]
    claims["model"] = model_claim(
        test_choice,
        used=used,
        used_because=used_because,
        evaluated=evaluated,
        best_value=best_value,
        min_evaluated=config.min_evaluated,
        warnings=_model_warnings(steps.warnings["evaluation"], steps.warnings["choice"]),
    )
    win = actions.filter(pl.col("action") == "win_back")
    claims["campaign"] = campaign_claim(
        win.height,
        float(win["projected_value"].sum()),
        config.contact_cost,
        money=has_prices,
        currency=config.currency,
        basis=decided.basis,
        evidence=decided.campaign,
        unchecked=decided.campaign_unchecked if reason is None else f"no evaluation: {reason}",
        warnings=(*dw.messages_tuple(), *decided.campaign_warnings),
    )
    if target_claim is not None:
        claims["targeting"] = target_claim
    claims["due"] = due_card(
        due,
        actions,
        min_probability=DUE_MIN_PROBABILITY,
        horizon_days=config.due_horizon_days,
        evidence=due_evidence,
        unchecked=due_unchecked if reason is None else f"no evaluation: {reason}",
        sampled=checked_sample(due_sampled, sampled),
        warnings=pw.about("p_within_horizon")
        + cutoff_warnings.at_cutoff(cutoff, besides=pw).about("p_within_horizon"),
    )
    return JobResult(
        config=config,
        as_of=as_of,
        cutoff=cutoff,
        purchases=bought,
        regime=regime,
        profiles=profiles,
        cohorts=cohorts,
        due=due,
        actions=actions,
        recommendations=recommendations,
        model=used,
        claims=claims,
        value_column=decided.value_column,
        repeat_at_rank1=repeat_at_rank1,
        report=report,
        item_names=item_names,
        evaluation=evaluation,
        test_choice=test_choice,
        validation_choice=validation,
        hit_retention=retention,
        churn=checks.churn,
        fits=fits,
        backtest=checks.backtest,
        targeting=plan,
        warnings={key: tuple(w.messages) for key, w in steps.warnings.items()},
        timings=steps.timings,
    )


def _model_warnings(evaluation: StepWarnings, choice: StepWarnings) -> tuple[str, ...]:
    """The models' warnings on the test split, then those on the validation split that
    differ (the same fits raise the same warnings on both)."""
    tested = evaluation.about("recommendations")
    validated = tuple(
        f"on the validation split: {m}" for m in choice.about("recommendations") if m not in tested
    )
    return tested + validated


def _repeat_at_rank1(recommendations: pl.DataFrame, bought: pl.DataFrame) -> float:
    """Share of customers whose first recommendation is a product they bought before."""
    first = recommendations.filter(pl.col(C.RANK) == 1).select(C.USER, C.ITEM)
    if first.height == 0:
        return 0.0
    # lazily, so only the two id columns are read, and only the rows of those first
    # recommendations are kept: no copy of every (customer, product) row
    seen = (
        without_returns(bought.lazy())
        .select(C.USER, C.ITEM)
        .join(first.lazy(), on=[C.USER, C.ITEM], how="semi")
        .unique()
        .collect()
    )
    return first.join(seen, on=[C.USER, C.ITEM], how="semi").height / first.height
