"""The main job (``recsys demo``), one function per step.

Each step takes the previous step's output, so a notebook can run the same
workflow piece by piece::

    purchases, report = load_and_clean()
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
from pathlib import Path
from typing import Any

import polars as pl

from recsys import datasets
from recsys._io import atomic_path
from recsys.data import CleaningReport, Interactions, clean_purchases
from recsys.data import columns as C
from recsys.data.timeutil import to_datetime
from recsys.evaluation import Split, evaluate, temporal_split
from recsys.models import ALS, Blend, ItemKNN, Popular, Recommender, RepeatExplore, Repurchase
from recsys.profiles import build_profiles, cohort_retention
from recsys.uplift import hit_retention, retention_labels

__all__ = [
    "DemoConfig",
    "DemoResult",
    "churn_calibration",
    "demo_models",
    "evaluate_models",
    "fit_models",
    "load_and_clean",
    "profile_customers",
    "recommend_everyone",
    "run_demo",
    "summarize_interactions",
]

DEMO_METRICS = ("hit_rate", "ndcg", "recall")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the main job (defaults: the Online Retail study of the docs)."""

    cutoff: str = "2011-09-09"
    horizon_days: int = 90
    k: int = 10
    bootstrap: int = 1000
    seed: int = 0
    sample_users: int | None = None


@dataclass
class DemoResult:
    """Everything :func:`run_demo` computed, and the files it wrote."""

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
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def load_and_clean(
    raw: pl.DataFrame | None = None, *, sample_users: int | None = None, seed: int = 0
) -> tuple[pl.DataFrame, CleaningReport]:
    """Clean the bundled Online Retail table (or ``raw``), optionally on a customer sample.

    ``sample_users`` keeps the rows of that many randomly chosen customers (rows
    without a customer are kept, so the cleaning account stays representative).
    """
    raw = datasets.online_retail() if raw is None else raw
    if sample_users is not None:
        customers = raw["CustomerID"].drop_nulls().unique().sort()
        chosen = customers.sample(min(sample_users, len(customers)), seed=seed)
        raw = raw.filter(
            pl.col("CustomerID").is_in(chosen.implode()) | pl.col("CustomerID").is_null()
        )
    return clean_purchases(raw, preset="online_retail")


def summarize_interactions(inter: Interactions) -> str:
    """A few lines describing the interaction matrix."""
    s = inter.summary()
    q = s["items_per_user_quantiles"]
    return (
        f"interaction matrix: {s['users']:,} users x {s['items']:,} items, "
        f"{s['pairs']:,} pairs (density {s['density']:.4f}), {s['purchases']:,} purchases\n"
        "distinct items per user: " + ", ".join(f"{k} {v:g}" for k, v in q.items())
    )


