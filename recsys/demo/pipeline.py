"""The main job's steps on canonical purchases, one function per step.

Nothing here knows where the purchases came from: the bundled-data entry point
is `recsys.demo.online_retail`. Each step takes the previous step's output,
so a notebook can run the same workflow piece by piece::

    purchases, report = rs.clean_purchases(raw, preset="online_retail")
    profiles, cohorts = profile_customers(purchases, as_of="2011-09-09")
    split = rs.evaluation.temporal_split(purchases, "2011-09-09", horizon_days=90)
    models = fit_models(demo_models(), split.train)
    metrics = evaluate_models(models, split, profiles)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from recsys._io import atomic_path
from recsys._validation import InstanceOf, Interval, validate_params
from recsys.actions import retention_actions
from recsys.data import CleaningReport, Interactions
from recsys.data import columns as C
from recsys.data.timeutil import DateLike, to_datetime
from recsys.demo.decisions import ModelChoice, choose_model
from recsys.evaluation import (
    EvaluationResults,
    Split,
    churn_calibration,
    evaluate,
    temporal_split,
)
from recsys.exceptions import InputDataError
from recsys.models import ALS, Blend, ItemKNN, Popular, Recommender, RepeatExplore, Repurchase
from recsys.profiles import ProfileConfig, build_profiles, cohort_retention, due_items
from recsys.uplift import hit_retention

__all__ = [
    "DemoConfig",
    "DemoResult",
    "best_model_name",
    "default_as_of",
    "demo_models",
    "evaluate_models",
    "fit_models",
    "model_statement",
    "profile_customers",
    "recommend_everyone",
    "resolve_dates",
    "run_pipeline",
    "summarize_interactions",
    "summary_text",
    "write_outputs",
]

DEMO_METRICS = ("hit_rate", "ndcg", "recall")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the main job (defaults: the Online Retail study of the docs).

    ``cutoff`` splits the data for the evaluation (train before, test the next
    ``horizon_days``; None: ``horizon_days`` before ``as_of``, see `resolve_dates`);
    ``as_of`` is "now" for the decisions (who to contact, what is due): default
    just after the last purchase. ``dataset`` names the data in the
    report's title; ``currency`` prefixes money (``"£"``, ``"EUR "``);
    ``clv_horizon_days`` is the horizon of the customer value behind the win-back
    list; ``due_horizon_days`` the window of items due again.
    """

    cutoff: str | None = "2011-09-09"
    horizon_days: int = 90
    k: int = 10
    bootstrap: int = 1000
    seed: int = 0
    sample_users: int | None = None
    dataset: str = "UCI Online Retail"
    as_of: str | None = None
    currency: str = ""
    clv_horizon_days: int = 365
    due_horizon_days: int = 30

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "cutoff": [DateLike(), None],
        "horizon_days": [Interval(int, 1, None)],
        "k": [Interval(int, 1, None)],
        "bootstrap": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
        "sample_users": [Interval(int, 1, None), None],
        "dataset": [InstanceOf(str, "a name")],
        "as_of": [DateLike(), None],
        "currency": [InstanceOf(str, "a currency symbol or code")],
        "clv_horizon_days": [Interval(int, 1, None)],
        "due_horizon_days": [Interval(int, 1, None)],
    }

    def __post_init__(self) -> None:
        validate_params("DemoConfig", vars(self), self._parameter_constraints)


@dataclass
class DemoResult:
    """Everything `run_pipeline` computed, and the files written from it."""

    purchases: pl.DataFrame
    report: CleaningReport
    profiles: pl.DataFrame
    cohorts: pl.DataFrame
    split: Split
    models: dict[str, Recommender]
    metrics: pl.DataFrame
    best_model: str
    hit_retention: pl.DataFrame
    calibration: pl.DataFrame
    recommendations: pl.DataFrame
    evaluation: EvaluationResults | None = None
    choice: ModelChoice | None = None
    as_of: datetime | None = None
    current_profiles: pl.DataFrame | None = None
    due: pl.DataFrame | None = None
    actions: pl.DataFrame | None = None
    item_names: pl.DataFrame | None = None
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def summarize_interactions(inter: Interactions) -> str:
    """A few lines describing the interaction matrix."""
    s = inter.summary()
    q = s["items_per_user_quantiles"]
    return (
        f"interaction matrix: {s['users']:,} users x {s['items']:,} items, "
        f"{s['pairs']:,} pairs (density {s['density']:.4f}), {s['purchases']:,} purchases\n"
        "distinct items per user: " + ", ".join(f"{k} {v:g}" for k, v in q.items())
    )


