"""The job's evaluation step: fit the models, evaluate them on every customer of the
test window (lifecycle stage at the cutoff, or first-time), and pick the model to use
from a validation split carved from the training data."""

from __future__ import annotations

from typing import Any

import polars as pl

from recsys.data import Interactions
from recsys.data import columns as C
from recsys.evaluation import EvaluationResults, Split, evaluate
from recsys.job.choice import ModelChoice, choose_model, is_buy_again, regime_default
from recsys.job.config import JobConfig
from recsys.job.regime import FIRST_SEEN, Regime
from recsys.models import Recommender, registry
from recsys.models.sharing import shared_fits

__all__ = [
    "evaluate_models",
    "fit_models",
    "overall_hit_rate",
    "pick_model",
    "segment_test_customers",
    "unfitted_model",
]

#: The segment of test customers with no purchase before the cutoff.


def unfitted_model(spec: str, seed: int) -> Recommender:
    """The model a spec names (`registry.build`), seeded with ``seed`` and silent unless
    the spec sets ``random_state`` / ``show_progress`` itself."""
    model: Recommender = registry.build(spec)
    _, given = registry.parse(spec)
    accepted = model.get_params(deep=False)
    params: dict[str, Any] = {}
    if "random_state" in accepted and "random_state" not in given:
        params["random_state"] = seed
    if "show_progress" in accepted and "show_progress" not in given:
        params["show_progress"] = False
    return model.set_params(**params) if params else model


def fit_models(specs: tuple[str, ...], train: pl.DataFrame, seed: int) -> dict[str, Recommender]:
    """The models ``specs`` (`registry.build`) fitted on ``train``, keyed by the spec;
    a part of a blend equal to one of them (same class and parameters) is fitted once
    (`shared_fits`)."""
    interactions = Interactions.from_purchases(train, weight="count")
    models = {}
    with shared_fits():
        for spec in specs:
            models[spec] = unfitted_model(spec, seed).fit(interactions)
    return models


def segment_test_customers(
    profiles_at_cutoff: pl.DataFrame | None, split: Split
) -> tuple[pl.DataFrame, int, int]:
    """``user_id, segment`` of the test customers: lifecycle stage at the cutoff for
    returning ones, `FIRST_SEEN` for the others; and the two counts."""
    test_users = split.test.select(C.USER).unique()
    known = split.train.select(C.USER).unique()
    stages = (
        profiles_at_cutoff.select(C.USER, pl.col("lifecycle_stage").alias("segment"))
        if profiles_at_cutoff is not None
        else known.with_columns(segment=pl.lit("returning"))
    )
    seg = test_users.join(stages, on=C.USER, how="left").with_columns(
        pl.col("segment").fill_null(FIRST_SEEN)
    )
    first = int((seg["segment"] == FIRST_SEEN).sum())
    return seg, seg.height - first, first


def evaluate_models(
    models: dict[str, Recommender],
    split: Split,
    config: JobConfig,
    segments: pl.DataFrame | None,
    metrics: tuple[str, ...],
    modes: tuple[str, ...] = ("all", "new"),
) -> EvaluationResults:
    """The models' metrics at ``config.k`` on ``split`` (per segment when given)."""
    return evaluate(
        models,
        split,
        k=[config.k],
        metrics=list(metrics),
        exclude_seen=None,
        by="segment" if segments is not None else None,
        segments=segments,
        bootstrap=config.bootstrap,
        seed=config.seed,
        show_progress=False,
        on_unknown=config.on_unknown,
        modes=modes,
    )


def overall_hit_rate(results: EvaluationResults, k: int) -> pl.DataFrame:
    return results.table.filter(
        (pl.col("metric") == "hit_rate")
        & (pl.col("k") == k)
        & (pl.col("segment") == "all")
        & (pl.col("mode") == "all")
    )


def pick_model(
    validation: EvaluationResults | None, regime: Regime, config: JobConfig
) -> tuple[str, str, ModelChoice | None]:
    """(model used, why, the validation choice)."""
    default = regime_default(regime.rare_repeat or regime.looks_like_order_ids, config.models)
    kind = (
        "customer ids that look like order ids"
        if regime.looks_like_order_ids
        else "rare repeat purchases"
        if regime.rare_repeat
        else "frequent repeat purchases"
    )
    if validation is None:
        return default, f"the default for a shop with {kind} (no validation evidence)", None
    overall = overall_hit_rate(validation, config.k)
    evaluated = int(overall["n_users"].max() or 0)  # type: ignore[arg-type]
    if evaluated < config.min_evaluated or not float(overall["value"].max() or 0) > 0:  # type: ignore[arg-type]
        why = (
            f"the default for a shop with {kind}: the validation split has "
            f"{evaluated:,} customers"
            + ("" if evaluated < config.min_evaluated else " and every model scored 0")
        )
        return default, why, None
    choice = choose_model(validation, config.k)
    chosen, why = (
        choice.chosen,
        (
            f"the best on the validation split ({evaluated:,} customers)"
            if choice.separated
            else f"the simplest of the models tied on the validation split ({evaluated:,} "
            f"customers): {', '.join(choice.tied)}"
        ),
    )
    if regime.rare_repeat and is_buy_again(chosen):
        discovery = [m for m in config.models if not is_buy_again(m)]
        rows = choice.comparisons.filter(pl.col("model").is_in(discovery))
        repeats_win = is_buy_again(choice.best) and rows.height and rows["ci_low"][0] > 0
        if not repeats_win and discovery:
            table = validation.table.filter(pl.col("model").is_in(discovery))
            sub = choose_model(table, config.k)
            chosen = sub.chosen
            why = (
                "the validation split does not show that buy-again models win, so the "
                f"simplest discovery model tied with the best one ({evaluated:,} customers)"
            )
        elif repeats_win:
            why += ", ahead of every discovery model: repeats win here"
    share = f"{regime.repeat_pair_share:.2%} of customer-product pairs bought again"
    return chosen, f"{why}; the shop's regime: {kind} ({share})", choice