def profile_customers(purchases: pl.DataFrame, as_of: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customer profiles as of ``as_of`` and monthly cohort retention before it."""
    profiles = build_profiles(purchases, as_of=as_of)
    cohorts = cohort_retention(purchases, period="month", as_of=as_of)
    return profiles, cohorts


def demo_models() -> dict[str, Recommender]:
    """The models compared by the demo, with the library's default parameters.

    ``blend`` is the buy-again/discover blend (:class:`RepeatExplore`); ``discover``
    blends discovery models only (:class:`Blend`: ALS, item-kNN, recent popularity).
    """
    return {
        "popular": Popular(),
        "repurchase": Repurchase(),
        "als": ALS(),
        "itemknn": ItemKNN(),
        "blend": RepeatExplore(),
        "discover": Blend(),
    }


def fit_models(
    models: Mapping[str, Recommender], train: pl.DataFrame, *, weight: str = "count"
) -> dict[str, Recommender]:
    """Fit every model on the interactions of ``train``; returns the same models, fitted."""
    interactions = Interactions.from_purchases(train, weight=weight)  # type: ignore[arg-type]
    return {name: model.fit(interactions) for name, model in models.items()}


def evaluate_models(
    models: Mapping[str, Recommender],
    split: Split,
    profiles: pl.DataFrame,
    *,
    k: int = 10,
    bootstrap: int = 1000,
    seed: int = 0,
) -> pl.DataFrame:
    """HR, NDCG and recall at ``k`` with bootstrap intervals, overall and per lifecycle stage.

    Each model recommends with its own ``exclude_seen`` default (buy-again models
    recommend bought items; discovery models do not).
    """
    return evaluate(
        dict(models),
        split,
        k=[k],
        metrics=list(DEMO_METRICS),
        exclude_seen=None,
        by="lifecycle_stage",
        profiles=profiles,
        bootstrap=bootstrap,
        seed=seed,
        show_progress=False,
    ).table


def best_model_name(metrics: pl.DataFrame, k: int = 10) -> str:
    """The model with the highest overall hit rate at ``k`` over all items."""
    overall = metrics.filter(
        (pl.col("metric") == "hit_rate")
        & (pl.col("k") == k)
        & (pl.col("segment") == "all")
        & (pl.col("mode") == "all")
    ).sort("value", "model", descending=[True, False])
    return str(overall["model"][0])


def churn_calibration(
    profiles: pl.DataFrame, purchases: pl.DataFrame, as_of: Any, horizon_days: int
) -> pl.DataFrame:
    """Predicted ``churn_risk`` vs observed churn (no purchase in the horizon), by decile."""
    labels = retention_labels(purchases, as_of=as_of, horizon_days=horizon_days)
    joined = profiles.select(C.USER, "churn_risk").join(
        labels.select(C.USER, "retained"), on=C.USER, how="inner"
    )
    return (
        joined.with_columns(
            decile=(pl.col("churn_risk").rank("ordinal") * 10 / (pl.len() + 1))
            .floor()
            .cast(pl.Int32)
            + 1
        )
        .group_by("decile")
        .agg(
            customers=pl.len(),
            predicted_churn=pl.col("churn_risk").mean(),
            observed_churn=1 - pl.col("retained").cast(pl.Float64).mean(),
        )
        .sort("decile")
    )


def recommend_everyone(model: Recommender, purchases: pl.DataFrame, k: int) -> pl.DataFrame:
    """Refit a copy of ``model`` on all purchases and recommend ``k`` items to every customer."""
    fresh = model.clone().fit(Interactions.from_purchases(purchases, weight="count"))
    return fresh.recommend(users=None, k=k)


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
            cell=pl.format(
                "{} [{}-{}]",
                pl.col("value").round(3),
                pl.col("ci_low").round(3),
                pl.col("ci_high").round(3),
            ),
            column=pl.format("{}@{} {}", "metric", "k", "mode"),
        )
        .pivot(on="column", index="model", values="cell", sort_columns=True)
        .sort("model")
    )


def run_demo(
    out_dir: str | Path = "recsys-demo",
    config: DemoConfig | None = None,
    *,
    echo: Callable[[str], Any] = print,
) -> DemoResult:
    """Run the whole retention-personalization workflow on the bundled Online Retail data.

    Steps: clean (with the cleaning account) -> profiles as of the cutoff (lifecycle,
    RFM, tier, churn risk) and cohort retention -> temporal split -> fit Popular,
    Repurchase, ALS, ItemKNN, the buy-again/discover blend and the discovery blend ->
    HR/NDCG/recall at k with bootstrap intervals, overall and per lifecycle stage -> retention of
    customers who bought a recommended item vs others (an association) ->
    recommendations for every customer from the best model refitted on all data.

    Writes ``purchases.parquet`` (canonical), ``recommendations.parquet``,
    ``profiles.parquet``, ``metrics.csv`` and ``report.html`` (self-contained) to
    ``out_dir``.

    Examples
    --------
    >>> result = run_demo("recsys-demo", DemoConfig(sample_users=300, bootstrap=50),
    ...                   echo=lambda s: None)  # doctest: +SKIP
    """
    config = config or DemoConfig()
    out = Path(out_dir)
    cutoff = to_datetime(config.cutoff, "cutoff")
    total = 7

    with _step(echo, 1, total, "clean the orders"):
        purchases, report = load_and_clean(sample_users=config.sample_users, seed=config.seed)
    echo(str(report))
    echo(summarize_interactions(Interactions.from_purchases(purchases, weight="count")))
    with _step(echo, 2, total, f"profile customers as of {cutoff:%Y-%m-%d}"):
        profiles, cohorts = profile_customers(purchases, cutoff)
        calibration = churn_calibration(profiles, purchases, cutoff, config.horizon_days)
    with _step(
        echo, 3, total, f"split at {cutoff:%Y-%m-%d}, {config.horizon_days}-day test window"
    ):
        split = temporal_split(purchases, cutoff, horizon_days=config.horizon_days)
    with _step(echo, 4, total, "fit popular, repurchase, ALS, item-kNN and two blends"):
        models = fit_models(demo_models(), split.train)
    with _step(
        echo, 5, total, f"evaluate at k={config.k} with {config.bootstrap} bootstrap resamples"
    ):
        metrics = evaluate_models(
            models, split, profiles, k=config.k, bootstrap=config.bootstrap, seed=config.seed
        )
        best = best_model_name(metrics, config.k)
    with _step(echo, 6, total, f"retention of customers who bought {best}'s recommendations"):
        test_users = split.test.get_column(C.USER).unique()
        test_recs = models[best].recommend(users=test_users, k=config.k, on_unknown="skip")
        stages = profiles.select(C.USER, "lifecycle_stage")
        retention = pl.concat(
            [
                hit_retention(test_recs, purchases, cutoff, config.horizon_days),
                hit_retention(test_recs, purchases, cutoff, config.horizon_days, by=stages).rename(
                    {"lifecycle_stage": "segment"}
                ),
            ],
            how="diagonal_relaxed",
        )
    with _step(echo, 7, total, f"recommend {config.k} items to every customer ({best})"):
        recommendations = recommend_everyone(models[best], purchases, config.k)

    files = {
        "purchases": out / "purchases.parquet",
        "recommendations": out / "recommendations.parquet",
        "profiles": out / "profiles.parquet",
        "metrics": out / "metrics.csv",
        "report": out / "report.html",
    }
    with atomic_path(files["purchases"]) as tmp:
        purchases.write_parquet(tmp)
    with atomic_path(files["recommendations"]) as tmp:
        recommendations.write_parquet(tmp)
    with atomic_path(files["profiles"]) as tmp:
        profiles.write_parquet(tmp)
    with atomic_path(files["metrics"]) as tmp:
        metrics.write_csv(tmp)

    result = DemoResult(
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
        files=files,
    )
    from recsys.report.demo import write_demo_report

    write_demo_report(result, config, files["report"])

    with pl.Config(tbl_rows=20, tbl_cols=-1, tbl_width_chars=160, tbl_hide_dataframe_shape=True):
        result.summary = (
            f"Models on {split.test[C.USER].n_unique():,} test customers "
            f"(value [95% CI]; 'new' = items the customer had not bought before):\n"
            f"{_summary_table(metrics, config.k)}\n"
            f"best model: {best}; {recommendations.height:,} recommendations for "
            f"{recommendations[C.USER].n_unique():,} customers"
        )
    echo(result.summary)
    for path in files.values():
        echo(f"wrote {path}")
    return result