def profile_customers(
    purchases: pl.DataFrame, as_of: Any, clv_horizon_days: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customer profiles as of ``as_of`` (with CLV over ``clv_horizon_days`` when given)
    and monthly cohort retention before it."""
    config = ProfileConfig(clv_horizon_days=clv_horizon_days)
    profiles = build_profiles(purchases, as_of=as_of, config=config)
    cohorts = cohort_retention(purchases, period="month", as_of=as_of)
    return profiles, cohorts


def demo_models() -> dict[str, Recommender]:
    """The models compared by the demo, with the library's default parameters.

    Keys are the registry names: ``repeat_explore`` is the buy-again/discover blend
    (`RepeatExplore`); ``blend`` blends discovery models only (`Blend`:
    ALS, item-kNN, recent popularity).
    """
    return {
        "popular": Popular(),
        "repurchase": Repurchase(),
        "als": ALS(),
        "itemknn": ItemKNN(),
        "repeat_explore": RepeatExplore(),
        "blend": Blend(),
    }


def fit_models(
    models: Mapping[str, Recommender],
    train: pl.DataFrame,
    *,
    weight: str = "count",
    show_progress: bool = False,
) -> dict[str, Recommender]:
    """Fit every model on the interactions of ``train``; returns the same models, fitted."""
    from recsys._progress import tqdm

    interactions = Interactions.from_purchases(train, weight=weight)  # type: ignore[arg-type]
    fitted = {}
    for name, model in tqdm(
        models.items(), desc="fit", total=len(models), disable=not show_progress, leave=False
    ):
        fitted[name] = model.fit(interactions)
    return fitted


def evaluate_models(
    models: Mapping[str, Recommender],
    split: Split,
    profiles: pl.DataFrame,
    *,
    k: int = 10,
    bootstrap: int = 1000,
    seed: int = 0,
    show_progress: bool = False,
) -> EvaluationResults:
    """HR, NDCG and recall at ``k`` with bootstrap intervals, overall and per lifecycle stage.

    Each model recommends with its own ``exclude_seen`` default (buy-again models
    recommend bought items; discovery models do not). The table is ``.table``; the
    per-user values behind it give paired comparisons (`recsys.evaluation.compare`).
    """
    return evaluate(
        dict(models),
        split,
        k=[k],
        metrics=list(DEMO_METRICS),
        exclude_seen=None,
        by="lifecycle_stage",
        segments=profiles,
        bootstrap=bootstrap,
        seed=seed,
        show_progress=show_progress,
    )


def best_model_name(metrics: pl.DataFrame, k: int = 10) -> str:
    """The model with the highest overall hit rate at ``k`` over all items."""
    overall = metrics.filter(
        (pl.col("metric") == "hit_rate")
        & (pl.col("k") == k)
        & (pl.col("segment") == "all")
        & (pl.col("mode") == "all")
    ).sort("value", "model", descending=[True, False])
    return str(overall["model"][0])


def recommend_everyone(
    model: Recommender,
    purchases: pl.DataFrame,
    k: int,
    *,
    as_of: Any = None,
    show_progress: bool = False,
) -> pl.DataFrame:
    """Refit a copy of ``model`` on all purchases (before ``as_of``) and recommend ``k``
    items to every customer."""
    fresh = model.clone().fit(Interactions.from_purchases(purchases, weight="count", as_of=as_of))
    return fresh.recommend(users=None, k=k, show_progress=show_progress)


def value_column(profiles: pl.DataFrame) -> str:
    """The value behind the action list: CLV, else spend to date, else number of orders."""
    for column in ("clv", "monetary", "frequency"):
        if column in profiles.columns:
            return column
    raise InputDataError(f"profiles have no value column; columns are {profiles.columns}")


def resolve_dates(config: DemoConfig, purchases: pl.DataFrame) -> DemoConfig:
    """``config`` with ``as_of`` (default: `default_as_of`) and ``cutoff`` (default:
    ``horizon_days`` before ``as_of``) filled in as ``YYYY-MM-DD`` strings."""
    import dataclasses

    as_of = to_datetime(config.as_of, "as_of") if config.as_of else default_as_of(purchases)
    cutoff = config.cutoff or f"{as_of - timedelta(days=config.horizon_days):%Y-%m-%d}"
    return dataclasses.replace(config, as_of=f"{as_of:%Y-%m-%d %H:%M:%S}", cutoff=cutoff)


def default_as_of(purchases: pl.DataFrame) -> datetime:
    """Just after the last purchase: the day after it, at midnight."""
    last = purchases[C.TIMESTAMP].max()
    assert isinstance(last, datetime)
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


@contextmanager
def _step(echo: Callable[[str], Any], number: int, total: int, label: str) -> Iterator[None]:
    echo(f"[{number}/{total}] {label} ...")
    start = time.perf_counter()
    yield
    echo(f"      {label}: {time.perf_counter() - start:.1f} s")


def _summary_table(metrics: pl.DataFrame, k: int) -> pl.DataFrame:
    """One row per model: value [95% CI] of each metric over all items, and HR over new items."""
    overall = metrics.filter(
        (pl.col("segment") == "all")
        & (pl.col("k") == k)
        & ((pl.col("mode") == "all") | (pl.col("metric") == "hit_rate"))
    )
    return (
        overall.with_columns(
            cell=pl.struct("value", "ci_low", "ci_high").map_elements(
                lambda r: f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
                return_dtype=pl.String,
            ),
            column=pl.format("{}@{} {}", "metric", "k", "mode"),
        )
        .pivot(on="column", index="model", values="cell", sort_columns=True)
        .sort("model")
    )


def run_pipeline(
    purchases: pl.DataFrame,
    report: CleaningReport,
    config: DemoConfig | None = None,
    *,
    echo: Callable[[str], Any] = print,
    first_step: int = 1,
    total_steps: int = 6,
    item_names: pl.DataFrame | None = None,
    show_progress: bool = False,
) -> DemoResult:
    """Run the retention-personalization workflow on canonical purchases.

    Steps: profiles as of the cutoff (lifecycle, RFM, tier, churn risk), cohort
    retention and churn calibration -> temporal split -> fit Popular, Repurchase,
    ALS, ItemKNN, the buy-again/discover blend and the discovery blend -> HR/NDCG/
    recall at k with bootstrap intervals, overall and per lifecycle stage, and the
    model choice (`recsys.demo.decisions.choose_model`: the best, or the simplest
    of those tied with it) -> retention of customers who bought a recommended
    item vs others (an association) -> the decisions as of ``config.as_of``
    (default just after the last purchase): recommendations for every customer
    from the chosen model refitted on all data, profiles with CLV, items due
    again, one retention action per customer. Writes nothing (see `write_outputs`
    and `recsys.demo.write_demo_report`).

    ``first_step`` and ``total_steps`` number the progress lines (the entry point
    adds its own loading step in front); ``item_names`` (``item_id, name``) puts
    product names next to codes in the report; ``show_progress`` draws tqdm bars
    for the slow steps.
    """
    config = resolve_dates(config or DemoConfig(), purchases)
    cutoff = to_datetime(config.cutoff, "cutoff")
    as_of = to_datetime(config.as_of, "as_of")
    if cutoff >= as_of:
        raise InputDataError(
            f"the evaluation cutoff {cutoff:%Y-%m-%d} must be before as_of {as_of:%Y-%m-%d} "
            "(the decisions date): choose an earlier cutoff"
        )
    number = iter(range(first_step, first_step + 6))
    total = total_steps

    echo(summarize_interactions(Interactions.from_purchases(purchases, weight="count")))
    with _step(echo, next(number), total, f"profile customers as of {cutoff:%Y-%m-%d}"):
        profiles, cohorts = profile_customers(purchases, cutoff)
        calibration = churn_calibration(profiles, purchases, cutoff, config.horizon_days)
    with _step(
        echo,
        next(number),
        total,
        f"split at {cutoff:%Y-%m-%d}, {config.horizon_days}-day test window",
    ):
        split = temporal_split(purchases, cutoff, horizon_days=config.horizon_days)
    with _step(echo, next(number), total, "fit popular, repurchase, ALS, item-kNN and two blends"):
        models = fit_models(demo_models(), split.train, show_progress=show_progress)
    with _step(
        echo,
        next(number),
        total,
        f"evaluate at k={config.k} with {config.bootstrap} bootstrap resamples",
    ):
        evaluation = evaluate_models(
            models,
            split,
            profiles,
            k=config.k,
            bootstrap=config.bootstrap,
            seed=config.seed,
            show_progress=show_progress,
        )
        metrics = evaluation.table
        choice = choose_model(evaluation, config.k)
        best = choice.chosen
    with _step(
        echo, next(number), total, f"retention of customers who bought {best}'s recommendations"
    ):
        test_users = split.test.get_column(C.USER).unique()
        test_recs = models[best].recommend(users=test_users, k=config.k, on_unknown="skip")
        stages = profiles.select(C.USER, "lifecycle_stage")
        retention = pl.concat(
            [
                hit_retention(test_recs, purchases, cutoff, config.horizon_days),
                hit_retention(
                    test_recs, purchases, cutoff, config.horizon_days, segments=stages
                ).rename({"lifecycle_stage": "segment"}),
            ],
            how="diagonal_relaxed",
        )
    with _step(
        echo,
        next(number),
        total,
        f"decisions as of {as_of:%Y-%m-%d}: {config.k} items per customer ({best}), "
        "win-back and items due",
    ):
        recommendations = recommend_everyone(
            models[best], purchases, config.k, as_of=as_of, show_progress=show_progress
        )
        has_price = C.PRICE in purchases.columns  # CLV needs spend
        clv_horizon = config.clv_horizon_days if has_price else None
        current, _ = profile_customers(purchases, as_of, clv_horizon)
        due = due_items(purchases, as_of=as_of, horizon_days=config.due_horizon_days)
        value = value_column(current)
        actions = retention_actions(current, due=due, recommendations=recommendations, value=value)

    return DemoResult(
        purchases=purchases,
        report=report,
        profiles=profiles,
        cohorts=cohorts,
        split=split,
        models=models,
        metrics=metrics,
        best_model=best,
        hit_retention=retention,
        calibration=calibration,
        recommendations=recommendations,
        evaluation=evaluation,
        choice=choice,
        as_of=as_of,
        current_profiles=current,
        due=due,
        actions=actions,
        item_names=item_names,
    )


def write_outputs(result: DemoResult, out_dir: str | Path) -> dict[str, Path]:
    """Write purchases, recommendations, profiles, actions (Parquet) and metrics (CSV) to
    ``out_dir``.

    Returns the paths by name, with the path the HTML report goes to (``"report"``);
    they are also stored in ``result.files``.
    """
    out = Path(out_dir)
    files = {
        "purchases": out / "purchases.parquet",
        "recommendations": out / "recommendations.parquet",
        "profiles": out / "profiles.parquet",
        "metrics": out / "metrics.csv",
        "actions": out / "actions.parquet",
        "report": out / "report.html",
    }
    with atomic_path(files["purchases"]) as tmp:
        result.purchases.write_parquet(tmp)
    with atomic_path(files["recommendations"]) as tmp:
        result.recommendations.write_parquet(tmp)
    with atomic_path(files["profiles"]) as tmp:
        result.profiles.write_parquet(tmp)
    with atomic_path(files["metrics"]) as tmp:
        result.metrics.write_csv(tmp)
    if result.actions is not None:
        with atomic_path(files["actions"]) as tmp:
            result.actions.write_parquet(tmp)
    else:
        del files["actions"]
    result.files = files
    return files


def model_statement(result: DemoResult) -> str:
    """One sentence: the model to use and whether the evidence separates it."""
    choice = result.choice
    if choice is None:
        return f"model to use: {result.best_model}"
    metric = f"{choice.metric.replace('_', ' ')}@{choice.k}"
    if choice.separated:
        runner = choice.comparisons.row(0, named=True) if choice.comparisons.height else None
        detail = (
            f" (ahead of {runner['model']} by {runner['difference']:+.3f}, 95% CI "
            f"[{runner['ci_low']:+.3f}, {runner['ci_high']:+.3f}])"
            if runner
            else ""
        )
        return f"model to use: {choice.chosen}, the best on {metric}{detail}"
    others = [m for m in choice.tied if m != choice.best]
    row = choice.comparisons.filter(pl.col("model") == others[0]).row(0, named=True)
    return (
        f"model to use: {choice.chosen}. {choice.best} has the highest {metric} but is tied "
        f"with {', '.join(others)} (paired difference with {others[0]} {row['difference']:+.3f}, "
        f"95% CI [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}] contains 0); the simplest of "
        "the tied models is recommended"
    )


def summary_text(result: DemoResult, config: DemoConfig) -> str:
    """The closing summary: one row per model, the model to use and the actions."""
    recommendations = result.recommendations
    lines = [
        f"Models on {result.split.test[C.USER].n_unique():,} test customers "
        f"(value [95% CI]; 'new' = items the customer had not bought before):"
    ]
    with pl.Config(
        tbl_rows=20,
        tbl_cols=-1,
        tbl_width_chars=160,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        lines.append(str(_summary_table(result.metrics, config.k)))
    lines.append(model_statement(result))
    lines.append(
        f"{recommendations.height:,} recommendations for "
        f"{recommendations[C.USER].n_unique():,} customers"
    )
    if result.actions is not None:
        from recsys.demo.decisions import action_summary

        money = config.currency
        parts = [
            f"{row['action']} {row['customers']:,} ({money}{row['value_at_stake']:,.0f})"
            for row in action_summary(result.actions).iter_rows(named=True)
            if row["action"] != "none"
        ]
        lines.append("actions (customers, value at stake): " + ", ".join(parts))
    return "\n".join(lines)
