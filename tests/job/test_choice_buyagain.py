"""The job's candidates include the diversified buy-again model (a spec of `BuyAgain`),
and the choice treats every buy-again model as one (hand-built per-customer hits, then
the bundled data)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

import recsys as rs
from recsys.job.choice import BUY_AGAIN_MODELS, SIMPLICITY_ORDER, choose_model, regime_default
from recsys.job.config import DEFAULT_MODELS, JobConfig
from recsys.job.evaluation import fit_models, pick_model
from recsys.job.regime import Regime
from recsys.models import registry

#: The diversified buy-again model's canonical spec.
DIVERSE = "buyagain(diversity=0.3, trend_window_days=30.0)"


def _results(hits: dict[str, np.ndarray], bootstrap: int = 500) -> rs.evaluation.EvaluationResults:
    """Evaluation results of hand-built per-customer hits (1 = a hit in the top k)."""
    names = list(hits)
    per_user = rs.evaluation.PerUserMetrics(
        users=pl.Series("user_id", np.arange(len(hits[names[0]]))),
        values=np.column_stack([hits[n].astype(np.float64) for n in names]),
        columns=pl.DataFrame(
            {"model": names, "mode": ["all"] * len(names), "metric": ["hit_rate"] * len(names)}
        ).with_columns(k=pl.lit(10, dtype=pl.Int64)),
        models=tuple(names),
    )
    return rs.evaluation.summarize(per_user, bootstrap=bootstrap, seed=0)


def _hits(n: int, hit: int, start: int = 0) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[start : start + hit] = True
    return out


def _regime(repeat_pair_share: float) -> Regime:
    return Regime(
        as_of=datetime(2024, 1, 1),
        customers=1_000,
        orders=5_000,
        orders_per_customer=5.0,
        one_order_share=0.2,
        repeat_pair_share=repeat_pair_share,
        pairs=10_000,
        repeat_pairs=int(10_000 * repeat_pair_share),
        has_prices=True,
        has_order_ids=True,
        cutoff=datetime(2023, 10, 1),
        horizon_days=90,
        test_customers=400,
        test_returning=400,
        test_first_time=0,
        customer_column="user_id",
    )


def test_every_name_of_the_choice_is_a_registered_recommender() -> None:
    recommenders = set(registry.names())
    assert {registry.base_name(spec) for spec in DEFAULT_MODELS} <= recommenders
    assert set(SIMPLICITY_ORDER) <= recommenders
    assert set(BUY_AGAIN_MODELS) <= recommenders
    # the default list is written in canonical form: it labels the models as it stands
    assert DIVERSE in DEFAULT_MODELS
    assert JobConfig().models == DEFAULT_MODELS
    # the models that recommend bought items by default, the learned ones included
    assert set(BUY_AGAIN_MODELS) == {"repurchase", "buyagain", "repeat_explore"}
    order = SIMPLICITY_ORDER.index
    assert order("repurchase") < order("buyagain") < order("repeat_explore") < order("blend")


def test_the_config_names_one_model_one_way() -> None:
    """Any spelling of a spec becomes the canonical one; a default setting is dropped."""
    config = JobConfig(
        models=("BuyAgain(trend_window_days=30, diversity=0.3)", "buyagain(diversity=0)")
    )
    assert config.models == (DIVERSE, "buyagain")
    # the spec ranks as its model: the plain one first, then its settings, before the blends
    assert regime_default(False, ("blend", DIVERSE, "buyagain", "popular")) == "buyagain"
    assert regime_default(False, ("blend", DIVERSE, "popular")) == DIVERSE
    assert regime_default(True, (DIVERSE, "als", "repeat_explore")) == "als"


def test_the_diversified_model_is_chosen_only_when_it_is_separated() -> None:
    n = 400
    repurchase = _hits(n, 300)
    # 30 more customers hit, none lost: the paired interval is above 0
    ahead = _results({"repurchase": repurchase, DIVERSE: _hits(n, 330)})
    choice = choose_model(ahead, 10)
    assert (choice.best, choice.chosen, choice.tied) == (
        DIVERSE,
        DIVERSE,
        (DIVERSE,),
    )
    assert choice.separated
    assert choice.comparisons["ci_low"][0] > 0
    # 2 more customers hit: tied, so the simpler model is used
    close = _results({"repurchase": repurchase, DIVERSE: _hits(n, 302)})
    choice = choose_model(close, 10)
    assert choice.best == DIVERSE
    assert choice.chosen == "repurchase"
    assert set(choice.tied) == {"repurchase", DIVERSE}
    assert not choice.separated


def test_tied_buy_again_models_give_the_plain_one() -> None:
    n = 400
    results = _results(
        {
            "repurchase": _hits(n, 300),
            "buyagain": _hits(n, 329),
            DIVERSE: _hits(n, 330),
        }
    )
    choice = choose_model(results, 10)
    assert choice.best == DIVERSE
    assert set(choice.tied) == {DIVERSE, "buyagain"}
    assert choice.chosen == "buyagain"


def test_rare_repeats_need_a_buy_again_model_to_beat_discovery() -> None:
    """Where repeats are rare, a buy-again model is used only if the best model is a
    buy-again model that beats every discovery model; the learned ones count too."""
    n = 400
    config = JobConfig(models=("popular", "als", "repurchase", DIVERSE))
    # the diversified model is best but tied with ALS (and Repurchase): not shown to
    # win, so the simplest discovery model tied with the best discovery model
    tied = {
        "popular": _hits(n, 100),
        "als": _hits(n, 200),
        "repurchase": _hits(n, 201),
        DIVERSE: _hits(n, 202),
    }
    used, why, choice = pick_model(_results(tied), _regime(0.02), config)
    assert choice is not None
    assert choice.chosen == "repurchase"
    assert used == "als"
    assert "does not show that buy-again models win" in why
    # the diversified model is best and ahead of ALS by 60 customers: repeats win,
    # even where they are rare, and the simplest model tied with it is used
    ahead = {**tied, "repurchase": _hits(n, 259), DIVERSE: _hits(n, 260)}
    used, why, _ = pick_model(_results(ahead), _regime(0.02), config)
    assert used == "repurchase"
    assert "repeats win here" in why
    # where repeats are frequent the choice stands as it is
    used, _, _ = pick_model(_results(tied), _regime(0.3), config)
    assert used == "repurchase"


def test_fit_models_builds_the_diversified_model() -> None:
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    train = purchases.filter(pl.col("timestamp") < datetime(2011, 3, 1))
    models = fit_models((DIVERSE, "repurchase"), train, seed=0)
    model = models[DIVERSE]
    assert type(model) is rs.BuyAgain
    assert model.get_params() == rs.BuyAgain(trend_window_days=30, diversity=0.3).get_params()
    assert not model.fallback_
    # the same probabilities, re-ordered: some customers' lists differ from the plain model's
    plain = rs.BuyAgain(trend_window_days=30).fit(rs.Interactions.from_purchases(train))
    users = train["user_id"].unique().sort().head(300)
    lists = {
        name: m.recommend(users=users, k=10).group_by("user_id").agg(pl.col("item_id"))
        for name, m in (("diverse", model), ("plain", plain))
    }
    both = lists["diverse"].join(lists["plain"], on="user_id", suffix="_plain")
    reordered = both.filter(pl.col("item_id") != pl.col("item_id_plain"))
    assert reordered.height > 0


def test_the_job_chooses_the_diversified_model_on_online_retail() -> None:
    """On the bundled data the validation split (before 2011-06-11) separates it from
    `Repurchase`, and so does the test window: the job uses it and names it best."""
    purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    result = rs.job.run(
        purchases,
        JobConfig(
            models=("repurchase", DIVERSE),
            bootstrap=500,
            churn=False,
            value=False,
            cutoff="2011-09-09",
        ),
    )
    assert result.model == DIVERSE
    claim = result.claims["model"]
    assert claim.licensed, claim.text
    assert f"{DIVERSE} is the best model" in claim.text
